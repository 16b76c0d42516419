/**
 * Planned work is not an outage (issue 23 item 9): the pure model of maintenance windows (what they cover,
 * when they are on, school-local weekly recurrences) and what it changes in availability, rooms, targets,
 * alert rules and device points.
 */
import { describe, expect, it } from 'vitest';
import { alertMaintenance, desiredAlerts, type SchoolFacts } from '../../collector/src/alerts/rules.js';
import { DEFAULT_BASELINE_FILE, loadBaseline } from '../../collector/src/baseline.js';
import { teachingSamples } from '../../collector/src/evaluate/availability.js';
import { evaluateCompliance, noEvidence, tierOf } from '../../collector/src/evaluate/compliance.js';
import {
  activeAt,
  checkWindow,
  inMaintenance,
  type MaintenanceSubject,
  type MaintenanceWindow,
  parseWeekly,
  roomInMaintenance,
  scopeText,
  weeklyText,
} from '../../collector/src/evaluate/maintenance.js';
import { lineOf } from '../../collector/src/store/line-protocol.js';
import { reportLines } from '../../collector/src/store/points.js';
import type { AgentRecord } from '../../collector/src/store/state-store.js';
import { DEFAULT_TARGETS_FILE, loadTargets } from '../../collector/src/targets.js';
import type { School } from '../../protocol/school.js';
import { pointOfLine } from '../helpers/line-protocol.js';
import { roomsReport } from '../helpers/rooms-report.js';
import { XINGHAI } from '../helpers/world.js';

const SH = 'Asia/Shanghai';
const targets = loadTargets(DEFAULT_TARGETS_FILE);
const baseline = loadBaseline(DEFAULT_BASELINE_FILE);

let ids = 0;
function win(
  w: Partial<MaintenanceWindow> & Pick<MaintenanceWindow, 'startsAt' | 'endsAt'>,
): MaintenanceWindow {
  ids += 1;
  return {
    id: ids,
    schoolId: XINGHAI.id,
    reason: '计划维护',
    createdBy: 'ops',
    createdAt: '2026-11-01T00:00:00.000Z',
    ...w,
  };
}

// 2026-11-23 is a Monday; Shanghai is UTC+8 all year
const schoolOnce = win({ startsAt: '2026-11-23T10:00+08:00', endsAt: '2026-11-23T11:00+08:00' });
const roomWeekly = win({
  room: '录播室 1',
  startsAt: '2026-11-01T00:00+08:00',
  endsAt: '2026-12-01T00:00+08:00',
  weekly: { days: ['sun'], start: '02:00', end: '04:00' },
});
const deviceOverMidnight = win({
  device: '录播主机 A1',
  startsAt: '2026-11-01T00:00+08:00',
  endsAt: null,
  weekly: { days: ['sat'], start: '23:00', end: '01:00' },
});
const deviceInRoom = win({
  room: '机房',
  device: '核心交换机',
  startsAt: '2026-11-24T20:00+08:00',
  endsAt: '2026-11-24T22:00+08:00',
});

