import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { Report } from '../../protocol/report.js';
import { SENT_AT_HEADER } from '../../protocol/version.js';
import { AgentPair, describeConnectError, readCaFile, smallRequest } from './http-client.js';
import { tlsToPlainPort } from './http-errors.js';
import type { Logger } from './log.js';
import { type PartsProgress, remainingParts } from './report-parts.js';
import type { Spool } from './spool/spool.js';

export interface ForwarderOptions {
  collectorUrl: string;
  token: string;
  spool: Spool;
  log: Logger;
  now?: () => Date;
  /** PEM CA bundle: when set, only it is trusted for the collector's certificate (read at construction). */
  caFile?: string;
  /** The same as PEM text or bytes (wins over caFile). */
  ca?: string | Buffer;
  requestTimeoutMs?: number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  random?: () => number;
  /** Send report bodies gzip-compressed (the agent: `collector.gzip`, default true; here default false). */
  gzip?: boolean;
  /** The agent's `collector.maxReportBytes` (named when a collector's smaller body limit is learned). */
  maxReportBytes?: number;
  /** Called after a report was acknowledged and removed from the spool. */
  onDelivered?: (reportId: string) => void;
}

/** Why a flush stopped before the spool was empty. */
export type StopReason =
  | { kind: 'unavailable'; status: number; retryAfterMs?: number; message: string }
  | { kind: 'auth'; status: number; message: string }
  | { kind: 'network'; message: string; code?: string }
  /**
   * Something other than the collector answered (a captive portal, a misrouted proxy), or the collector's
   * answer did not acknowledge the report that was sent: nothing counts as delivered or refused.
   */
  | { kind: 'foreign'; status: number; message: string }
  | { kind: 'aborted' };

type SendOutcome =
  | { kind: 'delivered' }
  | { kind: 'rejected'; status: number; message: string }
  | { kind: 'stopped'; reason: StopReason };

export interface FlushResult {
  delivered: number;
  rejected: number;
  stopped?: StopReason;
}

const RETRY_AFTER_CAP_MS = 3_600_000;
const gzipAsync = promisify(gzip);
const IDLE_CONNECTION_MS = 4000;
/** The smallest part a report is split into after a 413: a single result larger than this is not sent. */
export const MIN_PART_BYTES = 65_536;

/** The collector's own 413 (a proxy's page is a foreign answer, never this). */
const tooLarge = (o: SendOutcome): o is Extract<SendOutcome, { kind: 'rejected' }> =>
  o.kind === 'rejected' && o.status === 413;

/** Parses Retry-After (delta-seconds or an HTTP date) into milliseconds, capped at an hour. */
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Math.min(Number(v.trim()) * 1000, RETRY_AFTER_CAP_MS);
  const date = Date.parse(v);
  if (Number.isNaN(date)) return undefined;
  return Math.min(Math.max(0, date - nowMs), RETRY_AFTER_CAP_MS);
}

/**
 * Sends spooled reports oldest first and deletes each only after the collector acknowledged that very
 * report (docs/architecture.md, "Spool before send"): a 2xx JSON answer echoing its id. A proxy's or captive portal's page, whatever
 * its status, is a transient failure: the report stays spooled. While the collector is away it backs off exponentially with full jitter, and
 * honours Retry-After on 429/503.
 */
export class Forwarder {
  private readonly url: URL;
  /** The connection to the collector, kept between reports of one flush (closed after 4 s idle). */
  private readonly agents: AgentPair;
  private readonly ca: string | Buffer | undefined;
  private readonly now: () => Date;
  private readonly random: () => number;
  private failures = 0;
  /** A foreign answer was logged since the collector last answered: one line per burst, not per try. */
  private foreignLogged = false;
  private wake: (() => void) | undefined;
  /** A kick that came while no one was waiting: the next idle wait is skipped. */
  private kicked = false;
  /** The collector refused a compressed report and took it uncompressed: no more gzip (until a restart). */
  private plainOnly = false;
  /**
   * Learned from the collector's own 413 (its `ingest.bodyLimitBytes` below `collector.maxReportBytes`):
   * reports larger than this go in parts of at most this many bytes, until a restart.
   */
  private partBytes: number | undefined;
  /** The part size that was said in the log (once, when a report first went through in such parts). */
  private partBytesLogged: number | undefined;
  /** Spooled reports being sent in parts: the results and parts delivered so far (while the agent runs). */
  private readonly progress = new Map<string, PartsProgress>();

