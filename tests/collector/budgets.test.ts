/**
 * Issue 27, item 1 (budgets, declared and enforced) and acceptance 1 (cardinality).
 *
 * The acceptance part runs a real collector process (`collector/src/cli.ts run`) on a real InfluxDB: one
 * agent token posts reports of hundreds of new random device names until its school's device budget
 * refuses them (422 naming the budget); InfluxDB's series and the collector's RSS stay within what the
 * budget allows; another school's ingest latency is measured before and during and printed. The other
 * parts use the in-process collector: duplicate identities, per-school budgets, the metric, the alert,
 * devices leaving the latest state after their freshness, and bounded (paged) API answers.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { SqliteStateStore } from '../../collector/src/store/sqlite-state.js';
import type { ProbeResult, Report } from '../../protocol/report.js';
import type { School } from '../../protocol/school.js';
import { CollectorProc } from '../helpers/collector-proc.js';
import { type Influxd, influxdAvailable, startInfluxd } from '../helpers/influxd.js';
import { type Receiver, receiver } from '../helpers/receiver.js';
import { makeReport } from '../helpers/reports.js';
import { skipping } from '../helpers/skip.js';
import { WORLD_ADMIN_TOKEN, World, XINGHAI } from '../helpers/world.js';

const ATTACKED: School = {
  id: 'cz-attacked',
  name: '常州市测试小学（预算）',
  district: '武进区',
  timezone: 'Asia/Shanghai',
};
const QUIET: School = {
  id: 'cz-quiet',
  name: '常州市安静小学',
  district: '武进区',
  timezone: 'Asia/Shanghai',
};

/** A reachability result of one device (icmp) in a room. */
function deviceResult(name: string, at: string, room = '教室 1'): ProbeResult {
  return {
    probe: 'reachability',
    target: name,
    outcome: 'ok',
    durationMs: 1,
    at,
    device: { name, address: '127.0.0.1', room, roomType: 'classroom', type: 'ap', critical: false },
    check: 'icmp',
    up: true,
    rttMs: 0.1,
    lossPct: 0,
    sent: 1,
    received: 1,
    family: 4,
  };
}

/** A report of these device names (one icmp result each), at `at`. */
function devicesReport(agentId: string, schoolId: string, names: readonly string[], at = new Date()): Report {
  const base = makeReport({ agentId, schoolId, at });
  return { ...base, results: names.map((n) => deviceResult(n, at.toISOString())) };
}

const randomNames = (n: number) => Array.from({ length: n }, () => `dev-${randomBytes(6).toString('hex')}`);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Resident set size of a process, in MB (Linux /proc). */
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