describe('inMaintenance: scope and time (Asia/Shanghai, no DST)', () => {
  const cases: [string, MaintenanceWindow, MaintenanceSubject, string, boolean][] = [
    // a school window covers the school, every room and every device
    ['school window at its start', schoolOnce, {}, '2026-11-23T10:00+08:00', true],
    ['school window just before it', schoolOnce, {}, '2026-11-23T09:59:59+08:00', false],
    ['school window at its end (exclusive)', schoolOnce, {}, '2026-11-23T11:00+08:00', false],
    [
      'school window covers a device',
      schoolOnce,
      { room: '录播室 2', device: '编码器' },
      '2026-11-23T10:30+08:00',
      true,
    ],
    // a weekly room window: Sundays 02:00-04:00 school-local, in November only
    ['room window on Sunday 02:00', roomWeekly, { room: '录播室 1' }, '2026-11-22T02:00+08:00', true],
    ['room window on Sunday 03:59', roomWeekly, { room: '录播室 1' }, '2026-11-22T03:59+08:00', true],
    ['room window on Sunday 04:00', roomWeekly, { room: '录播室 1' }, '2026-11-22T04:00+08:00', false],
    [
      'room window, written in UTC (Saturday 18:30Z)',
      roomWeekly,
      { room: '录播室 1' },
      '2026-11-21T18:30:00Z',
      true,
    ],
    ['room window on Saturday 02:30', roomWeekly, { room: '录播室 1' }, '2026-11-21T02:30+08:00', false],
    [
      'room window covers its devices',
      roomWeekly,
      { room: '录播室 1', device: '录播主机 A1' },
      '2026-11-29T02:30+08:00',
      true,
    ],
    [
      'room window, another room',
      roomWeekly,
      { room: '录播室 2', device: '录播主机 A1' },
      '2026-11-22T02:30+08:00',
      false,
    ],
    ['room window, not the school', roomWeekly, {}, '2026-11-22T02:30+08:00', false],
    ['room window before its start', roomWeekly, { room: '录播室 1' }, '2026-10-25T02:30+08:00', false],
    ['room window after its end', roomWeekly, { room: '录播室 1' }, '2026-12-06T02:30+08:00', false],
    // a device window over midnight: Saturday 23:00 to Sunday 01:00, without an end
    [
      'device window Saturday 23:30',
      deviceOverMidnight,
      { device: '录播主机 A1' },
      '2026-11-28T23:30+08:00',
      true,
    ],
    [
      'device window Sunday 00:30',
      deviceOverMidnight,
      { device: '录播主机 A1' },
      '2026-11-29T00:30+08:00',
      true,
    ],
    [
      'device window Sunday 01:00',
      deviceOverMidnight,
      { device: '录播主机 A1' },
      '2026-11-29T01:00+08:00',
      false,
    ],
    [
      'device window Friday 23:30',
      deviceOverMidnight,
      { device: '录播主机 A1' },
      '2026-11-27T23:30+08:00',
      false,
    ],
    [
      'device window years later (no end)',
      deviceOverMidnight,
      { device: '录播主机 A1', room: '录播室 9' },
      '2031-03-01T23:30+08:00',
      true,
    ],
    [
      'device window, not its room',
      deviceOverMidnight,
      { room: '录播室 1' },
      '2026-11-28T23:30+08:00',
      false,
    ],
    [
      'device window, another device',
      deviceOverMidnight,
      { device: '录播主机 A2' },
      '2026-11-28T23:30+08:00',
      false,
    ],
    // a device window that names its room
    ['device in room', deviceInRoom, { room: '机房', device: '核心交换机' }, '2026-11-24T21:00+08:00', true],
    [
      'same device name, other room',
      deviceInRoom,
      { room: '教学楼', device: '核心交换机' },
      '2026-11-24T21:00+08:00',
      false,
    ],
  ];
  it.each(cases)('%s', (_name, w, subject, at, on) => {
    expect(inMaintenance([w], subject, new Date(at), SH)?.id).toBe(on ? w.id : undefined);
  });

  it('answers the first window that covers the subject; none without windows', () => {
    const windows = [roomWeekly, schoolOnce];
    expect(inMaintenance(windows, { room: '录播室 1' }, new Date('2026-11-23T10:30+08:00'), SH)).toBe(
      schoolOnce,
    );
    expect(inMaintenance([], {}, new Date('2026-11-23T10:30+08:00'), SH)).toBeUndefined();
    expect(inMaintenance(undefined, {}, new Date('2026-11-23T10:30+08:00'), SH)).toBeUndefined();
  });

  it('a weekly window keeps school-local time: the same UTC hour on a summer and a winter Sunday', () => {
    const weekly = win({
      startsAt: '2026-01-01T00:00Z',
      endsAt: null,
      weekly: { days: ['sun'], start: '02:00', end: '04:00' },
    });
    // Shanghai has no DST: 02:30 local is 18:30Z the day before, in March and in July alike
    for (const at of ['2026-03-28T18:30:00Z', '2026-07-04T18:30:00Z', '2026-11-21T18:30:00Z'])
      expect(activeAt(weekly, new Date(at), SH)).toBe(true);
    for (const at of ['2026-03-28T17:30:00Z', '2026-07-04T20:00:00Z'])
      expect(activeAt(weekly, new Date(at), SH)).toBe(false);
    // where clocks change (Berlin, 29 March 2026: 02:00 CET → 03:00 CEST) it follows the local clock
    expect(activeAt(weekly, new Date('2026-03-22T01:30:00Z'), 'Europe/Berlin')).toBe(true); // 02:30 CET
    expect(activeAt(weekly, new Date('2026-03-29T00:30:00Z'), 'Europe/Berlin')).toBe(false); // 01:30 CET
    expect(activeAt(weekly, new Date('2026-03-29T01:30:00Z'), 'Europe/Berlin')).toBe(true); // 03:30 CEST
    expect(activeAt(weekly, new Date('2026-03-29T02:00:00Z'), 'Europe/Berlin')).toBe(false); // 04:00 CEST
  });

  it('a window that ends: ended early, it no longer covers after its new end', () => {
    const running = win({
      room: '录播室 1',
      startsAt: '2026-11-23T08:00+08:00',
      endsAt: '2026-11-23T18:00+08:00',
    });
    const ended = { ...running, endsAt: '2026-11-23T09:00:00.000Z' }; // ended at 17:00 local
    expect(inMaintenance([ended], { room: '录播室 1' }, new Date('2026-11-23T16:59+08:00'), SH)).toBe(ended);
    expect(
      inMaintenance([ended], { room: '录播室 1' }, new Date('2026-11-23T17:00+08:00'), SH),
    ).toBeUndefined();
    expect(inMaintenance([running], { room: '录播室 1' }, new Date('2026-11-23T17:00+08:00'), SH)).toBe(
      running,
    );
    // a window called off before it started: its start moved to its end, empty
    const calledOff = {
      ...schoolOnce,
      startsAt: '2026-11-22T00:00:00.000Z',
      endsAt: '2026-11-22T00:00:00.000Z',
    };
    expect(activeAt(calledOff, new Date('2026-11-22T00:00:00.000Z'), SH)).toBe(false);
  });

  it('a room is in maintenance when every critical device down is, each when it was checked', () => {
    const at = '2026-11-23T02:30:00.000Z'; // Monday 10:30 Shanghai, inside schoolOnce
    const device = (name: string, up: boolean, critical = true) => ({ name, up, critical, at });
    const deviceWindow = win({
      device: '编码器',
      startsAt: '2026-11-23T10:00+08:00',
      endsAt: '2026-11-23T11:00+08:00',
    });
    const room = (devices: ReturnType<typeof device>[]) => ({ name: '录播室 1', devices });
    expect(
      roomInMaintenance([deviceWindow], room([device('编码器', false), device('摄像机', true)]), SH),
    ).toBe(deviceWindow);
    expect(
      roomInMaintenance([deviceWindow], room([device('编码器', false), device('摄像机', false)]), SH),
    ).toBeUndefined();
    // a non-critical device down does not make a room down, in a window or not
    expect(
      roomInMaintenance([deviceWindow], room([device('编码器', false), device('话筒', false, false)]), SH),
    ).toBe(deviceWindow);
    expect(roomInMaintenance([deviceWindow], room([device('编码器', true)]), SH)).toBeUndefined();
    expect(
      roomInMaintenance([schoolOnce], room([device('编码器', false), device('摄像机', false)]), SH),
    ).toBe(schoolOnce);
  });

  it('says what a window covers and when it recurs', () => {
    expect(scopeText(schoolOnce)).toBe('school');
    expect(scopeText(roomWeekly)).toBe('room 录播室 1');
    expect(scopeText(deviceOverMidnight)).toBe('device 录播主机 A1');
    expect(scopeText(deviceInRoom)).toBe('device 核心交换机 in room 机房');
    expect(weeklyText(deviceOverMidnight.weekly!)).toBe('sat 23:00-01:00');
  });
});

