// The spool's vocabulary: what it holds, counts and shows (spool.ts is the queue itself).

export interface SpooledReport {
  seq: number;
  reportId: string;
  body: string;
  attempts: number;
}

export interface EnqueueOutcome {
  /** Reports dropped (oldest first) to stay under the cap by this enqueue. */
  dropped: number;
  depth: number;
}

export interface SpoolCounters {
  /** Reports waiting: in the spool file and held in memory. */
  depth: number;
  dropped: number;
  /** Dead letters kept now (reports the collector refused for good). */
  rejected: number;
  delivered: number;
  /** Dead letters dropped, oldest first, to keep at most `spool.maxDeadLetters`. */
  deadDropped: number;
  /** Cycles whose report could not be written to the spool (disk full): kept in memory and sent from there. */
  unstored: number;
  /** Reports held in memory now because the spool could not store them. */
  held: number;
  /**
   * Delivered reports whose removal from the spool could not be written yet: not sent again while the agent
   * runs; if it stops first they are sent once more and the collector answers "duplicate" (it de-duplicates
   * by report id), so nothing is stored twice.
   */
  unremoved: number;
  /** Set while the spool cannot write (its filesystem full, an I/O error); null when it stores normally. */
  failure: StoreFailure | null;
}

/** The spool could not write: since when, and SQLite's words. */
export interface StoreFailure {
  since: string;
  message: string;
}

/** A report the collector refused for good, as `spool list --dead` shows it. */
export interface DeadLetter {
  reportId: string;
  status: number;
  reason: string;
  rejectedAt: string;
  bytes: number;
}

/** A report waiting in the queue, as `spool list` shows it. */
export interface QueuedReport {
  reportId: string;
  attempts: number;
  createdAt: string;
  bytes: number;
  /** Held in memory only: the spool could not store it. */
  held: boolean;
}

export interface SpoolOptions {
  /** Dead letters kept at most (`spool.maxDeadLetters`); beyond it the oldest go, counted. */
  maxDeadLetters?: number;
  /** Told when writes start failing (once until a report is stored again). */
  onStoreError?: (operation: string, err: Error) => void;
  /** Told when a report was stored again after a failure, with how many reports were held meanwhile. */
  onRecovered?: (failure: StoreFailure, held: number) => void;
}

export const DEFAULT_MAX_DEAD_LETTERS = 100;
