import type { ProbeResult, Report } from '../../protocol/report.js';
import { MAX_RESULTS_PER_REPORT } from '../../protocol/report.js';
import { checkReport } from '../../protocol/report-check.js';
import { formatProblem } from '../../protocol/validate.js';

export interface SplitOptions {
  /** No part's JSON body is longer than this many bytes (UTF-8), unless a single result alone is. */
  maxBytes: number;
  /** No part holds more results than this (the protocol's limit by default). */
  maxResults?: number;
  /** A new report id (a lower-case UUIDv7) for each part after the first. */
  newId: () => string;
}

/** The results' parts: consecutive runs of results, each run's body under the limits (pure). */
export function partition(
  results: readonly ProbeResult[],
  envelopeBytes: number,
  opts: Pick<SplitOptions, 'maxBytes' | 'maxResults'>,
): { start: number; end: number }[] {
  const maxResults = Math.min(opts.maxResults ?? MAX_RESULTS_PER_REPORT, MAX_RESULTS_PER_REPORT);
  // `"results":[` … `]` around the results, a comma between two, the `cycle` header, room for the health
  // fields a spool that cannot write adds
  const fixed = envelopeBytes + 16 + 512;
  const runs: { start: number; end: number }[] = [];
  let start = 0;
  let bytes = fixed;
  for (let i = 0; i < results.length; i++) {
    const size = Buffer.byteLength(JSON.stringify(results[i])) + 1;
    if (i > start && (bytes + size > opts.maxBytes || i - start >= maxResults)) {
      runs.push({ start, end: i });
      start = i;
      bytes = fixed;
    }
    bytes += size;
  }
  if (results.length > start || runs.length === 0) runs.push({ start, end: results.length });
  return runs;
}

/**
 * A cycle's report as the reports that carry it: one (the report as it is, without `cycle`) when its body
 * fits `maxBytes`, else several, each with its own id and the cycle's `cycle` header (the first keeps the
 * report's id, which is also the cycle's). Results keep their order, so a room's devices (listed together
 * by the reachability probe) stay in one part or two neighbouring ones. Each part is checked against the
 * protocol when the iterator reaches it and shares its results with `report` (no copies): the caller
 * stores it (serialised, one body at a time) before the next one is built, so a cycle never exists as one
 * large body.
 */
export function* reportParts(report: Report, opts: SplitOptions): Generator<Report> {
  const { results, ...envelope } = report;
  const envelopeBytes = Buffer.byteLength(JSON.stringify(envelope));
  const runs = partition(results, envelopeBytes, opts);
  for (let p = 0; p < runs.length; p++) {
    const { start, end } = runs[p]!;
    const part: Report = {
      ...envelope,
      reportId: p === 0 ? report.reportId : opts.newId(),
      ...(runs.length > 1
        ? { cycle: { id: report.reportId, part: p + 1, parts: runs.length, results: results.length } }
        : {}),
      results: runs.length === 1 ? results : results.slice(start, end),
    };
    const check = checkReport(part);
    if (!check.ok) {
      // a bug in a probe, not a network failure: keep it visible rather than spool a report the collector refuses
      throw new Error(`the agent built an invalid report: ${check.problems.map(formatProblem).join('; ')}`);
    }
    yield part;
  }
}