  constructor(private readonly opts: ForwarderOptions) {
    this.url = new URL('/api/v1/reports', opts.collectorUrl);
    this.ca = opts.ca ?? (opts.caFile ? readCaFile(opts.caFile) : undefined);
    // timeout: an idle connection is closed after 4 s (or just before the server's Keep-Alive hint), so a
    // report is never sent on a connection the collector is closing; the request's own deadline is the signal.
    this.agents = new AgentPair({ keepAlive: true, timeout: IDLE_CONNECTION_MS });
    this.now = opts.now ?? (() => new Date());
    this.random = opts.random ?? Math.random;
  }

  /** Sends until the spool is empty or the collector cannot take more now. */
  async flush(signal?: AbortSignal): Promise<FlushResult> {
    const result: FlushResult = { delivered: 0, rejected: 0 };
    const { spool, log } = this.opts;
    for (;;) {
      if (signal?.aborted) return { ...result, stopped: { kind: 'aborted' } };
      const [next] = spool.oldest(1);
      if (!next) {
        this.failures = 0;
        this.progress.clear();
        return result;
      }
      spool.noteAttempt(next.reportId);
      const outcome = await this.deliverSpooled(next.body, next.reportId, signal);
      if (outcome.kind === 'delivered' || outcome.kind === 'rejected') this.foreignLogged = false;
      if (outcome.kind === 'delivered') {
        spool.ack(next.reportId, this.now());
        result.delivered++;
        this.failures = 0;
        this.opts.onDelivered?.(next.reportId);
        continue;
      }
      if (outcome.kind === 'rejected') {
        spool.reject(next.reportId, outcome.status, outcome.message);
        result.rejected++;
        log.error(
          { reportId: next.reportId, status: outcome.status, reason: outcome.message },
          'collector refused a report for good; it is kept in the spool dead-letter table',
        );
        continue;
      }
      this.failures++;
      if (outcome.reason.kind === 'foreign' && !this.foreignLogged) {
        this.foreignLogged = true;
        log.warn(
          { reportId: next.reportId, status: outcome.reason.status },
          `${outcome.reason.message}; reports stay spooled and are sent again`,
        );
      }
      return { ...result, stopped: outcome.reason };
    }
  }

  /** How long to wait after a stopped flush: Retry-After when given, else exponential backoff with full jitter. */
  delayAfter(stopped: StopReason): number {
    if (stopped.kind === 'unavailable' && stopped.retryAfterMs !== undefined) {
      return (
        stopped.retryAfterMs + Math.floor(this.random() * Math.min(stopped.retryAfterMs * 0.1 + 1, 30_000))
      );
    }
    const base = this.opts.backoffBaseMs ?? 1000;
    const max = this.opts.backoffMaxMs ?? 300_000;
    const ceiling = Math.min(max, base * 2 ** Math.min(this.failures, 30));
    return Math.floor(this.random() * ceiling);
  }

  /** Wakes a forwarder that is idle or backing off (e.g. a new report was spooled, or on shutdown). */
  kick(): void {
    this.kicked = true;
    this.wake?.();
  }

