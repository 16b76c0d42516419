import { zonedParts } from '../../../protocol/zoned-time.js';

/** When lessons happen (`deviceAvailability.teachingHours` of config/targets.yaml): a weekly timetable in the school's time zone, term dates and holidays. */
export interface Timetable {
  days: readonly ('mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun')[];
  start: string; // HH:MM, local
  end: string; // HH:MM, local
  /** Terms (inclusive local dates, YYYY-MM-DD); when empty, every week counts. */
  terms?: readonly { from: string; to: string }[];
  /** Holidays (inclusive local dates) inside terms. */
  holidays?: readonly { from: string; to: string }[];
}

const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;

/** The local calendar date, weekday and minute of the day of an instant in a time zone, straight from Intl. */
export function localTimeIntl(
  instant: Date,
  timeZone: string,
): { date: string; weekday: Timetable['days'][number]; minutes: number } {
  const z = zonedParts(instant, timeZone);
  const weekday = WEEKDAYS[['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(z.weekday)]!;
  return { date: z.date, weekday, minutes: z.minutes };
}

/**
 * A zone's UTC offset is constant inside each 15-minute UTC slot: offsets are whole multiples of 15
 * minutes and transitions happen on local whole or half hours. So Intl is asked once per zone and slot
 * (bench/ingest: `formatToParts` per sample was 3.7% of the collector's ingest CPU).
 */
const SLOT_MS = 15 * 60_000;
const offsets = new Map<string, number>();
const MAX_OFFSETS = 50_000;

function offsetMs(slotStart: number, timeZone: string): number {
  const key = `${timeZone}|${slotStart}`;
  let offset = offsets.get(key);
  if (offset === undefined) {
    const { date, minutes } = localTimeIntl(new Date(slotStart), timeZone);
    offset = Date.parse(`${date}T00:00:00Z`) + minutes * 60_000 - slotStart;
    if (offsets.size >= MAX_OFFSETS) offsets.clear();
    offsets.set(key, offset);
  }
  return offset;
}

/** The local calendar date, weekday and minute of the day of an instant in a time zone (DST-aware via Intl). */
export function localTime(
  instant: Date,
  timeZone: string,
): { date: string; weekday: Timetable['days'][number]; minutes: number } {
  const t = instant.getTime();
  if (!Number.isFinite(t)) return localTimeIntl(instant, timeZone); // Intl's own RangeError
  const slotStart = Math.floor(t / SLOT_MS) * SLOT_MS;
  const local = new Date(t + offsetMs(slotStart, timeZone));
  const year = local.getUTCFullYear();
  if (year < 1000 || year > 9999) return localTimeIntl(instant, timeZone);
  const pad = (n: number) => String(n).padStart(2, '0');
  return {
    date: `${year}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())}`,
    weekday: WEEKDAYS[local.getUTCDay()]!,
    minutes: local.getUTCHours() * 60 + local.getUTCMinutes(),
  };
}

const toMinutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
const within = (date: string, ranges: readonly { from: string; to: string }[]) =>
  ranges.some((r) => date >= r.from && date <= r.to);

/** Is this instant inside teaching hours at a school in `timeZone`? Pure. */
export function isTeachingTime(instant: Date, timeZone: string, t: Timetable): boolean {
  const { date, weekday, minutes } = localTime(instant, timeZone);
  if (!t.days.includes(weekday)) return false;
  if (minutes < toMinutes(t.start) || minutes >= toMinutes(t.end)) return false;
  if (t.terms && t.terms.length > 0 && !within(date, t.terms)) return false;
  if (t.holidays && within(date, t.holidays)) return false;
  return true;
}
