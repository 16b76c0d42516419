import { lookup } from 'node:dns/promises';
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import { connect, isIP, type Socket } from 'node:net';
import { delimiter, join } from 'node:path';
import type { Outcome } from '../../../../protocol/report.js';
import { AgentPair } from '../../http-client.js';

/**
 * Small helpers shared by the network probes (reachability, uplink-snmp, ipv6, security, host): name
 * resolution, TCP connects, concurrency limits, error codes.
 */

export type Family = 4 | 6;

/** A task runner that keeps at most `limit` tasks in flight; the others wait in order. */
export type Limiter = <T>(task: () => Promise<T>) => Promise<T>;

export function createLimiter(limit: number): Limiter {
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError(`concurrency must be an integer ≥ 1, got ${limit}`);
  let active = 0;
  const waiting: Array<() => void> = [];
  const release = () => {
    active--;
    waiting.shift()?.();
  };
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await task();
    } finally {
      release();
    }
  };
}

/** Maps `items` through `fn` with at most `limit` calls in flight; results keep the order of `items`. */
export function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const run = createLimiter(limit);
  return Promise.all(items.map((item, i) => run(() => fn(item, i))));
}

export type Raced<T> = { aborted: false; value: T } | { aborted: true };

/**
 * Waits for `promise` or for `signal` to abort, whichever comes first. The abort listener is always
 * removed, and a late rejection of `promise` is handled (so it cannot become an unhandled rejection).
 * The work behind `promise` is not stopped: use this only for work that ends by itself.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<Raced<T>> {
  return new Promise<Raced<T>>((resolve, reject) => {
    let done = false;
    const onAbort = () => {
      if (done) return;
      done = true;
      resolve({ aborted: true });
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        if (done) return;
        done = true;
        resolve({ aborted: false, value });
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        if (done) return;
        done = true;
        reject(err);
      },
    );
  });
}

/** The `code` of a Node.js system error (`ECONNREFUSED` …), if there is one. */
export function errnoCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null || !('code' in err)) return undefined;
  const code = (err as { code: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

const UNREACHABLE_CODES = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'EHOSTDOWN', 'ENETDOWN']);

/** Classifies a socket error by its code (never by its message text, which changes between Node versions and locales). */
export function outcomeOfErrno(code: string | undefined): Outcome {
  if (code === 'ECONNREFUSED') return 'refused';
  if (code !== undefined && UNREACHABLE_CODES.has(code)) return 'unreachable';
  if (code === 'ETIMEDOUT') return 'timeout';
  return 'error';
}

export function errorText(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.slice(0, 2000);
}

/** Milliseconds since `startedAt` (a `performance.now()` value) until `until` (now), rounded to microseconds. */
export function elapsedMs(startedAt: number, until = performance.now()): number {
  return Math.max(0, Math.round((until - startedAt) * 1000) / 1000);
}

export type Resolution =
  | { ok: true; address: string; family: Family }
  | { ok: false; outcome: Outcome; error: string };

/** `[::1]` → `::1`; anything else unchanged. */
function unbracket(host: string): string {
  const m = /^\[(.+)\]$/.exec(host);
  return m?.[1] ?? host;
}

/**
 * Turns an address or host name into one IP address and its family. IP literals are returned as they
 * are; names go through the system resolver (`dns.lookup`, so /etc/hosts counts), first answer wins.
 * Failure is data: an outcome and a message; an abort is a `timeout`.
 */
export async function resolveHost(host: string, signal: AbortSignal): Promise<Resolution> {
  const literal = unbracket(host);
  const kind = isIP(literal);
  if (kind === 4 || kind === 6) return { ok: true, address: literal, family: kind };
  if (signal.aborted)
    return { ok: false, outcome: 'timeout', error: 'the probe deadline passed before name resolution' };
  try {
    const raced = await raceAbort(lookup(host), signal);
    if (raced.aborted)
      return {
        ok: false,
        outcome: 'timeout',
        error: `name resolution of ${host} did not finish before the probe deadline`,
      };
    const { address, family } = raced.value;
    if (family !== 4 && family !== 6)
      return { ok: false, outcome: 'error', error: `unexpected address family ${family} for ${host}` };
    return { ok: true, address, family };
  } catch (err) {
    const code = errnoCode(err) ?? 'error';
    return { ok: false, outcome: 'error', error: `cannot resolve ${host} (${code})` };
  }
}

