import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertItem } from '../../collector/src/notifiers/notifier.js';
import { runCli } from '../helpers/cli.js';
import { type Influxd, influxdAvailable, startInfluxd } from '../helpers/influxd.js';
import { type Receiver, receiver } from '../helpers/receiver.js';
import { makeReport } from '../helpers/reports.js';
import { skipping } from '../helpers/skip.js';
import { sqliteOf, World, XINGHAI } from '../helpers/world.js';

/** The configured wait, shortened for the test (the default is 3600 s); time moves by the injected clock. */
const AFTER_S = 600;

interface Hook {
  status: 'firing' | 'resolved';
  school: { id: string; name: string };
  alerts: AlertItem[];
}

interface ApiAgent {
  id: string;
  hostname: string;
  enrolledAt: string;
  lastSeenAt: string | null;
  status: string;
}

/**
 * Issue 23 acceptance 4: an agent enrolled but never started (the most common failed install) raises its
 * own alert after `alerts.neverReportedAfterS`, resolved by its first report, and shows as such in the API.
 */
describe('acceptance 4: an enrolled agent that never reports', () => {
  let webhook: Receiver;
  let w: World;
  let now: Date;
  let silentAgent: { agentId: string; token: string };
  let otherAgent: { agentId: string; token: string };
  let enrolledAt: Date;

  beforeAll(async () => {
    webhook = await receiver('{}');
    w = new World({
      collector: {
        alerts: {
          neverReportedAfterS: AFTER_S,
          // the clock moves by minutes here: keep the agent-silent rule out of it
          agentSilentS: 86_400,
          channels: [{ name: 'ops-webhook', type: 'webhook', url: `${webhook.url}/hook`, language: 'en' }],
        },
      },
    });
    await w.startCollector();
    silentAgent = w.enrollDirect(XINGHAI.id, '星海-录播-box');
    otherAgent = w.enrollDirect(XINGHAI.id, 'xh-core');
    enrolledAt = new Date(sqliteOf(w.app!).getAgent(silentAgent.agentId)!.enrolledAt);
    now = new Date(enrolledAt.getTime() + 60_000);
    w.app!.campuswatch.now = () => now;
    // the other agent reports at once: it never gets this alert
    const first = await w.postReport(
      otherAgent.token,
      makeReport({ agentId: otherAgent.agentId, schoolId: XINGHAI.id, at: now }),
    );
    expect(first.statusCode).toBe(200);
  });
  afterAll(async () => {
    await w.cleanup();
    webhook.server.close();
  });

  const evaluateAt = async (t: Date) => {
    now = t;
    await w.app!.campuswatch.alerts.evaluate(t);
  };
  const hooks = () => webhook.got.map((g) => JSON.parse(g.body) as Hook);
  const apiAgents = async () =>
    (
      (await w.app!.inject({ method: 'GET', url: `/api/v1/schools/${XINGHAI.id}` })).json() as {
        agents: ApiAgent[];
      }
    ).agents;
  const apiSchool = async () =>
    (
      (await w.app!.inject({ method: 'GET', url: '/api/v1/schools' })).json() as {
        schools: { id: string; agents: number; agentsNeverReported: number; agentsSilent: number }[];
      }
    ).schools.find((s) => s.id === XINGHAI.id)!;

  it('the API shows the agent as never_reported from the start, the other as reporting', async () => {
    const byId = new Map((await apiAgents()).map((a) => [a.id, a]));
    expect(byId.get(silentAgent.agentId)).toMatchObject({
      hostname: '星海-录播-box',
      lastSeenAt: null,
      status: 'never_reported',
    });
    expect(byId.get(otherAgent.agentId)).toMatchObject({ status: 'reporting' });
    expect(await apiSchool()).toMatchObject({ agents: 2, agentsNeverReported: 1, agentsSilent: 0 });
  });

  it('no alert before the configured time (at exactly neverReportedAfterS)', async () => {
    await evaluateAt(new Date(enrolledAt.getTime() + 60_000));
    await evaluateAt(new Date(enrolledAt.getTime() + AFTER_S * 1000));
    expect(webhook.got).toEqual([]);
    const alerts = (await w.app!.inject({ method: 'GET', url: '/api/v1/alerts' })).json() as {
      alerts: unknown[];
    };
    expect(alerts.alerts).toEqual([]);
  });

  it('after it, the webhook receives agent-never-reported for that agent only', async () => {
    await evaluateAt(new Date(enrolledAt.getTime() + (AFTER_S + 1) * 1000));
    await webhook.until(1);
    const [hook, ...more] = hooks();
    expect(more).toEqual([]);
    expect(hook).toMatchObject({ status: 'firing', school: { id: XINGHAI.id, name: XINGHAI.name } });
    expect(hook!.alerts).toHaveLength(1);
    const alert = hook!.alerts[0]!;
    expect(alert).toMatchObject({
      rule: 'agent-never-reported',
      status: 'firing',
      labels: { school: XINGHAI.id, agent: silentAgent.agentId },
      title: {
        zh: '探针已注册但从未上报：星海-录播-box',
        en: 'Agent enrolled but never reported: 星海-录播-box',
      },
    });
    // in the school's zone (XINGHAI: Asia/Shanghai, 8 h ahead of UTC, no summer time)
    const local = new Date(enrolledAt.getTime() + 8 * 3_600_000).toISOString().slice(0, 16).replace('T', ' ');
    expect(alert.detail.en).toContain(`enrolled at ${local} UTC+08:00, 10 min ago`);
    expect(alert.detail.zh).toContain(`于 ${local}（北京时间） 注册，已过去 10 分钟`);
    expect((await apiAgents()).find((a) => a.id === silentAgent.agentId)?.status).toBe('never_reported');
    // still firing a little later: no second message before the reminder interval
    await evaluateAt(new Date(now.getTime() + 60_000));
    expect(webhook.got).toHaveLength(1);
  });

  it('its first report resolves it: the webhook receives the resolve; the API shows it reporting', async () => {
    const report = makeReport({ agentId: silentAgent.agentId, schoolId: XINGHAI.id, at: now });
    expect((await w.postReport(silentAgent.token, report)).statusCode).toBe(200);
    await evaluateAt(now);
    await webhook.until(2);
    const resolved = hooks()[1]!;
    expect(resolved).toMatchObject({ status: 'resolved', school: { id: XINGHAI.id } });
    expect(resolved.alerts.map((a) => [a.rule, a.status, a.labels.agent])).toEqual([
      ['agent-never-reported', 'resolved', silentAgent.agentId],
    ]);
    const seen = (await apiAgents()).find((a) => a.id === silentAgent.agentId)!;
    expect(seen.status).toBe('reporting');
    // when the report arrived, by the collector's (injected) clock
    expect(now.getTime() - Date.parse(seen.lastSeenAt!)).toBeGreaterThanOrEqual(0);
    expect(now.getTime() - Date.parse(seen.lastSeenAt!)).toBeLessThan(5000);
    expect(await apiSchool()).toMatchObject({ agents: 2, agentsNeverReported: 0 });
    await evaluateAt(new Date(now.getTime() + 60_000));
    expect(webhook.got).toHaveLength(2);
  });
});

