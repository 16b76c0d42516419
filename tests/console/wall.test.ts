/**
 * The wall display (大屏) in a real Chromium against a real collector: a display token for 武进区 opens it
 * (the token becomes a cookie and leaves the address), the figures equal the API's, an alert that starts
 * firing through the real alert manager appears within a refresh interval without a reload, the other
 * district never shows; and, over HTTP, a display token opens the wall and nothing else.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DISPLAY_COOKIE } from '../../collector/src/access/plugin.js';
import { buildApp } from '../../collector/src/app.js';
import { parseCollectorConfig } from '../../collector/src/config.js';
import type { Wall } from '../../collector/src/console/wall-model.js';
import { TARGET_NAMES } from '../../collector/src/evaluate/targets/registry.js';
import { createCollectorLogger } from '../../collector/src/log.js';
import {
  browserSkipReason,
  launchBrowser,
  openPage,
  screenshot,
  seriousViolations,
  sidewaysOverflow,
  type WatchedPage,
} from '../helpers/browser.js';
import { issueCert, makeCa, opensslAvailable } from '../helpers/certs.js';
import {
  CITY_SCHOOLS,
  type ConsoleCity,
  consoleCity,
  HOSTILE_SCHOOL_NAME,
  SIP,
  WUJIN,
} from '../helpers/console-city.js';
import { telnetReport } from '../helpers/reports.js';
import { skipping } from '../helpers/skip.js';
import { WORLD_ADMIN_TOKEN, World } from '../helpers/world.js';

const REFRESH_S = 2;
/** Long enough for the injected clock's jumps (2 × 61 s) and the test: the agents stay "reporting". */
const COLLECTOR = { console: { wallRefreshS: REFRESH_S }, alerts: { forS: 60, agentSilentS: 600 } };
const OTHER_DISTRICT = CITY_SCHOOLS.filter((s) => s.district === SIP);

async function displayToken(world: World, scope = { level: 'district' as const, district: WUJIN }) {
  const { token } = await world.app!.campuswatch.state.access.addToken(
    { name: '大屏-武进', accountId: null, role: 'display', scope },
    new Date(),
  );
  return token;
}

/** The page as it stands: header figures, KPI tiles, lagging schools and alerts, by their data attributes. */
async function shown(page: Page) {
  const text = (sel: string) => page.locator(sel).first().textContent();
  return {
    agentsReporting: Number(await text('[data-field="agentsReporting"]')),
    agentsTotal: Number(await text('[data-field="agentsTotal"]')),
    alertsTotal: Number(await text('[data-field="alertsTotal"]')),
    generatedAt: await page.locator('[data-field="generatedAt"]').getAttribute('datetime'),
    kpis: await page.$$eval('.wall-kpi', (tiles) =>
      tiles.map((t) => {
        const f = (name: string) => t.querySelector(`[data-field="${name}"]`)?.textContent ?? '';
        return {
          target: t.getAttribute('data-target'),
          pct: f('pct'),
          met: Number(f('met')),
          schools: Number(f('schools')),
          goalMet: t.classList.contains('goal-met')
            ? true
            : t.classList.contains('goal-not-met')
              ? false
              : null,
        };
      }),
    ),
    lagging: await page.$$eval('#wall-lagging tr', (rows) =>
      rows.map((r) => ({
        id: r.getAttribute('data-school'),
        name: r.querySelector('[data-field="name"]')?.textContent,
        met: Number(r.querySelector('[data-field="met"]')?.textContent),
      })),
    ),
    alerts: await page.$$eval('#wall-alerts li', (items) =>
      items.map((i) => ({
        fingerprint: i.getAttribute('data-alert'),
        school: i.querySelector('[data-field="school"]')?.textContent,
        title: i.querySelector('[data-field="title"]')?.textContent,
        severity: i.getAttribute('data-severity'),
      })),
    ),
  };
}

