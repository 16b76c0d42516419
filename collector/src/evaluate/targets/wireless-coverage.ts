/** 无线全覆盖: "有线、无线网络全覆盖" (Changzhou 2019–2020): every teaching room has an access point that is up. */
import { type Static, Type } from 'typebox';
import { inMaintenance } from '../maintenance.js';
import { roomsOf } from './rooms.js';
import { GoalPct, MaxAge } from './schema-parts.js';
import { evidenceTimes, fresh, maxAgeMs, noData, round, type TargetModule } from './target.js';

/** Its section of config/targets.yaml (`wirelessCoverage`). */
export const WirelessCoverageSection = Type.Object(
  {
    /** % of a school's teaching rooms with an access point that is up. */
    minPct: Type.Number({ minimum: 0, maximum: 100, default: 100 }),
    /** Room types that are teaching rooms. */
    roomTypes: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
      minItems: 1,
      default: ['classroom', 'smart', 'recording', 'lab'],
    }),
    districtGoalPct: Type.Optional(GoalPct),
    maxAge: MaxAge('15m'),
  },
  { additionalProperties: false, default: {} },
);
declare module './config.js' {
  interface TargetSections {
    wirelessCoverage: Static<typeof WirelessCoverageSection>;
  }
}

export const wirelessCoverage: TargetModule = {
  name: 'wireless_coverage',
  label: { zh: '无线网络覆盖', en: 'Wireless coverage of teaching rooms' },
  short: 'wifi',
  source: '常州 2019–2020：有线、无线网络全覆盖',
  section: 'wirelessCoverage',
  sectionSchema: WirelessCoverageSection,
  goalKey: 'districtGoalPct',
  unit: { zh: '%', en: '%' },
  criterion: (t) => ({
    zh: `教学用房有在线 AP ≥ ${t.wirelessCoverage.minPct}%`,
    en: `teaching rooms with an AP up ≥ ${t.wirelessCoverage.minPct}%`,
  }),
  evaluate(e, targets, now) {
    const { minPct, roomTypes } = targets.wirelessCoverage;
    const maxAge = maxAgeMs(this, targets);
    const checks = e.latest.filter((r) => r.probe === 'reachability');
    const current = fresh(checks, maxAge, now);
    if (current.length === 0) return noData(this.name, minPct, 'device checks', checks, maxAge);
    const rooms = roomsOf(current).filter((r) => roomTypes.includes(r.type));
    const times = evidenceTimes(
      current.map((r) => r.at),
      maxAge,
    );
    if (rooms.length === 0) {
      return {
        target: this.name,
        state: 'no_data',
        value: null,
        goal: minPct,
        reason: `no teaching room (${roomTypes.join(', ')}) in the inventory`,
        ...times,
      };
    }
    // an access point down in a maintenance window is planned work, not a gap in coverage
    const without = rooms.filter(
      (r) =>
        !r.devices.some(
          (d) =>
            d.type === 'ap' &&
            (d.up ||
              inMaintenance(
                e.maintenance,
                { room: r.name, device: d.name },
                new Date(d.at),
                e.school.timezone,
              )),
        ),
    );
    const covered = rooms.length - without.length;
    const pct = round((covered / rooms.length) * 100);
    const shown = without
      .slice(0, 10)
      .map((r) => r.name)
      .join(', ');
    return {
      target: this.name,
      state: pct >= minPct ? 'met' : 'not_met',
      value: pct,
      goal: minPct,
      reason: `${covered} of ${rooms.length} teaching rooms have an access point up${without.length > 0 ? `; without: ${shown}${without.length > 10 ? ` and ${without.length - 10} more` : ''}` : ''}`,
      ...times,
    };
  },
};
