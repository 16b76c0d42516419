/**
 * The agents page in a real Chromium against a real collector: every agent and the counts by status equal
 * GET /api/v1/agents of the same scope (city, a district filter, a district account), filters by district
 * and status, clock offsets as measured; a city administrator revokes an agent in the browser (a checkbox
 * confirms it, no dialog) — revoked in the API, refused from its next report, audited; nobody else gets
 * the form.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentView } from '../../collector/src/fleet.js';
import { SENT_AT_HEADER } from '../../protocol/version.js';
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
import { CITY_SCHOOLS, type ConsoleCity, consoleCity, SIP, WUJIN } from '../helpers/console-city.js';
import { makeReport } from '../helpers/reports.js';
import { skipping } from '../helpers/skip.js';

const STATUSES = ['reporting', 'silent', 'never_reported', 'revoked'] as const;

/** The agents and the counts as the page shows them. */
async function pageFleet(page: Page) {
  const rows = await page.$$eval('tr[data-agent]', (trs) =>
    trs.map((tr) => ({
      id: tr.getAttribute('data-agent'),
      schoolId: tr.getAttribute('data-school'),
      status: tr.getAttribute('data-status'),
    })),
  );
  const counts = await page.$$eval('#fleet-counts [data-field]', (els) =>
    Object.fromEntries(els.map((e) => [e.getAttribute('data-field'), Number(e.textContent)])),
  );
  return { rows, counts };
}

function countsOf(agents: AgentView[]): Record<string, number> {
  return {
    total: agents.length,
    ...Object.fromEntries(STATUSES.map((s) => [s, agents.filter((a) => a.status === s).length])),
  };
}

const sortById = <T extends { id: string | null }>(xs: T[]) =>
  [...xs].sort((a, b) => (a.id! < b.id! ? -1 : 1));

/** The page lists exactly these agents of the API (all shown, none more) with the counts of `all`. */
async function expectFleetOfApi(page: Page, all: AgentView[], listed: AgentView[] = all) {
  const { rows, counts } = await pageFleet(page);
  expect(counts).toEqual(countsOf(all));
  expect(sortById(rows)).toEqual(
    sortById(listed.map((a) => ({ id: a.id, schoolId: a.schoolId, status: a.status }))),
  );
}

const districtOf = new Map(CITY_SCHOOLS.map((s) => [s.id, s.district]));

async function expectClean(w: WatchedPage) {
  expect(w.errors).toEqual([]);
  expect(w.failedRequests).toEqual([]);
  expect(w.dialogs).toEqual([]);
  const serious = await seriousViolations(w.page);
  expect(serious).toEqual([]);
}

