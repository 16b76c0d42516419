import { join } from 'node:path';
import { type Static, type TSchema, Type } from 'typebox';
import { type CrossCheck, loadConfigFile, parseConfig } from '../../protocol/config-file.js';
import type { Problem } from '../../protocol/validate.js';
import { PACKAGE_ROOT } from '../../protocol/version.js';

const Mbps = Type.Number({ minimum: 1, maximum: 1_000_000, description: 'Mbit/s' });
const Day = Type.String({
  pattern: '^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])$',
  description: 'YYYY-MM-DD',
});
const DateRange = Type.Object({ from: Day, to: Day }, { additionalProperties: false });
/** A term's name as the bureau writes it (`2026-2027学年第一学期`): it names the term's snapshot and report. */
export const TERM_NAME_PATTERN = '^[^\\u0000-\\u001f\\u007f/\\\\]+$';
const TermName = Type.String({
  minLength: 1,
  maxLength: 60,
  pattern: TERM_NAME_PATTERN,
  description: 'the term as the bureau names it, e.g. 2026-2027学年第一学期 (no control characters, / or \\)',
});
/**
 * A term of the teaching calendar: its first and last day (inclusive, school-local). A named term is also a
 * term of the inspection report (督导通报): its snapshot is taken after its last day.
 */
const Term = Type.Object(
  { name: Type.Optional(TermName), from: Day, to: Day },
  { additionalProperties: false },
);
const Pct = Type.Number({ minimum: 0, maximum: 100 });
/** The plan's goal for a target: the share of a district's schools that must meet it. */
const GoalPct = Type.Number({
  minimum: 0,
  maximum: 100,
  description: "% of the schools that must meet this target (the plan's goal; absent: no goal)",
});
const DaysOfWeek = Type.Array(Type.Enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']), {
  minItems: 1,
  description: 'the teaching days',
});
/** How old a target's evidence may be before it no longer counts: `90s`, `15m`, `2h`, `3d`. */
const MaxAge = (def: string) =>
  Type.String({
    default: def,
    pattern: '^[1-9]\\d{0,6}[smhd]$',
    description: 'a duration: 90s, 15m, 2h, 3d',
  });

/** A duration of targets.yaml (`15m`) in milliseconds. */
export function durationMs(text: string): number {
  const n = Number(text.slice(0, -1));
  const unit = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[text.slice(-1)];
  if (unit === undefined || !Number.isInteger(n))
    throw new RangeError(`not a duration: ${JSON.stringify(text)}`);
  return n * unit;
}

const Timetable = Type.Object(
  {
    days: DaysOfWeek,
    start: Type.String({
      pattern: '^([01]\\d|2[0-3]):[0-5]\\d$',
      description: 'first lesson, HH:MM school time',
    }),
    end: Type.String({
      pattern: '^([01]\\d|2[0-3]):[0-5]\\d$',
      description: 'end of the last lesson, HH:MM',
    }),
    terms: Type.Array(Term, {
      default: [],
      maxItems: 40,
      description: 'the terms of the teaching calendar (and of the term report)',
    }),
    holidays: Type.Array(DateRange, {
      default: [],
      maxItems: 200,
      description: 'days without lessons, from–to inclusive',
    }),
  },
  { additionalProperties: false },
);

/** Device types that count as a multimedia (interactive) device: a panel or a projector unless configured. */
const MultimediaDeviceTypes = Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
  minItems: 1,
  default: ['panel', 'projector'],
});

