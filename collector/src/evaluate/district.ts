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

function kpis(
  rows: readonly { school: School; compliance: readonly ComplianceRow[] }[],
  goals: Record<TargetName, number | null>,
) {
  const out = {} as Record<TargetName, TargetKpi>;
  for (const t of TARGET_NAMES) {
    let met = 0;
    let notMet = 0;
    let noData = 0;
    for (const r of rows) {
      const state = r.compliance.find((c) => c.target === t)?.state ?? 'no_data';
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

/** District KPIs (pure): the whole set, each district, and each education group within its district. */
export function aggregateCompliance(
  rows: readonly { school: School; compliance: readonly ComplianceRow[] }[],
  targets: TargetsConfig,
): { overall: KpiGroup; districts: KpiGroup[]; groups: KpiGroup[] } {
  const goals = districtGoals(targets);
  const by = (key: (s: School) => string) => {
    const m = new Map<string, typeof rows>();
    for (const r of rows) m.set(key(r.school), [...(m.get(key(r.school)) ?? []), r]);
    return [...m.entries()].sort(([a], [b]) => a.localeCompare(b, 'zh-CN'));
  };
  return {
    overall: { district: null, group: null, schools: rows.length, targets: kpis(rows, goals) },
    districts: by((s) => s.district ?? '').map(([, rs]) => ({
      district: rs[0]!.school.district ?? null,
      group: null,
      schools: rs.length,
      targets: kpis(rs, goals),
    })),
    groups: by((s) => `${s.district ?? ''}\u0000${s.group ?? ''}`).map(([, rs]) => ({
      district: rs[0]!.school.district ?? null,
      group: rs[0]!.school.group ?? null,
      schools: rs.length,
      targets: kpis(rs, goals),
    })),
  };
}
