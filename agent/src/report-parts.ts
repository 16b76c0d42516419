import { createHash } from 'node:crypto';
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

/**
 * The id of the part of report `reportId` that carries its results `start` to `end` (exclusive): a
 * lower-case UUIDv7 with the report's time and the rest from a hash, so that the same results of the same
 * report always go under the same id (sent again after an interruption, the collector answers "duplicate").
 */
export function partId(reportId: string, start: number, end: number): string {
  const h = createHash('sha256').update(`${reportId}:${start}:${end}`).digest('hex');
  const time = reportId.replace(/-/g, '').slice(0, 12);
  const variant = ((Number.parseInt(h[3]!, 16) & 0x3) | 0x8).toString(16);
  const hex = `${time}7${h.slice(0, 3)}${variant}${h.slice(4, 19)}`;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** How far a report sent again in smaller parts went: its first `from` results in `done` parts. */
export interface PartsProgress {
  from: number;
  done: number;
}

/**
 * The rest of a report (its results from `progress.from` on) as parts under `maxBytes`, each with the id
 * `partId` gives it and the `cycle` header of the report's cycle (the report's own id when it was not a
 * part): numbered after the parts already sent. A part that alone is a single result may be larger.
 */
export function* remainingParts(
  report: Report,
  progress: PartsProgress,
  maxBytes: number,
): Generator<{ part: Report; start: number; end: number }> {
  const { results, cycle, ...envelope } = report;
  // as it was when asked: the caller moves it on while it takes the parts
  const { from, done } = progress;
  const rest = results.slice(from);
  const runs = partition(rest, Buffer.byteLength(JSON.stringify(envelope)), { maxBytes });
  const parts = (cycle?.parts ?? 1) + done + runs.length - 1;
  for (let p = 0; p < runs.length; p++) {
    const start = from + runs[p]!.start;
    const end = from + runs[p]!.end;
    const part: Report = {
      ...envelope,
      reportId: partId(report.reportId, start, end),
      ...(parts >= 2
        ? {
            cycle: {
              id: cycle?.id ?? report.reportId,
              part: Math.min(10_000, (cycle?.part ?? 1) + done + p),
              parts: Math.min(10_000, parts),
              results: cycle?.results ?? results.length,
            },
          }
        : {}),
      results: rest.slice(runs[p]!.start, runs[p]!.end),
    };
    const check = checkReport(part);
    if (!check.ok)
      throw new Error(`the agent built an invalid report: ${check.problems.map(formatProblem).join('; ')}`);
    yield { part, start, end };
  }
}
