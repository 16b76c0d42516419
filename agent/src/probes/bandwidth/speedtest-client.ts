import { randomFillSync } from 'node:crypto';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BandwidthResult } from '../../../../protocol/report.js';
import { receiveLowWater } from '../../../../protocol/sockopt.js';
import { describeConnectError, isCertificateError, smallRequest } from '../../http-client.js';
import type { Logger } from '../../log.js';
import { httpStream, loadSockopt } from './http-stream.js';

export { receiveLowWater };

export interface SpeedtestOptions {
  /** Collector base URL (slots are asked for there). */
  server: string;
  token: string;
  streams: number;
  maxStreams: number;
  durationS: number;
  omitS: number;
  signal: AbortSignal;
  now: () => Date;
  log: Logger;
  /** PEM CA bundle: when set, only it is trusted for the speed-test service (API and stream URLs). */
  ca?: string | Buffer;
  /** Live figures while a direction runs (the CLI shows them on a terminal). */
  onProgress?: (p: { direction: 'down' | 'up'; mbps: number; streams: number; elapsedS: number }) => void;
}

interface Slot {
  slotId: string;
  url: string | null;
  sliceMs: number;
}

const WINDOW_MS = 500;
const TICK_MS = 100;

let sockoptLogged = false;

export class SpeedtestError extends Error {
  override readonly name = 'SpeedtestError';
  constructor(
    message: string,
    readonly outcome: BandwidthResult['outcome'],
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

function median(xs: number[]): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1]! + s[m]!) / 2;
}