  /** Runs until the signal aborts: flush, wait (backoff or for a kick), repeat. */
  async run(signal: AbortSignal, idleMs = 60_000): Promise<void> {
    while (!signal.aborted) {
      this.kicked = false;
      const r = await this.flush(signal);
      if (signal.aborted) break;
      let waitMs = idleMs;
      let wakeable = true;
      if (r.stopped) {
        waitMs = this.delayAfter(r.stopped);
        wakeable = false; // a new report must not bypass the backoff
        if (r.stopped.kind === 'auth')
          // revoked (or an unknown token): nothing is lost, but only a new enrolment makes it report again
          this.opts.log.error(
            { reason: r.stopped, retryInMs: waitMs },
            `the collector refused this agent's token (${r.stopped.message}); reports stay spooled`,
          );
        else if (r.stopped.kind !== 'foreign')
          // (a foreign answer was logged by flush, once per burst)
          this.opts.log.warn(
            { reason: r.stopped, retryInMs: waitMs },
            'collector not reachable; reports stay spooled',
          );
      }
      if (wakeable && this.kicked) continue; // something was spooled while flushing
      const woke = new AbortController();
      if (wakeable) this.wake = () => woke.abort();
      await sleep(waitMs, undefined, { signal: AbortSignal.any([signal, woke.signal]) }).catch(
        () => undefined,
      );
      this.wake = undefined;
    }
  }

  /** The part size learned from the collector's 413, if one was (the agent may split its cycles by it). */
  get learnedPartBytes(): number | undefined {
    return this.partBytes;
  }

  /**
   * Sends a spooled report: as it is, unless the collector taught that it is too large (413); then as parts
   * under the learned size, each delivered (or refused) on its own, the report done when all of them are.
   */
  private async deliverSpooled(body: string, reportId: string, signal?: AbortSignal): Promise<SendOutcome> {
    const bytes = Buffer.byteLength(body);
    if (!this.progress.has(reportId) && (this.partBytes === undefined || bytes <= this.partBytes)) {
      const outcome = await this.deliver(body, reportId, signal);
      if (!tooLarge(outcome)) return outcome;
      if (!this.learn(bytes)) return { ...outcome, message: this.floorMessage(outcome.message) };
    }
    return this.deliverInParts(JSON.parse(body) as Report, signal);
  }

  /** After a 413 for a body of `bytes`: half the size sent so far, not below the floor (false: at it). */
  private learn(bytes: number): boolean {
    const current = Math.min(this.partBytes ?? this.opts.maxReportBytes ?? bytes, bytes);
    if (current <= MIN_PART_BYTES) return false;
    this.partBytes = Math.max(MIN_PART_BYTES, Math.floor(current / 2));
    return true;
  }

  private floorMessage(said: string): string {
    return `${said}; not sent in smaller parts: parts of ${MIN_PART_BYTES} bytes are the smallest the agent sends (raise the collector's ingest.bodyLimitBytes)`;
  }

  /**
   * The report's results not yet delivered, in parts under the learned size, oldest first. Another 413
   * halves the size again and the rest is split anew; a part the collector refuses for good (or a single
   * result over the floor) is kept as a dead letter of its own and the rest goes on.
   */
  private async deliverInParts(report: Report, signal?: AbortSignal): Promise<SendOutcome> {
    const { spool, log } = this.opts;
    const id = report.reportId;
    const progress = this.progress.get(id) ?? { from: 0, done: 0 };
    this.progress.set(id, progress);
    let again = true;
    while (again) {
      again = false;
      const limit = this.partBytes ?? MIN_PART_BYTES;
      for (const { part, start, end } of remainingParts(report, progress, limit)) {
        if (signal?.aborted) return { kind: 'stopped', reason: { kind: 'aborted' } };
        const body = JSON.stringify(part);
        const bytes = Buffer.byteLength(body);
        let outcome: SendOutcome;
        if (end - start === 1 && bytes > limit && limit <= MIN_PART_BYTES) {
          outcome = {
            kind: 'rejected',
            status: 413,
            message: `a single result of ${bytes} bytes: larger than the smallest part the agent sends (${MIN_PART_BYTES} bytes), and the collector's ingest.bodyLimitBytes refused larger parts`,
          };
        } else {
          outcome = await this.deliver(body, part.reportId, signal);
          if (tooLarge(outcome)) {
            if (this.learn(bytes)) {
              again = true;
              break;
            }
            outcome = { ...outcome, message: this.floorMessage(outcome.message) };
          }
        }
        if (outcome.kind === 'stopped') return outcome;
        if (outcome.kind === 'rejected') {
          // kept aside on its own: the results delivered before and after it are not sent twice
          spool.enqueue(part);
          spool.reject(part.reportId, outcome.status, outcome.message);
          log.error(
            { reportId: part.reportId, of: id, status: outcome.status, reason: outcome.message },
            'collector refused a part of a report for good; it is kept in the spool dead-letter table',
          );
        }
        progress.from = end;
        progress.done++;
      }
    }
    this.progress.delete(id);
    if (this.partBytes !== undefined && this.partBytesLogged !== this.partBytes) {
      this.partBytesLogged = this.partBytes;
      const max = this.opts.maxReportBytes;
      log.warn(
        { partBytes: this.partBytes, ...(max !== undefined ? { maxReportBytes: max } : {}) },
        `the collector refused reports as too large (HTTP 413): its ingest.bodyLimitBytes is lower than this agent's collector.maxReportBytes${max !== undefined ? ` (${max} bytes)` : ''}; until the agent restarts, reports go in parts of at most ${this.partBytes} bytes. Lower collector.maxReportBytes to ${this.partBytes} or raise the collector's ingest.bodyLimitBytes`,
      );
    }
    return { kind: 'delivered' };
  }