function expectShownEqual(s: Awaited<ReturnType<typeof shown>>, w: Wall) {
  expect(s.agentsReporting).toBe(w.agents.reporting);
  expect(s.agentsTotal).toBe(w.agents.total);
  expect(s.alertsTotal).toBe(w.alertsTotal);
  expect(s.kpis.map((k) => k.target)).toEqual([...TARGET_NAMES]);
  for (const k of s.kpis) {
    const t = w.kpis.find((x) => x.target === k.target)!;
    expect(k, k.target!).toEqual({
      target: t.target,
      pct: t.pct === null ? '—' : `${t.pct}%`,
      met: t.met,
      schools: t.schools,
      goalMet: t.goalMet,
    });
  }
  expect(s.lagging).toEqual(w.lagging.map((r) => ({ id: r.id, name: r.name, met: r.met })));
  expect(s.alerts).toEqual(
    w.alerts.map((a) => ({
      fingerprint: a.fingerprint,
      school: a.schoolName,
      title: a.title.zh,
      severity: a.severity,
    })),
  );
}

/**
 * Waits until the page shows figures computed after `iso` (the collector's clock): each wait is for the
 * script to write a new time into the page (the CSP forbids evaluating a predicate in the page).
 */
async function refreshedAfter(page: Page, iso: string) {
  const at = page.locator('[data-field="generatedAt"]');
  for (;;) {
    const shownAt = (await at.getAttribute('datetime')) ?? '';
    if (shownAt > iso) return;
    await page
      .locator(`[data-field="generatedAt"]:not([datetime=${JSON.stringify(shownAt)}])`)
      .waitFor({ timeout: 2 * REFRESH_S * 1000 + 1000 });
  }
}

/** How far down the page the last element a selector matches ends (measured at once: the script may replace it). */
async function bottomOf(page: Page, selector: string): Promise<number> {
  const bottoms = await page.$$eval(selector, (els) => els.map((e) => e.getBoundingClientRect().bottom));
  expect(bottoms.length, selector).toBeGreaterThan(0);
  return bottoms.at(-1)!;
}

async function expectNoOtherDistrict(page: Page) {
  const text = (await page.locator('body').textContent()) ?? '';
  const markup = await page.content();
  for (const s of OTHER_DISTRICT) {
    expect(text, s.name).not.toContain(s.name);
    expect(markup, s.id).not.toContain(s.id);
  }
}

