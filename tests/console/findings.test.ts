/**
 * The findings page (安全) in a real Chromium against a real collector: its counts and rows equal
 * GET /api/v1/findings of the same scope, a district viewer sees only its district and no accept form, the
 * on-call of 苏州工业园区 accepts a risk in the page (the API and the audit trail show it), at 1366 and
 * 375 px, without console errors or failed requests, accessible.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localTime } from '../../collector/src/evaluate/teaching-hours.js';
import { addDays, type FindingsList } from '../../collector/src/findings-view.js';
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
import { skipping } from '../helpers/skip.js';

/** The page's counts per severity, its rows and its changes, as the DOM shows them. */
async function shown(page: Page) {
  const counts = await page.$$eval('[data-count]', (els) =>
    Object.fromEntries(els.map((e) => [e.getAttribute('data-count'), Number(e.textContent)])),
  );
  const rows = await page.$$eval('table[data-table="findings"] tbody tr', (trs) =>
    trs.map((tr) => ({
      id: tr.getAttribute('data-finding'),
      state: tr.getAttribute('data-state'),
      school: tr.querySelector('a')?.textContent,
    })),
  );
  const changes = await page.$$eval('table[data-table="changes"] tbody tr', (trs) =>
    trs.map((tr) => `${tr.getAttribute('data-change')} ${tr.getAttribute('data-finding')}`),
  );
  const total = Number(await page.locator('[data-field="total"]').innerText());
  return { counts, rows, changes, total };
}

const idOf = (f: { schoolId: string; rule: string; target: string; port: number }) =>
  `${f.schoolId}|${f.rule}|${f.target}|${f.port}`;

/** The page shows what the API answers for the same scope and filter. */
async function expectSameAsApi(page: Page, query: string) {
  const list = await api<FindingsList>(page, `/api/v1/findings${query}`);
  const dom = await shown(page);
  expect(dom.counts).toEqual(list.counts);
  expect(dom.total).toBe(list.findings.length);
  expect(dom.rows).toEqual(list.findings.map((f) => ({ id: idOf(f), state: f.state, school: f.schoolName })));
  expect(dom.changes).toEqual(list.changes.map((c) => `${c.kind} ${idOf(c.finding)}`));
  return list;
}

/** No console error, failed request or dialog but the refusals a test provoked (Chromium logs each one too). */
async function expectClean(w: WatchedPage, expectedRefusals: string[] = []) {
  expect(w.errors).toEqual(
    expectedRefusals.map(
      () => 'console: Failed to load resource: the server responded with a status of 400 (Bad Request)',
    ),
  );
  expect(w.failedRequests).toEqual(expectedRefusals);
  expect(w.dialogs).toEqual([]);
  const serious = await seriousViolations(w.page);
  expect(serious).toEqual([]);
}

async function atPhoneWidth(w: WatchedPage, name: string) {
  await w.page.setViewportSize({ width: 375, height: 812 });
  await screenshot(w.page, name);
  // nothing wider than the phone's screen outside the scrolling tables
  expect(await sidewaysOverflow(w.page)).toBeLessThanOrEqual(0);
}

