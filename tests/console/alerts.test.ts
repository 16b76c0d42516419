/**
 * The alerts page in a real Chromium against a real collector whose alerts fire through the real alert
 * manager (a clock the test moves): the rows equal GET /api/v1/alerts of the same scope; the on-call
 * account of 苏州工业园区 acknowledges an alert, creates a silence by picking a rule and a school, and
 * expires it — each in the API and the audit trail; a district viewer gets no forms and only its district.
 * And `silence add --rule` of the real CLI refuses an unknown rule, naming the known ones.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertRow, Silence } from '../../collector/src/alerts/manager.js';
import { ALERT_RULE_TEXT, ALERT_RULES, type AlertRule } from '../../collector/src/alerts/rules.js';
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
import { runCli } from '../helpers/cli.js';
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

interface AuditRow {
  actor: string;
  action: string;
  target: string;
  detail: string;
}

/** The alert rows of the page. */
function pageAlerts(page: Page) {
  return page.$$eval('tr[data-alert]', (trs) =>
    trs.map((tr) => ({
      fingerprint: tr.getAttribute('data-alert'),
      state: tr.getAttribute('data-state'),
      schoolId: tr.getAttribute('data-school'),
      rule: tr.getAttribute('data-rule'),
      ruleText: tr.querySelector('[data-field="rule"]')?.textContent ?? '',
    })),
  );
}

const byFingerprint = <T extends { fingerprint: string | null }>(rows: T[]) =>
  [...rows].sort((a, b) => (a.fingerprint! < b.fingerprint! ? -1 : 1));

/** The page shows exactly the alerts of the API for its scope, in their state, with the rule's words. */
async function expectAlertsOfApi(page: Page, query = ''): Promise<AlertRow[]> {
  const fromApi = (await api<{ alerts: AlertRow[] }>(page, `/api/v1/alerts${query}`)).alerts;
  const shown = await pageAlerts(page);
  expect(byFingerprint(shown)).toEqual(
    byFingerprint(
      fromApi.map((a) => ({
        fingerprint: a.fingerprint,
        state: a.state,
        schoolId: a.schoolId,
        rule: a.item.rule,
        ruleText: ALERT_RULE_TEXT[a.item.rule as AlertRule].zh,
      })),
    ),
  );
  // the count of each state's section is the API's
  for (const state of ['firing', 'pending', 'resolved'] as const) {
    const section = page.locator(`section[data-section="${state}"] [data-field="count"]`);
    if ((await section.count()) === 0) continue;
    expect(Number(await section.textContent()), state).toBe(fromApi.filter((a) => a.state === state).length);
  }
  return fromApi;
}

/** No console errors, failed requests (but those expected) or dialogs; axe finds nothing serious. */
async function expectClean(w: WatchedPage, expected: { requests: RegExp; console: RegExp }[] = []) {
  expect(w.errors.filter((e) => !expected.some((x) => x.console.test(e)))).toEqual([]);
  expect(w.failedRequests.filter((r) => !expected.some((x) => x.requests.test(r)))).toEqual([]);
  expect(w.dialogs).toEqual([]);
  const serious = await seriousViolations(w.page);
  expect(serious).toEqual([]);
}

/** Submits a data-api form and waits for the page it reloads to (console.js reloads after a 2xx). */
async function submitAndReload(w: WatchedPage, button: ReturnType<Page['locator']>, api: RegExp) {
  const [res] = await Promise.all([
    w.page.waitForResponse((r) => api.test(new URL(r.url()).pathname) && r.request().method() !== 'GET'),
    w.page.waitForEvent('load'),
    button.click(),
  ]);
  return res.status();
}

const schoolsOf = (district: string) => CITY_SCHOOLS.filter((s) => s.district === district).map((s) => s.id);

