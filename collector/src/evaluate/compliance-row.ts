/**
 * One school's standing against one target, as the evaluation produces it and the stores keep it. Its own
 * module: the findings (findings.ts) and the target modules (targets/target.ts) both speak of it, and the
 * target modules read the findings.
 */
export type ComplianceState = 'met' | 'not_met' | 'no_data';

/** One school's standing against one target. */
export interface ComplianceRow {
  target: string;
  state: ComplianceState;
  value: number | null;
  goal: number | null;
  reason: string;
  /** The newest evidence the row rests on (ISO time); null without any. */
  evidenceAt: string | null;
  /** When evidence the row rests on ages out, so that the row must be evaluated again; null: never. */
  expiresAt: string | null;
  /** When the row's state last changed (kept by the store; absent on a row not stored yet). */
  since?: string | null;
}

/** A row before its evidence times are added (what the older evaluation functions return). */
export type Verdict = Omit<ComplianceRow, 'evidenceAt' | 'expiresAt' | 'since'>;
