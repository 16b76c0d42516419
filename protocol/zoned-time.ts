// Wall-clock parts of an instant in an IANA time zone, straight from Intl, with one formatter per zone. The agent
// (schedules), the evaluation (teaching hours), the alert texts and the console all read local time through it.

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      weekday: 'short',
      hourCycle: 'h23',
      timeZoneName: 'longOffset',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

export interface ZonedParts {
  /** `2026-12-06` */
  readonly date: string;
  /** `14:03` */
  readonly time: string;
  /** `Sun` … `Sat` */
  readonly weekday: string;
  /** minutes since local midnight */
  readonly minutes: number;
  /** `UTC+08:00` (`UTC+00:00` for UTC itself) */
  readonly offset: string;
}

/** The local date, time, weekday and UTC offset of an instant in a zone; throws RangeError for an unknown zone. */
export function zonedParts(instant: Date | number, timeZone: string): ZonedParts {
  const p: Record<string, string> = {};
  for (const part of formatter(timeZone).formatToParts(instant)) p[part.type] = part.value;
  // longOffset: "GMT+08:00", or "GMT" for UTC itself
  const offset = (p.timeZoneName ?? 'GMT').replace(/^GMT$/, 'GMT+00:00').replace(/^GMT/, 'UTC');
  return {
    date: `${p.year}-${p.month}-${p.day}`,
    time: `${p.hour}:${p.minute}`,
    weekday: p.weekday ?? '',
    minutes: Number(p.hour) * 60 + Number(p.minute),
    offset,
  };
}

/** `2026-12-06 14:03` in the zone. */
export function zonedDateTime(instant: Date | number, timeZone: string): string {
  const z = zonedParts(instant, timeZone);
  return `${z.date} ${z.time}`;
}
