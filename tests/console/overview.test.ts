/**
 * The overview in a real Chromium against a real collector: the figures in the page equal the API's for
 * the same scope, a district account sees only its district, names render as text, the page is
 * accessible, the language switch and sign-out work.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Overview } from '../../collector/src/console/overview-model.js';
import type { DistrictKpis } from '../../collector/src/evaluate/district.js';
import { TARGET_NAMES } from '../../collector/src/evaluate/targets/registry.js';
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
  HOSTILE_SCHOOL_NAME,
  SIP,
  WUJIN,
} from '../helpers/console-city.js';
import { skipping } from '../helpers/skip.js';

/** The KPI cards as the page shows them. */
async function kpiCards(page: Page) {
  return page.$$eval('#kpis .kpi', (cards) =>
    cards.map((c) => {
      const f = (name: string) => c.querySelector(`[data-field="${name}"]`)?.textContent ?? '';
      return {
        target: c.getAttribute('data-target'),
        pct: f('pct'),
        met: Number(f('met')),
        notMet: Number(f('notMet')),
        noData: Number(f('noData')),
        schools: Number(f('schools')),
      };
    }),
  );
}

function expectKpisEqual(cards: Awaited<ReturnType<typeof kpiCards>>, k: DistrictKpis) {
  expect(cards.map((c) => c.target)).toEqual([...TARGET_NAMES]);
  for (const c of cards) {
    const t = k.overall.targets[c.target!]!;
    expect({ ...c, pct: c.pct }, c.target!).toEqual({
      target: c.target,
      pct: t.pct === null ? '—' : `${t.pct}%`,
      met: t.met,
      notMet: t.notMet,
      noData: t.noData,
      schools: t.schools,
    });
  }
}

async function expectClean(w: WatchedPage) {
  expect(w.errors).toEqual([]);
  expect(w.failedRequests).toEqual([]);
  expect(w.dialogs).toEqual([]);
  const serious = await seriousViolations(w.page);
  expect(serious).toEqual([]);
}

