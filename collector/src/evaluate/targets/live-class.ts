/**
 * 专递课堂/名师课堂: "城乡学校网上结对…课堂教学同步实施" needs a path to the city's live-class platform with
 * interactive video's limits: one-way delay (ITU-T G.114: 150 ms), jitter (30 ms) and loss (1 %). The limits
 * are the ones each result carries (the agent's `probes.live-class`), so that the agent's verdict, the point
 * in InfluxDB and this row agree. The value is the worst of the three as a share of its limit (%): 100 is at
 * the limit.
 */
import { type Static, Type } from 'typebox';
import { type LiveClassResult, liveClassOverLimits } from '../../../../protocol/report.js';
import { GoalPct, MaxAge } from './schema-parts.js';
import { evidenceTimes, fresh, maxAgeMs, noData, round, type TargetModule } from './target.js';

/** 专递课堂/名师课堂: the path to the live-class platform within the limits the agent measured against. */
export const LiveClassSection = Type.Object(
  { districtGoalPct: Type.Optional(GoalPct), maxAge: MaxAge('1h') },
  { additionalProperties: false, default: {} },
);
declare module './config.js' {
  interface TargetSections {
    liveClass: Static<typeof LiveClassSection>;
  }
}

/** The worst of a result's numbers as % of its limit (a train with no echo: its loss). */
export function limitSharePct(r: LiveClassResult): number {
  const share = (v: number | undefined, limit: number) =>
    v === undefined ? 0 : limit === 0 ? (v === 0 ? 0 : Number.POSITIVE_INFINITY) : (v / limit) * 100;
  return Math.max(
    share(r.oneWayMs, r.limits.oneWayMs),
    share(r.jitterMs, r.limits.jitterMs),
    share(r.lossPct, r.limits.lossPct),
  );
}

const numbers = (r: LiveClassResult) =>
  `${r.target}: one-way ${r.oneWayMs ?? '-'} ms, jitter ${r.jitterMs ?? '-'} ms, loss ${r.lossPct}% ` +
  `(limits ${r.limits.oneWayMs} ms, ${r.limits.jitterMs} ms, ${r.limits.lossPct}%; ${r.transport}, ${r.received}/${r.sent} echoed)`;

export const liveClass: TargetModule = {
  name: 'live_class',
  label: { zh: '专递课堂网络质量', en: 'Live-class path quality' },
  short: 'live',
  source: '城乡学校网上结对…课堂教学同步实施（专递课堂、名师课堂）；ITU-T G.114 (150 ms one-way)',
  section: 'liveClass',
  sectionSchema: LiveClassSection,
  goalKey: 'districtGoalPct',
  unit: { zh: '% 限值', en: '% of limit' },
  criterion: () => ({
    // the limits travel with each train (the agent's probes.live-class): these are their defaults
    zh: '到专递课堂平台单向时延 ≤ 150 ms、抖动 ≤ 30 ms、丢包 ≤ 1%（探针所测限值）',
    en: 'to the live-class platform: one way ≤ 150 ms, jitter ≤ 30 ms, loss ≤ 1 % (the limits each train carries)',
  }),
  evaluate(e, targets, now) {
    const maxAge = maxAgeMs(this, targets);
    const all = e.latest.filter((r): r is LiveClassResult => r.probe === 'live-class');
    const results = fresh(all, maxAge, now);
    if (results.length === 0) return noData(this.name, 100, 'live-class measurement', all, maxAge);
    // every platform the school's agents measure must be within its limits
    const problems = results.flatMap((r) =>
      liveClassOverLimits(r).map((p) => (results.length > 1 ? `${r.target}: ${p}` : p)),
    );
    const value = round(Math.max(...results.map(limitSharePct)));
    return {
      target: this.name,
      state: problems.length === 0 ? 'met' : 'not_met',
      value: Number.isFinite(value) ? value : null,
      goal: 100,
      reason:
        problems.length === 0
          ? `within the limits — ${results.map(numbers).join('; ')}`
          : `${problems.join('; ')} — ${results.map(numbers).join('; ')}`,
      ...evidenceTimes(
        results.map((r) => r.at),
        maxAge,
      ),
    };
  },
};