const skip = browserSkipReason();
describe.skipIf(skipping(skip))(`the wall display in Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let city: ConsoleCity;
  let browser: Browser;
  let token: string;
  let w: WatchedPage;
  /** The collector's clock runs with the real one, moved ahead by the test. */
  let aheadMs = 0;
  const clock = () => new Date(Date.now() + aheadMs);
  const navigations: string[] = [];

  beforeAll(async () => {
    [city, browser] = await Promise.all([consoleCity({ now: clock, collector: COLLECTOR }), launchBrowser()]);
    // the city's reports raised alerts (Telnet findings, 礼嘉's uplink): pending now, firing after alerts.forS
    const alerts = city.world.app!.campuswatch.alerts;
    await alerts.evaluate(clock());
    aheadMs = 61_000;
    await alerts.evaluate(clock());
    await alerts.evaluate(clock());
    token = await displayToken(city.world);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await city?.world.cleanup();
  });

  it('the display token opens the wall at 1920×1080: a cookie, not the address; the API’s figures; 武进区 only', async () => {
    w = await openPage(browser, { baseURL: city.world.url, width: 1920, height: 1080 });
    w.page.on('framenavigated', (f) => {
      if (f === w.page.mainFrame()) navigations.push(f.url());
    });
    await w.page.goto(`/wall?token=${encodeURIComponent(token)}`);
    const landed = new URL(w.page.url());
    expect(landed.pathname + landed.search).toBe('/wall');
    const cookie = (await w.context.cookies()).find((c) => c.name === DISPLAY_COOKIE);
    expect(cookie).toMatchObject({
      value: token,
      httpOnly: true,
      sameSite: 'Lax',
      path: '/',
      secure: false,
    });

    const api = await w.page.context().request.get('/api/v1/wall');
    expect(api.status()).toBe(200);
    const wall = (await api.json()) as Wall;
    expect(wall.scope).toEqual({ level: 'district', district: WUJIN });
    expect(wall.schools).toBe(3);
    expect(wall.agents).toEqual({ total: 3, reporting: 3, silent: 0, neverReported: 0 });
    // 礼嘉's Telnet finding fires (星海's, in the other district, too, but not here)
    expect(wall.alerts.map((a) => a.schoolId)).toContain('wj-lijia');
    expect(wall.alerts.every((a) => a.schoolId.startsWith('wj-'))).toBe(true);
    expect(wall.lagging.length).toBeGreaterThan(0);
    expect(wall.lagging.every((r) => r.district === WUJIN)).toBe(true);
    expectShownEqual(await shown(w.page), wall);
    await expectNoOtherDistrict(w.page);

    await screenshot(w.page, 'wall-1920', false);
    // nothing cut off at the bottom of the screen: the last lagging school's row is inside the window
    expect(await bottomOf(w.page, '#wall-lagging tr')).toBeLessThanOrEqual(1080);
    const serious = await seriousViolations(w.page);
    expect(serious).toEqual([]);
    expect(w.errors).toEqual([]);
    expect(w.failedRequests).toEqual([]);
  });

  it('an alert that starts firing appears within a refresh interval, without a reload; a pending one does not', async () => {
    const ctx = city.world.app!.campuswatch;
    // a pass of its own at the clock's time (the first call may join a pass a report started earlier)
    const evaluateNow = async () => {
      await ctx.alerts.evaluate(clock());
      await ctx.alerts.evaluate(clock());
    };
    await w.page.evaluate('globalThis.wallMarker = "kept"');
    const before = await shown(w.page);
    const navigationsBefore = navigations.length;

    // a new open Telnet at 星河初中: pending first (alerts.forS 60 s) ...
    const jr = city.agents.get('wj-xinghe-jr')!;
    const report = telnetReport({ ...jr, schoolId: 'wj-xinghe-jr', at: clock(), open: true });
    expect((await city.world.postReport(jr.token, report)).statusCode).toBe(200);
    await evaluateNow();
    const pending = (await ctx.alerts.alerts({ schoolId: 'wj-xinghe-jr' })).filter(
      (a) => a.item.rule === 'finding',
    );
    expect(pending.map((a) => a.state)).toEqual(['pending']);
    const fp = pending[0]!.fingerprint;
    const evaluated = clock().toISOString();
    // ... a refresh later (figures computed after that pass) it is not on the wall
    await refreshedAfter(w.page, evaluated);
    expect(await w.page.locator(`#wall-alerts [data-alert=${JSON.stringify(fp)}]`).count()).toBe(0);

    // 61 s later by the collector's clock it fires: on the wall within a refresh interval
    aheadMs += 61_000;
    await evaluateNow();
    expect((await ctx.alerts.alerts({ state: 'firing' })).map((a) => a.fingerprint)).toContain(fp);
    const item = w.page.locator(`#wall-alerts [data-alert=${JSON.stringify(fp)}]`);
    await item.waitFor({ timeout: 2 * REFRESH_S * 1000 + 500 });
    expect(await item.locator('[data-field="school"]').textContent()).toBe('武进区星河初级中学');
    expect(await item.locator('[data-field="title"]').textContent()).toBe('明文 Telnet 管理：录播主机 A1:23');
    expect(await item.locator('[data-field="severity"]').getAttribute('class')).toMatch(
      /^state (critical|high)$/,
    );

    // the same page: no navigation, the marker set before is still there
    expect(await w.page.evaluate('globalThis.wallMarker')).toBe('kept');
    expect(navigations.length).toBe(navigationsBefore);
    const after = await shown(w.page);
    expect(after.alertsTotal).toBe(before.alertsTotal + 1);
    const api = (await (await w.page.context().request.get('/api/v1/wall')).json()) as Wall;
    // the figures the page shows are those the API gives (the API may be a pass newer: compare alerts)
    expect(after.alerts.map((a) => a.fingerprint)).toEqual(api.alerts.map((a) => a.fingerprint));
    await expectNoOtherDistrict(w.page);
    expect(w.errors).toEqual([]);
    expect(w.failedRequests).toEqual([]);
    expect(w.dialogs).toEqual([]);
  });

  it('at 1366×768 the same layout fits; at 375 px it becomes one column without sideways scrolling', async () => {
    await w.page.setViewportSize({ width: 1366, height: 768 });
    await screenshot(w.page, 'wall-1366', false);
    expect(await bottomOf(w.page, '#wall-lagging tr')).toBeLessThanOrEqual(768);
    await w.page.setViewportSize({ width: 375, height: 812 });
    await screenshot(w.page, 'wall-375');
    const overflow = await sidewaysOverflow(w.page);
    expect(overflow).toBeLessThanOrEqual(0);
    await w.page.setViewportSize({ width: 1920, height: 1080 });
    expect(w.errors).toEqual([]);
  });

  it('a full screen at 1920×1080: ten lagging schools and six alerts fit, the rest counted; names stay text', async () => {
    // fourteen schools of 武进区 with long names (one hostile), each with an agent that never reported
    let ahead = 0;
    const schools = Array.from({ length: 14 }, (_, i) => ({
      id: `wj-full-${String(i).padStart(2, '0')}`,
      name: i === 3 ? HOSTILE_SCHOOL_NAME : `武进区第${i + 1}实验学校（湖塘校区·初中部与小学部）`,
      district: WUJIN,
      timezone: 'Asia/Shanghai',
    }));
    const full = new World({
      schools,
      now: () => new Date(Date.now() + ahead),
      collector: { console: { wallRefreshS: REFRESH_S }, alerts: { neverReportedAfterS: 60 } },
    });
    await full.startCollector();
    try {
      for (const s of schools) full.enrollDirect(s.id, `${s.id}-探针`);
      ahead = 120_000;
      await full.app!.campuswatch.alerts.evaluate(new Date(Date.now() + ahead));
      const t = await displayToken(full);
      const p = await openPage(browser, { baseURL: full.url, width: 1920, height: 1080 });
      await p.page.goto(`/wall?token=${encodeURIComponent(t)}`);
      await screenshot(p.page, 'wall-full-1920', false);
      expect(await p.page.locator('#wall-lagging tr').count()).toBe(10);
      expect(await p.page.locator('#wall-alerts li').count()).toBe(6);
      expect(await p.page.locator('[data-field="laggingMore"]').textContent()).toBe(
        '另有 4 所学校未全部达标',
      );
      expect(await p.page.locator('[data-field="alertsMore"]').textContent()).toBe('另有 8 条告警');
      for (const sel of [
        '#wall-lagging tr',
        '#wall-alerts li',
        '[data-field="laggingMore"]',
        '[data-field="alertsMore"]',
      ]) {
        expect(await bottomOf(p.page, sel), sel).toBeLessThanOrEqual(1080);
      }
      // the hostile name is text, as the server rendered it and as the script writes it a refresh later
      const before = (await p.page.locator('[data-field="generatedAt"]').getAttribute('datetime')) ?? '';
      await refreshedAfter(p.page, before);
      expect(await p.page.locator('#wall-lagging img, #wall-alerts img').count()).toBe(0);
      expect(await p.page.locator('#wall-lagging [data-field="name"]').allTextContents()).toContain(
        HOSTILE_SCHOOL_NAME,
      );
      expect(p.dialogs).toEqual([]);
      expect(p.errors).toEqual([]);
      expect(p.failedRequests).toEqual([]);
      await p.context.close();
    } finally {
      await full.cleanup();
    }
  });

  it('when the collector cannot be reached, the wall says its figures are not current', async () => {
    const status = w.page.locator('[data-field="status"]');
    expect(await status.textContent()).toBe('');
    await city.world.stopCollector();
    await w.page
      .locator('[data-field="status"]:not(:empty)')
      .waitFor({ timeout: 2 * REFRESH_S * 1000 + 1000 });
    expect(await status.textContent()).toBe('连接中断，数据未更新');
    expect(await w.page.locator('body.wall-stale').count()).toBe(1);
    // the figures stay readable, the school names still those of 武进区
    await expectNoOtherDistrict(w.page);
  });
});

