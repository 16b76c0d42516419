import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role, Scope } from '../../collector/src/access/model.js';
import { hashPassword } from '../../collector/src/access/passwords.js';
import { baseApp } from '../../collector/src/app.js';
import { parseCollectorConfig } from '../../collector/src/config.js';
import type { School } from '../../protocol/school.js';
import { telnetReport } from '../helpers/reports.js';
import { World } from '../helpers/world.js';

const school = (id: string, district: string, group: string): School => ({
  id,
  name: `${id} 学校`,
  district,
  group,
  timezone: 'Asia/Shanghai',
});
const SCHOOLS = [
  school('a-1', '武进区', '星河教育集团'),
  school('a-2', '武进区', '湖塘教育集团'),
  school('b-1', '新北区', '龙虎塘教育集团'),
];
const PASSWORD = 'Correct-Horse-9';

describe('every route says who may call it', () => {
  const w = new World({ schools: SCHOOLS });
  beforeAll(() => w.startCollector());
  afterAll(() => w.cleanup());

  it('walks the route table: everything but the public routes answers 401 without credentials (pages: the sign-in page)', async () => {
    const routes = w.app!.accessRoutes;
    expect(routes.length).toBeGreaterThan(20);
    const seen: string[] = [];
    for (const r of routes) {
      const url = r.url.replace(/:([a-z]+)/gi, 'x');
      const res = await w.anonymous({
        method: r.method as 'GET',
        url,
        payload: r.method === 'GET' ? undefined : {},
      });
      seen.push(`${r.method} ${r.url} ${r.access} ${res.statusCode}`);
      if (r.access === 'public') expect(res.statusCode, `${r.method} ${r.url}`).not.toBe(401);
      else if (r.page) {
        // a console page sends a person to sign in, and back here afterwards
        expect(res.statusCode, `${r.method} ${r.url}`).toBe(303);
        expect(res.headers.location).toBe(`/login?next=${encodeURIComponent(url)}`);
      } else expect(res.statusCode, `${r.method} ${r.url} (${r.access}): ${res.body}`).toBe(401);
    }
    // the public ones are exactly these
    expect(
      routes
        .filter((r) => r.access === 'public')
        .map((r) => `${r.method} ${r.url}`)
        .sort(),
    ).toEqual([
      'GET /',
      'GET /assets/:name',
      'GET /healthz',
      'GET /login',
      'POST /api/v1/enroll',
      'POST /api/v1/login',
    ]);
    // /healthz says nothing about schools
    const health = await w.anonymous({ method: 'GET', url: '/healthz' });
    for (const s of SCHOOLS) expect(health.body).not.toContain(s.id);
  });

  it('a route added without an access declaration fails the build', async () => {
    const app = baseApp(
      parseCollectorConfig('listen: "127.0.0.1:0"'),
      (await import('pino')).pino({ level: 'silent' }),
    );
    let error: unknown;
    try {
      app.get('/api/v1/forgotten', async () => ({ secret: true }));
      await app.ready();
    } catch (err) {
      error = err;
    }
    expect(String(error)).toContain('route GET /api/v1/forgotten declares no access');
    await app.close().catch(() => undefined);
  });
});

