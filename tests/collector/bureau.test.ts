import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { recheckCompliance } from '../../collector/src/compliance/refresh.js';
import type { ComplianceRow } from '../../collector/src/evaluate/compliance.js';
import type { TargetKpi } from '../../collector/src/evaluate/district.js';
import type { School } from '../../protocol/school.js';
import { manyRooms, type RoomSpec, roomsReport } from '../helpers/rooms-report.js';
import { World } from '../helpers/world.js';

const MIN = 60_000;
/** Teaching hours every day, all day: the tests do not depend on the hour they run at. */
const ALWAYS = `
deviceAvailability:
  minPct: 99
  teachingHours: { days: [mon, tue, wed, thu, fri, sat, sun], start: "00:00", end: "23:59" }
`;

/** The repository's targets.yaml with these sections replaced (YAML's last key does not win: we rebuild). */
function targetsFile(dir: string, extra: string): string {
  const file = join(dir, 'targets.yaml');
  writeFileSync(
    file,
    `${readFileSync('config/targets.yaml', 'utf8')
      .replace(/^deviceAvailability:[\s\S]*?(?=^security:)/m, '')
      .replace(/^districts: \{\}\s*$/m, '')}${ALWAYS}${extra}`,
  );
  return file;
}

let world: World | undefined;
afterEach(async () => {
  await world?.cleanup();
  world = undefined;
});

async function start(schools: School[], extraTargets = '', now?: () => Date): Promise<World> {
  const w = new World({ schools, ...(now ? { now } : {}) });
  w.config.targetsFile = targetsFile(w.dir, extraTargets);
  await w.startCollector();
  world = w;
  return w;
}

const rowsOf = async (w: World, id: string) =>
  (
    (await w.app!.inject({ method: 'GET', url: `/api/v1/schools/${encodeURIComponent(id)}` })).json() as {
      compliance: ComplianceRow[];
    }
  ).compliance;
const rowOf = async (w: World, id: string, target: string) =>
  (await rowsOf(w, id)).find((r) => r.target === target)!;

const kpisOf = async (w: World) =>
  (await w.app!.inject({ method: 'GET', url: '/api/v1/compliance' })).json() as {
    overall: { targets: Record<string, TargetKpi> };
    districts: { district: string; targets: Record<string, TargetKpi> }[];
    groups: { district: string; group: string; targets: Record<string, TargetKpi> }[];
  };

const school = (id: string, extra: Partial<School> = {}): School => ({
  id,
  name: `${id} 学校`,
  district: '武进区',
  group: '星河教育集团',
  timezone: 'Asia/Shanghai',
  ...extra,
});

const RECORDING: RoomSpec = {
  name: '录播室 1',
  type: 'recording',
  devices: [{ name: '录播主机', type: 'recorder', up: true }],
};
const SMART: RoomSpec = {
  name: '智慧教室 301',
  type: 'smart',
  devices: [{ name: '交互大屏', type: 'panel', up: true }],
};