const skip = browserSkipReason();
describe.skipIf(skipping(skip))(`console alerts page in Chromium${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let city: ConsoleCity;
  let browser: Browser;
  let now = new Date();
  const t0 = now;
  const at = (minutes: number) => new Date(t0.getTime() + minutes * 60_000);
  const evaluateAt = async (t: Date) => {
    now = t;
    await city.world.app!.campuswatch.alerts.evaluate(t);
  };
  const adminApi = async <T>(url: string): Promise<T> => {
    const r = await city.world.app!.inject({ method: 'GET', url });
    expect(r.statusCode, url).toBe(200);
    return r.json() as T;
  };
  const telnet = async (school: string, open: boolean) => {
    const a = city.agents.get(school)!;
    const r = await city.world.postReport(a.token, telnetReport({ ...a, schoolId: school, at: now, open }));
    expect(r.statusCode, r.body).toBe(200);
  };

  beforeAll(async () => {
    [city, browser] = await Promise.all([
      consoleCity({
        now: () => now,
        collector: {
          // an alert holds 10 min before it fires; 唯亭's agent alerts 30 min after its enrolment; the
          // clock moves by minutes here, so the agent-silent rule stays out of it
          alerts: { forS: 600, neverReportedAfterS: 1800, agentSilentS: 86_400 },
        },
      }),
      launchBrowser(),
    ]);
    // the fixture's Telnet findings (礼嘉, 星海) and 礼嘉's slow uplink: pending, then firing
    await evaluateAt(at(0));
    await evaluateAt(at(31));
    // 唯亭's agent has not reported 30 min after its enrolment: pending, then firing
    await evaluateAt(at(45));
    // 星海 closed Telnet: its finding resolves; the hostile-named school opened it: pending
    await telnet('sz-xinghai', false);
    await telnet('sz-hostile', true);
    await evaluateAt(at(46));
  });
  afterAll(async () => {
    await browser?.close();
    await city?.world.cleanup();
  });

  it('the alerts fired through the alert manager, in every state', async () => {
    const all = (await adminApi<{ alerts: AlertRow[] }>('/api/v1/alerts')).alerts;
    const state = (school: string, rule: string) =>
      all.filter((a) => a.schoolId === school && a.item.rule === rule).map((a) => a.state);
    expect(state('wj-lijia', 'finding')).toEqual(['firing']);
    expect(state('wj-lijia', 'uplink-below-target')).toEqual(['firing']);
    expect(state('sz-weiting', 'agent-never-reported')).toEqual(['firing']);
    expect(state('sz-xinghai', 'finding')).toEqual(['resolved']);
    expect(state('sz-hostile', 'finding')).toEqual(['pending']);
  });

  it('a city administrator sees every alert of the API, grouped by state; the state filter is the API’s', async () => {
    const w = await openPage(browser, { baseURL: city.world.url });
    await signIn(w.page, city.admin.name, city.admin.password, '/alerts');
    expect(new URL(w.page.url()).pathname).toBe('/alerts');
    const all = await expectAlertsOfApi(w.page);
    expect(new Set(all.map((a) => a.state))).toEqual(new Set(['firing', 'pending', 'resolved']));
    // the hostile school name is text, in the table and in the school list
    expect(await w.page.locator('tr[data-school="sz-hostile"] a').first().innerText()).toBe(
      HOSTILE_SCHOOL_NAME,
    );
    expect(await w.page.locator('img[src="x"]').count()).toBe(0);
    // a city administrator may silence all schools: the list offers it
    expect(await w.page.locator('#silence-form select[name="school"] option[value=""]').innerText()).toBe(
      '全部学校',
    );

    await w.page.selectOption('form.filters select[name="state"]', 'firing'); // submits on change
    await w.page.waitForURL((u) => u.searchParams.get('state') === 'firing');
    const firing = await expectAlertsOfApi(w.page, '?state=firing');
    expect(firing.length).toBeGreaterThan(0);
    expect(await w.page.locator('section[data-section]').count()).toBe(1);

    // a silence that names neither rule nor school is refused by the API: the page says why, in the form
    await w.page.goto('/alerts');
    await w.page.locator('#silence-form input[name="reason"]').fill('全市演练');
    await w.page.locator('#silence-form button[type="submit"]').click();
    await expect
      .poll(() => w.page.locator('#silence-form .form-error').textContent())
      .toBe('body: give at least one of school, rule, fingerprint');
    await expectClean(w, [
      { requests: /^POST .*\/api\/v1\/silences: HTTP 400$/, console: /status of 400 \(Bad Request\)$/ },
    ]);
    await w.context.close();
  });

  it('the on-call account of 苏州工业园区 acknowledges an alert in the browser: a silence of it, audited', async () => {
    const w = await openPage(browser, { baseURL: city.world.url });
    await signIn(w.page, city.sipOncall.name, city.sipOncall.password, '/alerts');
    const mine = await expectAlertsOfApi(w.page);
    expect(new Set(mine.map((a) => a.schoolId))).toEqual(new Set(['sz-weiting', 'sz-xinghai', 'sz-hostile']));
    const target = mine.find((a) => a.schoolId === 'sz-weiting' && a.state === 'firing')!;
    const row = w.page.locator(`tr[data-alert="${target.fingerprint}"]`);
    expect(await row.locator('[data-field="rule"]').innerText()).toBe('探针已注册但从未上报');
    await row.locator('details.act summary').click();
    await row.locator('input[name="reason"]').fill('已联系学校重启探针服务');
    await row.locator('select[name="duration"]').selectOption('4h');
    expect(await submitAndReload(w, row.locator('button[type="submit"]'), /\/ack$/)).toBe(201);

    const silences = (await adminApi<{ silences: Silence[] }>('/api/v1/silences')).silences;
    const ack = silences.find((s) => s.fingerprint === target.fingerprint);
    expect(ack).toMatchObject({
      schoolId: 'sz-weiting',
      reason: 'acknowledged: 已联系学校重启探针服务',
      createdBy: 'account:sip-oncall',
    });
    expect(Date.parse(ack!.endsAt) - Date.parse(ack!.startsAt)).toBe(4 * 3_600_000);
    const audit = (await adminApi<{ audit: AuditRow[] }>('/api/v1/audit?actor=account:sip-oncall')).audit;
    expect(audit).toContainEqual(
      expect.objectContaining({
        action: 'alert.ack',
        target: target.fingerprint,
        detail: '已联系学校重启探针服务',
      }),
    );
    // the page says so, and offers no second acknowledgement
    const after = w.page.locator(`tr[data-alert="${target.fingerprint}"]`);
    expect(await after.locator('[data-field="acknowledged"]').getAttribute('data-silence')).toBe(
      String(ack!.id),
    );
    expect(await after.locator('details.act').count()).toBe(0);
    expect(await w.page.locator(`tr[data-silence="${ack!.id}"]`).count()).toBe(1);
    await expectClean(w);
    await w.context.close();
  });

  it('…creates a silence by picking a rule and a school from the lists, and expires it', async () => {
    const w = await openPage(browser, { baseURL: city.world.url });
    await signIn(w.page, city.sipOncall.name, city.sipOncall.password, '/alerts');
    const form = w.page.locator('#silence-form');
    // the rules are the alert rules, with their meaning; nothing else can be chosen
    const rules = await form
      .locator('select[name="rule"] option')
      .evaluateAll((os) => os.map((o) => [o.getAttribute('value'), o.textContent]));
    expect(rules).toEqual([
      ['', '全部规则'],
      ...ALERT_RULES.map((r) => [r, `${ALERT_RULE_TEXT[r].zh} (${r})`]),
    ]);
    // the schools are the district's (no "all schools" below the city: the field is required)
    const schools = await form
      .locator('select[name="school"] option')
      .evaluateAll((os) => os.map((o) => o.getAttribute('value')));
    expect(schools[0]).toBe('');
    expect(schools.slice(1).sort()).toEqual(schoolsOf(SIP).sort());
    expect(await form.locator('select[name="school"]').getAttribute('required')).not.toBeNull();

    await form.locator('select[name="rule"]').selectOption('finding');
    await form.locator('select[name="school"]').selectOption({ label: HOSTILE_SCHOOL_NAME });
    await form.locator('select[name="duration"]').selectOption('24h');
    await form.locator('input[name="reason"]').fill('交换机更换，Telnet 临时开放');
    expect(await submitAndReload(w, form.locator('button[type="submit"]'), /^\/api\/v1\/silences$/)).toBe(
      201,
    );
    const silences = (await adminApi<{ silences: Silence[] }>('/api/v1/silences')).silences;
    const created = silences.find((s) => s.reason === '交换机更换，Telnet 临时开放')!;
    expect(created).toMatchObject({
      schoolId: 'sz-hostile',
      rule: 'finding',
      fingerprint: null,
      reason: '交换机更换，Telnet 临时开放',
      createdBy: 'account:sip-oncall',
    });
    expect(Date.parse(created.endsAt) - Date.parse(created.startsAt)).toBe(24 * 3_600_000);
    const audit = () => adminApi<{ audit: AuditRow[] }>('/api/v1/audit?actor=account:sip-oncall');
    expect((await audit()).audit).toContainEqual(
      expect.objectContaining({
        action: 'silence.add',
        target: String(created.id),
        detail: 'sz-hostile finding for 24h: 交换机更换，Telnet 临时开放',
      }),
    );
    // the page lists it, and the hostile school's pending finding shows as silenced by it
    const listed = w.page.locator(`tr[data-silence="${created.id}"]`);
    expect(await listed.getAttribute('data-rule')).toBe('finding');
    expect(await listed.locator('[data-field="rule"]').innerText()).toBe(ALERT_RULE_TEXT.finding.zh);
    expect(
      await w.page
        .locator('tr[data-school="sz-hostile"][data-state="pending"] [data-field="silenced"]')
        .getAttribute('data-silence'),
    ).toBe(String(created.id));

    await screenshot(w.page, 'alerts-oncall-1366');
    await w.page.setViewportSize({ width: 375, height: 812 });
    await screenshot(w.page, 'alerts-oncall-375');
    const overflow = await sidewaysOverflow(w.page);
    expect(overflow).toBeLessThanOrEqual(0);
    await w.page.setViewportSize({ width: 1366, height: 900 });

    // expire it: gone from the API's active silences, audited
    const del = await submitAndReload(
      w,
      listed.locator('form[data-method="DELETE"] button'),
      new RegExp(`^/api/v1/silences/${created.id}$`),
    );
    expect(del).toBe(204);
    const left = (await adminApi<{ silences: Silence[] }>('/api/v1/silences')).silences;
    expect(left.map((s) => s.id)).not.toContain(created.id);
    expect((await audit()).audit).toContainEqual(
      expect.objectContaining({ action: 'silence.expire', target: String(created.id) }),
    );
    expect(await w.page.locator(`tr[data-silence="${created.id}"]`).count()).toBe(0);
    await expectClean(w);
    await w.context.close();
  });

  it('a district viewer sees only its district’s alerts and no forms', async () => {
    const w = await openPage(browser, { baseURL: city.world.url });
    await signIn(w.page, city.wujin.name, city.wujin.password, '/alerts');
    const mine = await expectAlertsOfApi(w.page);
    expect(mine.length).toBeGreaterThan(0);
    for (const a of mine) expect(schoolsOf(WUJIN)).toContain(a.schoolId);
    expect(await w.page.locator('main form[data-api]').count()).toBe(0);
    expect(await w.page.locator('details.act').count()).toBe(0);
    const text = await w.page.locator('main').innerText();
    expect(text).not.toContain('星海');
    expect(text).not.toContain(SIP);
    // a school of another district is not found, not forbidden
    const r = await w.page.goto('/alerts?school=sz-xinghai');
    expect(r!.status()).toBe(404);
    await screenshot(w.page, 'alerts-district-viewer-1366');
    // the 404 above was asked for
    w.failedRequests.length = 0;
    w.errors.length = 0;
    await w.page.goto('/alerts?lang=en');
    expect(await w.page.locator('h1').innerText()).toBe('Alerts');
    expect(await w.page.locator('tr[data-rule="uplink-below-target"] [data-field="rule"]').innerText()).toBe(
      ALERT_RULE_TEXT['uplink-below-target'].en,
    );
    await screenshot(w.page, 'alerts-district-viewer-en-1366');
    await expectClean(w);
    await w.context.close();
  });
});

describe('silence add --rule (the real CLI)', () => {
  const data = mkdtempSync(join(tmpdir(), 'cw-silence-cli-'));
  afterAll(() => rmSync(data, { recursive: true, force: true }));
  const add = (rule: string) =>
    runCli('collector', [
      'silence',
      'add',
      '--data',
      data,
      '--rule',
      rule,
      '--for',
      '2h',
      '--reason',
      '机房维护',
    ]);

  it('refuses an unknown rule, names the nearest and lists the known ones with their meaning', async () => {
    const bad = await add('agent-silnt');
    expect(bad.code).toBe(2);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toContain(
      `--rule: unknown alert rule "agent-silnt"; one of ${ALERT_RULES.join(', ')} (did you mean "agent-silent"?)`,
    );
    for (const r of ALERT_RULES)
      expect(bad.stderr).toMatch(new RegExp(`${r} +${ALERT_RULE_TEXT[r].en.replace(/[()]/g, '\\$&')}`));
    // nothing was written: no silence at all
    expect((await runCli('collector', ['silence', 'list', '--data', data, '--init'])).stdout).toBe(
      'no silences\n',
    );
    const ok = await add('agent-silent');
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^silence \d+ until /);
  });
});