describe('parseWeekly and checkWindow: what is asked for', () => {
  it.each([
    ['sun 02:00-04:00', { days: ['sun'], start: '02:00', end: '04:00' }],
    ['mon-fri 12:00-13:00', { days: ['mon', 'tue', 'wed', 'thu', 'fri'], start: '12:00', end: '13:00' }],
    ['sun,sat 23:00-01:00', { days: ['sat', 'sun'], start: '23:00', end: '01:00' }],
    ['fri-mon 00:00-24:00', { days: ['mon', 'fri', 'sat', 'sun'], start: '00:00', end: '24:00' }],
    ['SUN 02:00 - 04:00', { days: ['sun'], start: '02:00', end: '04:00' }],
  ])('%s', (text, weekly) => {
    expect(parseWeekly(text)).toEqual(weekly);
  });

  it.each([
    ['sunday 02:00-04:00', 'unknown day "sunday"'],
    ['sun 2:00-4:00', 'does not look like "sun 02:00-04:00"'],
    ['sun 02:00-02:00', 'start and end are the same time of day'],
    ['sun 24:00-02:00', 'start "24:00" is not a time of day'],
    ['sun 01:00-25:00', 'end "25:00" is not a time of day'],
    ['mon-tue-wed 01:00-02:00', 'unknown day "mon-tue-wed"'],
  ])('refuses %s', (text, message) => {
    const r = parseWeekly(text);
    expect('error' in r ? r.error : r).toContain(message);
  });

  const now = new Date('2026-11-23T01:00:00Z');
  it('normalises the times (start defaults to now) and trims the reason', () => {
    expect(checkWindow({ endsAt: '2026-11-23T12:00+08:00', reason: ' 更换录播主机 ' }, now)).toEqual({
      ok: true,
      startsAt: '2026-11-23T01:00:00.000Z',
      endsAt: '2026-11-23T04:00:00.000Z',
      reason: '更换录播主机',
    });
    expect(
      checkWindow(
        { weekly: { days: ['sun', 'mon'], start: '02:00', end: '04:00' }, reason: 'weekly reboot' },
        now,
      ),
    ).toEqual({
      ok: true,
      startsAt: '2026-11-23T01:00:00.000Z',
      endsAt: null,
      weekly: { days: ['mon', 'sun'], start: '02:00', end: '04:00' },
      reason: 'weekly reboot',
    });
  });

  it.each([
    [{ reason: '维护维护' }, 'endsAt', 'give an end, or a weekly recurrence'],
    [{ endsAt: '2026-11-23T12:00', reason: '维护维护' }, 'endsAt', 'is not a time with its zone'],
    [
      { startsAt: 'tomorrow', endsAt: '2026-11-23T12:00Z', reason: '维护维护' },
      'startsAt',
      'is not a time with its zone',
    ],
    [
      { startsAt: '2026-11-23T12:00Z', endsAt: '2026-11-23T11:00Z', reason: '维护维护' },
      'endsAt',
      'must be after the start',
    ],
    [
      { startsAt: '2026-11-22T08:00Z', endsAt: '2026-11-22T12:00Z', reason: '维护维护' },
      'endsAt',
      'is already past',
    ],
    [{ endsAt: '2028-01-01T00:00Z', reason: '维护维护' }, 'endsAt', 'at most 366 days'],
    [{ endsAt: '2026-11-23T12:00Z', reason: ' x ' }, 'reason', 'at least 3 characters'],
    [
      { weekly: { days: [], start: '02:00', end: '04:00' }, reason: '维护维护' },
      'weekly',
      'at least one day',
    ],
    [
      { weekly: { days: ['sun', 'sun'], start: '02:00', end: '04:00' }, reason: '维护维护' },
      'weekly',
      'twice',
    ],
  ] as const)('refuses %j naming %s', (req, field, message) => {
    const r = checkWindow(req as Parameters<typeof checkWindow>[0], now);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems).toEqual([{ field, message: expect.stringContaining(message) }]);
  });
});

