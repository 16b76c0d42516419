// `live-class`: one `live_class` point per train to the live-class platform (tags: the platform's name as
// `target`, its `host:port` as `platform`, the transport); `met` 1/0 against the limits the result carries
// (the agent's `probes.live-class` limits: the same verdict as the compliance target's). Kept per platform.
import { type LiveClassResult, liveClassOverLimits } from '../../../protocol/report.js';
import { bit, type ResultKind, resultTime } from './result-kind.js';

export const liveClassResults: ResultKind<LiveClassResult> = {
  probe: 'live-class',
  key: (r) => `live-class|${r.target}`,
  keyHoldsTarget: true,
  lines(r, out, ctx) {
    out
      .begin('live_class')
      .tag('target', r.target)
      .tag('platform', `${r.host}:${r.port}`)
      .tag('transport', r.transport)
      .opt('jitter_ms', r.jitterMs)
      .num('loss_pct', r.lossPct)
      .num('max_jitter_ms', r.limits.jitterMs)
      .num('max_loss_pct', r.limits.lossPct)
      .num('max_one_way_ms', r.limits.oneWayMs)
      .num('met', bit(liveClassOverLimits(r).length === 0))
      .num('ok', bit(r.outcome === 'ok'))
      .opt('one_way_ms', r.oneWayMs)
      .num('received', r.received)
      .opt('rtt_ms', r.rttMs)
      .opt('rtt_p95_ms', r.rttP95Ms)
      .num('sent', r.sent)
      .end(resultTime(r, ctx));
  },
  rollups: [{ measurement: 'live_class', fields: ['rtt_ms', 'one_way_ms', 'jitter_ms', 'loss_pct', 'met'] }],
};
