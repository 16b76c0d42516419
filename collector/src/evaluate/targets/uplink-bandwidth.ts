/** 出口带宽: "根据学校规模和应用需求，实现300兆—1000兆接入" (Changzhou 2019–2020). */
import { type Static, Type } from 'typebox';
import type { BandwidthResult } from '../../../../protocol/report.js';
import { evaluateUplink } from '../uplink.js';
import { GoalPct, MaxAge, Mbps } from './schema-parts.js';
import { evidenceTimes, maxAgeMs, noData, type TargetModule } from './target.js';
import { tierOf } from './tier.js';

/** Its section of config/targets.yaml (`uplink`). */
export const UplinkSection = Type.Object(
  {
    tolerance: Type.Number({
      default: 0.9,
      exclusiveMinimum: 0,
      maximum: 1,
      description: "a test meets the target at the tier's Mbit/s × tolerance",
    }),
    tiers: Type.Object(
      {
        small: Type.Object(
          {
            maxPupils: Type.Integer({ minimum: 1, description: 'schools up to this many pupils' }),
            mbps: Mbps,
          },
          { additionalProperties: false },
        ),
        medium: Type.Object(
          {
            maxPupils: Type.Integer({ minimum: 1, description: 'schools up to this many pupils' }),
            mbps: Mbps,
          },
          { additionalProperties: false },
        ),
        large: Type.Object({ mbps: Mbps }, { additionalProperties: false }),
      },
      { additionalProperties: false },
    ),
    defaultTier: Type.Enum(['small', 'medium', 'large'], {
      default: 'small',
      description: 'the tier of a school with neither tier nor pupils',
    }),
    lastTests: Type.Integer({
      default: 3,
      minimum: 1,
      maximum: 100,
      description: 'the school is judged on its last this many speed tests',
    }),
    maxAge: MaxAge('3d'),
    districtGoalPct: Type.Optional(GoalPct),
  },
  { additionalProperties: false },
);
declare module './config.js' {
  interface TargetSections {
    uplink: Static<typeof UplinkSection>;
  }
}

export const uplinkBandwidth: TargetModule = {
  name: 'uplink_bandwidth',
  label: { zh: '出口带宽', en: 'Uplink bandwidth' },
  short: 'uplink',
  source: '常州 2019–2020：根据学校规模和应用需求，实现300兆—1000兆接入',
  section: 'uplink',
  sectionSchema: UplinkSection,
  goalKey: 'districtGoalPct',
  unit: { zh: 'Mbps', en: 'Mbps' },
  criterion: (t) => {
    const { small, medium, large } = t.uplink.tiers;
    const mbps = `${small.mbps}/${medium.mbps}/${large.mbps}`;
    return {
      zh: `下行与上行 ≥ ${mbps} Mbit/s（小/中/大规模）× ${t.uplink.tolerance}`,
      en: `down and up ≥ ${mbps} Mbit/s (small/medium/large) × ${t.uplink.tolerance}`,
    };
  },
  evaluate(e, targets, now) {
    const goal = targets.uplink.tiers[tierOf(e.school, targets)].mbps;
    const maxAge = maxAgeMs(this, targets);
    const tests = e.speedtests.filter(
      (t): t is BandwidthResult => t.probe === 'bandwidth' && t.outcome === 'ok',
    );
    const newest = tests.reduce<BandwidthResult | undefined>(
      (m, t) => (!m || t.at > m.at ? t : m),
      undefined,
    );
    // the verdict looks at the last K tests; it counts while the newest of them is fresh
    if (newest && Date.parse(newest.at) < now.getTime() - maxAge)
      return noData(this.name, goal, 'speed test', tests, maxAge);
    return { ...evaluateUplink(tests, goal, targets), ...evidenceTimes(newest ? [newest.at] : [], maxAge) };
  },
};