export interface TcpConnectOptions {
  /** IP address or host name. */
  host: string;
  port: number;
  /** Gives up after this long: outcome `timeout`. */
  timeoutMs: number;
  /** The caller's deadline: an abort ends the attempt at once with outcome `timeout`. */
  signal: AbortSignal;
}

export interface TcpConnectResult {
  outcome: Outcome;
  /** Time from `connect()` to the established connection (name resolution excluded). */
  rttMs?: number;
  family?: Family;
  /** The IP address actually used. */
  address?: string;
  error?: string;
}

/**
 * Opens a TCP connection. On outcome `ok` the caller owns `socket` (attach an `'error'` listener and
 * destroy the socket when done); on any other outcome the socket is already destroyed. Never throws;
 * the timer and the abort listener are always removed.
 */
export async function openTcp(opts: TcpConnectOptions): Promise<TcpConnectResult & { socket?: Socket }> {
  const resolved = await resolveHost(opts.host, opts.signal);
  if (!resolved.ok) return { outcome: resolved.outcome, error: resolved.error };
  const { address, family } = resolved;
  const { port, timeoutMs, signal } = opts;
  if (signal.aborted)
    return { outcome: 'timeout', family, address, error: 'the probe deadline passed before connecting' };
  return new Promise((resolve) => {
    const startedAt = performance.now();
    const socket = connect({ host: address, port });
    let settled = false;
    const finish = (result: TcpConnectResult, keep = false) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.removeListener('connect', onConnect);
      if (keep) {
        // `onError` stays attached (a no-op from now on) so that an error before the caller attaches
        // its own listener cannot crash the process.
        resolve({ ...result, socket });
      } else {
        socket.destroy();
        resolve(result);
      }
    };
    const onConnect = () => {
      const actual = isIP(socket.remoteAddress ?? '');
      finish(
        {
          outcome: 'ok',
          rttMs: elapsedMs(startedAt),
          family: actual === 4 || actual === 6 ? actual : family,
          address: socket.remoteAddress ?? address,
        },
        true,
      );
    };
    const onError = (err: Error) => {
      finish({ outcome: outcomeOfErrno(errnoCode(err)), family, address, error: errorText(err) });
    };
    const onAbort = () => {
      finish({ outcome: 'timeout', family, address, error: 'the probe deadline passed while connecting' });
    };
    const timer = setTimeout(() => {
      finish({ outcome: 'timeout', family, address, error: `no answer within ${timeoutMs} ms` });
    }, timeoutMs);
    socket.once('connect', onConnect);
    socket.on('error', onError);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** A connect-only check: opens a TCP connection and closes it at once. */
export async function tcpConnect(opts: TcpConnectOptions): Promise<TcpConnectResult> {
  const { socket, ...result } = await openTcp(opts);
  socket?.destroy();
  return result;
}

/** The full path of an executable found on PATH, or undefined. */
export async function findExecutable(
  name: string,
  path = process.env.PATH ?? '',
): Promise<string | undefined> {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, name);
    try {
      await access(file, constants.X_OK);
      return file;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** Bytes from a device (SNMP OCTET STRING, an HTTP body) → text: UTF-8, else GB18030 (common on Chinese equipment), else Latin-1. */
export function decodeText(buf: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    try {
      return new TextDecoder('gb18030', { fatal: true }).decode(buf);
    } catch {
      return buf.toString('latin1');
    }
  }
}

/**
 * The HTTP connections of one sweep (reachability's http checks, the security scan's web checks): at most
 * one per origin (checks of one web server queue rather than open several), kept alive 1 s between checks;
 * none is kept once the sweep ends (`destroy()`).
 */
export function httpAgents(): AgentPair {
  return new AgentPair({ keepAlive: true, maxSockets: 1, timeout: 1000 });
}
