// `ipv6`: one `ipv6` point per check (and school service), the two scores on the `score` check; kept per
// check and service (the target when there is none).
import type { Ipv6Result } from '../../../protocol/report.js';
import { bit, type ResultKind, resultTime } from './result-kind.js';

export const ipv6Results: ResultKind<Ipv6Result> = {
  probe: 'ipv6',
  key: (r) => `ipv6|${r.check}|${r.service ?? r.target}`,
  keyHoldsTarget: false,
  lines(r, out, ctx) {
    out.begin('ipv6').tag('check', r.check);
    if (r.service) out.tag('service', r.service);
    out
      .opt('degradation', r.degradation)
      .opt('family', r.family)
      .opt('ms', r.ms)
      .num('ok', bit(r.ok))
      .opt('score_v4only', r.scoreV4only)
      .opt('score_v6', r.scoreV6)
      .end(resultTime(r, ctx));
  },
  rollups: [{ measurement: 'ipv6', fields: ['score_v6', 'score_v4only'] }],
};
