/** The factory of the room targets: a room type that each school must have (建有) and that must work (可用). */
import { Type } from 'typebox';
import { roomInMaintenance } from '../maintenance.js';
import { isTeachingTime } from '../teaching-hours.js';
import type { TargetsConfig } from './config.js';
import { answersNow, conflictText, type RoomState, roomKey, roomsOf } from './rooms.js';
import { GoalPct, MaxAge, Pct } from './schema-parts.js';
import {
  type ComplianceRow,
  evidenceTimes,
  fresh,
  maxAgeMs,
  noData,
  type SchoolEvidence,
  type TargetModule,
} from './target.js';

/** The section of config/targets.yaml of a room type (`recordingRoom`, `smartClassroom`). */
export const RoomTargetSection = Type.Object(
  {
    /** Rooms of this type a school must have (建有: declared, and its devices answered at least once). */
    minPerSchool: Type.Integer({ minimum: 0, description: 'rooms of this type a school must have' }),
    /** % of schools that must have one (the plan's goal). */
    districtGoalPct: GoalPct,
    /** % of schools whose room must also work in teaching hours (可用); no plan sets one: absent = not judged. */
    workingDistrictGoalPct: Type.Optional(Pct),
    maxAge: MaxAge('15m'),
  },
  { additionalProperties: false },
);

interface RoomKind {
  /** Room type of the inventory. */
  roomType: string;
  section: 'recordingRoom' | 'smartClassroom';
  label: { zh: string; en: string };
  /** `recording room` */
  noun: string;
  /** `rec` */
  short: string;
  source: string;
}

/** The rooms of a type in the school's fresh results, and every fresh reachability result (the evidence). */
function evidenceOf(kind: RoomKind, e: SchoolEvidence, targets: TargetsConfig, now: Date) {
  const maxAge = maxAgeMs({ section: kind.section }, targets);
  const checks = e.latest.filter((r) => r.probe === 'reachability');
  const current = fresh(checks, maxAge, now);
  const rooms = roomsOf(current);
  return { maxAge, checks, current, rooms, ofKind: rooms.filter((r) => r.type === kind.roomType) };
}

const names = (rooms: readonly RoomState[]) => rooms.map((r) => r.name).join(', ');

/** 建有: the inventory declares at least `minPerSchool` rooms of the type and their devices answered at least once. */
export function builtTarget(kind: RoomKind): TargetModule {
  const target = `${kind.section === 'recordingRoom' ? 'recording_room' : 'smart_classroom'}`;
  return {
    name: target,
    label: { zh: `${kind.label.zh}建有率`, en: `${kind.label.en} (has one)` },
    short: kind.short,
    source: kind.source,
    section: kind.section,
    sectionSchema: RoomTargetSection,
    goalKey: 'districtGoalPct',
    unit: { zh: '间', en: 'rooms' },
    criterion: (t) => ({
      zh: `建有${kind.label.zh} ≥ ${t[kind.section].minPerSchool} 间`,
      en: `${kind.noun}s ≥ ${t[kind.section].minPerSchool}`,
    }),
    evaluate(e, targets, now): ComplianceRow {
      const min = targets[kind.section].minPerSchool;
      const { maxAge, checks, current, rooms, ofKind } = evidenceOf(kind, e, targets, now);
      if (current.length === 0) return noData(target, min, 'device checks', checks, maxAge);
      const built = ofKind.filter((r) => e.answeredRooms.has(roomKey(r.type, r.name)) || answersNow(r));
      const never = ofKind.filter((r) => !built.includes(r));
      const times = evidenceTimes(
        current.map((r) => r.at),
        maxAge,
      );
      const conflict = conflictText(rooms);
      if (built.length >= min) {
        return {
          target,
          state: 'met',
          value: built.length,
          goal: min,
          reason: `has ${built.length} ${kind.noun}(s): ${names(built)}${conflict}`,
          ...times,
        };
      }
      const why =
        ofKind.length === 0
          ? `no ${kind.noun} in the inventory (未建)`
          : `${built.length} of ${min} needed; declared but never answered: ${names(never)}`;
      return {
        target,
        state: 'not_met',
        value: built.length,
        goal: min,
        reason: `${why}${conflict}`,
        ...times,
      };
    },
  };
}

/**
 * 可用: at least `minPerSchool` rooms of the type work: every critical device up. Outside teaching hours
 * a switched-off device is not an outage, nor is one down in a maintenance window: such a room still
 * counts as working.
 */
export function workingTarget(kind: RoomKind): TargetModule {
  const target = `${kind.section === 'recordingRoom' ? 'recording_room' : 'smart_classroom'}_working`;
  return {
    name: target,
    label: { zh: `${kind.label.zh}可用率`, en: `${kind.label.en} (works)` },
    short: `${kind.short} ok`,
    source: `${kind.source} — and it works in teaching hours`,
    section: kind.section,
    sectionSchema: RoomTargetSection,
    goalKey: 'workingDistrictGoalPct',
    unit: { zh: '间', en: 'rooms' },
    criterion: () => ({
      zh: `${kind.label.zh}教学时段可用`,
      en: `the ${kind.noun} works in teaching hours`,
    }),
    evaluate(e, targets, now): ComplianceRow {
      const min = targets[kind.section].minPerSchool;
      const { maxAge, checks, current, rooms, ofKind } = evidenceOf(kind, e, targets, now);
      if (current.length === 0) return noData(target, min, 'device checks', checks, maxAge);
      const timetable = targets.deviceAvailability.teachingHours;
      const judged = ofKind.map((r) => {
        if (r.up) return r;
        const planned = roomInMaintenance(e.maintenance, r, e.school.timezone);
        if (planned) return { ...r, up: true, name: `${r.name} (in maintenance: ${planned.reason})` };
        return isTeachingTime(new Date(r.at), e.school.timezone, timetable)
          ? r
          : { ...r, up: true, name: `${r.name} (off outside teaching hours)` };
      });
      const up = judged.filter((r) => r.up);
      const times = evidenceTimes(
        current.map((r) => r.at),
        maxAge,
      );
      const conflict = conflictText(rooms);
      if (up.length >= min) {
        return {
          target,
          state: 'met',
          value: up.length,
          goal: min,
          reason: `${up.length} of ${ofKind.length} ${kind.noun}(s) up: ${names(up)}${conflict}`,
          ...times,
        };
      }
      const downList = judged.filter((r) => !r.up).map((r) => `${r.name}: ${r.down.join('; ')}`);
      const why =
        ofKind.length === 0
          ? `no ${kind.noun} in the inventory (未建)`
          : `${up.length} of ${ofKind.length} ${kind.noun}(s) up, ${min} needed; down: ${downList.join(' | ')}`;
      return { target, state: 'not_met', value: up.length, goal: min, reason: `${why}${conflict}`, ...times };
    },
  };
}
