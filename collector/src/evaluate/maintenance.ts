/**
 * Planned work is not an outage (issue 23): maintenance windows per school, room or device, once (from a
 * start to an end) or weekly (e.g. every Sunday 02:00-04:00, school-local). A device inside a window
 * counts neither for nor against availability, its room is not down, and raises no outage alert. Pure.
 */
import { localTime, type Timetable } from './teaching-hours.js';

export type Weekday = Timetable['days'][number];
/** The weekdays in calendar order (Monday first), as windows and timetables name them. */
export const WEEKDAYS: readonly Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** A weekly recurrence in the school's own time zone; `end` before `start` runs over midnight. */
export interface WeeklyRecurrence {
  days: Weekday[];
  /** HH:MM, local. */
  start: string;
  /** HH:MM, local (24:00: the end of the day). */
  end: string;
}

export interface MaintenanceWindow {
  id: number;
  schoolId: string;
  /** The room it covers (every device of the room); absent with `device` absent: the whole school. */
  room?: string;
  /** The device it covers (in `room` when both are given). */
  device?: string;
  reason: string;
  /** When it starts (ISO); a weekly window recurs from then on. */
  startsAt: string;
  /** When it ends (ISO, exclusive); null: a weekly window without an end, until it is ended. */
  endsAt: string | null;
  /** Absent: one window from startsAt to endsAt. Present: its occurrences between them. */
  weekly?: WeeklyRecurrence;
  createdBy: string;
  createdAt: string;
}

/** What a window may cover: the whole school (`{}`), a room, or a device (of a room). */
export interface MaintenanceSubject {
  room?: string | undefined;
  device?: string | undefined;
}

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;
const toMinutes = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
const previousDay = (d: Weekday): Weekday => WEEKDAYS[(WEEKDAYS.indexOf(d) + 6) % 7]!;

/**
 * Does the window's scope take in the subject? A school window covers everything; a room window the
 * room and its devices; a device window that device (in that room, when the window names one).
 */
export function covers(w: MaintenanceWindow, subject: MaintenanceSubject): boolean {
  if (w.room !== undefined && w.room !== subject.room) return false;
  if (w.device !== undefined && w.device !== subject.device) return false;
  return true;
}

/** Is the window on at this instant (its bounds, then its weekly recurrence in `timeZone`)? */
export function activeAt(w: MaintenanceWindow, at: Date, timeZone: string): boolean {
  const t = at.getTime();
  if (!(t >= Date.parse(w.startsAt))) return false;
  if (w.endsAt !== null && !(t < Date.parse(w.endsAt))) return false;
  if (!w.weekly) return true;
  const { weekday, minutes } = localTime(at, timeZone);
  const start = toMinutes(w.weekly.start);
  const end = toMinutes(w.weekly.end);
  if (start < end) return w.weekly.days.includes(weekday) && minutes >= start && minutes < end;
  // over midnight: from start on one of its days, until end on the day after
  return (
    (w.weekly.days.includes(weekday) && minutes >= start) ||
    (w.weekly.days.includes(previousDay(weekday)) && minutes < end)
  );
}

/**
 * The first window (of one school's) that covers the subject and is on at `at`, undefined when none
 * does: the subject is in maintenance then.
 */
export function inMaintenance(
  windows: readonly MaintenanceWindow[] | undefined,
  subject: MaintenanceSubject,
  at: Date,
  timeZone: string,
): MaintenanceWindow | undefined {
  if (!windows || windows.length === 0) return undefined;
  return windows.find((w) => covers(w, subject) && activeAt(w, at, timeZone));
}

/**
 * A room whose critical devices that are down are all in maintenance, each when it was checked: the
 * window of the first of them (the room is not down); undefined when a critical device is down outside
 * any window, or none is down.
 */
export function roomInMaintenance(
  windows: readonly MaintenanceWindow[] | undefined,
  room: {
    name: string;
    devices: readonly { name: string; critical: boolean; up: boolean; at: string }[];
  },
  timeZone: string,
): MaintenanceWindow | undefined {
  const down = room.devices.filter((d) => d.critical && !d.up);
  if (down.length === 0 || !windows || windows.length === 0) return undefined;
  let first: MaintenanceWindow | undefined;
  for (const d of down) {
    const w = inMaintenance(windows, { room: room.name, device: d.name }, new Date(d.at), timeZone);
    if (!w) return undefined;
    first ??= w;
  }
  return first;
}

/** `school`, `room 录播室 1`, `device 录播主机 A1`, `device 录播主机 A1 in room 录播室 1`. */
export function scopeText(w: Pick<MaintenanceWindow, 'room' | 'device'>): string {
  if (w.device !== undefined) return `device ${w.device}${w.room !== undefined ? ` in room ${w.room}` : ''}`;
  return w.room !== undefined ? `room ${w.room}` : 'school';
}

/** `sun 02:00-04:00`, `sat,sun 23:00-01:00` (the form `parseWeekly` reads). */
export function weeklyText(w: WeeklyRecurrence): string {
  return `${w.days.join(',')} ${w.start}-${w.end}`;
}

/**
 * `sun 02:00-04:00`, `sat,sun 23:00-01:00` (over midnight), `mon-fri 12:00-13:00`, `sun 22:00-24:00`:
 * a recurrence, or what is wrong with the text.
 */