const skip = browserSkipReason();
skipping(skip, 'console findings page');
describe.skipIf(skip)(`console findings page in Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let city: ConsoleCity;
  let browser: Browser;
  beforeAll(async () => {
    [city, browser] = await Promise.all([consoleCity(), launchBrowser()]);
  });
  afterAll(async () => {
    await browser?.close();
    await city?.world.cleanup();
  });

  it('a city administrator: counts, rows and changes equal the API; open by default; filters', async () => {
    const w = await openPage(browser, { baseURL: city.world.url });
    await signIn(w.page, city.admin.name, city.admin.password, '/findings');
    expect(new URL(w.page.url()).pathname).toBe('/findings');
    const list = await expectSameAsApi(w.page, '?state=open');
    // the fixture's two open Telnet findings, at 礼嘉 and at 星海, both opened within the day
    expect(list.counts.high).toBe(2);
    expect(list.findings.map((f) => f.schoolId).sort()).toEqual(['sz-xinghai', 'wj-lijia']);
    expect(list.changes.map((c) => c.kind)).toEqual(['opened', 'opened']);
    // the on-call's form is there for an administrator too, one per open finding
    expect(await w.page.locator('form[data-api="/api/v1/findings/accept"]').count()).toBe(2);
    await screenshot(w.page, 'findings-city-1366');

    // filter by district (a select submits on change): the API's figures for that district
    await w.page.selectOption('select[name="district"]', WUJIN);
    await w.page.waitForURL((u) => u.searchParams.get('district') === WUJIN);
    const wujin = await expectSameAsApi(w.page, `?state=open&district=${encodeURIComponent(WUJIN)}`);
    expect(wujin.findings.map((f) => f.schoolId)).toEqual(['wj-lijia']);
    // resolved: none yet
    await w.page.selectOption('select[name="state"]', 'resolved');
    await w.page.waitForURL((u) => u.searchParams.get('state') === 'resolved');
    expect((await shown(w.page)).rows).toEqual([]);
    expect(await w.page.locator('.empty').first().isVisible()).toBe(true);
    await w.page.goto('/findings');
    await atPhoneWidth(w, 'findings-city-375');
    await expectClean(w);
    await w.context.close();
  });

  it('the district viewer of 武进区 sees only its schools, and no accept form', async () => {
    const w = await openPage(browser, { baseURL: city.world.url });
    await signIn(w.page, city.wujin.name, city.wujin.password, '/findings?state=all');
    const list = await expectSameAsApi(w.page, '');
    expect(list.findings.map((f) => f.schoolId)).toEqual(['wj-lijia']);
    const text = await w.page.content();
    for (const s of CITY_SCHOOLS.filter((s) => s.district !== WUJIN))
      expect(text).not.toContain(s.name.replace(/</g, '&lt;'));
    expect(text).not.toContain('sz-xinghai');
    expect(await w.page.locator('form[data-api^="/api/v1/findings/"]').count()).toBe(0);
    expect(await w.page.locator('select[name="district"]').count()).toBe(0);
    await screenshot(w.page, 'findings-district-viewer-1366');
    // a district in the URL cannot widen the view: it stays in its district
    await w.page.goto(`/findings?state=all&district=${encodeURIComponent(SIP)}`);
    await expectSameAsApi(w.page, '');
    expect(await w.page.content()).not.toContain('星海');
    // another district's school is not found, as one that does not exist
    for (const id of ['sz-xinghai', 'no-such-school']) {
      const r = await w.page.context().request.get(`/findings?school=${id}`);
      expect(r.status(), id).toBe(404);
      expect(await r.text()).not.toContain('星海');
    }
    await expectClean(w);
    await w.context.close();
  });

  it('the on-call of 苏州工业园区 accepts a risk in the page: accepted in the API and in the audit trail', async () => {
    const w = await openPage(browser, { baseURL: city.world.url });
    await signIn(w.page, city.sipOncall.name, city.sipOncall.password, '/findings');
    const before = await expectSameAsApi(w.page, '?state=open');
    expect(before.findings.map((f) => f.schoolId)).toEqual(['sz-xinghai']);
    const row = w.page.locator('tr[data-finding^="sz-xinghai|cleartext-telnet|"]');
    await row.locator('summary').click();
    const form = row.locator('form[data-api="/api/v1/findings/accept"]');
    await screenshot(w.page, 'findings-oncall-form-1366');

    // the server's refusal is shown in the form (spaces are no reason)
    await form.locator('input[name="reason"]').fill('   ');
    const today = localTime(new Date(), 'Asia/Shanghai').date;
    const until = addDays(today, 30);
    await form.locator('input[name="until"]').fill(until);
    await form.locator('button[type="submit"]').click();
    await expect
      .poll(() => form.locator('.form-error[role="alert"]').textContent())
      .toBe('body/reason: at least 3 characters besides spaces');
    const refusal = `POST ${city.world.url}/api/v1/findings/accept: HTTP 400`;
    expect(w.failedRequests).toEqual([refusal]);

    await form.locator('input[name="reason"]').fill('录播主机 12 月由厂商更换');
    const [answer] = await Promise.all([
      w.page.waitForResponse((r) => r.url().endsWith('/api/v1/findings/accept')),
      w.page.waitForEvent('load'),
      form.locator('button[type="submit"]').click(),
    ]);
    expect(answer.status()).toBe(200);
    // back on the page (open findings only): the accepted one left the list
    expect((await shown(w.page)).rows).toEqual([]);
    await w.page.goto('/findings?state=accepted');
    const accepted = await expectSameAsApi(w.page, '?state=accepted');
    expect(accepted.findings).toEqual([
      expect.objectContaining({
        schoolId: 'sz-xinghai',
        state: 'accepted',
        acceptedUntil: until,
        acceptedReason: '录播主机 12 月由厂商更换',
        acceptedBy: 'account:sip-oncall',
      }),
    ]);
    expect(accepted.changes.map((c) => c.kind)).toEqual(['accepted', 'opened']);
    const cells = await w.page.locator('tr[data-state="accepted"]').innerText();
    expect(cells).toContain(until);
    expect(cells).toContain('录播主机 12 月由厂商更换');
    // its acceptance can be withdrawn from here
    expect(
      await w.page.locator('tr[data-state="accepted"] form[data-api="/api/v1/findings/withdraw"]').count(),
    ).toBe(1);
    // the school's security target is met at once (its only serious finding is accepted)
    const school = await api<{ compliance: { target: string; state: string }[] }>(
      w.page,
      '/api/v1/schools/sz-xinghai',
    );
    expect(school.compliance.find((c) => c.target === 'security')?.state).toBe('met');
    // the audit trail (a city administrator's token) has it, by the on-call's account
    const audit = (await city.world.app!.inject({ method: 'GET', url: '/api/v1/audit' })).json() as {
      audit: { action: string; actor: string; target: string; detail: string }[];
    };
    expect(audit.audit.filter((e) => e.action === 'finding.accept')).toEqual([
      expect.objectContaining({
        actor: 'account:sip-oncall',
        target: 'sz-xinghai/cleartext-telnet/录播主机 A1:23',
        detail: `until ${until}: 录播主机 12 月由厂商更换`,
      }),
    ]);
    await screenshot(w.page, 'findings-oncall-accepted-1366');
    await atPhoneWidth(w, 'findings-oncall-accepted-375');
    await expectClean(w, [refusal]);

    // in English too
    await w.page.goto('/findings?state=accepted&lang=en');
    expect(await w.page.locator('h1').innerText()).toBe('Security findings');
    expect(await w.page.locator('tr[data-state="accepted"]').innerText()).toContain('accepted');
    await w.context.close();
  });
});