describe.skipIf(skipping(influxdAvailable(), 'budgets acceptance (a real InfluxDB)'))(
  'acceptance 1: cardinality is bounded by the school budget',
  () => {
    const DEVICE_BUDGET = 1500;
    const PER_REPORT = 500;
    let dir: string;
    let influx: Influxd;
    let collector: CollectorProc;
    const tokens = new Map<string, { agentId: string; token: string }>();

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'cw-budgets-'));
      influx = await startInfluxd();
      const dataDir = join(dir, 'data');
      const file = join(dir, 'collector.yaml');
      writeFileSync(
        file,
        stringify({
          listen: '127.0.0.1:0',
          adminToken: WORLD_ADMIN_TOKEN,
          dataDir,
          influx: { url: influx.url, database: 'cw_budgets', timeoutMs: 5000 },
          schools: [ATTACKED, QUIET],
          budgets: { schools: { [ATTACKED.id]: { devicesPerSchool: DEVICE_BUDGET } } },
        }),
      );
      // enrolment codes made in the store before the collector opens it
      const store = new SqliteStateStore(dataDir);
      const codes = new Map<string, string>();
      for (const s of [ATTACKED, QUIET]) {
        await store.upsertSchool(s);
        codes.set(s.id, (await store.createEnrollCode(s.id, 3_600_000)).code);
      }
      await store.close();
      collector = new CollectorProc('budgets', file);
      const url = await collector.url;
      for (const [schoolId, code] of codes) {
        const res = await fetch(`${url}/api/v1/enroll`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ code, hostname: `box-${schoolId}`, agentVersion: '0.1.0' }),
        });
        expect(res.status).toBe(201);
        tokens.set(schoolId, (await res.json()) as { agentId: string; token: string });
      }
    }, 60_000);

    afterAll(async () => {
      await collector?.kill();
      await influx?.cleanup();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const post = async (schoolId: string, report: Report) => {
      const t0 = performance.now();
      const res = await fetch(`${await collector.url}/api/v1/reports`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${tokens.get(schoolId)!.token}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify(report),
      });
      const body = (await res.json()) as Record<string, unknown>;
      return { status: res.status, body, ms: performance.now() - t0 };
    };
    const quietReport = async () => {
      const a = tokens.get(QUIET.id)!;
      const r = await post(QUIET.id, makeReport({ agentId: a.agentId, schoolId: QUIET.id }));
      expect(r.status).toBe(200);
      return r.ms;
    };
    const series = async () => (await influx.query('SHOW SERIES', 'cw_budgets')).length;

    it('refuses the reports past the device budget, naming it; series, RSS and the other school stay bounded', async () => {
      const pid = collector.child.pid!;
      const before: number[] = [];
      for (let i = 0; i < 5; i++) before.push(await quietReport());
      const seriesBefore = await series();
      const rssBefore = rssMb(pid);

      const attacker = tokens.get(ATTACKED.id)!;
      const during: number[] = [];
      const statuses: number[] = [];
      let refusal: Record<string, unknown> | undefined;
      // 8 reports × 500 new random device names: 4,000 devices tried against a budget of 1,500
      for (let i = 0; i < 8; i++) {
        const r = await post(
          ATTACKED.id,
          devicesReport(attacker.agentId, ATTACKED.id, randomNames(PER_REPORT)),
        );
        statuses.push(r.status);
        if (r.status === 422) refusal ??= r.body;
        during.push(await quietReport());
      }
      const seriesAfter = await series();
      const rssAfter = rssMb(pid);
      console.log(
        `[budgets.test] other school's ingest: median ${median(before).toFixed(1)} ms before (${before.map((x) => x.toFixed(0)).join(', ')}), ` +
          `${median(during).toFixed(1)} ms during (${during.map((x) => x.toFixed(0)).join(', ')})`,
      );
      console.log(
        `[budgets.test] attacker statuses ${statuses.join(' ')}; InfluxDB series ${seriesBefore} → ${seriesAfter} ` +
          `(budget ${DEVICE_BUDGET} devices); collector RSS ${rssBefore.toFixed(0)} → ${rssAfter.toFixed(0)} MB`,
      );

      // three reports fit (1,500 devices), every later one is refused: nothing of it stored
      expect(statuses).toEqual([200, 200, 200, 422, 422, 422, 422, 422]);
      expect(refusal).toMatchObject({
        statusCode: 422,
        budget: 'devicesPerSchool',
        limit: DEVICE_BUDGET,
        count: DEVICE_BUDGET + PER_REPORT,
      });
      expect(String(refusal!.message)).toContain('over budget devicesPerSchool');
      expect(String(refusal!.message)).toContain(`${DEVICE_BUDGET + PER_REPORT} devices`);
      // one series per device check, plus the few per report (agent, compliance): never the 4,000 tried
      const deviceSeries = await influx.query(
        `SHOW SERIES FROM "device" WHERE "school" = '${ATTACKED.id}'`,
        'cw_budgets',
      );
      expect(deviceSeries.length).toBe(DEVICE_BUDGET);
      expect(seriesAfter - seriesBefore).toBeLessThanOrEqual(DEVICE_BUDGET + 100);
      // 1,500 devices' latest state is a few MB; the 87k-series run of the issue grew the collector by 280 MB
      expect(rssAfter - rssBefore).toBeLessThan(150);
      // sanity only (a loaded CI machine varies): the quiet school's reports are still answered promptly
      expect(median(during)).toBeLessThan(Math.max(2000, median(before) * 20));

      const metrics = await (
        await fetch(`${await collector.url}/metrics`, {
          headers: { authorization: `Bearer ${WORLD_ADMIN_TOKEN}` },
        })
      ).text();
      expect(metrics).toContain('campuswatch_reports_over_budget_total{budget="devicesPerSchool"} 5');
      expect(metrics).toContain('campuswatch_reports_rejected_total{reason="over_budget"} 5');
    }, 60_000);
  },
);

