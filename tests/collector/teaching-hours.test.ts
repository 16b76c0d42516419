import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  isTeachingTime,
  localTime,
  localTimeIntl,
  type Timetable,
} from '../../collector/src/evaluate/teaching-hours.js';

const weekdays: Timetable = { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '07:30', end: '17:30' };

describe('teaching hours (pure)', () => {
  it('Asia/Shanghai (no DST): Mon–Fri 07:30–17:30 local', () => {
    // 2026-11-23 is a Monday; 07:30 Shanghai = 23:30 UTC the day before
    expect(localTime(new Date('2026-11-22T23:30:00Z'), 'Asia/Shanghai')).toEqual({
      date: '2026-11-23',
      weekday: 'mon',
      minutes: 450,
    });
    expect(isTeachingTime(new Date('2026-11-22T23:29:00Z'), 'Asia/Shanghai', weekdays)).toBe(false);
    expect(isTeachingTime(new Date('2026-11-22T23:30:00Z'), 'Asia/Shanghai', weekdays)).toBe(true);
    expect(isTeachingTime(new Date('2026-11-23T09:29:00Z'), 'Asia/Shanghai', weekdays)).toBe(true); // 17:29
    expect(isTeachingTime(new Date('2026-11-23T09:30:00Z'), 'Asia/Shanghai', weekdays)).toBe(false); // 17:30
    // Saturday 2026-11-28 22:00 local
    expect(isTeachingTime(new Date('2026-11-28T14:00:00Z'), 'Asia/Shanghai', weekdays)).toBe(false);
    // Saturday 10:00 local is not a school day either
    expect(isTeachingTime(new Date('2026-11-28T02:00:00Z'), 'Asia/Shanghai', weekdays)).toBe(false);
  });

  it('a zone with DST (Europe/Berlin): local 07:30 moves in UTC across the switch', () => {
    // Friday 2026-03-27 (CET, UTC+1): 07:30 local = 06:30 UTC; Monday 2026-03-30 (CEST, UTC+2): 05:30 UTC
    expect(isTeachingTime(new Date('2026-03-27T06:29:00Z'), 'Europe/Berlin', weekdays)).toBe(false);
    expect(isTeachingTime(new Date('2026-03-27T06:30:00Z'), 'Europe/Berlin', weekdays)).toBe(true);
    expect(isTeachingTime(new Date('2026-03-30T05:30:00Z'), 'Europe/Berlin', weekdays)).toBe(true);
    expect(isTeachingTime(new Date('2026-03-30T05:29:00Z'), 'Europe/Berlin', weekdays)).toBe(false);
    expect(localTime(new Date('2026-03-29T01:30:00Z'), 'Europe/Berlin')).toEqual({
      date: '2026-03-29',
      weekday: 'sun',
      minutes: 210,
    });
  });

  it('terms and holidays', () => {
    const t: Timetable = {
      ...weekdays,
      terms: [{ from: '2026-09-01', to: '2027-01-22' }],
      holidays: [{ from: '2026-10-01', to: '2026-10-07' }],
    };
    const tenAm = (date: string) => new Date(`${date}T02:00:00Z`); // 10:00 Shanghai
    expect(isTeachingTime(tenAm('2026-09-01'), 'Asia/Shanghai', t)).toBe(true); // first day of term (Tue)
    expect(isTeachingTime(tenAm('2026-08-31'), 'Asia/Shanghai', t)).toBe(false); // Monday before term
    expect(isTeachingTime(tenAm('2026-10-05'), 'Asia/Shanghai', t)).toBe(false); // 国庆 holiday Monday
    expect(isTeachingTime(tenAm('2026-10-08'), 'Asia/Shanghai', t)).toBe(true);
    expect(isTeachingTime(tenAm('2027-01-25'), 'Asia/Shanghai', t)).toBe(false); // winter break
  });
});

describe('localTime (offset cached per 15-minute slot)', () => {
  // zones with DST at whole and half hours, a 30-minute DST shift, and offsets of :30 and :45
  const zones = [
    'Asia/Shanghai',
    'America/New_York',
    'Europe/London',
    'Australia/Lord_Howe',
    'Asia/Kathmandu',
    'Asia/Kolkata',
    'America/St_Johns',
    'Pacific/Chatham',
    'UTC',
  ];

  it('agrees with Intl at every minute around DST transitions', () => {
    const transitions = [
      ['America/New_York', '2026-03-08T06:00:00Z'],
      ['America/New_York', '2026-11-01T05:00:00Z'],
      ['Europe/London', '2026-03-29T00:00:00Z'],
      ['Australia/Lord_Howe', '2026-04-04T15:00:00Z'],
      ['Australia/Lord_Howe', '2026-10-03T15:30:00Z'],
      ['America/St_Johns', '2026-03-08T05:30:00Z'],
    ] as const;
    let compared = 0;
    for (const [zone, at] of transitions) {
      const t0 = Date.parse(at);
      for (let m = -90; m <= 90; m++) {
        const instant = new Date(t0 + m * 60_000 + 17_000);
        expect(localTime(instant, zone), `${zone} ${instant.toISOString()}`).toEqual(
          localTimeIntl(instant, zone),
        );
        compared++;
      }
    }
    expect(compared).toBe(6 * 181);
  });

  it('agrees with Intl for random instants 1970–2100 (fast-check)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: Date.parse('2100-01-01T00:00:00Z') }),
        fc.constantFrom(...zones),
        (t, zone) => {
          const instant = new Date(t);
          expect(localTime(instant, zone)).toEqual(localTimeIntl(instant, zone));
        },
      ),
      { numRuns: 5000, seed: 20261123 },
    );
  });

  it('an invalid instant still gets the RangeError Intl gives', () => {
    expect(() => localTime(new Date(Number.NaN), 'Asia/Shanghai')).toThrow(RangeError);
  });
});