describe('scopes: each account sees its own part, by session or by token', () => {
  const w = new World({ schools: SCHOOLS, collector: { alerts: { agentSilentS: 86_400 } } });
  const accounts: Record<string, { role: Role; scope: Scope }> = {
    'wj-viewer': { role: 'viewer', scope: { level: 'district', district: '武进区' } },
    'xh-group': { role: 'viewer', scope: { level: 'group', district: '武进区', group: '星河教育集团' } },
    'a1-oncall': { role: 'oncall', scope: { level: 'school', school: 'a-1' } },
    'a1-viewer': { role: 'viewer', scope: { level: 'school', school: 'a-1' } },
  };
  const tokens = new Map<string, string>();
  const cookies = new Map<string, { cookie: string; csrf: string }>();

  beforeAll(async () => {
    await w.startCollector();
    const access = w.app!.campuswatch.state.access;
    const hash = await hashPassword(PASSWORD);
    for (const [name, a] of Object.entries(accounts)) {
      const rec = await access.addAccount({ name, ...a, passwordHash: hash }, new Date());
      tokens.set(
        name,
        (await access.addToken({ name: `${name}-script`, accountId: rec.id, ...a }, new Date())).token,
      );
      const login = await w.anonymous({
        method: 'POST',
        url: '/api/v1/login',
        payload: { name, password: PASSWORD },
      });
      expect(login.statusCode, login.body).toBe(200);
      const cookie = String(login.headers['set-cookie']).split(';')[0]!;
      cookies.set(name, { cookie, csrf: (login.json() as { csrf: string }).csrf });
    }
    // an open Telnet finding (an alert) at every school
    const now = new Date();
    for (const s of SCHOOLS) {
      const { agentId, token } = w.enrollDirect(s.id, `agent-${s.id}`);
      expect(
        (await w.postReport(token, telnetReport({ agentId, schoolId: s.id, at: now, open: true })))
          .statusCode,
      ).toBe(200);
    }
    await w.app!.campuswatch.alerts.evaluate(now);
  });
  afterAll(() => w.cleanup());

  const as = (
    name: string,
    how: 'token' | 'session',
    method: 'GET' | 'POST' | 'DELETE',
    url: string,
    payload?: object,
  ) =>
    w.anonymous({
      method,
      url,
      headers:
        how === 'token'
          ? { authorization: `Bearer ${tokens.get(name)}` }
          : { cookie: cookies.get(name)!.cookie, 'x-csrf-token': cookies.get(name)!.csrf },
      ...(payload ? { payload } : {}),
    });
  const ids = (list: { id?: string; schoolId?: string }[]) =>
    [...new Set(list.map((x) => x.id ?? x.schoolId))].sort();

  for (const how of ['token', 'session'] as const) {
    it(`a district account (${how}) reads only its district; another district's school is 404`, async () => {
      const schools = (await as('wj-viewer', how, 'GET', '/api/v1/schools')).json() as {
        schools: { id: string }[];
      };
      expect(ids(schools.schools)).toEqual(['a-1', 'a-2']);
      const kpi = (await as('wj-viewer', how, 'GET', '/api/v1/compliance')).json() as {
        overall: { schools: number };
        districts: { district: string }[];
      };
      expect(kpi.overall.schools).toBe(2);
      expect(kpi.districts.map((d) => d.district)).toEqual(['武进区']);
      const findings = (await as('wj-viewer', how, 'GET', '/api/v1/findings')).json() as {
        findings: { schoolId: string }[];
      };
      expect(ids(findings.findings)).toEqual(['a-1', 'a-2']);
      const alerts = (await as('wj-viewer', how, 'GET', '/api/v1/alerts')).json() as {
        alerts: { schoolId: string }[];
      };
      expect(ids(alerts.alerts)).toEqual(['a-1', 'a-2']);
      for (const url of ['/api/v1/schools/b-1', '/api/v1/findings?school=b-1']) {
        const res = await as('wj-viewer', how, 'GET', url);
        expect(res.statusCode, url).toBe(404);
        expect(res.body).toBe(
          (await as('wj-viewer', how, 'GET', url.replace('b-1', 'no-such'))).body.replace('no-such', 'b-1'),
        );
      }
    });

    it(`a group and a school account (${how}) likewise`, async () => {
      const g = (await as('xh-group', how, 'GET', '/api/v1/schools')).json() as { schools: { id: string }[] };
      expect(ids(g.schools)).toEqual(['a-1']);
      expect((await as('xh-group', how, 'GET', '/api/v1/schools/a-2')).statusCode).toBe(404);
      const s = (await as('a1-viewer', how, 'GET', '/api/v1/alerts')).json() as {
        alerts: { schoolId: string }[];
      };
      expect(ids(s.alerts)).toEqual(['a-1']);
      expect((await as('a1-viewer', how, 'GET', '/metrics')).statusCode).toBe(403);
    });
  }

  it('an on-call school account acknowledges and silences its school’s alerts and nothing else; a viewer cannot', async () => {
    const alerts = (await as('wj-viewer', 'token', 'GET', '/api/v1/alerts')).json() as {
      alerts: { schoolId: string; fingerprint: string }[];
    };
    const fp = (id: string) => alerts.alerts.find((a) => a.schoolId === id)!.fingerprint;
    const ack = (who: string, f: string) =>
      as(who, 'session', 'POST', `/api/v1/alerts/${encodeURIComponent(f)}/ack`, {
        reason: '正在处理 (on it)',
      });
    expect((await ack('a1-oncall', fp('a-1'))).statusCode).toBe(201);
    expect((await ack('a1-oncall', fp('a-2'))).statusCode).toBe(404);
    expect((await ack('a1-viewer', fp('a-1'))).statusCode).toBe(403);
    const silence = (who: string, body: object) =>
      as(who, 'token', 'POST', '/api/v1/silences', { duration: '2h', reason: '机房维护', ...body });
    expect((await silence('a1-oncall', { school: 'a-1', rule: 'finding' })).statusCode).toBe(201);
    expect((await silence('a1-oncall', { school: 'a-2' })).statusCode).toBe(400);
    expect((await silence('a1-oncall', { rule: 'finding' })).statusCode).toBe(400); // all schools: not its scope
    expect((await silence('a1-viewer', { school: 'a-1' })).statusCode).toBe(403);
    const mine = (await as('a1-oncall', 'token', 'GET', '/api/v1/silences')).json() as {
      silences: { id: number; schoolId: string; createdBy: string }[];
    };
    expect(mine.silences.map((s) => [s.schoolId, s.createdBy])).toEqual([
      ['a-1', 'account:a1-oncall'],
      ['a-1', 'token:a1-oncall-script'],
    ]);
  });

  it('a session cookie is HttpOnly, SameSite=Strict; a change without its CSRF token or from another origin is refused', async () => {
    const login = await w.anonymous({
      method: 'POST',
      url: '/api/v1/login',
      payload: { name: 'a1-oncall', password: PASSWORD },
    });
    const setCookie = String(login.headers['set-cookie']);
    expect(setCookie).toMatch(
      /^cw_session=[A-Za-z0-9_-]{43}; Max-Age=43200; Path=\/; HttpOnly; SameSite=Strict$/,
    );
    const cookie = setCookie.split(';')[0]!;
    const { csrf } = login.json() as { csrf: string };
    const body = { school: 'a-1', duration: '1h', reason: '测试 CSRF' };
    const post = (headers: Record<string, string>) =>
      w.anonymous({
        method: 'POST',
        url: '/api/v1/silences',
        headers: { cookie, ...headers },
        payload: body,
      });
    expect((await post({})).statusCode).toBe(403);
    expect((await post({ 'x-csrf-token': 'x'.repeat(43) })).statusCode).toBe(403);
    expect((await post({ 'x-csrf-token': csrf, origin: 'https://evil.example' })).statusCode).toBe(403);
    expect((await post({ 'x-csrf-token': csrf, origin: 'http://localhost:80' })).statusCode).toBe(201);
    // reads need no CSRF token; after logout the cookie is dead
    expect((await w.anonymous({ method: 'GET', url: '/api/v1/me', headers: { cookie } })).statusCode).toBe(
      200,
    );
    expect(
      (
        await w.anonymous({
          method: 'POST',
          url: '/api/v1/logout',
          headers: { cookie, 'x-csrf-token': csrf },
        })
      ).statusCode,
    ).toBe(204);
    expect((await w.anonymous({ method: 'GET', url: '/api/v1/me', headers: { cookie } })).statusCode).toBe(
      401,
    );
  });

  it('a revoked token is refused from its next request; a disabled account’s sessions and tokens stop', async () => {
    const access = w.app!.campuswatch.state.access;
    const extra = await access.addToken(
      { name: 'grafana-武进区', accountId: null, role: 'viewer', scope: accounts['wj-viewer']!.scope },
      new Date(),
    );
    const get = () =>
      w.anonymous({
        method: 'GET',
        url: '/api/v1/schools',
        headers: { authorization: `Bearer ${extra.token}` },
      });
    expect((await get()).statusCode).toBe(200);
    await access.revokeToken(extra.record.id, new Date());
    expect((await get()).statusCode).toBe(401);
    const acc = (await access.accountByName('xh-group'))!;
    await access.updateAccount(acc.id, { disabled: true });
    expect((await as('xh-group', 'token', 'GET', '/api/v1/schools')).statusCode).toBe(401);
    expect((await as('xh-group', 'session', 'GET', '/api/v1/schools')).statusCode).toBe(401);
  });

  it('the audit trail has the findings reads, the silences and the logins, with account, address and time', async () => {
    const entries = await w.app!.campuswatch.state.access.audit({});
    const has = (action: string, actor: string) =>
      entries.find(
        (e) =>
          e.action === action &&
          e.actor === actor &&
          e.address === '127.0.0.1' &&
          !Number.isNaN(Date.parse(e.at)),
      );
    expect(has('findings.read', 'account:wj-viewer')).toBeDefined();
    expect(has('findings.read', 'token:wj-viewer-script')).toBeDefined();
    expect(has('silence.add', 'token:a1-oncall-script')).toBeDefined();
    expect(has('alert.ack', 'account:a1-oncall')).toBeDefined();
    expect(has('login', 'account:a1-oncall')).toBeDefined();
    const text = JSON.stringify(entries);
    expect(text).not.toContain(PASSWORD);
    for (const t of tokens.values()) expect(text).not.toContain(t.split('.')[2]!);
    // append-only, also against the store's own connection
    expect(() =>
      (w.app!.campuswatch.state as unknown as { db: { exec(s: string): void } }).db.exec('DELETE FROM audit'),
    ).toThrow(/append-only/);
  });
});

