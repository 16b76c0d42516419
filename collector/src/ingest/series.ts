// A report's series on their way to InfluxDB: committed to the outbox, or written before the answer.
import type { BaseLogger } from 'pino';
import type { CollectorContext } from '../context.js';
import {
  InfluxRejectedError,
  InfluxUnavailableError,
  refusedForData,
  writeErrorKind,
} from '../store/influx.js';
import { type Rejected, type RetryLater, rejected } from './outcome.js';

export type SeriesDeps = Pick<CollectorContext, 'config' | 'influx' | 'outbox' | 'influxReady' | 'metrics'>;

/**
 * Writes a report's lines: to the outbox when there is one (InfluxDB gets them soon, in a larger write),
 * else to InfluxDB before the report is answered. Undefined once they are safe; the outcome otherwise.
 * An error that is neither InfluxDB's refusal nor its absence is thrown.
 */
export async function writeSeries(
  deps: SeriesDeps,
  lines: string[],
  reportId: string,
  log: Pick<BaseLogger, 'warn' | 'error'>,
): Promise<RetryLater | Rejected | undefined> {
  const { config } = deps;
  const retryLater = (reason: RetryLater['reason'], message: string): RetryLater => ({
    kind: 'retry-later',
    status: 503,
    reason,
    retryAfterS: config.ingest.retryAfterS,
    message,
  });
  if (deps.outbox) {
    if (!(await deps.outbox.add(lines, config.influx?.timeoutMs ?? 10_000))) {
      return retryLater(
        'outbox-full',
        'the time-series store is behind and the collector queue is full; keep the report and retry later',
      );
    }
    return undefined;
  }
  const influx = deps.influx;
  if (!influx) return undefined;
  try {
    await deps.influxReady();
    await influx.writeCoalesced(lines);
    deps.metrics.points.inc(lines.length);
    return undefined;
  } catch (err) {
    deps.metrics.influxErrors.inc({ kind: writeErrorKind(err) });
    // a refusal that is about the collector (auth, missing database: 401/403/404), not the report, is retryable
    const collectorSide = err instanceof InfluxRejectedError && !refusedForData(err);
    if (err instanceof InfluxUnavailableError || collectorSide) {
      log.warn({ reportId, err: err.message }, 'InfluxDB unavailable; asking the agent to retry');
      return retryLater(
        'series-store-unavailable',
        'the time-series store is unavailable; keep the report and retry later',
      );
    }
    if (err instanceof InfluxRejectedError) {
      log.error({ reportId, err: err.message }, 'InfluxDB refused the points');
      return rejected(422, 'series-refused', `the report's series were refused: ${err.message}`);
    }
    throw err;
  }
}