describe('evidence ages out (maxAge)', () => {
  it('rows keep their state until the maximum age, then turn no_data with the reason and evidenceAt', async () => {
    const w = await start([school('wj-1')]);
    const { agentId, token } = w.enrollDirect('wj-1');
    const at = new Date(Date.now() - MIN);
    const res = await w.postReport(token, roomsReport({ agentId, schoolId: 'wj-1', at, rooms: [RECORDING] }));
    expect(res.statusCode).toBe(200);
    const before = await rowOf(w, 'wj-1', 'recording_room');
    expect(before).toMatchObject({ state: 'met', evidenceAt: at.toISOString() });
    const expires = Date.parse(before.expiresAt!);
    expect(expires).toBe(at.getTime() + 15 * MIN); // recordingRoom.maxAge 15m
    const ctx = w.app!.campuswatch;

    // just before the maximum age: nothing is due, nothing flips
    expect(await recheckCompliance(ctx, new Date(expires - 1000))).toEqual([]);
    expect(await rowOf(w, 'wj-1', 'recording_room')).toMatchObject({ state: 'met', since: before.since });

    // past it: the school is evaluated again and its rows say why they no longer count
    const later = new Date(expires + 1000);
    expect(await recheckCompliance(ctx, later)).toEqual(['wj-1']);
    const after = await rowOf(w, 'wj-1', 'recording_room');
    expect(after).toMatchObject({
      state: 'no_data',
      evidenceAt: at.toISOString(),
      reason: `no device checks in the last 15 min (last at ${at.toISOString()}): evidence too old to count`,
      since: later.toISOString(),
    });
    // the agent reported (received) a minute after its checks: the school counts as connected until then
    const connected = await rowOf(w, 'wj-1', 'school_connected');
    expect(connected.state).toBe('met');
    const silent = new Date(Date.parse(connected.expiresAt!) + 1000);
    expect(await recheckCompliance(ctx, silent)).toEqual(['wj-1']);
    expect(await rowOf(w, 'wj-1', 'school_connected')).toMatchObject({
      state: 'not_met',
      since: silent.toISOString(),
    });
    // and it leaves the district's met count for the unmonitored one
    const kpi = (await kpisOf(w)).overall.targets.recording_room!;
    expect(kpi).toMatchObject({ schools: 1, met: 0, noData: 1, pct: 0 });
  });
});

describe('several agents at one school (一校多区)', () => {
  it('the school has the rooms of both agents over 20 alternating reports; a stopped agent’s rooms age out', async () => {
    let clock = Date.parse('2026-11-23T01:00:00.000Z');
    const w = await start([school('wj-2')], '', () => new Date(clock));
    const a = w.enrollDirect('wj-2', 'campus-east');
    const b = w.enrollDirect('wj-2', 'campus-west');
    for (let i = 0; i < 20; i++) {
      const who = i % 2 === 0 ? a : b;
      clock += MIN;
      const rooms = who === a ? [RECORDING] : [SMART];
      const report = roomsReport({
        agentId: who.agentId,
        schoolId: 'wj-2',
        at: new Date(clock - 5000),
        rooms,
      });
      expect((await w.postReport(who.token, report)).statusCode).toBe(200);
      if (i === 0) continue; // after the first, each report leaves both campuses' rooms in place
      const rows = await rowsOf(w, 'wj-2');
      const state = (t: string) => rows.find((r) => r.target === t)!.state;
      expect([i, state('recording_room'), state('smart_classroom')]).toEqual([i, 'met', 'met']);
    }
    // campus east stops (its last checks: 2 min ago); west goes on reporting every minute
    for (let i = 0; i < 15; i++) {
      clock += MIN;
      const report = roomsReport({
        agentId: b.agentId,
        schoolId: 'wj-2',
        at: new Date(clock - 5000),
        rooms: [SMART],
      });
      expect((await w.postReport(b.token, report)).statusCode).toBe(200);
      // east's rooms count until its checks are 15 min old, not a report earlier
      expect([i, (await rowOf(w, 'wj-2', 'recording_room')).state]).toEqual([i, i < 13 ? 'met' : 'not_met']);
    }
    expect(await rowOf(w, 'wj-2', 'smart_classroom')).toMatchObject({ state: 'met' });
    expect(await rowOf(w, 'wj-2', 'recording_room')).toMatchObject({
      state: 'not_met',
      reason: 'no recording room in the inventory (未建)',
    });
    expect(await rowOf(w, 'wj-2', 'school_connected')).toMatchObject({
      state: 'met',
      value: 1,
      reason: '1 of 2 agent(s) reported in the last 15 min',
    });
  });

  it('a room reported with two room types by two agents is reported as a conflict', async () => {
    const w = await start([school('wj-3')]);
    const a = w.enrollDirect('wj-3', 'a');
    const b = w.enrollDirect('wj-3', 'b');
    const at = new Date(Date.now() - MIN);
    await w.postReport(
      a.token,
      roomsReport({ agentId: a.agentId, schoolId: 'wj-3', at, rooms: [RECORDING] }),
    );
    const clash: RoomSpec = {
      name: '录播室 1',
      type: 'smart',
      devices: [{ name: '大屏', type: 'panel', up: true }],
    };
    const twice: RoomSpec = { ...RECORDING, devices: [{ name: '录播主机 2', type: 'recorder', up: true }] };
    await w.postReport(
      b.token,
      roomsReport({ agentId: b.agentId, schoolId: 'wj-3', at, rooms: [clash, twice] }),
    );
    expect((await rowOf(w, 'wj-3', 'recording_room')).reason).toBe(
      'has 1 recording room(s): 录播室 1; conflict: 录播室 1 reported as recording and smart',
    );
  });
});