const RoomTarget = Type.Object(
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

/** The informatization targets (README "Compliance"); every value is configurable. */
const TargetsBase = Type.Object(
  {
    uplink: Type.Object(
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
    ),
    backbone: Type.Object(
      {
        coreMinMbps: Mbps,
        accessMinMbps: Mbps,
        maxAge: MaxAge('2h'),
        districtGoalPct: Type.Optional(GoalPct),
      },
      { additionalProperties: false },
    ),
    ipv6: Type.Object(
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
    ),
    recordingRoom: RoomTarget,
    smartClassroom: RoomTarget,
    interactiveClassrooms: Type.Object(
      {
        /** % of a school's `classroom` rooms with a working panel or projector in teaching hours. */
        minPct: Type.Number({ minimum: 0, maximum: 100, default: 100 }),
        /** Device types that count as 多媒体交互设备. */
        deviceTypes: MultimediaDeviceTypes,
        districtGoalPct: Type.Optional(GoalPct),
        maxAge: MaxAge('15m'),
      },
      { additionalProperties: false, default: {} },
    ),
    wirelessCoverage: Type.Object(
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
    ),
    connected: Type.Object(
      {
        /** % of registered schools whose agent reports (校校通). */
        districtGoalPct: Type.Number({ minimum: 0, maximum: 100, default: 100 }),
        /** A school counts as connected while an agent of its reported within this time. */
        maxAge: MaxAge('15m'),
      },
      { additionalProperties: false, default: {} },
    ),
    multimediaRooms: Type.Object(
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
        /** Device types that make a room a multimedia room. */
        deviceTypes: MultimediaDeviceTypes,
        districtGoalPct: Type.Optional(GoalPct),
        maxAge: MaxAge('15m'),
      },
      { additionalProperties: false, default: {} },
    ),
    deviceAvailability: Type.Object(
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
    ),
    security: Type.Object(
      {
        maxOpenSeverity: Type.Enum(['none', 'low', 'medium'], {
          description: 'the highest severity an open finding may have for the school to meet the target',
        }),
        /**
         * Days a finding of each severity may stay open before its remediation is overdue (the term
         * report's security part); info findings have no deadline.
         */
        remediationDays: Type.Object(
          {
            critical: Type.Integer({ minimum: 1, maximum: 3650, default: 7 }),
            high: Type.Integer({ minimum: 1, maximum: 3650, default: 30 }),
            medium: Type.Integer({ minimum: 1, maximum: 3650, default: 90 }),
            low: Type.Integer({ minimum: 1, maximum: 3650, default: 180 }),
          },
          { additionalProperties: false, default: {} },
        ),
        districtGoalPct: Type.Optional(GoalPct),
        maxAge: MaxAge('3d'),
      },
      { additionalProperties: false },
    ),
    /** 专递课堂/名师课堂: the path to the live-class platform within the limits the agent measured against. */
    liveClass: Type.Object(
      { districtGoalPct: Type.Optional(GoalPct), maxAge: MaxAge('1h') },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false },
);

/** A schema with every `default` removed: a district override states only what it changes. */
function withoutDefaults<T extends TSchema>(schema: T): T {
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (v === null || typeof v !== 'object') return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (k !== 'default') out[k] = strip(x);
    // symbols (TypeBox's kind markers) are kept as they are
    for (const sym of Object.getOwnPropertySymbols(v))
      (out as Record<symbol, unknown>)[sym] = (v as Record<symbol, unknown>)[sym];
    return out;
  };
  return strip(schema) as T;
}

const SECTIONS = TargetsBase.properties;
type SectionName = keyof typeof SECTIONS;

/** What one district changes: any section, with only the keys it sets (a timetable is replaced whole). */
export const DistrictOverride = Type.Object(
  Object.fromEntries(
    Object.entries(SECTIONS).map(([k, v]) => [k, Type.Optional(Type.Partial(withoutDefaults(v)))]),
  ) as {
    [K in SectionName]: ReturnType<
      typeof Type.Optional<ReturnType<typeof Type.Partial<(typeof SECTIONS)[K]>>>
    >;
  },
  { additionalProperties: false },
);
export type DistrictOverride = Static<typeof DistrictOverride>;

export const TargetsConfig = Type.Object(
  {
    ...SECTIONS,
    /** Per-district values (districts of one city differ): the district's name → what it changes. */
    districts: Type.Record(Type.String({ minLength: 1, maxLength: 200 }), DistrictOverride, { default: {} }),
  },
  { additionalProperties: false },
);
export type TargetsConfig = Static<typeof TargetsConfig>;

const applied = new WeakMap<TargetsConfig, Map<string, TargetsConfig>>();

/**
 * The targets as they apply in a district: the city's values with the district's overrides (each section
 * merged key by key; a timetable or a tier is replaced whole). The same object for the same district.
 */
export function targetsFor(targets: TargetsConfig, district: string | undefined | null): TargetsConfig {
  const override = district ? targets.districts[district] : undefined;
  if (!override || !district) return targets;
  let cache = applied.get(targets);
  if (!cache) {
    cache = new Map();
    applied.set(targets, cache);
  }
  let t = cache.get(district);
  if (!t) {
    const merged: Record<string, unknown> = { ...targets };
    for (const [section, values] of Object.entries(override)) {
      if (values) merged[section] = { ...(targets as Record<string, object>)[section], ...values };
    }
    t = merged as TargetsConfig;
    cache.set(district, t);
  }
  return t;
}