const skip = browserSkipReason();
describe.skipIf(skipping(skip))(`console overview in Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let city: ConsoleCity;
  let browser: Browser;
  beforeAll(async () => {
    [city, browser] = await Promise.all([consoleCity(), launchBrowser()]);
  });
  afterAll(async () => {
    await browser?.close();
    await city?.world.cleanup();
  });

  it('a city administrator: every figure equals the API, names render as text, strict CSP, accessible', async () => {
    const w = await openPage(browser, { baseURL: city.world.url });
    await signIn(w.page, city.admin.name, city.admin.password);
    expect(new URL(w.page.url()).pathname).toBe('/overview');
    const res = await w.page.reload();
    const csp = res!.headers()['content-security-policy']!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");

    expectKpisEqual(await kpiCards(w.page), await api<DistrictKpis>(w.page, '/api/v1/compliance'));
    const o = await api<Overview>(w.page, '/api/v1/overview');
    const rows = await w.page.$$eval('#ranking tbody tr', (trs) =>
      trs.map((tr) => ({
        id: tr.getAttribute('data-school'),
        name: tr.querySelector('a')?.textContent,
        met: Number(tr.querySelector('[data-field="met"]')?.textContent),
        notMet: Number(tr.querySelector('[data-field="notMet"]')?.getAttribute('data-count')),
      })),
    );
    expect(rows).toEqual(
      o.ranking.map((r) => ({ id: r.id, name: r.name, met: r.met, notMet: r.notMet.length })),
    );
    // worst first: nobody below shows more targets met than somebody above... the other way round
    for (let i = 1; i < rows.length; i++) expect(rows[i]!.met).toBeGreaterThanOrEqual(rows[i - 1]!.met);
    expect(rows.map((r) => r.name).sort()).toEqual(CITY_SCHOOLS.map((s) => s.name).sort());

    // agents and findings as the API counts them
    const summary = await w.page.$eval('.summary', (s) => {
      const f = (n: string) => Number(s.querySelector(`[data-field="${n}"]`)?.textContent);
      return {
        critical: f('critical'),
        high: f('high'),
        agents: f('agents'),
        silent: f('agentsSilent'),
        never: f('agentsNeverReported'),
      };
    });
    const findings = (
      await api<{ findings: { severity: string; state: string }[] }>(w.page, '/api/v1/findings?state=open')
    ).findings;
    const agents = (await api<{ agents: { status: string }[] }>(w.page, '/api/v1/agents')).agents;
    expect(summary).toEqual({
      critical: findings.filter((f) => f.severity === 'critical').length,
      high: findings.filter((f) => f.severity === 'high').length,
      agents: agents.length,
      silent: agents.filter((a) => a.status === 'silent').length,
      never: agents.filter((a) => a.status === 'never_reported').length,
    });
    expect(summary.high).toBeGreaterThan(0); // the fixture's open Telnet findings
    expect(summary.never).toBe(1); // 唯亭's agent never reported

    // the hostile name is text: the literal characters are in the page, no element was made of them
    expect(await w.page.locator('#ranking').innerText()).toContain(HOSTILE_SCHOOL_NAME);
    expect(await w.page.locator('img[src="x"]').count()).toBe(0);

    await screenshot(w.page, 'overview-city-1366');
    await w.page.setViewportSize({ width: 375, height: 812 });
    await screenshot(w.page, 'overview-city-375');
    // nothing wider than the phone's screen outside the scrolling tables
    const overflow = await sidewaysOverflow(w.page);
    expect(overflow).toBeLessThanOrEqual(0);
    await expectClean(w);
    await w.context.close();
  });

  it('a filter by district shows that district, with the figures of the API for it', async () => {
    const w = await openPage(browser, { baseURL: city.world.url });
    await signIn(w.page, city.admin.name, city.admin.password);
    await w.page.selectOption('select[name="district"]', WUJIN); // submits on change
    await w.page.waitForURL((u) => u.searchParams.get('district') === WUJIN);
    expectKpisEqual(
      await kpiCards(w.page),
      await api<DistrictKpis>(w.page, `/api/v1/compliance?district=${encodeURIComponent(WUJIN)}`),
    );
    const ids = await w.page.$$eval('#ranking tbody tr', (trs) =>
      trs.map((t) => t.getAttribute('data-school')),
    );
    expect(ids.sort()).toEqual(
      CITY_SCHOOLS.filter((s) => s.district === WUJIN)
        .map((s) => s.id)
        .sort(),
    );
    await expectClean(w);
    await w.context.close();
  });

  it('a district account sees only its district; a school account lands on its school', async () => {
    const w = await openPage(browser, { baseURL: city.world.url });
    await signIn(w.page, city.wujin.name, city.wujin.password);
    expect(new URL(w.page.url()).pathname).toBe('/overview');
    expectKpisEqual(await kpiCards(w.page), await api<DistrictKpis>(w.page, '/api/v1/compliance'));
    const text = await w.page.content();
    for (const s of CITY_SCHOOLS) {
      if (s.district === WUJIN) expect(text).toContain(s.name);
      else expect(text).not.toContain(s.name.replace(/</g, '&lt;'));
    }
    expect(text).not.toContain(SIP);
    expect(await w.page.locator('h1').innerText()).toContain(WUJIN);
    // a district account cannot widen its view by the URL: it stays in its district
    await w.page.goto(`/overview?district=${encodeURIComponent(SIP)}`);
    expect(await w.page.locator('h1').innerText()).toContain(WUJIN);
    expect(await w.page.content()).not.toContain('星海');
    expect(await w.page.content()).not.toContain(SIP);
    await screenshot(w.page, 'overview-district-1366');
    await w.context.close();

    const s = await openPage(browser, { baseURL: city.world.url });
    await signIn(s.page, city.lijia.name, city.lijia.password);
    expect(new URL(s.page.url()).pathname).toBe('/schools/wj-lijia');
    await s.context.close();
  });

  it('English on request, remembered; sign-out ends the session', async () => {
    const w = await openPage(browser, { baseURL: city.world.url });
    await signIn(w.page, city.admin.name, city.admin.password);
    expect(await w.page.locator('h1').innerText()).toBe('达标总览');
    await Promise.all([w.page.waitForURL(/lang=en/), w.page.locator('a.lang').click()]);
    expect(await w.page.locator('h1').innerText()).toBe('Compliance overview');
    expect(await w.page.getAttribute('html', 'lang')).toBe('en');
    await w.page.goto('/overview');
    expect(await w.page.locator('h1').innerText()).toBe('Compliance overview');
    await Promise.all([w.page.waitForURL('**/login'), w.page.locator('form.signout button').click()]);
    const r = await w.page.goto('/overview');
    expect(new URL(w.page.url()).pathname).toBe('/login');
    expect(r!.status()).toBe(200);
    await w.context.close();
  });

  it('a wrong password is shown on the sign-in page, in words', async () => {
    const w = await openPage(browser, { baseURL: city.world.url });
    await w.page.goto('/login');
    await w.page.locator('input[name="name"]').fill(city.admin.name);
    await w.page.locator('input[name="password"]').fill('not-the-password');
    await w.page.locator('button[type="submit"]').click();
    await expect
      .poll(() => w.page.locator('.form-error').textContent())
      .toContain('wrong account name or password');
    expect(new URL(w.page.url()).pathname).toBe('/login');
    // the 401 of the login API is the expected answer here
    expect(w.failedRequests.every((r) => r.includes('/api/v1/login: HTTP 401'))).toBe(true);
    await w.context.close();
  });
});