export function parseWeekly(text: string): WeeklyRecurrence | { error: string } {
  const m = /^\s*([a-z,-]+)\s+(\d{2}:\d{2})\s*-\s*(\d{2}:\d{2})\s*$/i.exec(text);
  if (!m)
    return { error: `${JSON.stringify(text)} does not look like "sun 02:00-04:00" (days, then HH:MM-HH:MM)` };
  const days: Weekday[] = [];
  for (const part of m[1]!.toLowerCase().split(',')) {
    const [from, to, more] = part.split('-');
    const a = WEEKDAYS.indexOf(from as Weekday);
    const b = to === undefined ? a : WEEKDAYS.indexOf(to as Weekday);
    if (a < 0 || b < 0 || more !== undefined)
      return {
        error: `unknown day ${JSON.stringify(part)}; days are ${WEEKDAYS.join(', ')} (or a range: mon-fri)`,
      };
    for (let i = a; ; i = (i + 1) % 7) {
      if (!days.includes(WEEKDAYS[i]!)) days.push(WEEKDAYS[i]!);
      if (i === b) break;
    }
  }
  const weekly = { days: WEEKDAYS.filter((d) => days.includes(d)), start: m[2]!, end: m[3]! };
  const problem = weeklyProblem(weekly);
  return problem === undefined ? weekly : { error: problem };
}

/** What is wrong with a recurrence (undefined: nothing). */
export function weeklyProblem(w: WeeklyRecurrence): string | undefined {
  if (w.days.length === 0) return 'give at least one day';
  const unknown = w.days.find((d) => !WEEKDAYS.includes(d));
  if (unknown !== undefined) return `unknown day ${JSON.stringify(unknown)}; days are ${WEEKDAYS.join(', ')}`;
  if (new Set(w.days).size !== w.days.length) return 'a day is given twice';
  if (!HHMM.test(w.start)) return `start ${JSON.stringify(w.start)} is not a time of day HH:MM (00:00-23:59)`;
  if (!HHMM.test(w.end) && w.end !== '24:00')
    return `end ${JSON.stringify(w.end)} is not a time of day HH:MM (00:00-24:00)`;
  if (w.start === w.end) return 'start and end are the same time of day';
  return undefined;
}

/** Times with an explicit zone: `2026-11-23T10:00:00+08:00`, `2026-11-22T18:00Z`. */
const ZONED_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;

/** One-off windows last at most this long (a year and a day: a typo in the year is refused). */
export const MAX_ONCE_MS = 366 * 86_400_000;

export type WindowField = 'startsAt' | 'endsAt' | 'weekly' | 'reason';

/** A window as asked for (the API's body, the CLI's flags), before it is checked. */
export interface WindowRequest {
  startsAt?: string | undefined;
  endsAt?: string | undefined;
  weekly?: WeeklyRecurrence | undefined;
  reason: string;
}

/**
 * Checks a window asked for at `now`: its times normalised (the start defaults to now), or one problem
 * per field. A window is declared ahead or while it runs, not after it: samples already counted stay
 * counted, so an end that is past is refused.
 */
export function checkWindow(
  req: WindowRequest,
  now: Date,
):
  | { ok: true; startsAt: string; endsAt: string | null; weekly?: WeeklyRecurrence; reason: string }
  | { ok: false; problems: { field: WindowField; message: string }[] } {
  const problems: { field: WindowField; message: string }[] = [];
  const time = (field: 'startsAt' | 'endsAt', v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const t = Date.parse(v);
    if (!ZONED_ISO.test(v) || Number.isNaN(t)) {
      problems.push({
        field,
        message: `${JSON.stringify(v)} is not a time with its zone, e.g. 2026-11-23T10:00+08:00`,
      });
      return Number.NaN;
    }
    return t;
  };
  const start = time('startsAt', req.startsAt) ?? now.getTime();
  const end = time('endsAt', req.endsAt);
  if (req.weekly) {
    const p = weeklyProblem(req.weekly);
    if (p) problems.push({ field: 'weekly', message: p });
  } else if (end === undefined) {
    problems.push({ field: 'endsAt', message: 'give an end, or a weekly recurrence' });
  }
  if (end !== undefined && Number.isFinite(end) && Number.isFinite(start)) {
    if (end <= start) problems.push({ field: 'endsAt', message: 'must be after the start' });
    else if (end <= now.getTime())
      problems.push({
        field: 'endsAt',
        message:
          'is already past: a window is declared ahead or while it runs (what was counted stays counted)',
      });
    else if (!req.weekly && end - start > MAX_ONCE_MS)
      problems.push({
        field: 'endsAt',
        message: 'a one-off window lasts at most 366 days (use a weekly one)',
      });
  }
  const reason = req.reason.trim();
  if (reason.length < 3) problems.push({ field: 'reason', message: 'say why (at least 3 characters)' });
  else if (reason.length > 500) problems.push({ field: 'reason', message: 'at most 500 characters' });
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    startsAt: new Date(start).toISOString(),
    endsAt: end === undefined ? null : new Date(end).toISOString(),
    // days in calendar order, as parseWeekly gives them
    ...(req.weekly
      ? { weekly: { ...req.weekly, days: WEEKDAYS.filter((d) => req.weekly!.days.includes(d)) } }
      : {}),
    reason,
  };
}
