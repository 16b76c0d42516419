/**
 * What the collector knows of one probe kind's results (one module per kind in this folder, listed once in
 * registry.ts): the key a result is kept under in a school's latest state, the InfluxDB lines it is written
 * as, and the measurements rolled up from them.
 */
import type { ProbeResult } from '../../../protocol/report.js';
import type { School } from '../../../protocol/school.js';
import type { FindingRecord } from '../evaluate/findings.js';
import type { ComplianceRow } from '../evaluate/targets/target.js';
import type { ReportLines } from '../store/line-protocol.js';

/** What a report's points are written with, besides the report itself. */
export interface PointContext {
  school: School;
  tier: string;
  /** The school's uplink target (tier Mbps), written beside each speed test for Grafana thresholds. */
  uplinkGoalMbps: number;
  /** Milliseconds subtracted from the agent's timestamps (its clock offset, when over the threshold). */
  shiftMs: number;
  clockOffsetMs: number;
  receivedAt: Date;
  compliance: readonly ComplianceRow[];
  /** Findings this report changed. */
  findings?: readonly FindingRecord[];
  /**
   * Whether a device was in a maintenance window at a time (ms, shifted): given, every `device` point
   * carries `maintenance` 1/0.
   */
  maintenance?: (device: { room?: string; device: string }, atMs: number) => boolean;
}

/** A measurement rolled up hourly and daily (store/retention.ts). */
export interface RollupMeasurement {
  measurement: string;
  /** Numeric fields rolled up as `<field>_mean`, `<field>_min`, `<field>_max`. */
  fields: readonly string[];
}

export interface ResultKind<R extends ProbeResult> {
  probe: R['probe'];
  /**
   * The result's identity inside a school: a school keeps the latest result per key (store/result-key.ts).
   * Starts with `<probe>|`, so that kinds never share a key.
   */
  key(r: R): string;
  /**
   * True when `key` holds the result's `target`, so that results with different targets never share a key
   * (ingest/merge-latest.ts builds the keys of only the stored results that may meet an incoming one).
   * tests/collector/result-kinds.test.ts checks that it agrees with `key`.
   */
  keyHoldsTarget: boolean;
  /**
   * The result's points (docs/architecture.md, "InfluxDB measurements"), each point's fields in key order,
   * at the result's time less `ctx.shiftMs` (resultTime).
   */
  lines(r: R, out: ReportLines, ctx: PointContext): void;
  /** The measurements of `lines` rolled up (store/retention.ts); none for a kind written only raw. */
  rollups: readonly RollupMeasurement[];
}

/** A result's time as written: the agent's timestamp corrected by the report's clock shift (epoch ms). */
export const resultTime = (r: ProbeResult, ctx: Pick<PointContext, 'shiftMs'>): number =>
  Date.parse(r.at) - ctx.shiftMs;

/** 1/0 for a boolean field. */
export const bit = (b: boolean): number => (b ? 1 : 0);
