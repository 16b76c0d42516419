/**
 * Each school's compliance row per target (table `compliance`): the evaluation's verdicts as last stored,
 * with when their state last changed and when their evidence ages out.
 */
import type { ComplianceRow } from '../../../evaluate/targets/target.js';

export type { ComplianceRow };

/** Stored compliance. */
export interface ComplianceStore {
  /** One school's stored compliance rows, in the order their targets were first stored. */
  compliance(schoolId: string): Promise<ComplianceRow[]>;
  /** Upserts rows; a row's `since` moves only when its state changes (to `since` given, else `at`). */
  replaceCompliance(schoolId: string, rows: readonly ComplianceRow[], at?: string): Promise<void>;
  /**
   * Active schools with a compliance row whose evidence ages out at or before `now` (to evaluate again),
   * by id.
   */
  schoolsToRecheck(now: Date, limit: number): Promise<string[]>;
  /**
   * Every school's stored state per target, in one query: `targets` names the targets in order, the
   * answer has one array per school with a state per target ('no_data' where no row is stored; rows of
   * other targets are left out). Schools without any row are absent.
   */
  complianceStates(targets: readonly string[]): Promise<Map<string, ComplianceRow['state'][]>>;
}

/** A state as stored, read as one of the states a row can hold (anything else: no data). */
export const stateOf = (s: string | undefined): ComplianceRow['state'] =>
  s === 'met' || s === 'not_met' ? s : 'no_data';

/** No state yet for each of `targets` (a school's row of complianceStates before its stored rows). */
export const noStates = (targets: readonly string[]): ComplianceRow['state'][] =>
  targets.map((): ComplianceRow['state'] => 'no_data');

/**
 * complianceStates from the per-school summary (`compliance_summary`: each school's stored state per
 * target, kept by triggers on `compliance` in the same transaction as every write of its rows): one
 * array per school holding a state for at least one of `targets`, a target named twice at its first
 * place only.
 */
export function statesFromSummary(
  targets: readonly string[],
  summary: Iterable<readonly [string, Readonly<Record<string, string>>]>,
): Map<string, ComplianceRow['state'][]> {
  const out = new Map<string, ComplianceRow['state'][]>();
  if (targets.length === 0) return out;
  const index = new Map<string, number>();
  targets.forEach((t, i) => {
    if (!index.has(t)) index.set(t, i);
  });
  for (const [schoolId, stored] of summary) {
    let states: ComplianceRow['state'][] | undefined;
    for (const [target, i] of index) {
      if (!Object.hasOwn(stored, target)) continue;
      states ??= noStates(targets);
      states[i] = stateOf(stored[target]);
    }
    if (states) out.set(schoolId, states);
  }
  return out;
}