describe('what a window changes', () => {
  // Monday 10:30 Shanghai: teaching hours
  const at = new Date('2026-11-23T02:30:00Z');
  const report = roomsReport({
    agentId: 'ag_1',
    schoolId: XINGHAI.id,
    at,
    rooms: [
      {
        name: '录播室 1',
        type: 'recording',
        devices: [
          { name: '录播主机 A1', type: 'recorder', up: false },
          { name: '摄像机 1', type: 'camera', up: true },
        ],
      },
      { name: '初一(1)班', type: 'classroom', devices: [{ name: '一体机 1', type: 'panel', up: false }] },
    ],
  });
  const recorderWindow = win({
    device: '录播主机 A1',
    reason: '录播系统升级',
    startsAt: '2026-11-23T10:00+08:00',
    endsAt: '2026-11-23T11:00+08:00',
  });
  const panelWindow = win({
    room: '初一(1)班',
    startsAt: '2026-11-23T10:00+08:00',
    endsAt: '2026-11-23T11:00+08:00',
  });

  it('availability: a device in a window gives no sample; its room is not down', () => {
    const without = teachingSamples(report.results, XINGHAI, targets);
    expect(without.availability).toEqual(
      expect.arrayContaining([{ device: '录播主机 A1', day: '2026-11-23', up: false }]),
    );
    expect(without.rooms.find((r) => r.room === '录播室 1')?.up).toBe(false);
    const within = teachingSamples(report.results, XINGHAI, targets, [recorderWindow]);
    expect(within.availability.map((s) => s.device).sort()).toEqual(['一体机 1', '摄像机 1']);
    expect(within.rooms.find((r) => r.room === '录播室 1')?.up).toBe(true);
    // the window is the recorder's: the classroom's panel still counts, and its room is still down
    expect(within.availability).toContainEqual({ device: '一体机 1', day: '2026-11-23', up: false });
    expect(within.rooms.find((r) => r.room === '初一(1)班')?.up).toBe(false);
  });

  it('targets: the room works "(in maintenance: reason)"; a panel in a window is no missing panel', () => {
    const evidence = { ...noEvidence(XINGHAI), latest: report.results };
    const row = (rows: ReturnType<typeof evaluateCompliance>, t: string) => rows.find((r) => r.target === t)!;
    const before = evaluateCompliance(evidence, targets, at);
    expect(row(before, 'recording_room_working')).toMatchObject({ state: 'not_met', value: 0 });
    expect(row(before, 'interactive_classrooms')).toMatchObject({ state: 'not_met', value: 0 });
    const during = evaluateCompliance(
      { ...evidence, maintenance: [recorderWindow, panelWindow] },
      targets,
      at,
    );
    expect(row(during, 'recording_room_working')).toMatchObject({ state: 'met', value: 1 });
    expect(row(during, 'recording_room_working').reason).toContain('录播室 1 (in maintenance: 录播系统升级)');
    expect(row(during, 'interactive_classrooms')).toMatchObject({ state: 'met', value: 100 });
    // after the window, the same results taken later are an outage again
    const later = roomsReport({
      agentId: 'ag_1',
      schoolId: XINGHAI.id,
      at: new Date('2026-11-23T03:30:00Z'), // 11:30: the window is over
      rooms: [
        {
          name: '录播室 1',
          type: 'recording',
          devices: [{ name: '录播主机 A1', type: 'recorder', up: false }],
        },
      ],
    });
    const after = evaluateCompliance(
      { ...noEvidence(XINGHAI), latest: later.results, maintenance: [recorderWindow] },
      targets,
      new Date('2026-11-23T03:30:00Z'),
    );
    expect(row(after, 'recording_room_working')).toMatchObject({ state: 'not_met', value: 0 });
  });

  it('alert rules: outage alerts of a subject in a window are withdrawn; findings are not', () => {
    const now = new Date('2026-11-23T02:30:00Z');
    // (as: the record grows fields these rules do not read)
    const silentAgent = {
      id: 'ag_1',
      schoolId: XINGHAI.id,
      hostname: 'xh-box',
      version: '0.1.0',
      enrolledAt: '2026-11-01T00:00:00.000Z',
      lastSeenAt: '2026-11-22T00:00:00.000Z',
      clockOffsetMs: 0,
      lastReportId: null,
      name: null,
      revokedAt: null,
    } as AgentRecord;
    const facts = (maintenance: MaintenanceWindow[]): SchoolFacts => ({
      school: XINGHAI,
      agents: [silentAgent],
      findings: [
        {
          schoolId: XINGHAI.id,
          rule: 'cleartext-telnet',
          target: '录播主机 A1',
          port: 23,
          severity: 'high',
          mlps: '7.1.4.1 a)',
          state: 'open',
          effective: 'open',
          evidence: 'TCP 23 open',
          value: null,
          firstSeen: '2026-11-23T01:00:00.000Z',
          lastSeen: '2026-11-23T02:00:00.000Z',
          count: 2,
          resolvedAt: null,
          acceptedUntil: null,
          acceptedReason: null,
        },
      ],
      compliance: [],
      roomsDown: [
        {
          rule: 'recording_room_down',
          room: '录播室 1',
          since: '2026-11-23T02:00:00.000Z',
          minutes: 30,
          detail: '录播主机 A1 (icmp timeout)',
        },
      ],
      maintenance,
    });
    const settings = { findingSeverity: 'high' as const, agentSilentS: 900, neverReportedAfterS: 3600 };
    const rules = (m: MaintenanceWindow[]) =>
      desiredAlerts(facts(m), baseline, settings, now)
        .map((d) => d.rule)
        .sort();
    expect(rules([])).toEqual(['agent-silent', 'finding', 'recording-room-down']);
    const roomNow = win({
      room: '录播室 1',
      startsAt: '2026-11-23T10:00+08:00',
      endsAt: '2026-11-23T11:00+08:00',
    });
    expect(rules([roomNow])).toEqual(['agent-silent', 'finding']);
    // a school-wide window: the planned power-off takes the agent's box down too
    expect(rules([schoolOnce])).toEqual(['finding']);
    // a device window, a window of another room, one not on now: nothing withdrawn here
    expect(rules([recorderWindow, roomWeekly])).toEqual(['agent-silent', 'finding', 'recording-room-down']);
    expect(alertMaintenance(facts([schoolOnce]), { rule: 'agent-never-reported', labels: {} }, now)).toBe(
      schoolOnce,
    );
    expect(
      alertMaintenance(facts([schoolOnce]), { rule: 'uplink-below-target', labels: {} }, now),
    ).toBeUndefined();
  });

  it('device points carry maintenance 1/0 when the writer is told', () => {
    const school: School = XINGHAI;
    const tier = tierOf(school, targets);
    const ctx = {
      school,
      tier,
      uplinkGoalMbps: targets.uplink.tiers[tier].mbps,
      shiftMs: 0,
      clockOffsetMs: 0,
      receivedAt: at,
      compliance: [],
    };
    const devicePoints = (lines: string[]) =>
      lines
        .filter((l) => l.startsWith('device,'))
        .map((l) => {
          const p = pointOfLine(l);
          expect(lineOf(p)).toBe(l); // fields in key order, as every point
          return p;
        });
    expect(devicePoints(reportLines(report, ctx)).every((p) => !('maintenance' in p.fields!))).toBe(true);
    const marked = devicePoints(
      reportLines(report, {
        ...ctx,
        maintenance: (device, t) => inMaintenance([recorderWindow], device, new Date(t), SH) !== undefined,
      }),
    );
    expect(Object.fromEntries(marked.map((p) => [p.tags!.device, p.fields!.maintenance]))).toEqual({
      '录播主机 A1': 1,
      '摄像机 1': 0,
      '一体机 1': 0,
    });
  });
});
