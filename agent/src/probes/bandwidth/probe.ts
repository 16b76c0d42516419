import type { BandwidthResult } from '../../../../protocol/report.js';
import type { CollectorCredentials, KindProbe } from '../probe.js';
import { runIperf3 } from './iperf3-client.js';
import type { BandwidthConfig } from './schema.js';
import { runSpeedtest, SpeedtestError } from './speedtest-client.js';

/** What the bandwidth probe sees of the agent's config: its own block and the collector's URL. */
export interface BandwidthSlice {
  bandwidth: BandwidthConfig;
  /** The collector's base URL: the speed-test service's when `bandwidth.server` is not set. */
  collectorUrl: string;
}

function failed(
  target: string,
  method: 'http' | 'iperf3',
  err: unknown,
  at: string,
  durationMs: number,
): BandwidthResult[] {
  const outcome = err instanceof SpeedtestError ? err.outcome : 'error';
  return (['down', 'up'] as const).map((direction) => ({
    probe: 'bandwidth',
    target,
    outcome,
    durationMs,
    at,
    method,
    direction,
    mbps: 0,
    streams: 0,
    durationS: 0,
    bytes: 0,
    error: (err as Error).message,
  }));
}

/**
 * Uplink speed test (measurement `uplink_speedtest`, README.md beside this file): multi-stream HTTP against the
 * collector's speed-test service (a slot first) with the agent's token from `ctx.credentials()`, or iperf3
 * against a site's own server (no credentials). One result per direction.
 */
export const bandwidthProbe: KindProbe<BandwidthSlice> = {
  async run({ bandwidth: bw, collectorUrl }, ctx) {
    const at = ctx.now().toISOString();
    const t0 = performance.now();
    const elapsed = () => Math.round((performance.now() - t0) * 1000) / 1000;
    if (bw.method === 'iperf3' && bw.iperf3) {
      try {
        return await runIperf3({
          ...bw.iperf3,
          streams: bw.streams,
          durationS: bw.durationS,
          omitS: bw.omitS,
          signal: ctx.signal,
          now: ctx.now,
        });
      } catch (err) {
        return failed(`${bw.iperf3.host}:${bw.iperf3.port}`, 'iperf3', err, at, elapsed());
      }
    }
    const server = bw.server ?? collectorUrl;
    const target = new URL(server).host;
    let credentials: CollectorCredentials;
    try {
      if (!ctx.credentials) throw new Error('the agent is not enrolled: no token for the speed-test service');
      // not enrolled, a state directory this user cannot read, an unreadable caFile: the message says which
      credentials = ctx.credentials();
    } catch (err) {
      return failed(target, 'http', err, at, 0);
    }
    try {
      // the collector's CA (collector.caFile) is the only one trusted for its speed-test service too
      return await runSpeedtest({
        server,
        token: credentials.token,
        ...(credentials.ca ? { ca: credentials.ca } : {}),
        streams: bw.streams,
        maxStreams: bw.maxStreams,
        durationS: bw.durationS,
        omitS: bw.omitS,
        signal: ctx.signal,
        now: ctx.now,
        log: ctx.log,
      });
    } catch (err) {
      return failed(target, 'http', err, at, elapsed());
    }
  },
};