describe('enrolment and login under attack', () => {
  const w = new World({ schools: SCHOOLS });
  beforeAll(() => w.startCollector());
  afterAll(() => w.cleanup());
  const metric = async (what: string, decision: string) => {
    const text = (await w.app!.inject({ method: 'GET', url: '/metrics' })).body;
    const m = new RegExp(
      `^campuswatch_throttle_decisions_total\\{what="${what}",decision="${decision}",by="[a-z]+"\\} (\\d+)$`,
      'm',
    ).exec(text);
    return m ? Number(m[1]) : 0;
  };

  it('10,000 code guesses from one address: almost all throttled; a valid code from another address still enrols', async () => {
    const statuses = new Map<number, number>();
    for (let i = 0; i < 10_000; i++) {
      const res = await w.anonymous({
        method: 'POST',
        url: '/api/v1/enroll',
        remoteAddress: '10.203.9.9',
        payload: { code: `GUESS-${String(i).padStart(5, '0')}-AAAAA`, hostname: 'x', agentVersion: '0.1.0' },
      });
      statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
    }
    const checked = await metric('enroll', 'checked');
    console.info(
      `[access] 10,000 enrolment guesses: ${checked} reached the code check; statuses ${JSON.stringify([...statuses])}`,
    );
    expect(checked).toBeLessThan(20);
    expect(statuses.get(429)).toBe(10_000 - checked);
    expect(await metric('enroll', 'throttled')).toBe(10_000 - checked);
    const { code } = (
      w.app!.campuswatch.state as unknown as {
        sync: { createEnrollCode(s: string, t: number): { code: string } };
      }
    ).sync.createEnrollCode('a-1', 60_000);
    const ok = await w.anonymous({
      method: 'POST',
      url: '/api/v1/enroll',
      remoteAddress: '10.203.9.10',
      payload: { code, hostname: 'real-agent', agentVersion: '0.1.0' },
    });
    expect(ok.statusCode, ok.body).toBe(201);
  });

  it('10,000 password guesses against one account: a handful checked, the account locks; an administrator unlocks it', async () => {
    const access = w.app!.campuswatch.state.access;
    await access.addAccount(
      {
        name: 'target',
        role: 'viewer',
        scope: { level: 'city' },
        passwordHash: await hashPassword(PASSWORD),
      },
      new Date(),
    );
    const before = await metric('login', 'checked');
    for (let i = 0; i < 10_000; i++) {
      await w.anonymous({
        method: 'POST',
        url: '/api/v1/login',
        remoteAddress: '10.203.9.9',
        payload: { name: 'target', password: `guess-${i}-Aa` },
      });
    }
    const checked = (await metric('login', 'checked')) - before;
    console.info(`[access] 10,000 password guesses: ${checked} reached the password check`);
    expect(checked).toBeLessThan(20);
    // the owner, from another address: the account is locked (by time, or an administrator)
    const owner = () =>
      w.anonymous({
        method: 'POST',
        url: '/api/v1/login',
        remoteAddress: '10.203.9.10',
        payload: { name: 'target', password: PASSWORD },
      });
    expect((await owner()).statusCode).toBe(429);
    const acc = (await access.accountByName('target'))!;
    await access.updateAccount(acc.id, { failedLogins: 0, lockedUntil: null });
    expect((await owner()).statusCode).toBe(200);
  });
});

describe('a code tried wrongly backs off itself, from any address', () => {
  const w = new World({ schools: SCHOOLS });
  beforeAll(() => w.startCollector());
  afterAll(() => w.cleanup());

  it('a used code tried from ten addresses is heard six times (five free failures, then a back-off), then refused with 429 before the store', async () => {
    const { code } = (
      w.app!.campuswatch.state as unknown as {
        sync: { createEnrollCode(s: string, t: number): { code: string } };
      }
    ).sync.createEnrollCode('a-1', 60_000);
    const enrol = (address: string, c = code) =>
      w.anonymous({
        method: 'POST',
        url: '/api/v1/enroll',
        remoteAddress: address,
        payload: { code: c, hostname: 'x', agentVersion: '0.1.0' },
      });
    expect((await enrol('10.203.1.1')).statusCode).toBe(201);
    const statuses = [];
    for (let i = 2; i <= 11; i++)
      statuses.push((await enrol(`10.203.1.${i}`, code.toLowerCase())).statusCode);
    expect(statuses).toEqual([403, 403, 403, 403, 403, 403, 429, 429, 429, 429]);
  });
});
