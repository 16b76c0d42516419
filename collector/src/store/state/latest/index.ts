/**
 * Each school's latest result per result key (table `latest`) and the past results of the probes judged
 * over several runs (table `history`).
 */
import type { ProbeResult } from '../../../../../protocol/report.js';
import { resultKey } from '../../result-key.js';

/** Latest and past results of a school. */
export interface LatestStore {
  /** Latest result per result key, ordered by key. */
  latestResults(schoolId: string): Promise<ProbeResult[]>;
  /** Past results of the probes judged over several runs (speed tests), newest first. */
  history(schoolId: string, probe: ProbeResult['probe']): Promise<ProbeResult[]>;
}

/** Probes whose verdict looks at several past runs (a target missed only after the last K tests). */
export const HISTORY_PROBES: ReadonlySet<ProbeResult['probe']> = new Set<ProbeResult['probe']>(['bandwidth']);
/** Past results kept per school and key for those probes. */
export const HISTORY_DEPTH = 100;

/**
 * A result with its time moved back by `shiftMs` (the agent's clock correction) in the form the stores
 * keep and compare (toISOString); the result itself when that changes nothing, as for almost every
 * report (the route and the store each copied every result of every report before).
 */
export function shiftedResult(r: ProbeResult, shiftMs: number): ProbeResult {
  // unshifted and already in toISOString's form (a day every month has): itself, without parsing and
  // formatting it (called twice for every result of every report: 2.4% of the ingest CPU in bench/ingest)
  if (shiftMs === 0 && CANONICAL_ISO.test(r.at)) return r;
  const at = new Date(Date.parse(r.at) - shiftMs).toISOString();
  return at === r.at ? r : { ...r, at };
}

/** UTC times toISOString writes as they are, days 01-28 only (a 30 February would be read as 2 March). */
const CANONICAL_ISO =
  /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/;

/** A result as both stores write it: its key, the result with its time shifted, and that as JSON. */
export interface StoredResult {
  key: string;
  result: ProbeResult;
  json: string;
}

export function storedResult(r: ProbeResult, shiftMs: number): StoredResult {
  const result = shiftedResult(r, shiftMs);
  return { key: resultKey(r), result, json: JSON.stringify(result) };
}
