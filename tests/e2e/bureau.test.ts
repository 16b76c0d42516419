import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishCompliance } from '../../collector/src/compliance/refresh.js';
import type { KpiGroup } from '../../collector/src/evaluate/district.js';
import type { School } from '../../protocol/school.js';
import { type Influxd, influxdAvailable, startInfluxd } from '../helpers/influxd.js';
import { World } from '../helpers/world.js';

const skip = influxdAvailable();
if (skip) console.warn(`[bureau.test] SKIPPED: ${skip}`);

const DISTRICT = '常州市武进区';
/** Grafana's `${name:regex}` in a panel query. */
const GRAFANA_VAR = (name: string) => `\${${name}:regex}`;
const schools: School[] = Array.from({ length: 10 }, (_, i) => ({
  id: `wj-${String(i + 1).padStart(2, '0')}`,
  name: `武进区第${i + 1}实验小学, 东校区`,
  district: DISTRICT,
  group: i < 5 ? '星河教育集团' : '湖塘教育集团',
  area: i % 2 === 0 ? 'urban' : 'rural',
  timezone: 'Asia/Shanghai',
}));

/** A TCP listener on loopback (a device that answers), and a port nobody listens on (one that refuses). */
async function listener(): Promise<Server> {
  const s = createServer((c) => c.destroy());
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return s;
}
const portOf = (s: Server) => (s.address() as { port: number }).port;

/**
 * Acceptance of the bureau's counting, end to end: ten registered schools of one district, nine real agents
 * probing real loopback listeners: 2 working recording rooms, 3 whose critical recorder refuses (its camera
 * answers: the room is 建有 but does not work), 4 schools without a recording room, 1 school never monitored.
 */
