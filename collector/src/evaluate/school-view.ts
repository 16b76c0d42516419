import type { School } from '../../../protocol/school.js';
import type { ComplianceRow, StateStore } from '../store/state.js';
import type { TargetsConfig } from '../targets.js';
import { evaluateCompliance } from './compliance.js';

/** The compliance rows of a school: as stored at its last report, or all `no_data` before any report. */
export async function schoolCompliance(
  state: StateStore,
  targets: TargetsConfig,
  school: School,
): Promise<ComplianceRow[]> {
  const stored = await state.compliance(school.id);
  return stored.length > 0 ? stored : evaluateCompliance(school, [], targets);
}

export interface ComplianceSummary {
  met: number;
  not_met: number;
  no_data: number;
}

export function summariseCompliance(rows: readonly ComplianceRow[]): ComplianceSummary {
  const s: ComplianceSummary = { met: 0, not_met: 0, no_data: 0 };
  for (const r of rows) s[r.state]++;
  return s;
}