  /**
   * Sends one report, gzip-compressed with `gzip` (a report of 1 MiB of JSON travels as ~60 KiB).
   * A collector that predates compressed bodies answers 400 (not JSON) or 415 to one: the report is sent
   * again uncompressed at once, and when that one is taken, uncompressed from then on (logged once).
   */
  private async deliver(body: string, reportId: string, signal?: AbortSignal): Promise<SendOutcome> {
    if (!this.opts.gzip || this.plainOnly) return this.send(body, reportId, signal, false);
    const outcome = await this.send(await gzipAsync(body), reportId, signal, true);
    if (outcome.kind !== 'rejected' || (outcome.status !== 400 && outcome.status !== 415)) return outcome;
    const plain = await this.send(body, reportId, signal, false);
    if (plain.kind === 'delivered') {
      this.plainOnly = true;
      this.opts.log.warn(
        { reportId, status: outcome.status, reason: outcome.message },
        'the collector does not take gzip-compressed reports (an older version?); sending them uncompressed',
      );
    }
    return plain;
  }

  private async send(
    body: string | Buffer,
    reportId: string,
    signal?: AbortSignal,
    gzipped = false,
  ): Promise<SendOutcome> {
    const timeoutMs = this.opts.requestTimeoutMs ?? 30_000;
    // a deadline cleared when the exchange ends: AbortSignal.timeout() would keep a timer and a signal alive
    // for the whole timeout after every delivered report (thousands of them when a backlog is flushed)
    const deadline = new AbortController();
    const timer = setTimeout(
      () => deadline.abort(new DOMException(`no answer within ${timeoutMs} ms`, 'TimeoutError')),
      timeoutMs,
    );
    try {
      const res = await smallRequest(this.url, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${this.opts.token}`,
          'content-type': 'application/json',
          ...(gzipped ? { 'content-encoding': 'gzip' } : {}),
          [SENT_AT_HEADER]: this.now().toISOString(),
        },
        body,
        signal: signal ? AbortSignal.any([signal, deadline.signal]) : deadline.signal,
        agent: this.agents.for(this.url),
        ...(this.ca ? { ca: this.ca } : {}),
        partialBody: true,
      });
      const text = res.text;
      const status = res.status;
      const contentType = res.headers['content-type'];
      const foreign = (why: string) => ({
        kind: 'stopped' as const,
        reason: { kind: 'foreign' as const, status, message: this.scrub(why) },
      });
      if (status >= 200 && status < 300) {
        const ack = readAck(status, contentType, text, reportId);
        return ack.ok ? { kind: 'delivered' } : foreign(ack.why);
      }
      const message = this.scrub(errorMessage(text, status));
      if (status === 429 || status === 503) {
        const retryAfterMs = parseRetryAfter(res.headers['retry-after'], this.now().getTime());
        return { kind: 'stopped', reason: { kind: 'unavailable', status, message, retryAfterMs } };
      }
      // a refusal counts only in the collector's own error shape: a proxy's 400/413 page is not the collector's word
      const refusal = status < 500 ? readApiError(status, contentType, text) : { ok: true as const };
      if (!refusal.ok) return foreign(refusal.why);
      if (status === 401 || status === 403)
        return { kind: 'stopped', reason: { kind: 'auth', status, message } };
      if (status === 400 || status === 413 || status === 422) return { kind: 'rejected', status, message };
      return { kind: 'stopped', reason: { kind: 'unavailable', status, message } };
    } catch (err) {
      if (signal?.aborted) return { kind: 'stopped', reason: { kind: 'aborted' } };
      const e = err as NodeJS.ErrnoException;
      return {
        kind: 'stopped',
        reason: {
          kind: 'network',
          // https:// to a plain HTTP port in words (status and enroll also try the other way round:
          // a TLS handshake of their own, which the daemon does not add to every failed attempt)
          message: this.scrub(tlsToPlainPort(err, this.url) ?? describeConnectError(err)),
          ...(e.code ? { code: e.code } : {}),
        },
      };
    } finally {
      clearTimeout(timer);
    }
  }

  /** What the collector (or a proxy before it) answered may echo the request: the token never goes further. */
  private scrub(text: string): string {
    const { token } = this.opts;
    return token.length >= 8 ? text.split(token).join('[redacted]') : text;
  }

  /** Closes the connections to the collector. */
  async close(): Promise<void> {
    this.agents.destroy();
  }
}

const FOREIGN = 'a proxy or captive portal answered instead of the collector';

const isJson = (contentType: string | undefined) =>
  /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(contentType?.trim() ?? '');

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** `HTTP 200 text/html` (or `HTTP 200 without a content type`): how the answer looked. */
const looked = (status: number, contentType: string | undefined) =>
  `HTTP ${status} ${contentType ? contentType.split(';')[0]!.trim().slice(0, 80) : 'without a content type'}`;

/**
 * Whether a 2xx is the collector's acknowledgement of this very report: JSON, `{ status: 'stored' |
 * 'duplicate', reportId }` with the id that was sent. Anything else, and why in words.
 */
export function readAck(
  status: number,
  contentType: string | undefined,
  text: string,
  reportId: string,
): { ok: true } | { ok: false; why: string } {
  if (!isJson(contentType)) return { ok: false, why: `${FOREIGN}: ${looked(status, contentType)}` };
  const body = parseObject(text);
  if (!body || (body.status !== 'stored' && body.status !== 'duplicate') || typeof body.reportId !== 'string')
    return {
      ok: false,
      why: `${FOREIGN}: ${looked(status, contentType)} that is not the collector's acknowledgement of a report`,
    };
  if (body.reportId !== reportId)
    return {
      ok: false,
      why: `the answer acknowledged report ${JSON.stringify(body.reportId.slice(0, 64))}, not ${reportId} that was sent (a proxy or cache in between?)`,
    };
  return { ok: true };
}

/** Whether a 4xx is the collector's own error answer: JSON `{ statusCode, error, message }` with that status. */
export function readApiError(
  status: number,
  contentType: string | undefined,
  text: string,
): { ok: true } | { ok: false; why: string } {
  const body = isJson(contentType) ? parseObject(text) : undefined;
  if (
    body &&
    body.statusCode === status &&
    typeof body.error === 'string' &&
    typeof body.message === 'string'
  )
    return { ok: true };
  const said = typeof body?.message === 'string' ? `: ${body.message.slice(0, 200)}` : '';
  return { ok: false, why: `${FOREIGN}: ${looked(status, contentType)}${said}` };
}

function errorMessage(text: string, status: number): string {
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    // not JSON
  }
  return text.slice(0, 500) || `HTTP ${status}`;
}