/** Where a district's value of `section.key` comes from: its own override, or the city's default. */
export function valueSource(
  targets: TargetsConfig,
  district: string | undefined | null,
  section: keyof DistrictOverride,
  key: string,
): 'district' | 'default' {
  const o = district
    ? (targets.districts[district]?.[section] as Record<string, unknown> | undefined)
    : undefined;
  return o && o[key] !== undefined ? 'district' : 'default';
}

function ruleProblems(t: TargetsConfig, prefix: string): Problem[] {
  const problems: Problem[] = [];
  if (t.uplink.tiers.medium.maxPupils <= t.uplink.tiers.small.maxPupils) {
    problems.push({
      path: 'uplink/tiers/medium/maxPupils',
      message: 'must be greater than tiers.small.maxPupils',
    });
  }
  if (t.deviceAvailability.teachingHours.end <= t.deviceAvailability.teachingHours.start) {
    problems.push({ path: 'deviceAvailability/teachingHours/end', message: 'must be after start' });
  }
  problems.push(...termProblems(t.deviceAvailability.teachingHours.terms));
  return problems.map((p) => ({ ...p, path: `${prefix}${p.path}` }));
}

/** A calendar's terms: each ends on or after its first day, names are unique, terms do not overlap. */
function termProblems(terms: TargetsConfig['deviceAvailability']['teachingHours']['terms']): Problem[] {
  const problems: Problem[] = [];
  const at = (i: number, key: string) => `deviceAvailability/teachingHours/terms/${i}/${key}`;
  const names = new Map<string, number>();
  terms.forEach((term, i) => {
    if (term.to < term.from)
      problems.push({ path: at(i, 'to'), message: `must not be before from (${term.from})` });
    if (term.name !== undefined) {
      const first = names.get(term.name);
      if (first !== undefined)
        problems.push({
          path: at(i, 'name'),
          message: `${JSON.stringify(term.name)} is already the name of terms[${first}]`,
        });
      else names.set(term.name, i);
    }
    terms.slice(0, i).forEach((other, j) => {
      if (term.from <= other.to && other.from <= term.to && term.to >= term.from && other.to >= other.from)
        problems.push({
          path: at(i, 'from'),
          message: `overlaps terms[${j}] (${other.from} to ${other.to})`,
        });
    });
  });
  return problems;
}

/** A named term of a district's calendar (the city's calendar unless the district has its own). */
export interface Term {
  name: string;
  /** First and last day, inclusive, school-local (YYYY-MM-DD). */
  from: string;
  to: string;
}

/** The named terms of a district's teaching calendar, in calendar order. */
export function termsOf(targets: TargetsConfig, district: string | undefined | null): Term[] {
  return targetsFor(targets, district)
    .deviceAvailability.teachingHours.terms.filter((t): t is Term => t.name !== undefined)
    .map(({ name, from, to }) => ({ name, from, to }))
    .sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0));
}

/** A district's term of this name, undefined when its calendar has none. */
export function termOf(
  targets: TargetsConfig,
  district: string | undefined | null,
  name: string,
): Term | undefined {
  return termsOf(targets, district).find((t) => t.name === name);
}

const crossCheck: CrossCheck<TargetsConfig> = (t) => [
  ...ruleProblems(t, ''),
  // a district's values must make sense once merged; the path names the district's own section
  ...Object.keys(t.districts).flatMap((d) =>
    ruleProblems(targetsFor(t, d), `districts/${d}/`).filter((p) => {
      const [, , section] = p.path.split('/');
      return section !== undefined && t.districts[d]?.[section as keyof DistrictOverride] !== undefined;
    }),
  ),
];

export const DEFAULT_TARGETS_FILE = join(PACKAGE_ROOT, 'config', 'targets.yaml');

export function loadTargets(file: string): TargetsConfig {
  return loadConfigFile(TargetsConfig, file, crossCheck);
}

export function parseTargets(text: string, file = '<inline>'): TargetsConfig {
  return parseConfig(TargetsConfig, text, file, crossCheck);
}
