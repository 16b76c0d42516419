// The agent's clock as the collector sees it, and the times of a report it can keep.
import type { Report } from '../../../protocol/report.js';

/** Clock offsets beyond this are not a wrong clock but a broken header. */
export const MAX_CLOCK_OFFSET_MS = 200 * 365.25 * 86_400_000;

/** The agent's clock minus ours, from the time it says it sent the request; undefined without a usable header. */
export function clockOffsetMs(
  sentAtHeader: string | string[] | undefined,
  receivedAt: Date,
): number | undefined {
  const v = Array.isArray(sentAtHeader) ? sentAtHeader[0] : sentAtHeader;
  if (!v) return undefined;
  const sent = Date.parse(v);
  return Number.isNaN(sent) ? undefined : sent - receivedAt.getTime();
}

const safeIso = (t: number) =>
  Number.isFinite(new Date(t).getTime()) ? new Date(t).toISOString() : 'a time beyond any calendar';

/** How far ahead a time is, for an error message: `86 days`, `23 h`, `12 min`, `301 s`. */
function aheadText(ms: number): string {
  if (!Number.isFinite(ms)) return 'beyond any calendar';
  if (ms >= 2 * 86_400_000) return `${Math.round(ms / 86_400_000)} days`;
  if (ms >= 3_600_000) return `${Math.round(ms / 360_000) / 10} h`;
  if (ms >= 600_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.ceil(ms / 1000)} s`;
}

/**
 * The report's times (started, finished, each result's) that, shifted by `shiftMs`, fall outside
 * [oldest, newest], as one message naming up to five of them; undefined when all are inside.
 */
export function timesOutOfRange(
  report: Report,
  shiftMs: number,
  range: { oldest: number; newest: number; receivedAt: Date; maxAgeDays: number; futureToleranceS: number },
): string | undefined {
  const { oldest, newest, receivedAt, maxAgeDays, futureToleranceS } = range;
  const outOfRange = [
    ['startedAt', report.startedAt],
    ['finishedAt', report.finishedAt],
    ...report.results.map((r, i): [string, string] => [`results/${i}/at`, r.at]),
  ]
    .map(([path, iso]) => ({ path, t: Date.parse(iso as string) - shiftMs }))
    .filter(({ t }) => t < oldest || t > newest);
  if (outOfRange.length === 0) return undefined;
  return outOfRange
    .slice(0, 5)
    .map(
      ({ path, t }) =>
        `${path}: ${safeIso(t)} is ${t < oldest ? `older than ${maxAgeDays} days` : `${aheadText(t - receivedAt.getTime())} in the future (more than ingest.futureToleranceS = ${futureToleranceS} s)`} (after clock correction)`,
    )
    .join('; ');
}