describe('the plan’s other targets', () => {
  it('班班通: 36 of 40 classrooms with a working panel is 90%, not met; per district and group', async () => {
    const w = await start([school('wj-4'), school('wj-5', { group: '湖塘教育集团' })]);
    const a = w.enrollDirect('wj-4');
    const b = w.enrollDirect('wj-5');
    const at = new Date(Date.now() - MIN);
    const classrooms = manyRooms('初一', 'classroom', 40, 36, 'panel');
    await w.postReport(a.token, roomsReport({ agentId: a.agentId, schoolId: 'wj-4', at, rooms: classrooms }));
    await w.postReport(
      b.token,
      roomsReport({
        agentId: b.agentId,
        schoolId: 'wj-5',
        at,
        rooms: manyRooms('教室', 'classroom', 10, 10, 'projector'),
      }),
    );
    const row = await rowOf(w, 'wj-4', 'interactive_classrooms');
    expect(row).toMatchObject({ state: 'not_met', value: 90, goal: 100 });
    expect(row.reason).toBe(
      '36 of 40 classrooms have a working panel/projector; without: 初一 37 (down), 初一 38 (down), 初一 39 (down), 初一 40 (down)',
    );
    expect(await rowOf(w, 'wj-5', 'interactive_classrooms')).toMatchObject({ state: 'met', value: 100 });
    const k = await kpisOf(w);
    expect(k.districts[0]!.targets.interactive_classrooms).toMatchObject({
      schools: 2,
      met: 1,
      notMet: 1,
      pct: 50,
      goalPct: 100,
      goalMet: false,
    });
    expect(
      k.groups.map((g) => [
        g.group,
        g.targets.interactive_classrooms!.met,
        g.targets.interactive_classrooms!.notMet,
      ]),
    ).toEqual([
      ['湖塘教育集团', 1, 0],
      ['星河教育集团', 0, 1],
    ]);
  });

  it('wireless coverage: a teaching room without an access point up counts against it', async () => {
    const w = await start([school('wj-6')]);
    const a = w.enrollDirect('wj-6');
    const rooms: RoomSpec[] = [
      { name: '教室 1', type: 'classroom', devices: [{ name: 'AP 1', type: 'ap', up: true }] },
      { name: '教室 2', type: 'classroom', devices: [{ name: 'AP 2', type: 'ap', up: false }] },
      { name: '录播室', type: 'recording', devices: [{ name: 'AP 3', type: 'ap', up: true }] },
      { name: '实验室', type: 'lab', devices: [{ name: '投影', type: 'projector', up: true }] },
      { name: '核心机房', type: 'core', devices: [{ name: '交换机', type: 'switch', up: true }] },
    ];
    await w.postReport(
      a.token,
      roomsReport({ agentId: a.agentId, schoolId: 'wj-6', at: new Date(Date.now() - MIN), rooms }),
    );
    expect(await rowOf(w, 'wj-6', 'wireless_coverage')).toMatchObject({
      state: 'not_met',
      value: 50,
      reason: '2 of 4 teaching rooms have an access point up; without: 教室 2, 实验室',
    });
  });

  it('rooms per 100 pupils: 20 networked multimedia rooms for 1000 junior pupils is 2.0, not met against 2.4', async () => {
    const w = await start([
      school('wj-7', { stage: 'junior', pupils: 1000 }),
      school('wj-8', { stage: 'primary', pupils: 500 }),
      school('wj-9', { pupils: 500 }),
    ]);
    const at = new Date(Date.now() - MIN);
    for (const [id, n] of [
      ['wj-7', 20],
      ['wj-8', 12],
      ['wj-9', 12],
    ] as const) {
      const a = w.enrollDirect(id);
      const rooms = manyRooms('多媒体教室', 'classroom', n, n, 'panel');
      await w.postReport(a.token, roomsReport({ agentId: a.agentId, schoolId: id, at, rooms }));
    }
    expect(await rowOf(w, 'wj-7', 'multimedia_rooms')).toMatchObject({
      state: 'not_met',
      value: 2,
      goal: 2.4,
      reason: '20 networked multimedia rooms for 1000 pupils = 2 per 100 (junior goal 2.4)',
    });
    expect(await rowOf(w, 'wj-8', 'multimedia_rooms')).toMatchObject({ state: 'met', value: 2.4, goal: 2.3 });
    expect(await rowOf(w, 'wj-9', 'multimedia_rooms')).toMatchObject({
      state: 'no_data',
      reason: 'the school has no stage (学段): set it with school add --stage primary|junior|…',
    });
    expect((await kpisOf(w)).districts[0]!.targets.multimedia_rooms).toMatchObject({
      schools: 3,
      met: 1,
      notMet: 1,
      noData: 1,
    });
  });

  it('校校通: registered schools whose agent reports; a school without an agent is not connected', async () => {
    const w = await start([school('wj-10'), school('wj-11'), school('wj-12')]);
    const a = w.enrollDirect('wj-10');
    w.enrollDirect('wj-11'); // enrolled, never started
    await w.postReport(
      a.token,
      roomsReport({ agentId: a.agentId, schoolId: 'wj-10', at: new Date(), rooms: [RECORDING] }),
    );
    expect((await rowOf(w, 'wj-11', 'school_connected')).reason).toBe(
      '1 agent(s) enrolled, none has ever reported',
    );
    expect((await rowOf(w, 'wj-12', 'school_connected')).reason).toBe(
      'no agent enrolled: the school is not connected to monitoring',
    );
    expect((await kpisOf(w)).overall.targets.school_connected).toMatchObject({
      schools: 3,
      met: 1,
      notMet: 2,
      noData: 0,
      pct: 33.3,
      goalPct: 100,
    });
  });
});

