/**
 * InfluxDB 1.x store (v1 `/write` and InfluxQL `/query`) over node-influx.
 *
 * Errors are typed (docs/architecture.md, "Errors are typed"): InfluxUnavailableError is retryable (the collector answers 503 and the
 * agent keeps the report), InfluxRejectedError is not. Classification uses error codes, classes and HTTP
 * status, never message text. The points are checked and serialised by line-protocol.ts.
 */
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { InfluxDB, type IPoint, type IResults, type ISingleHostConfig, ResultError } from 'influx';
import { RequestError, ServiceNotAvailableError } from 'influx/lib/src/pool.js';
import type { Logger } from 'pino';
import type { InfluxConfig } from '../config.js';
import { DistrictDatabases, type DistrictDatabasesOptions, linesByDistrict } from './district-databases.js';
import { InfluxRejectedError, InfluxUnavailableError, refusedForData } from './influx-errors.js';
import { linesOf } from './line-protocol.js';
import { WriteBatcher } from './write-batcher.js';

export type { IPoint } from 'influx';
// the writer's errors (influx-errors.ts), which its callers classify
export {
  InfluxRejectedError,
  InfluxUnavailableError,
  refusedForData,
  writeErrorKind,
} from './influx-errors.js';

/** Points per `/write` request. */
export const MAX_BATCH_POINTS = 5000;
/** /write requests the collector has in flight at once; reports that arrive meanwhile share the next one. */
export const WRITES_IN_FLIGHT = 4;

export interface InfluxStoreOptions {
  /** Base URL, e.g. `http://127.0.0.1:8086` (a path prefix is kept; credentials go in username/password). */
  url: string;
  database: string;
  username?: string;
  password?: string;
  /** Socket inactivity timeout per request, in milliseconds. */
  timeoutMs: number;
  /** How long a report's lines may wait for other reports' to share a `/write` (WriteBatcher); 0 by default. */
  batchLingerMs?: number;
  /**
   * Also write every point that has a `district` tag to that district's own database (store/district-databases.ts),
   * created with its retention policies, rollups and read-only user before its first write.
   */
  perDistrict?: Omit<DistrictDatabasesOptions, 'mainDatabase' | 'run'>;
}

/** Network error codes that mean "not reachable now" (Node net/http/dns). */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EADDRNOTAVAIL',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
]);

