// `bandwidth`: one `uplink_speedtest` point per direction, with the school's uplink target beside it (for
// Grafana's thresholds); the latest result is kept per direction.
import type { BandwidthResult } from '../../../protocol/report.js';
import { bit, type ResultKind, resultTime } from './result-kind.js';

export const bandwidthResults: ResultKind<BandwidthResult> = {
  probe: 'bandwidth',
  key: (r) => `bandwidth|${r.direction}`,
  keyHoldsTarget: false,
  lines(r, out, ctx) {
    out
      .begin('uplink_speedtest')
      .tag('direction', r.direction)
      .tag('method', r.method)
      .num('bytes', r.bytes)
      .num('duration_s', r.durationS)
      .num('mbps', r.mbps)
      .num('ok', bit(r.outcome === 'ok'))
      .opt('p90_mbps', r.p90Mbps)
      .opt('rtt_loaded_ms', r.rttLoadedMs)
      .opt('rtt_ms', r.rttIdleMs)
      .num('streams', r.streams)
      .num('target_mbps', ctx.uplinkGoalMbps)
      .end(resultTime(r, ctx));
  },
  rollups: [{ measurement: 'uplink_speedtest', fields: ['mbps', 'target_mbps'] }],
};