describe('a display token over HTTP: the wall and nothing else', () => {
  const world = new World({ schools: CITY_SCHOOLS });
  let token: string;
  beforeAll(async () => {
    await world.startCollector();
    token = await displayToken(world);
  });
  afterAll(() => world.cleanup());

  it('walks the route table: with the display cookie or as a bearer token, every route but the wall’s is 403', async () => {
    const routes = world.app!.accessRoutes;
    expect(
      routes
        .filter((r) => r.access === 'display')
        .map((r) => `${r.method} ${r.url}`)
        .sort(),
    ).toEqual(['GET /api/v1/wall', 'GET /wall']);
    for (const how of ['cookie', 'bearer'] as const) {
      const headers =
        how === 'cookie' ? { cookie: `${DISPLAY_COOKIE}=${token}` } : { authorization: `Bearer ${token}` };
      for (const r of routes) {
        if (r.access === 'public') continue;
        const url = r.url.replace(/:([a-z]+)/gi, 'x');
        const res = await world.anonymous({
          method: r.method as 'GET',
          url,
          headers,
          payload: r.method === 'GET' ? undefined : {},
        });
        const what = `${how} ${r.method} ${r.url} (${r.access}): ${res.statusCode} ${res.body.slice(0, 200)}`;
        if (r.access === 'display') expect(res.statusCode, what).toBe(200);
        // an agent's route wants an agent's token
        else if (r.access === 'agent') expect(res.statusCode, what).toBe(401);
        else expect(res.statusCode, what).toBe(403);
      }
    }
    // the start page sends a display to its wall
    const home = await world.anonymous({
      method: 'GET',
      url: '/',
      headers: { cookie: `${DISPLAY_COOKIE}=${token}` },
    });
    expect([home.statusCode, home.headers.location]).toEqual([303, '/wall']);
  });

  it('/wall?token= sets the cookie (HttpOnly, SameSite=Lax, path /) and sends the browser on without the token', async () => {
    const res = await world.anonymous({
      method: 'GET',
      url: `/wall?lang=en&token=${encodeURIComponent(token)}`,
    });
    expect(res.statusCode).toBe(303);
    expect(res.headers.location).toBe('/wall?lang=en');
    const set = [res.headers['set-cookie']].flat().find((c) => c?.startsWith(`${DISPLAY_COOKIE}=`));
    expect(set).toMatch(
      new RegExp(`^${DISPLAY_COOKIE}=[^;]+; Max-Age=\\d+; Path=/; HttpOnly; SameSite=Lax$`),
    );
    expect(decodeURIComponent(set!.split(';')[0]!.split('=')[1]!)).toBe(token);
    // then the wall in English, the district's schools in it and none of the other's
    const page = await world.anonymous({
      method: 'GET',
      url: '/wall?lang=en',
      headers: { cookie: `${DISPLAY_COOKIE}=${token}` },
    });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.body).toContain('<html lang="en" class="wall">');
    expect(page.body).toContain(`data-refresh="30"`);
    for (const s of OTHER_DISTRICT) expect(page.body).not.toContain(s.id);
  });

  it('any other token in the address is refused with a 403 page and sets no cookie: a viewer’s, a revoked display token, a made-up one', async () => {
    const access = world.app!.campuswatch.state.access;
    const viewer = (
      await access.addToken(
        {
          name: 'grafana-武进区',
          accountId: null,
          role: 'viewer',
          scope: { level: 'district', district: WUJIN },
        },
        new Date(),
      )
    ).token;
    const revoked = await displayToken(world);
    await access.revokeToken(revoked.split('.')[1]!, new Date());
    for (const t of [viewer, revoked, 'cwt1.nothing.here', WORLD_ADMIN_TOKEN]) {
      const res = await world.anonymous({ method: 'GET', url: `/wall?token=${encodeURIComponent(t)}` });
      expect(res.statusCode, t).toBe(403);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.body).toContain('token add --role display');
      expect(String(res.headers['set-cookie'] ?? '')).not.toContain(DISPLAY_COOKIE);
    }
    // nor does a viewer's token work as the display cookie
    const asCookie = await world.anonymous({
      method: 'GET',
      url: '/api/v1/wall',
      headers: { cookie: `${DISPLAY_COOKIE}=${viewer}` },
    });
    expect(asCookie.statusCode).toBe(401);
  });

  it('the API is scoped: asked for another district, it still gives its own', async () => {
    const get = (url: string) =>
      world.anonymous({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
    const own = (await get('/api/v1/wall')).json() as Wall;
    expect(own.schools).toBe(3);
    const other = await get(`/api/v1/wall?district=${encodeURIComponent(SIP)}`);
    expect(other.statusCode).toBe(200);
    expect(other.json()).toMatchObject({ filter: { district: WUJIN }, schools: 3 });
    for (const s of OTHER_DISTRICT) expect(other.body).not.toContain(s.id);
  });
});