function errorCodes(err: unknown): string[] {
  if (typeof err !== 'object' || err === null) return [];
  const codes: string[] = [];
  const { code } = err as { code?: unknown };
  if (typeof code === 'string') codes.push(code);
  // Node's happy-eyeballs connect (autoSelectFamily) reports an AggregateError of per-address errors.
  if (err instanceof AggregateError) {
    for (const inner of err.errors) codes.push(...errorCodes(inner));
  }
  return codes;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Maps an error from node-influx to a typed error. node-influx's RequestError carries the whole request
 * and response (headers, auth): only its message and status are used, and it is not kept as `cause`.
 * Errors that are neither (e.g. an AbortError from the caller's signal) are returned unchanged.
 */
function classify(err: unknown, action: string): unknown {
  if (err instanceof InfluxUnavailableError || err instanceof InfluxRejectedError) return err;
  if (err instanceof RequestError) {
    const status = err.res?.statusCode;
    // node-influx raises RequestError for 300 <= status < 500; 3xx means a wrong URL: not retryable either.
    return new InfluxRejectedError(`${action}: ${err.message}`, { status });
  }
  if (err instanceof ServiceNotAvailableError) {
    // 5xx (message is the status text), "Request timed out", or "No host available".
    return new InfluxUnavailableError(`${action}: InfluxDB unavailable: ${err.message}`, { cause: err });
  }
  if (err instanceof ResultError) {
    return new InfluxRejectedError(`${action}: ${err.message}`, { cause: err });
  }
  if (errorCodes(err).some((code) => UNAVAILABLE_CODES.has(code))) {
    return new InfluxUnavailableError(`${action}: InfluxDB unavailable: ${messageOf(err)}`, { cause: err });
  }
  return err;
}

/** The part of node-influx's request pool used to send prepared line protocol (its writePoints request). */
interface InfluxPool {
  discard(options: {
    method: string;
    path: string;
    body: string;
    query: Record<string, string>;
    auth?: string;
  }): Promise<void>;
}

/**
 * node-influx fills an undefined username with "root" (and password "root") and then sends
 * `Authorization: Basic root:root` on every request; a non-string username turns the header off.
 */
const NO_AUTH = null as unknown as string;

/** A backoff that never takes the (only) host out of node-influx's pool: retrying is the caller's job. */
const NEVER_DISABLE = {
  getDelay: (): number => 0,
  next() {
    return NEVER_DISABLE;
  },
  reset() {
    return NEVER_DISABLE;
  },
};

/** InfluxStoreOptions.perDistrict from the collector's `influx` configuration. */
export function perDistrictOptions(
  influx: InfluxConfig,
  log?: Pick<Logger, 'info' | 'warn' | 'error'>,
): NonNullable<InfluxStoreOptions['perDistrict']> {
  const pd = influx.perDistrict;
  return {
    databasePrefix: pd.databasePrefix,
    readers: pd.readers,
    ...(pd.cityReader ? { cityReader: pd.cityReader } : {}),
    rawDays: influx.rawRetentionDays,
    rollupDays: influx.rollupRetentionDays,
    ...(log ? { log } : {}),
  };
}

export class InfluxStore {
  readonly database: string;
  private readonly client: InfluxDB;
  private readonly agent: HttpAgent;
  private readonly pingUrl: string;
  private readonly authHeader: string | undefined;
  private readonly timeoutMs: number;
  private readonly pool: InfluxPool;
  private readonly auth: string | undefined;
  private readonly batcher: WriteBatcher<string>;
  /** The per-district databases (perDistrict), each written through a WriteBatcher of its own. */
  readonly districts: DistrictDatabases | undefined;
  private readonly districtBatchers = new Map<string, WriteBatcher<string>>();
  private readonly lingerMs: number;

  constructor(options: InfluxStoreOptions) {
    const url = new URL(options.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError(`InfluxDB url must be http or https, got ${url.protocol}`);
    }
    if (url.username !== '' || url.password !== '') {
      throw new TypeError('InfluxDB url must not contain credentials: use username and password');
    }
    if (!Number.isFinite(options.timeoutMs) || options.timeoutMs <= 0) {
      throw new TypeError('timeoutMs must be a positive number');
    }
    const https = url.protocol === 'https:';
    const path = url.pathname.replace(/\/+$/, '');
    this.database = options.database;
    this.timeoutMs = options.timeoutMs;
    this.lingerMs = options.batchLingerMs ?? 0;
    this.batcher = this.batcherFor(this.database);
    this.districts = options.perDistrict
      ? new DistrictDatabases({
          ...options.perDistrict,
          mainDatabase: this.database,
          run: (statement) => this.execute(statement),
        })
      : undefined;
    this.agent = https ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
    this.pingUrl = `${url.origin}${path}/ping`;
    this.auth = options.username === undefined ? undefined : `${options.username}:${options.password ?? ''}`;
    this.authHeader =
      this.auth === undefined ? undefined : `Basic ${Buffer.from(this.auth).toString('base64')}`;
    const config: ISingleHostConfig = {
      host: url.hostname,
      port: url.port === '' ? (https ? 443 : 80) : Number(url.port),
      protocol: https ? 'https' : 'http',
      path,
      database: options.database,
      username: options.username ?? NO_AUTH,
      password: options.username === undefined ? NO_AUTH : (options.password ?? ''),
      options: { agent: this.agent },
      pool: { maxRetries: 0, requestTimeout: options.timeoutMs, backoff: NEVER_DISABLE },
    };
    this.client = new InfluxDB(config);
    // writes go through node-influx's own pool (timeouts, errors, TLS agent as for queries) with a body
    // serialised here; its `_pool` is private API of the pinned influx 5.12.0 (writePoints does the same)
    this.pool = (this.client as unknown as { _pool: InfluxPool })._pool;
  }

  private batcherFor(database: string): WriteBatcher<string> {
    return new WriteBatcher<string>((lines) => this.writeLines(lines, database), {
      maxInFlight: WRITES_IN_FLIGHT,
      maxPoints: MAX_BATCH_POINTS,
      lingerMs: this.lingerMs,
      isBadData: refusedForData,
    });
  }

  /**
   * CREATE DATABASE (a no-op when it exists); with perDistrict, also the databases and readers of the
   * districts it names, and the city's reader.
   */
  async ensureDatabase(): Promise<void> {
    try {
      await this.client.createDatabase(this.database);
    } catch (err) {
      throw classify(err, `create database "${this.database}"`);
    }
    await this.districts?.prepareConfigured();
  }

  /**
   * Writes points with millisecond precision, in batches of at most MAX_BATCH_POINTS. Every point is
   * validated first: one invalid point rejects the whole call and nothing is written. If a later batch
   * fails, earlier batches stay written; retrying the same points is idempotent (same series and time).
   */
  async write(points: IPoint[]): Promise<void> {
    const lines = linesOf(points);
    if (this.districts === undefined) return this.writeLines(lines);
    await this.fanOut(lines, this.writeLines(lines), (database, own) => this.writeLines(own, database));
  }

  /**
   * Like `write`, for lines already checked and serialised (store/points.ts `reportLines`), which may
   * travel in one request with other reports' lines written at the same time (WriteBatcher): the way the
   * collector writes reports.
   */
  async writeCoalesced(lines: string[]): Promise<void> {
    if (this.districts === undefined) return this.batcher.submit(lines);
    await this.fanOut(lines, this.batcher.submit(lines), (database, own) => {
      let batcher = this.districtBatchers.get(database);
      if (batcher === undefined) {
        batcher = this.batcherFor(database);
        this.districtBatchers.set(database, batcher);
      }
      return batcher.submit(own);
    });
  }

  /**
   * `main` (the lines' write to the main database) and a write of each district's lines to its database,
   * at the same time; settles when all have, with the main write's error first.
   */
  private async fanOut(
    lines: readonly string[],
    main: Promise<void>,
    writeTo: (database: string, lines: string[]) => Promise<void>,
  ): Promise<void> {
    const districts = this.districts!;
    const writes = [main];
    for (const [district, own] of linesByDistrict(lines)) {
      writes.push(
        (async () => {
          const database = districts.databaseOf(district);
          await districts.prepare(district);
          await writeTo(database, own);
        })(),
      );
    }
    const outcomes = await Promise.allSettled(writes);
    const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** Told of every `/write` request when it is answered (or fails): seconds it took, and the outcome. */
  onWrite: ((seconds: number, ok: boolean) => void) | undefined;

  private async writeLines(lines: string[], database = this.database): Promise<void> {
    for (let i = 0; i < lines.length; i += MAX_BATCH_POINTS) {
      const batch =
        i === 0 && lines.length <= MAX_BATCH_POINTS ? lines : lines.slice(i, i + MAX_BATCH_POINTS);
      const started = performance.now();
      try {
        await this.pool.discard({
          method: 'POST',
          path: '/write',
          body: batch.join('\n'),
          query: { db: database, precision: 'ms' },
          ...(this.auth === undefined ? {} : { auth: this.auth }),
        });
        this.onWrite?.((performance.now() - started) / 1000, true);
      } catch (err) {
        this.onWrite?.((performance.now() - started) / 1000, false);
        throw classify(err, `write ${batch.length} points to "${database}"`);
      }
    }
  }

  /** True when `/ping` answers 2xx within timeoutMs; rejects only when the caller's signal aborts. */
  async ping(signal?: AbortSignal): Promise<boolean> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
    try {
      const headers: Record<string, string> = {};
      if (this.authHeader !== undefined) headers.authorization = this.authHeader;
      const res = await fetch(this.pingUrl, { signal: combined, headers });
      await res.body?.cancel();
      return res.ok;
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (timeout.aborted) return false;
      if (err instanceof TypeError) return false; // fetch reports network failures as TypeError
      throw err;
    }
  }

  /** InfluxQL with bound parameters (`$name` in the text): values are never spliced into the query. */
  async query<T>(
    text: string,
    placeholders: Record<string, string | number> = {},
    options: { signal?: AbortSignal } = {},
  ): Promise<IResults<T>> {
    try {
      return await this.client.query<T>(text, {
        database: this.database,
        placeholders,
        precision: 'ms',
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
    } catch (err) {
      throw classify(err, 'query');
    }
  }

  /**
   * Runs a statement (CREATE/ALTER/SHOW) with POST /query and returns the raw JSON body. Errors are
   * classified like writes; an error inside the body (`results[].error`) is an InfluxRejectedError.
   */
  async execute(statement: string): Promise<unknown> {
    const url = new URL(this.pingUrl.replace(/\/ping$/, '/query'));
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    if (this.authHeader !== undefined) headers.authorization = this.authHeader;
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'POST',
        headers,
        body: new URLSearchParams({ q: statement, db: this.database }).toString(),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new InfluxUnavailableError(`InfluxDB not reachable for a statement: ${messageOf(err)}`, {
        cause: err,
      });
    }
    const body: unknown = await res.json().catch(() => undefined);
    if (res.status >= 500)
      throw new InfluxUnavailableError(`InfluxDB answered HTTP ${res.status} to a statement`);
    const results = (body as { results?: { error?: string }[]; error?: string } | undefined) ?? {};
    const error = results.error ?? results.results?.find((r) => r.error)?.error;
    if (res.status >= 400 || error) {
      throw new InfluxRejectedError(`InfluxDB refused a statement: ${error ?? `HTTP ${res.status}`}`, {
        status: res.status,
      });
    }
    return body;
  }

  /** Closes idle keep-alive connections. */
  async close(): Promise<void> {
    this.agent.destroy();
  }
}