describe('budgets, duplicates, stale devices and paging (in-process collector)', () => {
  let hook: Receiver;
  let w: World;
  let now = new Date();
  const SMALL: School = { ...XINGHAI, id: 'sz-small', name: '苏州小学校（预算 3 台）' };
  const FEW_SERIES: School = { ...XINGHAI, id: 'sz-few-series', name: '苏州序列预算学校' };
  const RACED: School = { ...XINGHAI, id: 'sz-raced', name: '苏州并发上报学校' };

  beforeAll(async () => {
    hook = await receiver('{}');
    w = new World({
      schools: [XINGHAI, SMALL, FEW_SERIES, RACED],
      collector: {
        budgets: {
          schools: {
            [SMALL.id]: { devicesPerSchool: 3, resultsPerReport: 5 },
            [FEW_SERIES.id]: { seriesPerSchool: 2 },
            [RACED.id]: { devicesPerSchool: 3 },
          },
        },
        alerts: {
          repeatS: 3600,
          agentSilentS: 86_400,
          channels: [
            { name: 'ops', type: 'webhook', url: `${hook.url}/hook`, secret: 'whsec-0123456789abcdef' },
          ],
        },
      },
    });
    await w.startCollector();
    w.app!.campuswatch.now = () => now;
  });
  afterAll(async () => {
    await w.cleanup();
    hook.server.close();
  });

  const latestDevices = async (schoolId: string) => {
    const res = await w.app!.inject({ method: 'GET', url: `/api/v1/schools/${schoolId}` });
    expect(res.statusCode).toBe(200);
    const body = res.json() as { latest: ProbeResult[] };
    return body.latest.flatMap((r) => (r.probe === 'reachability' ? [r.device.name] : [])).sort();
  };

  it('a report with one device identity twice is refused (400 naming it); nothing of it is stored', async () => {
    const { agentId, token } = w.enrollDirect(XINGHAI.id, 'dup-box');
    const at = now.toISOString();
    const report = devicesReport(agentId, XINGHAI.id, ['交换机 A'], now);
    report.results.push(deviceResult('交换机 A', at, '教室 2'), deviceResult('交换机 B', at));
    const res = await w.postReport(token, report);
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toContain('reachability|交换机 A|icmp| (2 times)');
    expect(res.json().message).not.toContain('交换机 B');
    expect(await latestDevices(XINGHAI.id)).toEqual([]);
    // the same report id, once fixed, is stored: the refused one left no journal row behind
    report.results.splice(1, 1);
    expect((await w.postReport(token, report)).json()).toMatchObject({ status: 'stored' });
    expect(await latestDevices(XINGHAI.id)).toEqual(['交换机 A', '交换机 B']);
  });

  it("a school's own budgets apply to it only; refusals are counted and alerted to the administrators", async () => {
    const small = w.enrollDirect(SMALL.id, 'small-box');
    const big = w.enrollDirect(XINGHAI.id, 'big-box');
    const four = ['a1', 'a2', 'a3', 'a4'];
    expect(
      (await w.postReport(big.token, devicesReport(big.agentId, XINGHAI.id, four, now))).statusCode,
    ).toBe(200);
    const over = await w.postReport(small.token, devicesReport(small.agentId, SMALL.id, four, now));
    expect(over.statusCode).toBe(422);
    expect(over.json()).toMatchObject({ budget: 'devicesPerSchool', limit: 3, count: 4 });
    expect(over.json().message).toContain('budgets.schools.sz-small.devicesPerSchool');
    expect(await latestDevices(SMALL.id)).toEqual([]);
    expect(
      (await w.postReport(small.token, devicesReport(small.agentId, SMALL.id, four.slice(0, 3), now)))
        .statusCode,
    ).toBe(200);
    const six = await w.postReport(small.token, devicesReport(small.agentId, SMALL.id, randomNames(6), now));
    expect(six.json()).toMatchObject({ statusCode: 422, budget: 'resultsPerReport', limit: 5, count: 6 });
    // a school over its budget still reports the devices it has
    expect(
      (await w.postReport(small.token, devicesReport(small.agentId, SMALL.id, ['a2'], now))).statusCode,
    ).toBe(200);

    // one device with three checks is three series
    const fs = w.enrollDirect(FEW_SERIES.id, 'series-box');
    const threeChecks = devicesReport(fs.agentId, FEW_SERIES.id, ['核心交换机'], now);
    const icmp = threeChecks.results[0]!;
    for (const port of [22, 443]) threeChecks.results.push({ ...icmp, check: 'tcp', port } as ProbeResult);
    const series = await w.postReport(fs.token, threeChecks);
    expect(series.json()).toMatchObject({ statusCode: 422, budget: 'seriesPerSchool', limit: 2, count: 3 });
    threeChecks.results.pop();
    expect((await w.postReport(fs.token, threeChecks)).statusCode).toBe(200);

    const metrics = (await w.app!.inject({ method: 'GET', url: '/metrics' })).body;
    expect(metrics).toContain('campuswatch_reports_over_budget_total{budget="devicesPerSchool"} 1');
    expect(metrics).toContain('campuswatch_reports_over_budget_total{budget="resultsPerReport"} 1');
    expect(metrics).toContain('campuswatch_reports_over_budget_total{budget="seriesPerSchool"} 1');

    await w.app!.campuswatch.alerts.evaluate(now);
    const alerts = (
      await w.app!.inject({ method: 'GET', url: `/api/v1/alerts?school=${SMALL.id}` })
    ).json() as {
      alerts: {
        fingerprint: string;
        state: string;
        item: { rule: string; title: { zh: string; en: string } };
      }[];
    };
    expect(alerts.alerts.map((a) => a.fingerprint).sort()).toEqual([
      'over-budget|sz-small|devicesPerSchool',
      'over-budget|sz-small|resultsPerReport',
    ]);
    expect(alerts.alerts.every((a) => a.state === 'firing')).toBe(true);
    const devicesAlert = alerts.alerts.find((a) => a.fingerprint.endsWith('devicesPerSchool'))!;
    expect(devicesAlert.item.title).toEqual({
      zh: '上报超出学校容量预算：设备数 4 / 3',
      en: 'Reports over the school budget: devicesPerSchool 4 / 3',
    });
    await hook.until(1);
    const sent = hook.got.map((g) => g.body).join('\n');
    expect(sent).toContain('over-budget');
    expect(sent).toContain('budgets.schools.sz-small.devicesPerSchool');
    // the other school has no such alert
    const others = (
      await w.app!.inject({ method: 'GET', url: `/api/v1/alerts?school=${XINGHAI.id}` })
    ).json() as {
      alerts: { item: { rule: string } }[];
    };
    expect(others.alerts.filter((a) => a.item.rule === 'over-budget')).toEqual([]);
  });

  it('reports of one school sent at once are judged one after another: together they cannot pass the budget', async () => {
    const { agentId, token } = w.enrollDirect(RACED.id, 'raced-box');
    const answers = await Promise.all(
      Array.from({ length: 6 }, () =>
        w.postReport(token, devicesReport(agentId, RACED.id, randomNames(2), now)),
      ),
    );
    expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 422, 422, 422, 422, 422]);
    expect(await latestDevices(RACED.id)).toHaveLength(2);
  });

  it('a device gone from the inventory leaves the latest state once older than its freshness (15 min)', async () => {
    const school: School = { ...XINGHAI, id: 'sz-stale', name: '苏州过期设备学校' };
    await w.app!.campuswatch.state.upsertSchool(school);
    const { agentId, token } = w.enrollDirect(school.id, 'stale-box');
    const t0 = now;
    const at = (min: number) => new Date(t0.getTime() + min * 60_000);
    const send = async (min: number, names: string[]) => {
      now = at(min);
      expect((await w.postReport(token, devicesReport(agentId, school.id, names, now))).statusCode).toBe(200);
    };
    try {
      await send(0, ['旧交换机', '投影仪 301']);
      await send(10, ['投影仪 301']);
      // 10 min without it: still fresh, still shown
      expect(await latestDevices(school.id)).toEqual(['投影仪 301', '旧交换机']);
      await send(16, ['投影仪 301']);
      expect(await latestDevices(school.id)).toEqual(['投影仪 301']);
      // the state store agrees (read afresh, not only the cache)
      const stored = await w.app!.campuswatch.state.latestResults(school.id);
      expect(stored.map((r) => r.target)).toEqual(['投影仪 301']);
      // its history stays: the availability samples (critical devices) and the ingest journal are untouched
      expect((await w.app!.campuswatch.state.ingestOrder(agentId)).length).toBe(3);
    } finally {
      now = t0;
    }
  });

  it('answers bounded: a school of 2,500 devices a page of 1,000 at a time with a next link; small lists as before', async () => {
    const school: School = { ...XINGHAI, id: 'sz-large', name: '苏州大学校（2500 台）' };
    await w.app!.campuswatch.state.upsertSchool(school);
    const a = w.enrollDirect(school.id, 'large-box-1');
    w.enrollDirect(school.id, 'large-box-2');
    const names = Array.from({ length: 2500 }, (_, i) => `设备-${String(i).padStart(4, '0')}`);
    expect((await w.postReport(a.token, devicesReport(a.agentId, school.id, names, now))).statusCode).toBe(
      200,
    );

    const seen: string[] = [];
    let url: string | null = `/api/v1/schools/${school.id}`;
    const pages: number[] = [];
    while (url) {
      const res = await w.app!.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(200);
      const body = res.json() as {
        latest: ProbeResult[];
        rooms: { devices: { name: string }[] }[];
        page: { offset: number; limit: number; total: number; next: string | null };
      };
      expect(body.page).toMatchObject({ limit: 1000, total: 2500 });
      const devices = body.latest.flatMap((r) => (r.probe === 'reachability' ? [r.device.name] : []));
      expect(body.rooms.flatMap((r) => r.devices.map((d) => d.name)).sort()).toEqual([...devices].sort());
      pages.push(devices.length);
      seen.push(...devices);
      url = body.page.next;
    }
    expect(pages).toEqual([1000, 1000, 500]);
    expect(new Set(seen).size).toBe(2500);

    const asked = (
      await w.app!.inject({ method: 'GET', url: `/api/v1/schools/${school.id}?limit=10&offset=2495` })
    ).json();
    expect(asked.page).toEqual({ offset: 2495, limit: 10, total: 2500, next: null });
    // a small school: the answer as before, without page
    expect(
      (await w.app!.inject({ method: 'GET', url: `/api/v1/schools/${XINGHAI.id}` })).json().page,
    ).toBeUndefined();
    // agents (and alerts, findings) page the same way when asked
    const agents = (
      await w.app!.inject({ method: 'GET', url: `/api/v1/agents?school=${school.id}&limit=1` })
    ).json();
    expect(agents.agents).toHaveLength(1);
    expect(agents.page).toEqual({
      offset: 0,
      limit: 1,
      total: 2,
      next: `/api/v1/agents?school=${school.id}&limit=1&offset=1`,
    });
    const all = (await w.app!.inject({ method: 'GET', url: `/api/v1/agents?school=${school.id}` })).json();
    expect(all.page).toBeUndefined();
    expect(all.agents).toHaveLength(2);
    const alerts = (await w.app!.inject({ method: 'GET', url: '/api/v1/alerts?limit=1' })).json();
    expect(alerts.alerts).toHaveLength(1);
    expect(alerts.page.total).toBeGreaterThanOrEqual(2);
    const findings = (await w.app!.inject({ method: 'GET', url: '/api/v1/findings?limit=1' })).json();
    expect(findings.page).toMatchObject({ offset: 0, limit: 1 });
  });
});