describe('silences name known alert rules', () => {
  const adminToken = 'admin-0123456789abcdef';
  const w = new World({ collector: { adminToken } });
  const data = mkdtempSync(join(tmpdir(), 'cw-never-reported-cli-'));
  beforeAll(() => w.startCollector());
  afterAll(async () => {
    await w.cleanup();
    rmSync(data, { recursive: true, force: true });
  });

  it('the API accepts agent-never-reported and refuses an unknown rule, naming the field', async () => {
    const post = (rule: string) =>
      w.app!.inject({
        method: 'POST',
        url: '/api/v1/silences',
        headers: { authorization: `Bearer ${adminToken}` },
        payload: { rule, duration: '2h', reason: '新装探针调试中' },
      });
    const ok = await post('agent-never-reported');
    expect(ok.statusCode).toBe(201);
    expect(ok.json()).toMatchObject({ rule: 'agent-never-reported', reason: '新装探针调试中' });
    const bad = await post('agent-never-reportd');
    expect(bad.statusCode).toBe(400);
    expect((bad.json() as { message: string }).message).toBe(
      'body/rule: unknown alert rule "agent-never-reportd"; one of finding, agent-silent, agent-never-reported, recording-room-down, uplink-below-target, ipv6-score-dropped, over-budget',
    );
  });

  it('the CLI does the same (exit 2 for an unknown rule)', async () => {
    const add = (rule: string) =>
      runCli('collector', [
        'silence',
        'add',
        '--data',
        data,
        '--init', // a new data directory: its first command creates the state
        '--rule',
        rule,
        '--for',
        '2h',
        '--reason',
        '新装探针',
      ]);
    const bad = await add('never-reported');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--rule: unknown alert rule "never-reported"; one of ');
    const ok = await add('agent-never-reported');
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^silence \d+ until /);
    const help = await runCli('collector', ['silence', 'add', '--help']);
    expect(help.stdout).toContain('agent-never-reported');
  });
});

