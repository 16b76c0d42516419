/**
 * 每百名学生拥有网络多媒体教室数: networked multimedia rooms per 100 pupils, against the national county-level
 * equalisation standard (县域义务教育优质均衡发展督导评估办法: 小学 ≥ 2.3, 初中 ≥ 2.4). Needs the school's stage and pupils.
 */
import { type Static, Type } from 'typebox';
import { roomKey, roomsOf } from './rooms.js';
import { MultimediaFields } from './schema-parts.js';
import { evidenceTimes, fresh, maxAgeMs, noData, round, type TargetModule } from './target.js';

/** Its section of config/targets.yaml (`multimediaRooms`). */
export const MultimediaRoomsSection = Type.Object(
  {
    /** Networked multimedia rooms per 100 pupils, per stage (学段); a stage without a goal is not judged. */
    per100Pupils: Type.Object(
      {
        primary: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
        junior: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
        senior: Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
        'nine-year': Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
        'twelve-year': Type.Optional(Type.Number({ minimum: 0, maximum: 100 })),
      },
      { additionalProperties: false, default: { primary: 2.3, junior: 2.4 } },
    ),
    /** deviceTypes (which count), districtGoalPct, maxAge (15m). */
    ...MultimediaFields,
  },
  { additionalProperties: false, default: {} },
);
declare module './config.js' {
  interface TargetSections {
    multimediaRooms: Static<typeof MultimediaRoomsSection>;
  }
}

const STAGE_ZH: Record<string, string> = {
  primary: '小学',
  junior: '初中',
  senior: '高中',
  'nine-year': '九年一贯制',
  'twelve-year': '十二年一贯制',
};

export const multimediaRooms: TargetModule = {
  name: 'multimedia_rooms',
  label: { zh: '每百名学生网络多媒体教室数', en: 'Networked multimedia rooms per 100 pupils' },
  short: 'mm/100',
  source: '县域义务教育优质均衡发展督导评估办法：每百名学生拥有网络多媒体教室数 小学2.3间、初中2.4间',
  section: 'multimediaRooms',
  sectionSchema: MultimediaRoomsSection,
  goalKey: 'districtGoalPct',
  unit: { zh: '间/百人', en: 'per 100 pupils' },
  criterion: (t) => {
    const per = (zh: boolean) =>
      Object.entries(t.multimediaRooms.per100Pupils)
        .map(([stage, n]) => `${zh ? (STAGE_ZH[stage] ?? stage) : stage} ${n}`)
        .join(zh ? '、' : ', ');
    return {
      zh: `每百名学生网络多媒体教室 ≥ ${per(true)}`,
      en: `multimedia rooms per 100 pupils ≥ ${per(false)}`,
    };
  },
  evaluate(e, targets, now) {
    const { per100Pupils, deviceTypes } = targets.multimediaRooms;
    const stage = e.school.stage;
    const goal = stage ? (per100Pupils[stage] ?? null) : null;
    const maxAge = maxAgeMs(this, targets);
    const base = { target: this.name, value: null, evidenceAt: null, expiresAt: null } as const;
    if (!stage)
      return {
        ...base,
        state: 'no_data',
        goal,
        reason: 'the school has no stage (学段): set it with school add --stage primary|junior|…',
      };
    if (goal === null)
      return {
        ...base,
        state: 'no_data',
        goal,
        reason: `no goal for stage ${stage} in targets.yaml (the national standard covers primary and junior schools)`,
      };
    if (!e.school.pupils)
      return {
        ...base,
        state: 'no_data',
        goal,
        reason: 'the school has no pupil count: set it with school add --pupils N',
      };
    const checks = e.latest.filter((r) => r.probe === 'reachability');
    const current = fresh(checks, maxAge, now);
    if (current.length === 0) return noData(this.name, goal, 'device checks', checks, maxAge);
    // a multimedia room is networked when its multimedia device answers now or has answered before
    const rooms = roomsOf(current).filter((r) =>
      r.devices.some(
        (d) =>
          d.type !== undefined &&
          deviceTypes.includes(d.type) &&
          (d.up || e.answeredRooms.has(roomKey(r.type, r.name))),
      ),
    );
    const value = round((rooms.length / e.school.pupils) * 100, 2);
    return {
      target: this.name,
      state: value >= goal ? 'met' : 'not_met',
      value,
      goal,
      reason: `${rooms.length} networked multimedia rooms for ${e.school.pupils} pupils = ${value} per 100 (${stage} goal ${goal})`,
      ...evidenceTimes(
        current.map((r) => r.at),
        maxAge,
      ),
    };
  },
};