const skip = browserSkipReason();
describe.skipIf(skipping(skip))(`console agents page in Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let city: ConsoleCity;
  let browser: Browser;
  let now = new Date();
  /** 星海's agent's clock runs this far ahead of the collector's. */
  const AHEAD_MS = 95_000;

  beforeAll(async () => {
    [city, browser] = await Promise.all([consoleCity({ now: () => now }), launchBrowser()]);
    const w = city.world;
    const renamed = await w.app!.inject({
      method: 'POST',
      url: `/api/v1/agents/${city.agents.get('wj-xinghe-pri')!.agentId}/rename`,
      payload: { name: '东校区机房' },
    });
    expect(renamed.statusCode, renamed.body).toBe(200);
    // ten minutes on (agents are silent after 180 s): 星河小学 and 星海 report again, 星海 with its clock
    // ahead; 星河初中, 礼嘉 and the hostile-named school are silent; 唯亭's agent never reported
    now = new Date(now.getTime() + 10 * 60_000);
    for (const id of ['wj-xinghe-pri', 'sz-xinghai']) {
      const a = city.agents.get(id)!;
      const r = await w.app!.inject({
        method: 'POST',
        url: '/api/v1/reports',
        headers: {
          authorization: `Bearer ${a.token}`,
          'content-type': 'application/json',
          ...(id === 'sz-xinghai'
            ? { [SENT_AT_HEADER]: new Date(now.getTime() + AHEAD_MS).toISOString() }
            : {}),
        },
        payload: JSON.stringify(makeReport({ agentId: a.agentId, schoolId: id, at: now })),
      });
      expect(r.statusCode, r.body).toBe(200);
    }
  });
  afterAll(async () => {
    await browser?.close();
    await city?.world.cleanup();
  });

  it('a city administrator: every agent and every count of GET /api/v1/agents, names and clocks', async () => {
    const w = await openPage(browser, { baseURL: city.world.url });
    await signIn(w.page, city.admin.name, city.admin.password, '/fleet');
    expect(new URL(w.page.url()).pathname).toBe('/fleet');
    const all = (await api<{ agents: AgentView[] }>(w.page, '/api/v1/agents')).agents;
    await expectFleetOfApi(w.page, all);
    // the fixture's fleet in every status but revoked (nobody revoked anything yet)
    expect(countsOf(all)).toEqual({ total: 6, reporting: 2, silent: 3, never_reported: 1, revoked: 0 });

    const pri = w.page.locator(`tr[data-agent="${city.agents.get('wj-xinghe-pri')!.agentId}"]`);
    expect(await pri.locator('[data-field="name"]').innerText()).toBe('东校区机房');
    expect(await pri.innerText()).toContain('agent-wj-xinghe-pri');
    // 星海's clock offset as the school API measured it, marked as beyond the threshold (30 s)
    const detail = (
      await api<{ agents: { id: string; clockOffsetS: number | null; clockSynchronised: boolean }[] }>(
        w.page,
        '/api/v1/schools/sz-xinghai',
      )
    ).agents[0]!;
    expect(detail.clockSynchronised).toBe(false);
    const clock = w.page.locator(`tr[data-agent="${detail.id}"] [data-field="clock"]`);
    expect(Number(await clock.getAttribute('data-ms')) / 1000).toBe(detail.clockOffsetS);
    expect(detail.clockOffsetS).toBeGreaterThan(90);
    expect(await clock.innerText()).toMatch(/^\+9\d(\.\d)? s 未同步$/);
    // the never-reported agent says so
    expect(await w.page.locator('tr[data-school="sz-weiting"] [data-field="status"]').innerText()).toBe(
      '从未上报',
    );

    await screenshot(w.page, 'fleet-admin-1366');
    await w.page.setViewportSize({ width: 375, height: 812 });
    await screenshot(w.page, 'fleet-admin-375');
    const overflow = await sidewaysOverflow(w.page);
    expect(overflow).toBeLessThanOrEqual(0);
    await expectClean(w);
    await w.context.close();
  });

  it('filters by district and status: the API’s agents of that district and status', async () => {
    const w = await openPage(browser, { baseURL: city.world.url });
    await signIn(w.page, city.admin.name, city.admin.password, '/fleet');
    await w.page.selectOption('select[name="district"]', WUJIN); // submits on change
    await w.page.waitForURL((u) => u.searchParams.get('district') === WUJIN);
    const all = (await api<{ agents: AgentView[] }>(w.page, '/api/v1/agents')).agents;
    const wujin = all.filter((a) => districtOf.get(a.schoolId) === WUJIN);
    await expectFleetOfApi(w.page, wujin);
    await w.page.selectOption('select[name="status"]', 'silent');
    await w.page.waitForURL((u) => u.searchParams.get('status') === 'silent');
    expect(new URL(w.page.url()).searchParams.get('district')).toBe(WUJIN);
    const silent = wujin.filter((a) => a.status === 'silent');
    expect(silent.length).toBe(2);
    await expectFleetOfApi(w.page, wujin, silent);
    await expectClean(w);
    await w.context.close();
  });

  it('a district viewer and a district on-call account: their district only, no revoke form', async () => {
    for (const [account, district] of [
      [city.wujin, WUJIN],
      [city.sipOncall, SIP],
    ] as const) {
      const w = await openPage(browser, { baseURL: city.world.url });
      await signIn(w.page, account.name, account.password, '/fleet');
      const mine = (await api<{ agents: AgentView[] }>(w.page, '/api/v1/agents')).agents;
      expect(mine.length).toBe(CITY_SCHOOLS.filter((s) => s.district === district).length);
      for (const a of mine) expect(districtOf.get(a.schoolId)).toBe(district);
      await expectFleetOfApi(w.page, mine);
      expect(await w.page.locator('main form[data-api]').count()).toBe(0);
      expect(await w.page.locator('details.act').count()).toBe(0);
      // no district to choose below the city, and the URL cannot widen the view
      expect(await w.page.locator('select[name="district"]').count()).toBe(0);
      await w.page.goto(`/fleet?district=${encodeURIComponent(district === WUJIN ? SIP : WUJIN)}`);
      await expectFleetOfApi(w.page, mine);
      await expectClean(w);
      await w.context.close();
    }
  });

  it('a city administrator revokes an agent in the browser: confirmed by a checkbox, revoked, refused, audited', async () => {
    const w = await openPage(browser, { baseURL: city.world.url });
    await signIn(w.page, city.admin.name, city.admin.password, '/fleet');
    const agent = city.agents.get('wj-xinghe-jr')!;
    const row = w.page.locator(`tr[data-agent="${agent.agentId}"]`);
    await row.locator('details.act summary').click();
    // not confirmed: the browser does not send the form (no dialog, no request)
    const sent: string[] = [];
    w.page.on('request', (r) => {
      if (r.url().endsWith('/revoke')) sent.push(r.url());
    });
    await row.locator('button[type="submit"]').click();
    expect(
      await row
        .locator('input[type="checkbox"]')
        .evaluate((e) => (e as unknown as { validity: { valid: boolean } }).validity.valid),
    ).toBe(false);
    expect(sent).toEqual([]);
    const before = (await api<{ agents: AgentView[] }>(w.page, '/api/v1/agents')).agents;
    expect(before.find((a) => a.id === agent.agentId)!.status).toBe('silent');

    await row.locator('input[type="checkbox"]').check();
    const [res] = await Promise.all([
      w.page.waitForResponse((r) => r.url().endsWith(`/api/v1/agents/${agent.agentId}/revoke`)),
      w.page.waitForEvent('load'),
      row.locator('button[type="submit"]').click(),
    ]);
    expect(res.status()).toBe(200);
    expect(sent).toHaveLength(1);

    const after = (await api<{ agents: AgentView[] }>(w.page, '/api/v1/agents')).agents;
    const revoked = after.find((a) => a.id === agent.agentId)!;
    expect(revoked.status).toBe('revoked');
    expect(revoked.revokedAt).toBe(now.toISOString());
    await expectFleetOfApi(w.page, after);
    expect((await pageFleet(w.page)).counts.revoked).toBe(1);
    expect(await w.page.locator(`tr[data-agent="${agent.agentId}"] details.act`).count()).toBe(0);
    // its token is refused from its next report
    const refused = await city.world.postReport(
      agent.token,
      makeReport({ agentId: agent.agentId, schoolId: 'wj-xinghe-jr', at: now }),
    );
    expect(refused.statusCode).toBe(401);
    const audit = (
      await city.world.app!.inject({ method: 'GET', url: '/api/v1/audit?actor=account:city-admin' })
    ).json() as { audit: { action: string; target: string; detail: string }[] };
    expect(audit.audit).toContainEqual(
      expect.objectContaining({
        action: 'agent.revoke',
        target: agent.agentId,
        detail: 'school wj-xinghe-jr',
      }),
    );
    await expectClean(w);
    await w.context.close();
  });
});
