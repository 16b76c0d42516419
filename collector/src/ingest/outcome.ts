// What storing a report came to (ingest/service.ts): the route turns each outcome into its HTTP answer.
import type { BudgetExceeded } from '../budgets.js';

/** Stored now: its series written (or queued in the outbox) and the school's state updated. */
export interface Stored {
  kind: 'stored';
  reportId: string;
  /** The agent's clock minus the collector's, from its sent-at header (0 without one). */
  clockOffsetS: number;
  /** Whether the report's times were shifted to the collector's clock. */
  shifted: boolean;
}

/** Stored before (an agent's retry, a replay from its spool): nothing changed. */
export interface Duplicate {
  kind: 'duplicate';
  reportId: string;
}

/** Why a report is refused for good: the agent should not send it again as it is. */
export type RejectReason =
  /** 403: the report names another agent than the token's. */
  | 'agent-mismatch'
  /** 403: the report names another school than the agent's. */
  | 'school-mismatch'
  /** 403: the agent's school is no longer registered. */
  | 'school-unregistered'
  /** 400: a device identity occurs more than once among the results. */
  | 'duplicate-identities'
  /** 409: the report id was sent by another agent. */
  | 'report-id-taken'
  /** 400: the sent-at header is not a usable time. */
  | 'bad-sent-at'
  /** 400: a time, after the clock correction, is older than ingest.maxAgeDays or too far in the future. */
  | 'time-out-of-range'
  /** 422: InfluxDB (or the line-protocol check before it) refused the report's points. */
  | 'series-refused';

export interface Rejected {
  kind: 'rejected';
  status: 400 | 403 | 409 | 422;
  reason: RejectReason;
  /** English, naming the field where there is one. */
  message: string;
}

/** 422: the report would take its school over a budget (budgets.ts); noted for the over-budget alert. */
export interface OverBudget {
  kind: 'rejected';
  status: 422;
  reason: 'over-budget';
  message: string;
  budget: BudgetExceeded;
}

/** Not stored now, for a reason on the collector's side: the agent keeps the report and sends it again. */
export interface RetryLater {
  kind: 'retry-later';
  status: 503;
  reason: 'outbox-full' | 'series-store-unavailable';
  retryAfterS: number;
  message: string;
}

export type IngestOutcome = Stored | Duplicate | Rejected | OverBudget | RetryLater;

export const rejected = (status: Rejected['status'], reason: RejectReason, message: string): Rejected => ({
  kind: 'rejected',
  status,
  reason,
  message,
});
