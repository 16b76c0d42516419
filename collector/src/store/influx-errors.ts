/**
 * The two ways InfluxDB fails a request (docs/architecture.md, "Errors are typed"): InfluxUnavailableError is
 * retryable (the collector answers 503 and the agent keeps the report), InfluxRejectedError is not. Apart from
 * the writer (influx.ts) so that the line-protocol checks (line-protocol.ts) can refuse a point without it.
 */

/** InfluxDB could not be reached or failed on its side (connection refused/reset, timeout, 5xx): retry later. */
export class InfluxUnavailableError extends Error {
  override readonly name = 'InfluxUnavailableError';
  readonly retryable = true;
}

/** InfluxDB refused the request (4xx), or the data failed validation before sending: do not retry. */
export class InfluxRejectedError extends Error {
  override readonly name = 'InfluxRejectedError';
  readonly retryable = false;
  /** HTTP status when the server refused; undefined for client-side validation and statement errors. */
  readonly status: number | undefined;
  constructor(message: string, options?: { cause?: unknown; status?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.status = options?.status;
  }
}

/**
 * True when the points themselves were refused (InfluxDB's HTTP 400, or a check before sending): writing them
 * again cannot succeed. Every other failure (unavailable; auth or a missing database, 401/403/404) is the
 * collector's side and passes once that is fixed.
 */
export function refusedForData(err: unknown): boolean {
  return err instanceof InfluxRejectedError && (err.status === undefined || err.status === 400);
}

/** The `kind` label of campuswatch_influxdb_write_errors_total for a failed write. */
export function writeErrorKind(err: unknown): 'unavailable' | 'rejected' {
  return err instanceof InfluxUnavailableError ? 'unavailable' : 'rejected';
}
