import type { School } from '../../../protocol/school.js';
import { evaluateCompliance, noEvidence } from '../evaluate/compliance.js';
import type { ComplianceRow, StateStore } from '../store/state.js';
import type { TargetsConfig } from '../targets.js';

/**
 * The compliance rows of a school: as stored at its last evaluation, or evaluated without evidence before
 * any report (every target no_data but 校校通, which says whether an agent is enrolled).
 */
export async function schoolCompliance(
  state: StateStore,
  targets: TargetsConfig,
  school: School,
  now: Date = new Date(),
): Promise<ComplianceRow[]> {
  const stored = await state.compliance(school.id);
  if (stored.length > 0) return stored;
  return evaluateCompliance(noEvidence(school, await state.listAgents(school.id)), targets, now);
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
