/**
 * The school page in a real Chromium against a real collector: the targets, rooms, devices, speed tests,
 * IPv6 check, findings and agents in the page equal GET /api/v1/schools/:id for that school; the chart is
 * drawn with one mark per test; findings carry the Chinese remediation of config/baseline.yaml; a school
 * account lands on its school and gets a 404 for any other; a hostile room name renders as text.
 */
import type { Browser } from 'playwright-core';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_BASELINE_FILE, loadBaseline } from '../../collector/src/baseline.js';
import type { SchoolDetail } from '../../collector/src/console/school-model.js';
import { TARGET_NAMES } from '../../collector/src/evaluate/targets/registry.js';
import type { Ipv6Result, Report } from '../../protocol/report.js';
import {
  api,
  browserSkipReason,
  launchBrowser,
  openPage,
  screenshot,
  seriousViolations,
  sidewaysOverflow,
  signIn,
  type WatchedPage,
} from '../helpers/browser.js';
import {
  CITY_SCHOOLS,
  type ConsoleCity,
  consoleCity,
  HOSTILE_ROOM_NAME,
  HOSTILE_SCHOOL_NAME,
} from '../helpers/console-city.js';
import { roomsReport } from '../helpers/rooms-report.js';
import { skipping } from '../helpers/skip.js';

const baseline = loadBaseline(DEFAULT_BASELINE_FILE);
const LIJIA = CITY_SCHOOLS.find((s) => s.id === 'wj-lijia')!;
const XINGHE = CITY_SCHOOLS.find((s) => s.id === 'wj-xinghe-pri')!;

async function expectClean(w: WatchedPage) {
  expect(w.errors).toEqual([]);
  expect(w.failedRequests).toEqual([]);
  expect(w.dialogs).toEqual([]);
  const serious = await seriousViolations(w.page);
  expect(serious).toEqual([]);
}

/** 10:00 Beijing time on the last weekday before yesterday's end: inside the default teaching hours. */
function lastTeachingMorning(now: Date): Date {
  for (let d = 1; d < 8; d++) {
    const day = new Date(now.getTime() - d * 86_400_000 + 8 * 3_600_000); // Beijing's calendar day
    const wd = day.getUTCDay();
    if (wd >= 1 && wd <= 5) {
      const ymd = day.toISOString().slice(0, 10);
      return new Date(`${ymd}T10:00:00+08:00`);
    }
  }
  throw new Error('no weekday in the last week');
}

/** An IPv6 run of the agent: a path-MTU black hole, a name without AAAA and a school service not on IPv6. */
function ipv6Report(agentId: string, schoolId: string, at: Date): Report {
  const iso = at.toISOString();
  const row = (check: Ipv6Result['check'], target: string, ok: boolean, extra: Partial<Ipv6Result> = {}) =>
    ({ probe: 'ipv6', target, outcome: 'ok', durationMs: 5, at: iso, check, ok, ...extra }) as Ipv6Result;
  return {
    schema: 1,
    reportId: uuidv7(),
    agentId,
    schoolId,
    agentVersion: '0.1.0',
    startedAt: iso,
    finishedAt: iso,
    health: { spoolDepth: 0, spoolDropped: 0, spoolRejected: 0, cycleMs: 1, rssMb: 50 },
    results: [
      row('host-address', 'eth0', true, { detail: '240e:1::10/64 (SLAAC)' }),
      row('default-route', 'eth0', true),
      row('dns-aaaa', 'www.edu.cn', false, { detail: 'no AAAA' }),
      row('pmtu', 'mtu.example.cn', false, { detail: 'a 1500-byte response never arrived' }),
      row('service', 'www.lijia.edu.cn', false, {
        service: '学校官网',
        symptoms: ['service 学校官网 not reachable over IPv6'],
      }),
      row('score', 'ipv6', false, {
        scoreV6: 1,
        scoreV4only: 0,
        symptoms: [
          'large IPv6 responses do not arrive (path MTU)',
          'service 学校官网 not reachable over IPv6',
          'resolver returns no AAAA for www.edu.cn',
        ],
      }),
    ],
  };
}

