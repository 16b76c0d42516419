/** 设备可用率: critical devices up ≥ minPct of the checks in teaching hours (local policy, configurable). */
import { type Static, Type } from 'typebox';
import { GoalPct, MaxAge, Timetable } from './schema-parts.js';
import { evidenceTimes, maxAgeMs, noData, round, type TargetModule } from './target.js';

/** Its section of config/targets.yaml (`deviceAvailability`). */
export const DeviceAvailabilitySection = Type.Object(
  {
    minPct: Type.Number({
      minimum: 0,
      maximum: 100,
      description: '% of teaching hours critical devices must be up',
    }),
    windowDays: Type.Integer({
      default: 30,
      minimum: 1,
      maximum: 366,
      description: 'days the availability is computed over',
    }),
    /** A recording room down this long in teaching hours becomes an alert candidate. */
    roomDownAlertMinutes: Type.Integer({ default: 10, minimum: 1, maximum: 1440 }),
    teachingHours: Timetable,
    districtGoalPct: Type.Optional(GoalPct),
    maxAge: MaxAge('1d'),
  },
  { additionalProperties: false },
);
declare module './config.js' {
  interface TargetSections {
    deviceAvailability: Static<typeof DeviceAvailabilitySection>;
  }
}

export const deviceAvailability: TargetModule = {
  name: 'device_availability',
  label: { zh: '教学时段设备可用率', en: 'Device availability in teaching hours' },
  short: 'avail',
  source: 'local policy (configurable): critical devices available in teaching hours',
  section: 'deviceAvailability',
  sectionSchema: DeviceAvailabilitySection,
  goalKey: 'districtGoalPct',
  unit: { zh: '%', en: '%' },
  criterion: (t) => {
    const { minPct, windowDays } = t.deviceAvailability;
    return {
      zh: `关键设备教学时段可用率 ≥ ${minPct}%（${windowDays} 天）`,
      en: `critical devices up ≥ ${minPct}% in teaching hours (${windowDays} days)`,
    };
  },
  evaluate(e, targets, now) {
    const maxAge = maxAgeMs(this, targets);
    const goal = targets.deviceAvailability.minPct;
    const checks = e.latest.filter((r) => r.probe === 'reachability' && r.device.critical !== false);
    const newest = checks.reduce<string | null>((m, r) => (m === null || r.at > m ? r.at : m), null);
    const days = targets.deviceAvailability.windowDays;
    if (newest !== null && Date.parse(newest) < now.getTime() - maxAge)
      return noData(this.name, goal, 'critical-device checks', checks, maxAge);
    const { up, total } = e.availability;
    const times = evidenceTimes(newest === null ? [] : [newest], maxAge);
    if (total === 0) {
      return {
        target: this.name,
        state: 'no_data',
        value: null,
        goal,
        reason: `no critical-device checks in teaching hours in the last ${days} days`,
        ...times,
      };
    }
    const pct = round((up / total) * 100, 2);
    return {
      target: this.name,
      state: pct >= goal ? 'met' : 'not_met',
      value: pct,
      goal,
      reason: `${pct}% of ${total} critical-device checks up in teaching hours over the last ${days} days`,
      ...times,
    };
  },
};