function percentile(xs: number[], p: number): number | undefined {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

const mbps = (bytes: number, ms: number) => (ms > 0 ? (bytes * 8) / ms / 1000 : 0);
const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Rates of consecutive windows of `perWindow` slices (bytes per slice of sliceMs). */
export function windowRates(slices: readonly number[], sliceMs: number, perWindow: number): number[] {
  const out: number[] = [];
  for (let i = 0; i + perWindow <= slices.length; i += perWindow) {
    let b = 0;
    for (let j = i; j < i + perWindow; j++) b += slices[j]!;
    out.push(mbps(b, perWindow * sliceMs));
  }
  return out;
}

/**
 * Mean and p90 over the steady phase: slices from `omitS` on, the last (partial) slice left out.
 * Slices are bytes per `sliceMs`, counted by the receiver.
 */
export function steadyFigures(slices: readonly number[], sliceMs: number, omitS: number) {
  const from = Math.ceil((omitS * 1000) / sliceMs);
  const steady = slices.slice(from, Math.max(from, slices.length - 1));
  const bytes = steady.reduce((a, b) => a + b, 0);
  const seconds = (steady.length * sliceMs) / 1000;
  const p90 = percentile(windowRates(steady, sliceMs, Math.max(1, Math.round(WINDOW_MS / sliceMs))), 90);
  return {
    mbps: round(mbps(bytes, steady.length * sliceMs)),
    p90Mbps: p90 === undefined ? undefined : round(p90),
    seconds,
    bytes,
  };
}

/**
 * Multi-stream HTTP speed test against the collector's speed-test service: ask for a slot (waiting
 * on 429 + Retry-After within the caller's deadline), idle RTT, download then upload with warm-up
 * excluded, RTT under load, release the slot. Throws SpeedtestError; the probe turns it into results.
 */
export async function runSpeedtest(opts: SpeedtestOptions): Promise<BandwidthResult[]> {
  const api = opts.server.replace(/\/+$/, '');
  const auth = { authorization: `Bearer ${opts.token}` };
  // keep-alive: the pings reuse one connection, so that they measure the RTT and not a handshake
  const keepAlive = { keepAlive: true, maxSockets: 2 };
  const tlsKeepAlive = { ...keepAlive, ...(opts.ca ? { ca: opts.ca } : {}) };
  const apiAgent = api.startsWith('https:') ? new HttpsAgent(tlsKeepAlive) : new HttpAgent(keepAlive);
  const slot = await acquireSlot(api, auth, opts, apiAgent);
  const base = (slot.url ?? api).replace(/\/+$/, '');
  const q = `slot=${encodeURIComponent(slot.slotId)}`;
  const target = new URL(base).host;
  const streamAgent =
    base === api
      ? apiAgent
      : base.startsWith('https:')
        ? new HttpsAgent(tlsKeepAlive)
        : new HttpAgent(keepAlive);
  try {
    const pingUrl = new URL(`${base}/api/v1/speedtest/ping?${q}`);
    const ping = async (): Promise<number> => {
      const t0 = performance.now();
      const res = await smallRequest(pingUrl, { headers: auth, signal: opts.signal, agent: streamAgent });
      if (res.status !== 204) throw new SpeedtestError(`ping answered HTTP ${res.status}`, 'error');
      return performance.now() - t0;
    };
    await ping(); // opens a connection: the handshake is not part of the RTT
    const idle: number[] = [];
    for (let i = 0; i < 5; i++) idle.push(await ping());
    const rttIdleMs = median(idle);

    const results: BandwidthResult[] = [];
    for (const direction of ['down', 'up'] as const) {
      const at = opts.now().toISOString();
      const t0 = performance.now();
      const loaded: number[] = [];
      const stopPings = new AbortController();
      const pinger = (async () => {
        await sleep(opts.omitS * 1000, undefined, { signal: stopPings.signal }).catch(() => undefined);
        while (!stopPings.signal.aborted) {
          try {
            loaded.push(await ping());
          } catch {
            break;
          }
          await sleep(250, undefined, { signal: stopPings.signal }).catch(() => undefined);
        }
      })();
      let fig: { mbps: number; p90Mbps: number | undefined; seconds: number; bytes: number; streams: number };
      try {
        fig =
          direction === 'down'
            ? await download(base, q, auth, opts)
            : await upload(api, base, q, auth, opts, apiAgent, slot.sliceMs);
      } finally {
        stopPings.abort();
        await pinger;
      }
      const rttLoadedMs = median(loaded);
      results.push({
        probe: 'bandwidth',
        target,
        outcome: 'ok',
        durationMs: round(performance.now() - t0, 3),
        at,
        method: 'http',
        direction,
        mbps: fig.mbps,
        ...(fig.p90Mbps !== undefined ? { p90Mbps: fig.p90Mbps } : {}),
        streams: fig.streams,
        durationS: round(fig.seconds, 3),
        bytes: fig.bytes,
        ...(rttIdleMs !== undefined ? { rttIdleMs: round(rttIdleMs, 3) } : {}),
        ...(rttLoadedMs !== undefined ? { rttLoadedMs: round(rttLoadedMs, 3) } : {}),
      });
    }
    return results;
  } finally {
    await smallRequest(new URL(`${api}/api/v1/speedtest/slots/${encodeURIComponent(slot.slotId)}`), {
      method: 'DELETE',
      headers: auth,
      agent: apiAgent,
      signal: AbortSignal.timeout(5000),
    }).catch((err: unknown) =>
      opts.log.warn({ err: (err as Error).message }, 'could not release the speed-test slot'),
    );
    apiAgent.destroy();
    streamAgent.destroy();
  }
}

async function acquireSlot(
  api: string,
  auth: Record<string, string>,
  opts: SpeedtestOptions,
  agent: HttpAgent | HttpsAgent,
): Promise<Slot> {
  for (;;) {
    let res: Awaited<ReturnType<typeof smallRequest>>;
    try {
      res = await smallRequest(new URL(`${api}/api/v1/speedtest/slots`), {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: '{}',
        signal: opts.signal,
        agent,
      });
    } catch (err) {
      if (opts.signal.aborted)
        throw new SpeedtestError('no speed-test slot before the deadline', 'timeout', { cause: err });
      const code = (err as NodeJS.ErrnoException).code;
      throw new SpeedtestError(
        `cannot reach the speed-test service: ${describeConnectError(err)}`,
        code === 'ECONNREFUSED' ? 'refused' : isCertificateError(code) ? 'error' : 'unreachable',
        { cause: err },
      );
    }
    const { text } = res;
    if (res.status === 201) return JSON.parse(text) as Slot;
    if (res.status === 429) {
      const wait = Number(res.headers['retry-after'] ?? 1);
      opts.log.info({ retryInS: wait }, 'speed-test slots busy; waiting');
      try {
        await sleep(Math.max(0.2, Number.isFinite(wait) ? wait : 1) * 1000, undefined, {
          signal: opts.signal,
        });
      } catch (err) {
        throw new SpeedtestError('no free speed-test slot before the deadline', 'timeout', { cause: err });
      }
      continue;
    }
    throw new SpeedtestError(
      `the speed-test service answered HTTP ${res.status}: ${text.slice(0, 200)}`,
      'error',
    );
  }
}

/**
 * Runs `open(stop)` streams, adding streams during the warm-up while throughput still grows, and samples
 * the byte counter every TICK_MS for progress and for that decision. Returns those samples, the number of
 * streams used and when it stopped them; the figures come from time-binned slices (SliceMeter, or the collector's).
 */
async function drive(
  direction: 'down' | 'up',
  opts: SpeedtestOptions,
  counter: { bytes: number },
  open: (stop: AbortSignal) => Promise<void>,
): Promise<{ slices: number[]; streams: number; firstError: Error | undefined; stoppedAt: number }> {
  const stop = new AbortController();
  const signal = AbortSignal.any([stop.signal, opts.signal]);
  const running: Promise<void>[] = [];
  let firstError: Error | undefined;
  const add = (n: number) => {
    for (let i = 0; i < n; i++)
      running.push(
        open(signal).catch((err: unknown) => {
          firstError ??= err as Error;
        }),
      );
  };
  add(opts.streams);
  const slices: number[] = [];
  const totalMs = (opts.omitS + opts.durationS) * 1000;
  const t0 = performance.now();
  let last = 0;
  let previousRate = 0;
  let adapting = opts.streams < opts.maxStreams;
  while (!opts.signal.aborted) {
    const elapsed = performance.now() - t0;
    if (elapsed >= totalMs) break;
    await sleep(Math.min(TICK_MS, totalMs - elapsed));
    const b = counter.bytes;
    slices.push(b - last);
    last = b;
    const ticks = slices.length;
    const perWindow = WINDOW_MS / TICK_MS;
    if (ticks % perWindow === 0) {
      const rate = mbps(
        slices.slice(-perWindow).reduce((a, x) => a + x, 0),
        WINDOW_MS,
      );
      opts.onProgress?.({
        direction,
        mbps: round(rate, 1),
        streams: running.length,
        elapsedS: round(ticks / 10, 1),
      });
      // during warm-up: more streams while throughput still grows (>10% over the previous window);
      // once it stops growing the link is full (on a LAN-like RTT that is at once) and we stop adding
      // (the first second is connection set-up and slow start: compared from 1 s on)
      if (adapting && ticks * TICK_MS >= 1000 && ticks * TICK_MS < opts.omitS * 1000) {
        if (previousRate > 0 && rate > previousRate * 1.1) {
          add(Math.min(opts.streams, opts.maxStreams - running.length));
          adapting = running.length < opts.maxStreams;
        } else if (previousRate > 0) {
          adapting = false;
        }
        previousRate = rate;
      }
    }
  }
  const stoppedAt = performance.now();
  stop.abort();
  await Promise.all(running);
  return { slices, streams: running.length, firstError, stoppedAt };
}

/**
 * Bytes counted into slices of TICK_MS by the time they were read (from `t0`), as the collector counts
 * upload bytes. The loop in drive() samples a counter every TICK_MS, but a timer that fires late (a busy
 * or stalled process) would put more than TICK_MS of bytes into a slice: fine for progress, not for the
 * figure.
 */
class SliceMeter {
  bytes = 0;
  readonly slices: number[] = [];
  readonly t0 = performance.now();

  add(n: number): void {
    this.bytes += n;
    const i = Math.floor((performance.now() - this.t0) / TICK_MS);
    while (this.slices.length <= i) this.slices.push(0);
    this.slices[i]! += n;
  }

  /** The slices up to `until` (a performance.now() time), the last one partial. */
  until(until: number): number[] {
    const n = Math.max(0, Math.ceil((until - this.t0) / TICK_MS));
    const out = this.slices.slice(0, n);
    while (out.length < n) out.push(0);
    return out;
  }
}

async function download(base: string, q: string, auth: Record<string, string>, opts: SpeedtestOptions) {
  const meter = new SliceMeter();
  const lowWater = receiveLowWater();
  if (!sockoptLogged && lowWater > 0) {
    sockoptLogged = true;
    const s = loadSockopt();
    if (s.addon)
      opts.log.debug({ addon: s.path, rcvlowat: lowWater }, 'speed test: SO_RCVLOWAT on downloads');
    else opts.log.debug({ reason: s.reason }, 'speed test: no SO_RCVLOWAT (reads as they come)');
  }
  const seconds = opts.omitS + opts.durationS + 2;
  const { streams, firstError, stoppedAt } = await drive('down', opts, meter, async (signal) => {
    const res = await httpStream({
      url: new URL(`${base}/api/v1/speedtest/download?${q}&seconds=${seconds}`),
      headers: auth,
      signal,
      ...(opts.ca ? { ca: opts.ca } : {}),
      receiveLowWater: lowWater,
      onBody: (n) => meter.add(n),
    });
    if (res.status !== 200 && !res.aborted)
      throw new SpeedtestError(`download answered HTTP ${res.status}`, 'error');
  });
  const fig = steadyFigures(meter.until(stoppedAt), TICK_MS, opts.omitS);
  if (fig.bytes === 0)
    throw new SpeedtestError(
      `no bytes arrived during the download${firstError ? `: ${firstError.message}` : ''}`,
      'error',
      { cause: firstError },
    );
  return { ...fig, streams };
}

async function upload(
  api: string,
  base: string,
  q: string,
  auth: Record<string, string>,
  opts: SpeedtestOptions,
  agent: HttpAgent | HttpsAgent,
  sliceMs: number,
) {
  const counter = { bytes: 0 };
  // incompressible: random once, then reused; 1 MiB per write, because the JavaScript cost of an upload
  // is per write (its callback, 'drain', the next write) while libuv finishes a partly sent write alone
  const chunk = randomFillSync(Buffer.allocUnsafe(1024 * 1024));
  const { streams, firstError } = await drive('up', opts, counter, async (signal) => {
    const res = await httpStream({
      url: new URL(`${base}/api/v1/speedtest/upload?${q}`),
      headers: auth,
      signal,
      ...(opts.ca ? { ca: opts.ca } : {}),
      upload: {
        protocol: 'campuswatch-speedtest',
        chunk,
        onSent: (n) => {
          counter.bytes += n;
        },
      },
    });
    if (res.status !== 101 && !res.aborted)
      throw new SpeedtestError(`the upload stream was refused: HTTP ${res.status}`, 'error');
  });
  // the collector counted what really arrived, slice by slice: that is the upload figure
  const res = await smallRequest(new URL(`${api}/api/v1/speedtest/slots/${q.slice('slot='.length)}`), {
    headers: auth,
    signal: opts.signal,
    agent,
  });
  if (res.status !== 200)
    throw new SpeedtestError(
      `the upload figures answered HTTP ${res.status}: ${res.text.slice(0, 200)}`,
      'error',
    );
  const stats = JSON.parse(res.text) as { upload: { slices: number[]; bytes: number }; sliceMs: number };
  const fig = steadyFigures(stats.upload.slices, stats.sliceMs ?? sliceMs, opts.omitS);
  if (fig.bytes === 0)
    throw new SpeedtestError(
      `the collector received no bytes during the upload${firstError ? `: ${firstError.message}` : ''}`,
      'error',
      { cause: firstError },
    );
  return { ...fig, streams };
}
