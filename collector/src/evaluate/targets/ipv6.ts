/** IPv6: "Ipv6规模部署" (Changzhou 2019–2020); the score threshold is local policy. */
import { evaluateIpv6 } from '../ipv6.js';
import { evidenceTimes, maxAgeMs, noData, type TargetModule } from './target.js';

export const ipv6: TargetModule = {
  name: 'ipv6',
  label: { zh: 'IPv6 就绪', en: 'IPv6 readiness' },
  short: 'ipv6',
  source: '常州 2019–2020：Ipv6规模部署 (threshold: local policy)',
  section: 'ipv6',
  goalKey: 'districtGoalPct',
  unit: { zh: '/10', en: '/10' },
  criterion: (t) => ({
    zh: `就绪评分 ≥ ${t.ipv6.minScore}${t.ipv6.requireServices ? '，校内服务支持 IPv6' : ''}`,
    en: `readiness score ≥ ${t.ipv6.minScore}${t.ipv6.requireServices ? ', services over IPv6' : ''}`,
  }),
  evaluate(e, targets, now) {
    const maxAge = maxAgeMs(this, targets);
    const scores = e.latest.filter((r) => r.probe === 'ipv6' && r.check === 'score');
    const newest = scores.reduce<string | null>((m, r) => (m === null || r.at > m ? r.at : m), null);
    if (newest !== null && Date.parse(newest) < now.getTime() - maxAge)
      return noData(this.name, targets.ipv6.minScore, 'IPv6 readiness check', scores, maxAge);
    return { ...evaluateIpv6(e.latest, targets), ...evidenceTimes(newest === null ? [] : [newest], maxAge) };
  },
};
