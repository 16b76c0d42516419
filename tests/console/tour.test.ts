/**
 * Every page of the console, as each kind of account walks it in a real Chromium: 1366 px and 375 px
 * screenshots (dist/test-artifacts/console/tour-*.png), no script errors, failed requests or dialogs, the
 * page's Content-Security-Policy without inline scripts, only our own scripts in the DOM, hostile names as
 * text, nothing of another district in a district account's pages, and no serious or critical axe-core
 * violation.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  axeScan,
  browserSkipReason,
  launchBrowser,
  openPage,
  screenshot,
  signIn,
} from '../helpers/browser.js';
import {
  CITY_SCHOOLS,
  type ConsoleCity,
  consoleCity,
  HOSTILE_ROOM_NAME,
  HOSTILE_SCHOOL_NAME,
  SIP,
  WUJIN,
} from '../helpers/console-city.js';
import { skipping } from '../helpers/skip.js';

interface Stop {
  name: string;
  path: string;
}

const CITY_TOUR: Stop[] = [
  { name: 'overview', path: '/overview' },
  { name: 'district', path: `/overview?district=${encodeURIComponent(WUJIN)}` },
  { name: 'school', path: '/schools/wj-lijia' },
  { name: 'hostile-school', path: '/schools/sz-hostile' },
  { name: 'findings', path: '/findings' },
  { name: 'alerts', path: '/alerts' },
  { name: 'fleet', path: '/fleet' },
];

/** Opens a page and checks what every page must hold; returns the page's HTML. */
async function visit(page: Page, path: string): Promise<string> {
  const res = await page.goto(path);
  expect(res?.status(), path).toBe(200);
  const csp = res!.headers()['content-security-policy'] ?? '';
  expect(csp, path).toContain("script-src 'self'");
  expect(csp, path).not.toContain('unsafe-inline');
  // only our own script files: nothing a name could have smuggled in
  const scripts = await page.$$eval('script', (s) => s.map((x) => x.getAttribute('src')));
  for (const src of scripts) expect(src, path).toMatch(/^\/assets\/[a-z-]+\.js$/);
  expect(await page.locator('img[src="x"]').count(), path).toBe(0);
  return page.content();
}

const skip = browserSkipReason();
describe.skipIf(skipping(skip))(`the console, page by page${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let city: ConsoleCity;
  let browser: Browser;
  beforeAll(async () => {
    [city, browser] = await Promise.all([consoleCity(), launchBrowser()]);
  });
  afterAll(async () => {
    await browser?.close();
    await city?.world.cleanup();
  });

  it('a city administrator: every page at 1366 and 375 px, clean and accessible, names as text', async () => {
    const w = await openPage(browser, { baseURL: city.world.url });
    await signIn(w.page, city.admin.name, city.admin.password);
    for (const stop of CITY_TOUR) {
      for (const width of [1366, 375]) {
        await w.page.setViewportSize({ width, height: width === 375 ? 812 : 900 });
        const text = await visit(w.page, stop.path);
        if (stop.name === 'hostile-school') {
          const shown = await w.page.locator('main').innerText();
          expect(shown).toContain(HOSTILE_SCHOOL_NAME);
          expect(shown).toContain(HOSTILE_ROOM_NAME);
        }
        // Chinese text in the page (names, labels): rendered in CJK fonts in the screenshots
        expect(text).toMatch(/[\u4e00-\u9fff]/);
        await screenshot(w.page, `tour-city-${stop.name}-${width}`);
      }
      const serious = (await axeScan(w.page)).filter(
        (v) => v.impact === 'serious' || v.impact === 'critical',
      );
      expect(serious, stop.path).toEqual([]);
    }
    expect(w.dialogs).toEqual([]);
    expect(w.errors).toEqual([]);
    expect(w.failedRequests).toEqual([]);
    await w.context.close();
  });

  it('a district account: only its district on every page; another district’s school is a 404', async () => {
    const w = await openPage(browser, { baseURL: city.world.url });
    await signIn(w.page, city.wujin.name, city.wujin.password);
    const others = CITY_SCHOOLS.filter((s) => s.district !== WUJIN);
    for (const path of ['/overview', '/schools/wj-xinghe-pri', '/findings', '/alerts', '/fleet']) {
      const html = await visit(w.page, path);
      const text = await w.page.locator('body').innerText();
      for (const s of others) {
        expect(text, `${path}: ${s.name}`).not.toContain(s.name);
        expect(html, `${path}: ${s.id}`).not.toContain(s.id);
      }
      expect(text, path).not.toContain(SIP);
      await screenshot(w.page, `tour-district${path.replace(/\//g, '-')}-1366`);
    }
    expect(w.errors).toEqual([]);
    expect(w.dialogs).toEqual([]);
    expect(w.failedRequests).toEqual([]);
    // the 404s below are expected answers (Chromium logs each as a console error)
    for (const s of others) {
      const res = await w.page.goto(`/schools/${s.id}`);
      expect(res?.status(), s.id).toBe(404);
      expect(await w.page.content()).not.toContain(s.name.replace(/</g, '&lt;'));
    }
    expect(w.dialogs).toEqual([]);
    await w.context.close();
  });

  it('a school account lands on its school and cannot open another by editing the URL', async () => {
    const w = await openPage(browser, { baseURL: city.world.url });
    await signIn(w.page, city.lijia.name, city.lijia.password);
    expect(new URL(w.page.url()).pathname).toBe('/schools/wj-lijia');
    expect(await w.page.locator('h1').innerText()).toContain('武进区礼嘉中心小学');
    for (const s of CITY_SCHOOLS.filter((x) => x.id !== 'wj-lijia')) {
      const res = await w.page.goto(`/schools/${s.id}`);
      expect(res?.status(), s.id).toBe(404);
      expect(await w.page.locator('body').innerText()).not.toContain(s.name);
    }
    // the overview of a school account is its school
    await w.page.goto('/');
    expect(new URL(w.page.url()).pathname).toBe('/schools/wj-lijia');
    await w.context.close();
  });
});
