/** IPv6: "Ipv6规模部署" (Changzhou 2019–2020); the score threshold is local policy. */
import { type Static, Type } from 'typebox';
import { evaluateIpv6 } from '../ipv6.js';
import { GoalPct, MaxAge } from './schema-parts.js';
import { evidenceTimes, maxAgeMs, noData, type TargetModule } from './target.js';

/** Its section of config/targets.yaml (`ipv6`). */
export const Ipv6Section = Type.Object(
  {
    minScore: Type.Number({
      minimum: 0,
      maximum: 10,
      description: 'IPv6 readiness score (0–10) to meet',
    }),
    requireServices: Type.Boolean({
      default: true,
      description: "the school's own services must also answer over IPv6",
    }),
    districtGoalPct: GoalPct,
    maxAge: MaxAge('3d'),
  },
  { additionalProperties: false },
);
declare module './config.js' {
  interface TargetSections {
    ipv6: Static<typeof Ipv6Section>;
  }
}

export const ipv6: TargetModule = {
  name: 'ipv6',
  label: { zh: 'IPv6 就绪', en: 'IPv6 readiness' },
  short: 'ipv6',
  source: '常州 2019–2020：Ipv6规模部署 (threshold: local policy)',
  section: 'ipv6',
  sectionSchema: Ipv6Section,
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
