import type { BandwidthResult } from '../../../protocol/report.js';
import { readCaFile } from '../http-client.js';
import { loadIdentity } from '../identity.js';
import { runIperf3 } from './iperf3-client.js';
import type { Probe } from './probe.js';
import { runSpeedtest, SpeedtestError } from './speedtest-client.js';

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
 * Uplink speed test (measurement `uplink_speedtest`, docs/architecture.md): multi-stream HTTP against the collector's
 * speed-test service (a slot first), or iperf3 against a site's own server. One result per direction.
 */
export const bandwidthProbe: Probe = {
  kind: 'bandwidth',
  async run(config, ctx) {
    const bw = config.probes.bandwidth;
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
    const server = bw.server ?? config.collector.url;
    const target = new URL(server).host;
    let identity: ReturnType<typeof loadIdentity>;
    try {
      identity = loadIdentity(config.state);
    } catch (err) {
      // a state directory this user cannot read (its message names the path, the user and the fix)
      return failed(target, 'http', err, at, 0);
    }
    if (!identity)
      return failed(
        target,
        'http',
        new Error('the agent is not enrolled: no token for the speed-test service'),
        at,
        0,
      );
    try {
      // the collector's CA (collector.caFile) is the only one trusted for its speed-test service too
      const caFile = config.collector.caFile;
      const ca = caFile ? readCaFile(caFile) : undefined;
      return await runSpeedtest({
        server,
        token: identity.token,
        ...(ca ? { ca } : {}),
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
