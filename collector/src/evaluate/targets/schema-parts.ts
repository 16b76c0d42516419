/**
 * The parts the sections of config/targets.yaml are built of (Mbit/s, a goal in %, a maximum evidence age,
 * the teaching timetable): each target module builds its own section from these. Only schemas and their
 * pure helpers; nothing here knows a target.
 */
import { Type } from 'typebox';

export const Mbps = Type.Number({ minimum: 1, maximum: 1_000_000, description: 'Mbit/s' });
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
export const Pct = Type.Number({ minimum: 0, maximum: 100 });
/** The plan's goal for a target: the share of a district's schools that must meet it. */
export const GoalPct = Type.Number({
  minimum: 0,
  maximum: 100,
  description: "% of the schools that must meet this target (the plan's goal; absent: no goal)",
});
const DaysOfWeek = Type.Array(Type.Enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']), {
  minItems: 1,
  description: 'the teaching days',
});
/** How old a target's evidence may be before it no longer counts: `90s`, `15m`, `2h`, `3d`. */
export const MaxAge = (def: string) =>
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

export const Timetable = Type.Object(
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
export const MultimediaDeviceTypes = Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
  minItems: 1,
  default: ['panel', 'projector'],
});

/** The fields the two multimedia-device targets share: which device types count, a district goal, freshness. */
export const MultimediaFields = {
  deviceTypes: MultimediaDeviceTypes,
  districtGoalPct: Type.Optional(GoalPct),
  maxAge: MaxAge('15m'),
};