const influxSkip = influxdAvailable();

describe.skipIf(skipping(influxSkip, 'with a real InfluxDB'))(
  `the fleet series: agent_status points written by the alert pass${influxSkip ? ` (SKIPPED: ${influxSkip})` : ''}`,
  () => {
    const db = 'cw_fleet';
    let influx: Influxd;
    let w: World;
    beforeAll(async () => {
      influx = await startInfluxd();
      w = new World({
        influxUrl: influx.url,
        database: db,
        collector: { alerts: { neverReportedAfterS: AFTER_S } },
      });
      await w.startCollector();
    });
    afterAll(async () => {
      await w?.cleanup();
      await influx?.cleanup();
    });

    it('a never-reported agent has a point per pass (never_reported=1), and after its first report a reporting one', async () => {
      const { agentId, token } = w.enrollDirect(XINGHAI.id, '星海-录播-box');
      const enrolledAt = Date.parse(sqliteOf(w.app!).getAgent(agentId)!.enrolledAt);
      let now = new Date(enrolledAt + (AFTER_S + 1) * 1000);
      w.app!.campuswatch.now = () => now;
      const ctx = w.app!.campuswatch;
      await ctx.alerts.evaluate(now);
      const points = () =>
        influx.query(`SELECT * FROM "agent_status" WHERE "agent" = '${agentId}' ORDER BY time`, db);
      const first = await points();
      expect(first).toEqual([
        expect.objectContaining({
          time: now.getTime(),
          school: XINGHAI.id,
          school_name: XINGHAI.name,
          district: XINGHAI.district,
          status: 'never_reported',
          never_reported: 1,
          enrolled_s: AFTER_S + 1,
          silent_s: AFTER_S + 1,
        }),
      ]);
      // the alert the same pass raised
      expect((await ctx.alerts.alerts({ state: 'firing' })).map((a) => a.item.rule)).toEqual([
        'agent-never-reported',
      ]);

      now = new Date(now.getTime() + 30_000);
      const report = makeReport({ agentId, schoolId: XINGHAI.id, at: now });
      expect((await w.postReport(token, report)).statusCode).toBe(200);
      await ctx.alerts.evaluate(now);
      const after = await points();
      expect(after.map((p) => [p.time, p.status, p.never_reported, p.silent_s])).toEqual([
        [now.getTime() - 30_000, 'never_reported', 1, AFTER_S + 1],
        [now.getTime(), 'reporting', 0, 0],
      ]);
      expect(await ctx.alerts.alerts({ state: 'firing' })).toEqual([]);
      // passes follow reports every few seconds: the series gets one point per agent per evaluateS (30 s)
      await ctx.alerts.evaluate(new Date(now.getTime() + 29_000));
      expect(await points()).toHaveLength(2);
      await ctx.alerts.evaluate(new Date(now.getTime() + 30_000));
      expect(await points()).toHaveLength(3);
    });

    it('the collector counts those points among the points it wrote', async () => {
      const scrape = await w.app!.inject({ method: 'GET', url: '/metrics' });
      const written = Number(/^campuswatch_influxdb_points_written_total (\d+)$/m.exec(scrape.body)?.[1]);
      let stored = 0;
      for (const r of await influx.query('SHOW MEASUREMENTS', db)) {
        stored += (await influx.query(`SELECT * FROM "${String(r.name)}"`, db)).length;
      }
      expect(stored).toBeGreaterThan(2);
      expect(written).toBe(stored);
    });
  },
);
