// The live-class probe: round trip, jitter and loss to the city's live-class platform (README.md beside this file).
import { type LiveClassResult, liveClassOverLimits, type Outcome } from '../../../../protocol/report.js';
import { elapsedMs, errnoCode, errorText, outcomeOfErrno } from '../lib/net-util.js';
import type { KindProbe } from '../probe.js';
import type { LiveClassConfig } from './schema.js';
import { type HostLookup, runTrain, type TrainRun } from './train.js';

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/**
 * RFC 3550 (section 6.4.1) interarrival jitter over round-trip times in arrival order: J += (|D| − J) / 16, D the
 * difference of two consecutive packets' transit times (here their RTTs: send and echo read the same clock).
 */
export function rfc3550Jitter(rtts: readonly number[]): number {
  let j = 0;
  for (let i = 1; i < rtts.length; i++) j += (Math.abs(rtts[i]! - rtts[i - 1]!) - j) / 16;
  return j;
}

/** The nearest-rank percentile `p` (0–100) of a non-empty list. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** The numbers of a train: RTT mean and p95, one-way (RTT/2), jitter, loss over the train's planned length. */
export function trainStats(run: Pick<TrainRun, 'sent' | 'rtts'>, packets: number) {
  const received = run.rtts.length;
  const lossPct = round3(((packets - received) / packets) * 100);
  if (received === 0) return { sent: run.sent, received, lossPct };
  const rtt = run.rtts.reduce((a, b) => a + b, 0) / received;
  return {
    sent: run.sent,
    received,
    lossPct,
    rttMs: round3(rtt),
    rttP95Ms: round3(percentile(run.rtts, 95)),
    oneWayMs: round3(rtt / 2),
    jitterMs: round3(rfc3550Jitter(run.rtts)),
  };
}

function outcomeOf(run: TrainRun, timeoutS: number, where: string): { outcome: Outcome; error?: string } {
  if (run.failure !== undefined) {
    const code = errnoCode(run.failure);
    const outcome = code === undefined && run.sent === 0 ? 'timeout' : outcomeOfErrno(code);
    return {
      outcome: code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'unreachable' : outcome,
      error: `${where}: ${errorText(run.failure)}`,
    };
  }
  if (run.rtts.length === 0) return { outcome: 'timeout', error: `${where}: no echo within ${timeoutS} s` };
  return { outcome: 'ok' };
}

/** The probe, with a seam for tests (how a host name is looked up; the system resolver by default). */
export function createLiveClassProbe(options: { lookup?: HostLookup } = {}): KindProbe<LiveClassConfig> {
  return {
    async run(c, ctx) {
      const p = c.platform;
      if (!p) return [];
      const at = ctx.now().toISOString();
      const started = performance.now();
      const run = await runTrain(
        {
          host: p.host,
          port: p.port,
          transport: p.transport,
          packets: c.packets,
          packetBytes: c.packetBytes,
          intervalMs: c.intervalMs,
          ...(options.lookup ? { lookup: options.lookup } : {}),
        },
        ctx.signal,
      );
      const stats = trainStats(run, c.packets);
      const limits = { oneWayMs: c.maxOneWayDelayMs, jitterMs: c.maxJitterMs, lossPct: c.maxLossPct };
      const result: LiveClassResult = {
        probe: 'live-class',
        target: p.name,
        ...outcomeOf(run, c.timeoutS, `${p.transport} ${p.host}:${p.port}`),
        durationMs: elapsedMs(started),
        at,
        transport: p.transport,
        host: p.host,
        port: p.port,
        ...stats,
        packetBytes: c.packetBytes,
        limits,
      };
      const over = liveClassOverLimits(result);
      if (over.length > 0) ctx.log.warn({ platform: p.name, over }, 'live-class path over its limits');
      return [result];
    },
  };
}

export const liveClassProbe = createLiveClassProbe();