describe.skipIf(skip !== undefined)(`the bureau's figures${skip ? ` (SKIPPED: ${skip})` : ''}`, () => {
  let influx: Influxd;
  let w: World;
  let up: Server;
  let closedPort: number;
  const db = 'cw_bureau';

  beforeAll(async () => {
    influx = await startInfluxd();
    up = await listener();
    const gone = await listener();
    closedPort = portOf(gone);
    await new Promise<void>((r) => gone.close(() => r()));
    w = new World({ influxUrl: influx.url, database: db, schools });
    // teaching hours all day, every day: the figures do not depend on when the suite runs
    const targets = join(w.dir, 'targets.yaml');
    writeFileSync(
      targets,
      readFileSync('config/targets.yaml', 'utf8')
        .replace(/^ {4}days: .*$/m, '    days: [mon, tue, wed, thu, fri, sat, sun]')
        .replace('start: "07:30"', 'start: "00:00"')
        .replace('end: "17:30"', 'end: "23:59"'),
    );
    w.config.targetsFile = targets;
    await w.startCollector();
    const device = (name: string, type: string, port: number, critical = true) => ({
      name,
      type,
      address: '127.0.0.1',
      critical,
      checks: [{ tcp: port }],
    });
    for (const [i, school] of schools.entries()) {
      if (i === 9) continue; // registered, no agent: unmonitored
      const rooms =
        i < 2
          ? [{ name: '录播室 1', type: 'recording', devices: [device('录播主机', 'recorder', portOf(up))] }]
          : i < 5
            ? [
                {
                  name: '录播室 1',
                  type: 'recording',
                  devices: [
                    device('录播主机', 'recorder', closedPort),
                    device('教师机位', 'camera', portOf(up), false),
                  ],
                },
              ]
            : [{ name: '初一(1)班', type: 'classroom', devices: [device('交互大屏', 'panel', portOf(up))] }];
      const agent = await w.agent(school.id, { config: { school, rooms } });
      const { flush } = await agent.once();
      expect(flush, school.id).toEqual({ delivered: 1, rejected: 0 });
    }
    await publishCompliance(w.app!.campuswatch, new Date());
  }, 120_000);

  afterAll(async () => {
    await w?.cleanup();
    up?.close();
    await influx?.cleanup();
  });

  it('the API: 建有 5/10 = 50% (not met against 80%), 可用 2/10 = 20%, 1 unmonitored', async () => {
    const body = (await w.app!.inject({ method: 'GET', url: '/api/v1/compliance' })).json() as {
      districts: KpiGroup[];
      groups: KpiGroup[];
    };
    const d = body.districts.find((x) => x.district === DISTRICT)!;
    expect(d.schools).toBe(10);
    expect(d.targets.recording_room).toEqual({
      schools: 10,
      met: 5,
      notMet: 4,
      noData: 1,
      pct: 50,
      goalPct: 80,
      goalSource: 'default',
      goalMet: false,
    });
    expect(d.targets.recording_room_working).toMatchObject({
      schools: 10,
      met: 2,
      notMet: 7,
      noData: 1,
      pct: 20,
    });
    expect(d.targets.school_connected).toMatchObject({ met: 9, notMet: 1, noData: 0, pct: 90 });
    expect(
      body.groups.map((g) => [g.group, g.targets.recording_room!.met, g.targets.recording_room!.noData]),
    ).toEqual([
      ['湖塘教育集团', 0, 1],
      ['星河教育集团', 5, 0],
    ]);
    // the school without a recording room says so (未建), the unmonitored one says why
    const row = async (id: string, target: string) =>
      (
        (await w.app!.inject({ method: 'GET', url: `/api/v1/schools/${id}` })).json() as {
          compliance: { target: string; state: string; reason: string }[];
        }
      ).compliance.find((c) => c.target === target)!;
    expect(await row('wj-06', 'recording_room')).toMatchObject({
      state: 'not_met',
      reason: 'no recording room in the inventory (未建)',
    });
    expect(await row('wj-03', 'recording_room')).toMatchObject({ state: 'met' });
    expect((await row('wj-03', 'recording_room_working')).reason).toMatch(
      /^0 of 1 recording room\(s\) up, 1 needed; down: 录播室 1: 录播主机 \(tcp\/\d+ refused\)$/,
    );
    expect(await row('wj-10', 'recording_room')).toMatchObject({
      state: 'no_data',
      reason: 'no device checks reported yet',
    });
  });

  it('InfluxDB: the compliance series (InfluxQL) and the district KPI series give the same figures', async () => {
    const one = async (q: string) => (await influx.query(q, db))[0]!;
    const perSchool = async (target: string) =>
      one(
        `SELECT sum("met") AS "met", sum("no_data") AS "unmonitored", count("met") AS "schools" FROM (SELECT last("met") AS "met", last("no_data") AS "no_data" FROM "compliance" WHERE "target" = '${target}' AND "district" = '${DISTRICT}' GROUP BY "school")`,
      );
    expect(await perSchool('recording_room')).toMatchObject({ met: 5, unmonitored: 1, schools: 10 });
    expect(await perSchool('recording_room_working')).toMatchObject({ met: 2, unmonitored: 1, schools: 10 });
    expect(
      await one(
        `SELECT last("pct") AS "pct", last("goal_pct") AS "goal", last("goal_met") AS "goal_met", last("no_data") AS "unmonitored" FROM "compliance_kpi" WHERE "level" = 'district' AND "district" = '${DISTRICT}' AND "target" = 'recording_room'`,
      ),
    ).toMatchObject({ pct: 50, goal: 80, goal_met: 0, unmonitored: 1 });
  });

  it("the dashboards' district panels, run as Grafana runs them, show 50% / 20% / 1 unmonitored", async () => {
    const overview = JSON.parse(readFileSync('dashboards/generated/cw-overview.json', 'utf8')) as {
      panels: { title: string; targets?: { query: string }[] }[];
    };
    const query = (prefix: string) =>
      overview.panels
        .find((p) => p.title.startsWith(prefix))!
        .targets![0]!.query.replaceAll(GRAFANA_VAR('district'), DISTRICT)
        .replaceAll(GRAFANA_VAR('group'), '.*')
        .replaceAll('$timeFilter', 'time > now() - 1h');
    const kpi = await influx.query(query('区县达标 KPI'), db);
    const byTarget = new Map(kpi.map((r) => [r.target as string, r]));
    expect(byTarget.get('recording_room')).toMatchObject({
      pct: 50,
      goal: 80,
      met: 5,
      not_met: 4,
      unmonitored: 1,
      schools: 10,
    });
    expect(byTarget.get('recording_room_working')).toMatchObject({ pct: 20, met: 2, unmonitored: 1 });
    expect((await influx.query(query('录播室建有率'), db))[0]).toMatchObject({ pct: 50 });
    expect((await influx.query(query('录播室可用率'), db))[0]).toMatchObject({ pct: 20 });
  });
});
