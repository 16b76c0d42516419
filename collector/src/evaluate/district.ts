import type { School } from '../../../protocol/school.js';
import type { ComplianceRow } from '../store/state.js';
import type { TargetsConfig } from '../targets.js';
import { TARGET_NAMES, type TargetName } from './compliance.js';

export interface TargetKpi {
  met: number;
  notMet: number;
  noData: number;
  /** met ÷ (met + not met) × 100; null when no school has data. Schools without data are never counted either way. */
  pct: number | null;
  /** The district goal (DESIGN §5: recording rooms 80%, smart classrooms 100%, IPv6), null where the policy sets none. */
  goalPct: number | null;
  goalMet: boolean | null;
}

export interface KpiGroup {
  district: string | null;
  group: string | null;
  schools: number;
  targets: Record<TargetName, TargetKpi>;
}

export function districtGoals(targets: TargetsConfig): Record<TargetName, number | null> {
  return {
    uplink_bandwidth: null,
    backbone: null,
    ipv6: targets.ipv6.districtGoalPct,
    recording_room: targets.recordingRoom.districtGoalPct,
    smart_classroom: targets.smartClassroom.districtGoalPct,
    device_availability: null,
    security: null,
  };
}

/** A school's state per target, in TARGET_NAMES order. */
export type TargetStates = readonly ComplianceRow['state'][];

const TARGET_INDEX = new Map<string, number>(TARGET_NAMES.map((t, i) => [t, i]));

/** The state per target of a school's rows: the first row of a target counts; a target without one is no_data. */
export function statesOf(compliance: readonly Pick<ComplianceRow, 'target' | 'state'>[]): TargetStates {
  const states: (ComplianceRow['state'] | undefined)[] = new Array(TARGET_NAMES.length);
  for (const c of compliance) {
    const i = TARGET_INDEX.get(c.target);
    if (i !== undefined && states[i] === undefined) states[i] = c.state;
  }
  return Array.from(states, (s) => s ?? 'no_data');
}

function kpis(schools: readonly TargetStates[], goals: Record<TargetName, number | null>) {
  const out = {} as Record<TargetName, TargetKpi>;
  for (const [i, t] of TARGET_NAMES.entries()) {
    let met = 0;
    let notMet = 0;
    let noData = 0;
    for (const states of schools) {
      const state = states[i];
      if (state === 'met') met++;
      else if (state === 'not_met') notMet++;
      else noData++;
    }
    const pct = met + notMet > 0 ? Math.round((met / (met + notMet)) * 1000) / 10 : null;
    const goalPct = goals[t];
    out[t] = {
      met,
      notMet,
      noData,
      pct,
      goalPct,
      goalMet: pct === null || goalPct === null ? null : pct >= goalPct,
    };
  }
  return out;
}

/** Districts and groups sort as Chinese readers expect (one collator, not one per comparison). */
const zh = new Intl.Collator('zh-CN');

/**
 * District KPIs (pure): the whole set, each district, and each education group within its district.
 * Linear in the number of schools.
 */
export function aggregateCompliance(
  rows: readonly { school: School; compliance: readonly Pick<ComplianceRow, 'target' | 'state'>[] }[],
  targets: TargetsConfig,
): DistrictKpis {
  return aggregateStates(
    rows.map((r) => ({ school: r.school, states: statesOf(r.compliance) })),
    targets,
  );
}

export interface DistrictKpis {
  overall: KpiGroup;
  districts: KpiGroup[];
  groups: KpiGroup[];
}

/** aggregateCompliance over each school's states per target (statesOf), for callers that read only those. */
export function aggregateStates(
  rows: readonly { school: School; states: TargetStates }[],
  targets: TargetsConfig,
): DistrictKpis {
  const goals = districtGoals(targets);
  const by = (key: (s: School) => string) => {
    const m = new Map<string, { school: School; states: TargetStates[] }>();
    for (const r of rows) {
      const k = key(r.school);
      const g = m.get(k);
      if (g) g.states.push(r.states);
      else m.set(k, { school: r.school, states: [r.states] });
    }
    return [...m.entries()].sort(([a], [b]) => zh.compare(a, b)).map(([, g]) => g);
  };
  return {
    overall: {
      district: null,
      group: null,
      schools: rows.length,
      targets: kpis(
        rows.map((r) => r.states),
        goals,
      ),
    },
    districts: by((s) => s.district ?? '').map((g) => ({
      district: g.school.district ?? null,
      group: null,
      schools: g.states.length,
      targets: kpis(g.states, goals),
    })),
    groups: by((s) => `${s.district ?? ''}\u0000${s.group ?? ''}`).map((g) => ({
      district: g.school.district ?? null,
      group: g.school.group ?? null,
      schools: g.states.length,
      targets: kpis(g.states, goals),
    })),
  };
}