describe('the token in a wall’s address never reaches the log; over HTTPS the cookie is Secure', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cw-wall-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('logs /wall?token=[redacted]', async () => {
    let log = '';
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        log += chunk.toString();
        done();
      },
    });
    const app = await buildApp(
      parseCollectorConfig(
        JSON.stringify({ listen: '127.0.0.1:0', dataDir: join(dir, 'log'), schools: CITY_SCHOOLS }),
      ),
      { log: createCollectorLogger('info', sink) },
    );
    try {
      const { token } = await app.campuswatch.state.access.addToken(
        { name: '大屏', accountId: null, role: 'display', scope: { level: 'city' } },
        new Date(),
      );
      const res = await app.inject({ method: 'GET', url: `/wall?token=${token}&lang=zh` });
      expect(res.statusCode).toBe(303);
      expect(log).toContain('/wall?token=[redacted]&lang=zh');
      expect(log).not.toContain(token.split('.')[2]!);
    } finally {
      await app.close();
    }
  });

  it.skipIf(skipping(opensslAvailable(), 'TLS'))('over TLS the display cookie is Secure', async () => {
    const ca = makeCa(dir, 'ca');
    const cert = issueCert(dir, ca, 'collector');
    const app = await buildApp(
      parseCollectorConfig(
        JSON.stringify({
          listen: '127.0.0.1:0',
          dataDir: join(dir, 'tls'),
          tls: { certFile: cert.certFile, keyFile: cert.keyFile },
        }),
      ),
    );
    try {
      const { token } = await app.campuswatch.state.access.addToken(
        { name: '大屏', accountId: null, role: 'display', scope: { level: 'city' } },
        new Date(),
      );
      const res = await app.inject({ method: 'GET', url: `/wall?token=${token}` });
      expect(res.statusCode).toBe(303);
      expect(String(res.headers['set-cookie'])).toMatch(/; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    } finally {
      await app.close();
    }
  });
});