const skip = browserSkipReason();
describe.skipIf(skipping(skip))(`console school page in Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let city: ConsoleCity;
  let browser: Browser;
  beforeAll(async () => {
    [city, browser] = await Promise.all([consoleCity(), launchBrowser()]);
    const w = city.world;
    const lijia = city.agents.get(LIJIA.id)!;
    const post = async (r: Report) => {
      const res = await w.postReport(lijia.token, r);
      expect(res.statusCode, res.body).toBe(200);
    };
    // the rooms seen in teaching hours (a sample per critical device), the agent's spool holding 7 reports
    const seen = roomsReport({
      ...lijia,
      schoolId: LIJIA.id,
      at: lastTeachingMorning(new Date()),
      rooms: [
        {
          name: '录播室 1',
          type: 'recording',
          devices: [{ name: '录播室 1 recorder', type: 'recorder', up: true }],
        },
        {
          name: '智慧教室 301',
          type: 'smart',
          devices: [{ name: '交互式平板 301', type: 'display', up: false }],
        },
      ],
    });
    await post(ipv6Report(lijia.agentId, LIJIA.id, new Date(Date.now() - 30_000)));
    await post({ ...seen, health: { ...seen.health, spoolDepth: 7 } });
    // the recording host is being replaced: in a maintenance window now
    const m = await w.app!.inject({
      method: 'POST',
      url: '/api/v1/maintenance',
      payload: {
        school: LIJIA.id,
        room: '录播室 1',
        device: '录播室 1 recorder',
        reason: '更换录播主机',
        startsAt: new Date(Date.now() - 60_000).toISOString(),
        endsAt: new Date(Date.now() + 2 * 3_600_000).toISOString(),
      },
    });
    expect(m.statusCode, m.body).toBe(201);
  });
  afterAll(async () => {
    await browser?.close();
    await city?.world.cleanup();
  });

  it('an administrator: every figure equals the API, Chinese names, chart, zh remediation, accessible', async () => {
    const w = await openPage(browser, { baseURL: city.world.url });
    await signIn(w.page, city.admin.name, city.admin.password, `/schools/${LIJIA.id}`);
    const d = await api<SchoolDetail>(w.page, `/api/v1/schools/${LIJIA.id}`);
    expect(await w.page.locator('h1').innerText()).toBe(LIJIA.name);

    // targets: state, value and goal of every row as the API's compliance
    const targets = await w.page.$$eval('[data-list="targets"] [data-target]', (cards) =>
      cards.map((tr) => {
        const f = (n: string) => tr.querySelector(`[data-field="${n}"]`);
        const v = (n: string) => (f(n)?.getAttribute('data-value') ?? '') || null;
        return {
          target: tr.getAttribute('data-target'),
          state: f('state')?.getAttribute('data-state'),
          value: v('value') === null ? null : Number(v('value')),
          goal: v('goal') === null ? null : Number(v('goal')),
        };
      }),
    );
    // one card per target of the plan (14 since live_class)
    expect(targets.map((t) => t.target).sort()).toEqual([...TARGET_NAMES].sort());
    expect(targets.length).toBe(14);
    expect([...targets].sort((a, b) => (a.target! < b.target! ? -1 : 1))).toEqual(
      d.compliance
        .map((r) => ({ target: r.target, state: r.state, value: r.value, goal: r.goal }))
        .sort((a, b) => (a.target < b.target ? -1 : 1)),
    );
    const counts = await w.page.$eval('[data-field="counts"]', (p) =>
      ['met', 'notMet', 'noData'].map((n) => Number(p.querySelector(`[data-field="${n}"]`)?.textContent)),
    );
    expect(counts).toEqual(
      (['met', 'not_met', 'no_data'] as const).map((s) => d.compliance.filter((r) => r.state === s).length),
    );

    // rooms and devices, Chinese names, state, availability in teaching hours and maintenance
    const rooms = await w.page.$$eval('table[data-table="rooms"] tbody[data-room]', (tbodies) =>
      tbodies.map((tb) => ({
        name: tb.querySelector('[data-field="room"]')?.textContent,
        up: tb.querySelector('[data-field="roomState"]')?.classList.contains('ok'),
        devices: [...tb.querySelectorAll('tr[data-device]')].map((tr) => {
          const a = tr.querySelector('[data-field="availability"]')!;
          return {
            name: tr.querySelector('[data-field="device"]')?.textContent,
            state: tr.querySelector('[data-field="state"]')?.getAttribute('data-state'),
            maintenance: tr.querySelector('[data-field="maintenance"]') !== null,
            up: a.getAttribute('data-up') === '' ? null : Number(a.getAttribute('data-up')),
            total: a.getAttribute('data-total') === '' ? null : Number(a.getAttribute('data-total')),
          };
        }),
      })),
    );
    expect(rooms).toEqual(
      d.rooms.map((r) => ({
        name: r.name,
        up: r.up,
        devices: r.devices.map((x) => ({
          name: x.name,
          state: x.up ? 'up' : 'down',
          maintenance: x.maintenance !== null,
          up: x.availability?.up ?? null,
          total: x.availability?.total ?? null,
        })),
      })),
    );
    expect(rooms.map((r) => r.name)).toEqual(['录播室 1', '智慧教室 301']);
    const recorder = d.rooms[0]!.devices[0]!;
    expect(recorder.maintenance?.reason).toBe('更换录播主机');
    expect(recorder.availability).toMatchObject({ up: expect.any(Number), total: expect.any(Number) });
    const panel = d.rooms[1]!.devices[0]!;
    expect(panel).toMatchObject({ name: '交互式平板 301', up: false, maintenance: null });
    expect(panel.availability!.total).toBeGreaterThan(panel.availability!.up); // seen down in teaching hours
    expect(await w.page.locator('tr[data-device="交互式平板 301"]').innerText()).toContain('故障');

    // the speed tests: one mark per test, the goal line at the tier's goal, the table of the same figures
    const st = d.speedtests;
    expect(st.tests.length).toBe(5);
    expect(st.goalMbps).toBe(300); // 600 pupils: the small tier
    const chart = w.page.locator('svg.chart[data-chart="speedtests"]');
    expect(await chart.getAttribute('role')).toBe('img');
    expect(await chart.getAttribute('aria-label')).toContain('最近 5 次');
    expect(await chart.locator('title').first().textContent()).toContain('目标 300 Mbps');
    expect(await chart.locator('g[data-test]').count()).toBe(st.tests.length);
    expect(
      await chart
        .locator('circle[data-series="down"]')
        .evaluateAll((cs) => cs.map((c) => Number(c.getAttribute('data-value')))),
    ).toEqual(st.tests.map((t) => t.downMbps));
    expect(
      await chart
        .locator('rect[data-series="up"]')
        .evaluateAll((cs) => cs.map((c) => Number(c.getAttribute('data-value')))),
    ).toEqual(st.tests.map((t) => t.upMbps));
    expect(Number(await chart.locator('line[data-line="goal"]').getAttribute('data-value'))).toBe(300);
    // the goal line lies above every mark of 礼嘉's tests (120-140 Mbps, all below the goal)
    const goalY = Number(await chart.locator('line[data-line="goal"]').getAttribute('y1'));
    for (const cy of await chart
      .locator('g[data-test] circle')
      .evaluateAll((cs) => cs.map((c) => Number(c.getAttribute('cy')))))
      expect(cy).toBeGreaterThan(goalY);
    const table = await w.page.$$eval('table[data-table="speedtests"] tbody tr', (trs) =>
      trs.map((tr) => ({
        down: Number(tr.querySelector('[data-field="down"]')?.getAttribute('data-value')),
        up: Number(tr.querySelector('[data-field="up"]')?.getAttribute('data-value')),
      })),
    );
    expect(table).toEqual([...st.tests].reverse().map((t) => ({ down: t.downMbps, up: t.upMbps })));

    // IPv6: the score and each symptom in words
    expect(d.ipv6).toMatchObject({ scoreV6: 1, scoreV4only: 0, minScore: 9 });
    const ipv6 = w.page.locator('section[data-target="ipv6"]');
    expect(await ipv6.locator('[data-field="scoreV6"]').getAttribute('data-value')).toBe('1');
    const symptoms = await ipv6
      .locator('li[data-symptom]')
      .evaluateAll((ls) =>
        ls.map((l) => ({ kind: l.getAttribute('data-symptom'), text: l.textContent ?? '' })),
      );
    expect(symptoms.map((s) => s.kind)).toEqual(['pathMtu', 'serviceNotV6', 'noAaaa']);
    expect(symptoms[0]!.text).toContain('路径 MTU');
    expect(symptoms[1]!.text).toContain('学校官网');
    expect(symptoms[2]!.text).toContain('www.edu.cn');
    for (const s of symptoms) expect(s.text).not.toMatch(/not reachable|do not arrive|returns no AAAA/);

    // findings: the open Telnet finding with the Chinese remediation of the baseline
    expect(d.findings.map((f) => `${f.rule}|${f.target}|${f.port}`)).toEqual([
      'cleartext-telnet|录播主机 A1|23',
    ]);
    const finding = w.page.locator('article[data-finding="cleartext-telnet|录播主机 A1|23"]');
    expect(await finding.locator('[data-field="remediation"]').textContent()).toBe(
      baseline.rules['cleartext-telnet']!.remediationZh,
    );
    expect(await finding.innerText()).toContain('明文 Telnet 管理');
    expect(await w.page.locator('article[data-finding]').count()).toBe(
      d.findings.length + d.findingCandidates.length,
    );

    // the agent: its last report's spool depth
    expect(d.agents).toHaveLength(1);
    expect(d.agents[0]!.spoolDepth).toBe(7);
    const agentRow = w.page.locator(`tr[data-agent="${d.agents[0]!.id}"]`);
    expect(await agentRow.locator('[data-field="spool"]').getAttribute('data-value')).toBe('7');
    expect(await agentRow.locator('[data-field="spool"]').innerText()).toBe('7');
    expect(await agentRow.locator('[data-field="status"]').getAttribute('data-state')).toBe(
      d.agents[0]!.status,
    );

    await screenshot(w.page, 'school-lijia-1366');
    await w.page.setViewportSize({ width: 375, height: 812 });
    await screenshot(w.page, 'school-lijia-375');
    const overflow = await sidewaysOverflow(w.page);
    expect(overflow).toBeLessThanOrEqual(0);
    await expectClean(w);
    await w.context.close();
  });

  it('English on request: the remediation and the IPv6 symptoms in English', async () => {
    const w = await openPage(browser, { baseURL: city.world.url, locale: 'en-GB' });
    await signIn(w.page, city.admin.name, city.admin.password, `/schools/${LIJIA.id}?lang=en`);
    expect(await w.page.getAttribute('html', 'lang')).toBe('en');
    expect(
      await w.page
        .locator('article[data-finding="cleartext-telnet|录播主机 A1|23"] [data-field="remediation"]')
        .textContent(),
    ).toBe(baseline.rules['cleartext-telnet']!.remediation);
    expect(await w.page.locator('li[data-symptom="pathMtu"]').textContent()).toContain('path MTU');
    expect(await w.page.locator('svg.chart').getAttribute('aria-label')).toContain('the last 5');
    await screenshot(w.page, 'school-lijia-en-1366');
    await expectClean(w);
    await w.context.close();
  });

  it('a school account lands on its school; another school, or an unknown one, is a 404 without its name', async () => {
    const w = await openPage(browser, { baseURL: city.world.url });
    await signIn(w.page, city.lijia.name, city.lijia.password);
    expect(new URL(w.page.url()).pathname).toBe(`/schools/${LIJIA.id}`);
    expect(await w.page.locator('h1').innerText()).toBe(LIJIA.name);
    expect(await w.page.locator('nav a[aria-current="page"]').innerText()).toBe('学校');
    // the rest of the school's page is there for its own account
    expect(await w.page.locator('svg.chart g[data-test]').count()).toBe(5);

    for (const id of [XINGHE.id, 'sz-xinghai', 'no-such-school']) {
      const r = await w.page.goto(`/schools/${id}`);
      expect(r!.status(), id).toBe(404);
      const text = await w.page.content();
      for (const s of CITY_SCHOOLS.filter((s) => s.id !== LIJIA.id)) expect(text, id).not.toContain(s.name);
      expect(await w.page.locator('h1').innerText()).toBe('未找到');
      // the API answers the same
      expect((await w.page.context().request.get(`/api/v1/schools/${id}`)).status()).toBe(404);
    }
    expect(w.failedRequests.every((f) => f.endsWith('HTTP 404'))).toBe(true);
    expect(w.errors.every((e) => e.includes('404'))).toBe(true);
    await w.context.close();

    // a district on-call account: a school of another district is a 404 too
    const o = await openPage(browser, { baseURL: city.world.url });
    await signIn(o.page, city.sipOncall.name, city.sipOncall.password);
    expect((await o.page.goto(`/schools/${LIJIA.id}`))!.status()).toBe(404);
    expect(await o.page.content()).not.toContain(LIJIA.name);
    expect((await o.page.goto('/schools/sz-xinghai'))!.status()).toBe(200);
    await o.context.close();
  });

  it('a hostile room and school name render as text: no script runs, no dialog', async () => {
    const w = await openPage(browser, { baseURL: city.world.url });
    await signIn(w.page, city.admin.name, city.admin.password, '/schools/sz-hostile');
    expect(await w.page.locator('h1').innerText()).toBe(HOSTILE_SCHOOL_NAME);
    const d = await api<SchoolDetail>(w.page, '/api/v1/schools/sz-hostile');
    expect(d.rooms.map((r) => r.name)).toContain(`${HOSTILE_ROOM_NAME} 1`);
    expect(await w.page.locator('table[data-table="rooms"]').innerText()).toContain(`${HOSTILE_ROOM_NAME} 1`);
    // the page's only script is its own; no element was made of the names
    expect(await w.page.locator('script').count()).toBe(1);
    expect(await w.page.locator('img[src="x"]').count()).toBe(0);
    await screenshot(w.page, 'school-hostile-1366');
    await expectClean(w);
    await w.context.close();
  });
});
