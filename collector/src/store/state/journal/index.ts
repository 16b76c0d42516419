/**
 * The ingest journal (table `ingests`): each report begun and done, so that a retried report is
 * recognised and replayed idempotently; completing a report applies it to every other concern of the
 * store in the same transaction.
 */
import type { ProbeResult } from '../../../../../protocol/report.js';
import type { FindingRecord } from '../../../evaluate/findings.js';
import type { ComplianceRow } from '../../../evaluate/targets/target.js';
import type { AgentRecord } from '../registry/index.js';

export interface IngestRecord {
  reportId: string;
  agentId: string;
  state: 'writing' | 'done';
  shiftMs: number;
}

/** A report whose points are about to be written, and the time shift chosen for it. */
export interface BeginIngest {
  reportId: string;
  agentId: string;
  schoolId: string;
  shiftMs: number;
  finishedAt: string;
}

export interface CompleteIngest {
  reportId: string;
  agent: AgentRecord;
  results: readonly ProbeResult[];
  shiftMs: number;
  clockOffsetMs: number;
  /** The version the agent reports running (an upgraded agent's new version replaces the enrolled one). */
  agentVersion?: string;
  receivedAt: Date;
  /**
   * A stored latest result stamped after this is from the future (ingest.futureToleranceS past the
   * report's arrival): any result of this report replaces it, older or not. Without it, only newer ones do.
   */
  futureAfter?: Date;
  compliance: readonly ComplianceRow[];
  /** Critical-device samples of this report taken in teaching hours (local day). */
  availability?: readonly { device: string; day: string; up: boolean }[];
  /**
   * The first local day of the availability window: the per-device samples of days before it are
   * forgotten (only the window is ever read; the school's daily sums are kept).
   */
  availabilitySinceDay?: string;
  /** The agent's spool depth as its report says (`health.spoolDepth`). */
  spoolDepth?: number;
  /** Its `health.spoolUnstored` and `health.spoolFailure.since` (absent: none, null: it writes). */
  spoolUnstored?: number;
  spoolFailingSince?: string | null;
  /** Findings this report opened, re-opened, accepted or resolved. */
  findings?: readonly FindingRecord[];
  /** Rooms of this report as seen in teaching hours: down ones open (or keep) a down-since, up ones close it. */
  rooms?: readonly { room: string; roomType: string; up: boolean; at: string; detail: string }[];
  /** Rooms (`type|name`) of this report whose devices answered: remembered for good (建有). */
  answeredRooms?: readonly string[];
  /**
   * Latest results that leave the school's state (devices gone from the inventory, budgets.ts
   * `staleKeys`): deleted by key when still stamped before `before` (a concurrent report that refreshed
   * one keeps it). Their history (InfluxDB, availability, findings) stays.
   */
  leaving?: { keys: readonly string[]; before: string };
  /**
   * A report not begun (`beginIngest`) before its series were written: its journal row, written first in
   * the same transaction (a no-op when the report is known). The collector begins a report ahead only
   * when its time shift must survive a crash: see ingest/service.ts.
   */
  begin?: BeginIngest;
}

/** The ingest journal. */
export interface JournalStore {
  getIngest(reportId: string): Promise<IngestRecord | undefined>;
  /** Notes that a report's points are being written, with its time shift (reused on a retry); no-op if known. */
  beginIngest(r: BeginIngest): Promise<void>;
  /**
   * After the series are stored: mark the report done and keep the latest results (newer wins), speed-test
   * history, availability samples, rooms down, findings and compliance, atomically. False (and nothing
   * applied) when the report is not in state 'writing' (already done by a concurrent delivery).
   */
  completeIngest(args: CompleteIngest): Promise<boolean>;
  /** Reports done for an agent, in the order they were begun. */
  ingestOrder(agentId: string): Promise<{ reportId: string; finishedAt: string }[]>;
  /**
   * Forgets the oldest journal rows received before a time: the longest prefix (in the order reports were
   * begun, at most `limit` rows) received before it. Returns how many went. The collector keeps the journal
   * as long as it accepts a report's times (ingest.maxAgeDays, and a day more), so a replay of a forgotten
   * report is refused as too old, never applied twice.
   */
  pruneIngests(receivedBefore: Date, limit: number): Promise<number>;
}

/**
 * The last journal sequence number of the prefix of `rows` (in journal order) received before a time, or
 * undefined when the first row is not: a row received later stops the prefix, so the journal is cut in
 * order without scanning it all.
 */
export function oldPrefixEnd<S>(
  rows: readonly { seq: S; receivedAt: string }[],
  receivedBefore: Date,
): S | undefined {
  const cutoff = receivedBefore.toISOString();
  let last: S | undefined;
  for (const r of rows) {
    if (!(r.receivedAt < cutoff)) break;
    last = r.seq;
  }
  return last;
}

/** Later than any stored time: without `futureAfter` only newer results replace the latest ones. */
export const FAR_FUTURE = '9999-12-31T23:59:59.999Z';

/** The time a stored latest result must be after to count as from the future (see CompleteIngest). */
export const futureOf = (args: CompleteIngest): string => args.futureAfter?.toISOString() ?? FAR_FUTURE;