describe('district overrides', () => {
  it('district B judges recording rooms against its own 90%, district A against the default 80%', async () => {
    const schools = [
      ...Array.from({ length: 10 }, (_, i) => school(`a-${i}`, { district: 'A区', group: undefined })),
      ...Array.from({ length: 10 }, (_, i) => school(`b-${i}`, { district: 'B区', group: undefined })),
    ].map(({ group: _g, ...s }) => s as School);
    const w = await start(schools, 'districts:\n  B区:\n    recordingRoom: { districtGoalPct: 90 }\n');
    const at = new Date(Date.now() - MIN);
    // 8 of 10 schools in each district have a recording room
    for (const s of schools) {
      const a = w.enrollDirect(s.id);
      const rooms = s.id.endsWith('-8') || s.id.endsWith('-9') ? [SMART] : [RECORDING];
      await w.postReport(a.token, roomsReport({ agentId: a.agentId, schoolId: s.id, at, rooms }));
    }
    const k = await kpisOf(w);
    const rec = (d: string) => k.districts.find((x) => x.district === d)!.targets.recording_room!;
    expect(rec('A区')).toMatchObject({ pct: 80, goalPct: 80, goalSource: 'default', goalMet: true });
    expect(rec('B区')).toMatchObject({ pct: 80, goalPct: 90, goalSource: 'district', goalMet: false });
    expect(k.overall.targets.recording_room).toMatchObject({ pct: 80, goalPct: 80, goalSource: 'default' });
    expect(k.districts.find((x) => x.district === 'B区')!.targets.smart_classroom).toMatchObject({
      goalPct: 100,
      goalSource: 'default',
    });
  });
});
