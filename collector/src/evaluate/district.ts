import type { School } from '../../../protocol/school.js';
import { type TargetsConfig, targetsFor, valueSource } from '../targets.js';
import { TARGET_NAMES, TARGETS } from './targets/registry.js';
import { type ComplianceRow, type ComplianceState, districtGoal } from './targets/target.js';

export interface TargetKpi {
  /** Every registered school in scope: the denominator (a bureau counts every school). */
  schools: number;
  met: number;
  notMet: number;
  /** Registered but without fresh evidence: unmonitored, shown apart, counted in the denominator. */
  noData: number;
  /** met ÷ schools × 100; null when there is no school. */
  pct: number | null;
  /** % of schools that must meet it, null where no goal is set. */
  goalPct: number | null;
  /** Whether that goal is the district's own override or the city's default. */
  goalSource: 'default' | 'district' | null;
  goalMet: boolean | null;
}

export interface KpiGroup {
  district: string | null;
  group: string | null;
  schools: number;
  targets: Record<string, TargetKpi>;
}

export interface DistrictKpis {
  overall: KpiGroup;
  districts: KpiGroup[];
  groups: KpiGroup[];
}

/** A school's state per target, in TARGET_NAMES order. */
export type TargetStates = readonly ComplianceState[];

const TARGET_INDEX = new Map<string, number>(TARGET_NAMES.map((t, i) => [t, i]));

/** The state per target of a school's rows: the first row of a target counts; a target without one is no_data. */
export function statesOf(compliance: readonly Pick<ComplianceRow, 'target' | 'state'>[]): TargetStates {
  const states: (ComplianceState | undefined)[] = new Array(TARGET_NAMES.length);
  for (const c of compliance) {
    const i = TARGET_INDEX.get(c.target);
    if (i !== undefined && states[i] === undefined) states[i] = c.state;
  }
  return Array.from(states, (s) => s ?? 'no_data');
}

/** The goal (% of schools) of each target in a district, and where it comes from. */
export function districtGoals(
  targets: TargetsConfig,
  district: string | null,
): Record<string, { pct: number | null; source: 'default' | 'district' | null }> {
  const t = targetsFor(targets, district);
  return Object.fromEntries(
    TARGETS.map((m) => {
      const pct = districtGoal(m, t);
      return [
        m.name,
        { pct, source: pct === null ? null : valueSource(targets, district, m.section, m.goalKey) },
      ];
    }),
  );
}

function kpis(schools: readonly TargetStates[], goals: ReturnType<typeof districtGoals>) {
  const out: Record<string, TargetKpi> = {};
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
    const n = schools.length;
    const pct = n > 0 ? Math.round((met / n) * 1000) / 10 : null;
    const goal = goals[t]!;
    out[t] = {
      schools: n,
      met,
      notMet,
      noData,
      pct,
      goalPct: goal.pct,
      goalSource: goal.source,
      goalMet: pct === null || goal.pct === null ? null : pct >= goal.pct,
    };
  }
  return out;
}

/** Districts and groups sort as Chinese readers expect (one collator, not one per comparison). */
const zh = new Intl.Collator('zh-CN');

/**
 * District KPIs (pure): the whole set, each district, and each education group within its district. Every
 * registered school is in the denominator: a school without evidence counts as unmonitored, never as
 * absent. A district is judged against its own goals (targets.yaml `districts:`), the whole set against
 * the city's. Linear in the number of schools.
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

/** aggregateCompliance over each school's states per target (statesOf), for callers that read only those. */
export function aggregateStates(
  rows: readonly { school: School; states: TargetStates }[],
  targets: TargetsConfig,
): DistrictKpis {
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
  const goalsOf = new Map<string | null, ReturnType<typeof districtGoals>>();
  const goals = (district: string | null) => {
    let g = goalsOf.get(district);
    if (!g) {
      g = districtGoals(targets, district);
      goalsOf.set(district, g);
    }
    return g;
  };
  return {
    overall: {
      district: null,
      group: null,
      schools: rows.length,
      targets: kpis(
        rows.map((r) => r.states),
        goals(null),
      ),
    },
    districts: by((s) => s.district ?? '').map((g) => ({
      district: g.school.district ?? null,
      group: null,
      schools: g.states.length,
      targets: kpis(g.states, goals(g.school.district ?? null)),
    })),
    groups: by((s) => `${s.district ?? ''}\u0000${s.group ?? ''}`).map((g) => ({
      district: g.school.district ?? null,
      group: g.school.group ?? null,
      schools: g.states.length,
      targets: kpis(g.states, goals(g.school.district ?? null)),
    })),
  };
}
