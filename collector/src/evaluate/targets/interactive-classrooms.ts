/** 班班通: "每个教室配置多媒体交互设备" (Changzhou 2019–2020): every classroom has a working interactive device. */
import { type Static, Type } from 'typebox';
import { inMaintenance } from '../maintenance.js';
import { isTeachingTime } from '../teaching-hours.js';
import { roomsOf } from './rooms.js';
import { MultimediaFields } from './schema-parts.js';
import { evidenceTimes, fresh, maxAgeMs, noData, round, type TargetModule } from './target.js';

/** Its section of config/targets.yaml (`interactiveClassrooms`). */
export const InteractiveClassroomsSection = Type.Object(
  {
    /** % of a school's `classroom` rooms with a working panel or projector in teaching hours. */
    minPct: Type.Number({ minimum: 0, maximum: 100, default: 100 }),
    /** deviceTypes (which count), districtGoalPct, maxAge (15m). */
    ...MultimediaFields,
  },
  { additionalProperties: false, default: {} },
);
declare module './config.js' {
  interface TargetSections {
    interactiveClassrooms: Static<typeof InteractiveClassroomsSection>;
  }
}

export const interactiveClassrooms: TargetModule = {
  name: 'interactive_classrooms',
  label: { zh: '班班通（教室多媒体交互设备）', en: 'Interactive device in every classroom' },
  short: 'panels',
  source: '常州 2019–2020：每个教室配置多媒体交互设备',
  section: 'interactiveClassrooms',
  sectionSchema: InteractiveClassroomsSection,
  goalKey: 'districtGoalPct',
  unit: { zh: '%', en: '%' },
  criterion: (t) => ({
    zh: `教室有可用多媒体交互设备 ≥ ${t.interactiveClassrooms.minPct}%`,
    en: `classrooms with a working panel or projector ≥ ${t.interactiveClassrooms.minPct}%`,
  }),
  evaluate(e, targets, now) {
    const { minPct, deviceTypes } = targets.interactiveClassrooms;
    const maxAge = maxAgeMs(this, targets);
    const checks = e.latest.filter((r) => r.probe === 'reachability');
    const current = fresh(checks, maxAge, now);
    if (current.length === 0) return noData(this.name, minPct, 'device checks', checks, maxAge);
    const classrooms = roomsOf(current).filter((r) => r.type === 'classroom');
    const times = evidenceTimes(
      current.map((r) => r.at),
      maxAge,
    );
    if (classrooms.length === 0) {
      return {
        target: this.name,
        state: 'no_data',
        value: null,
        goal: minPct,
        reason:
          'no room of type classroom in the inventory: declare the classrooms and their panels or projectors',
        ...times,
      };
    }
    const timetable = targets.deviceAvailability.teachingHours;
    const missing: string[] = [];
    let working = 0;
    for (const room of classrooms) {
      const devices = room.devices.filter((d) => d.type !== undefined && deviceTypes.includes(d.type));
      // outside teaching hours a switched-off panel is not a fault, nor is one in a maintenance window
      const ok = devices.some(
        (d) =>
          d.up ||
          !isTeachingTime(new Date(d.at), e.school.timezone, timetable) ||
          inMaintenance(
            e.maintenance,
            { room: room.name, device: d.name },
            new Date(d.at),
            e.school.timezone,
          ),
      );
      if (ok) working++;
      else missing.push(devices.length === 0 ? `${room.name} (none declared)` : `${room.name} (down)`);
    }
    const pct = round((working / classrooms.length) * 100);
    const shown =
      missing.slice(0, 10).join(', ') + (missing.length > 10 ? ` and ${missing.length - 10} more` : '');
    return {
      target: this.name,
      state: pct >= minPct ? 'met' : 'not_met',
      value: pct,
      goal: minPct,
      reason: `${working} of ${classrooms.length} classrooms have a working ${deviceTypes.join('/')}${missing.length > 0 ? `; without: ${shown}` : ''}`,
      ...times,
    };
  },
};
