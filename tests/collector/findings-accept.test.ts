/**
 * POST /api/v1/findings/accept and …/withdraw on a real collector, on the embedded SQLite store and on a
 * real, throw-away PostgreSQL: scope, input errors naming the field, the audit trail, compliance at once,
 * a later report, expiry, and a report never overwriting an acceptance in the store. (The pure parts:
 * findings-acceptance.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../collector/src/access/passwords.js';
import { recheckCompliance } from '../../collector/src/compliance/refresh.js';
import type { Acceptance, FindingRecord } from '../../collector/src/evaluate/findings.js';
import type { School } from '../../protocol/school.js';
import { type Postgres, postgresAvailable, startPostgres } from '../helpers/postgres.js';
import { telnetReport } from '../helpers/reports.js';
import { skipping } from '../helpers/skip.js';
import { World } from '../helpers/world.js';

// ---- the API, on both stores -------------------------------------------------------------------

const SIP = '苏州工业园区';
const WUJIN = '武进区';
const SCHOOLS: School[] = [
  { id: 'sz-xinghai', name: '苏州工业园区星海实验中学', district: SIP, timezone: 'Asia/Shanghai' },
  { id: 'wj-lijia', name: '武进区礼嘉中心小学', district: WUJIN, timezone: 'Asia/Shanghai' },
];
const TELNET = { school: 'sz-xinghai', rule: 'cleartext-telnet', target: '录播主机 A1', port: 23 };
const T0 = new Date('2026-12-01T02:00:00.000Z'); // 10:00 in Shanghai, 1 December
const DAY = 86_400_000;

interface Backend {
  name: 'sqlite' | 'postgres';
  skip: string | undefined;
  collector(): Promise<Record<string, unknown>>;
  cleanup(): Promise<void>;
}

let pg: Postgres | undefined;
const BACKENDS: Backend[] = [
  { name: 'sqlite', skip: undefined, collector: async () => ({}), cleanup: async () => {} },
  {
    name: 'postgres',
    skip: postgresAvailable(),
    collector: async () => {
      pg = await startPostgres();
      return { state: { kind: 'postgres', url: await pg.createDatabase('campuswatch'), poolMax: 4 } };
    },
    cleanup: async () => {
      await pg?.cleanup();
      pg = undefined;
    },
  },
];

type FindingJson = FindingRecord & { schoolName: string };

describe.each(BACKENDS)('POST /api/v1/findings/accept: $name', (backend) => {
  describe.skipIf(skipping(backend.skip))(backend.skip ?? 'accept, withdraw, expiry', () => {
    let clock = T0;
    let w: World;
    const tokens = new Map<string, string>();
    const agents = new Map<string, { agentId: string; token: string }>();

    beforeAll(async () => {
      w = new World({ schools: SCHOOLS, now: () => clock, collector: await backend.collector() });
      await w.startCollector();
      const state = w.app!.campuswatch.state;
      const hash = await hashPassword('Correct-Horse-9');
      for (const [name, role, district] of [
        ['sip-oncall', 'oncall', SIP],
        ['wj-oncall', 'oncall', WUJIN],
        ['sip-viewer', 'viewer', SIP],
      ] as const) {
        const scope = { level: 'district' as const, district };
        const account = await state.access.addAccount({ name, role, scope, passwordHash: hash }, T0);
        tokens.set(
          name,
          (await state.access.addToken({ name, accountId: account.id, role, scope }, T0)).token,
        );
      }
      for (const s of SCHOOLS) {
        const { code } = await state.createEnrollCode(s.id, 3_600_000, T0.getTime());
        const r = await state.enroll(code, { hostname: `nas-${s.id}`, version: '0.1.0' }, T0.getTime());
        if ('error' in r) throw new Error(r.error);
        agents.set(s.id, { agentId: r.agent.id, token: r.token });
      }
    }, 120_000);
    afterAll(async () => {
      await w?.cleanup();
      await backend.cleanup();
    });

    const telnetAt = async (id: string, at: Date, open = true) => {
      const a = agents.get(id)!;
      const res = await w.postReport(a.token, telnetReport({ ...a, schoolId: id, at, open }));
      expect(res.statusCode, res.body).toBe(200);
    };
    const as = (who: string, method: 'GET' | 'POST', url: string, payload?: object) =>
      w.anonymous({
        method,
        url,
        headers: { authorization: `Bearer ${tokens.get(who)}` },
        ...(payload ? { payload } : {}),
      });
    const accept = (who: string, body: object) => as(who, 'POST', '/api/v1/findings/accept', body);
    const telnetFinding = async (who = 'sip-oncall') => {
      const res = await as(who, 'GET', '/api/v1/findings?school=sz-xinghai');
      expect(res.statusCode).toBe(200);
      return (res.json() as { findings: FindingJson[] }).findings.find((f) => f.rule === 'cleartext-telnet')!;
    };
    const security = async () => {
      const res = await w.app!.inject({ method: 'GET', url: '/api/v1/schools/sz-xinghai' });
      return (
        res.json() as { compliance: { target: string; state: string; expiresAt: string | null }[] }
      ).compliance.find((c) => c.target === 'security')!;
    };
    const audit = async (action: string) =>
      (
        (await w.app!.inject({ method: 'GET', url: '/api/v1/audit' })).json() as {
          audit: { action: string; actor: string; target: string; detail: string }[];
        }
      ).audit.filter((e) => e.action === action);

    it('an open high finding: security not met', async () => {
      await telnetAt('sz-xinghai', new Date(T0.getTime() - 60_000));
      await telnetAt('wj-lijia', new Date(T0.getTime() - 60_000));
      expect((await telnetFinding()).state).toBe('open');
      expect((await security()).state).toBe('not_met');
    });

    it('another district’s on-call, an unknown finding: the same 404; a viewer: 403', async () => {
      const body = { ...TELNET, reason: '厂商更换 (vendor)', until: '2026-12-31' };
      const other = await accept('wj-oncall', body);
      expect(other.statusCode).toBe(404);
      const unknown = await accept('sip-oncall', { ...body, target: '没有这台设备' });
      expect(unknown.statusCode).toBe(404);
      const noSchool = await accept('sip-oncall', { ...body, school: 'no-such-school' });
      expect(noSchool.statusCode).toBe(404);
      // out of scope reads as an unknown finding: nothing says the school or the finding exists
      expect((other.json() as { message: string }).message).toBe(
        'no finding sz-xinghai/cleartext-telnet/录播主机 A1:23 (school, rule, target, port)',
      );
      expect((await accept('sip-viewer', body)).statusCode).toBe(403);
      expect((await telnetFinding()).state).toBe('open');
      expect(await audit('finding.accept')).toEqual([]);
    });

    it('bad input is 400 naming the field', async () => {
      const good = { ...TELNET, reason: '厂商更换 (vendor)', until: '2026-12-31' };
      const cases: [object, RegExp][] = [
        [{ ...good, reason: 'ok' }, /^body\/reason: /],
        [{ ...good, reason: '   x  ' }, /^body\/reason: at least 3 characters/],
        [
          { ...good, until: '2026-12-01' },
          /^body\/until: must be after today \(2026-12-01, Asia\/Shanghai\)$/,
        ],
        [{ ...good, until: '2027-12-02' }, /^body\/until: at most 365 days ahead \(2027-12-01\)$/],
        [{ ...good, until: '2027-02-29' }, /^body\/until: "2027-02-29" is not a date/],
        [{ ...good, until: undefined }, /^body\/until: /],
        [{ ...good, port: 'x' }, /^body\/port: /],
        [{ ...good, school: undefined }, /^body\/school: /],
        [{ ...good, note: 'x' }, /body\/note/],
      ];
      for (const [body, message] of cases) {
        const res = await accept('sip-oncall', body);
        expect(res.statusCode, JSON.stringify(body)).toBe(400);
        expect((res.json() as { message: string }).message, JSON.stringify(body)).toMatch(message);
      }
      expect((await telnetFinding()).state).toBe('open');
    });

    it('accepted by the district’s on-call: the finding, the audit trail and compliance at once', async () => {
      // (a short acceptance: the scan's evidence counts for 3 days, and the expiry below is within them)
      const res = await accept('sip-oncall', {
        ...TELNET,
        reason: '  厂商 12 月更换设备 (vendor)  ',
        until: '2026-12-03',
      });
      expect(res.statusCode, res.body).toBe(200);
      const answer = res.json() as { finding: FindingRecord; security: { state: string; expiresAt: string } };
      expect(answer.finding).toMatchObject({
        state: 'accepted',
        acceptedUntil: '2026-12-03',
        acceptedReason: '厂商 12 月更换设备 (vendor)',
        acceptedBy: 'token:sip-oncall',
        acceptedAt: T0.toISOString(),
      });
      // the only serious finding is accepted: met, evaluated again when the acceptance ends (00:00 local)
      expect(answer.security).toMatchObject({ state: 'met', expiresAt: '2026-12-03T16:00:00.000Z' });
      expect(await security()).toMatchObject({ state: 'met', expiresAt: '2026-12-03T16:00:00.000Z' });
      expect(await telnetFinding()).toMatchObject({ state: 'accepted', acceptedBy: 'token:sip-oncall' });
      const list = (await as('sip-oncall', 'GET', '/api/v1/findings?state=accepted')).json() as {
        findings: FindingJson[];
        counts: Record<string, number>;
        changes: { kind: string; at: string; finding: FindingJson }[];
      };
      expect(list.findings.map((f) => f.schoolId)).toEqual(['sz-xinghai']);
      expect(list.counts.high).toBe(1);
      expect(list.changes.map((c) => [c.kind, c.finding.schoolId, c.at])).toEqual([
        ['accepted', 'sz-xinghai', T0.toISOString()],
        ['opened', 'sz-xinghai', new Date(T0.getTime() - 60_000).toISOString()],
      ]);
      // the other district's finding is untouched
      expect(
        (await w.app!.inject({ method: 'GET', url: '/api/v1/findings?school=wj-lijia' })).json(),
      ).toMatchObject({
        findings: [{ state: 'open' }],
      });
      expect(await audit('finding.accept')).toEqual([
        expect.objectContaining({
          actor: 'token:sip-oncall',
          target: 'sz-xinghai/cleartext-telnet/录播主机 A1:23',
          detail: 'until 2026-12-03: 厂商 12 月更换设备 (vendor)',
        }),
      ]);
    });

    it('a later report that still shows the problem keeps it accepted', async () => {
      clock = new Date(T0.getTime() + DAY);
      await telnetAt('sz-xinghai', new Date(clock.getTime() - 60_000));
      expect(await telnetFinding()).toMatchObject({
        state: 'accepted',
        acceptedUntil: '2026-12-03',
        count: 2,
      });
      expect((await security()).state).toBe('met');
    });

    it('after its date the finding is open again, and the recheck makes security not met', async () => {
      clock = new Date('2026-12-03T15:59:00.000Z'); // 23:59 on the last day, Shanghai
      expect((await telnetFinding()).state).toBe('accepted');
      await recheckCompliance(w.app!.campuswatch, clock);
      expect((await security()).state).toBe('met');
      clock = new Date('2026-12-03T16:00:00.000Z'); // 00:00 on 4 December
      expect(await telnetFinding()).toMatchObject({ state: 'open', acceptedUntil: '2026-12-03' });
      expect(await recheckCompliance(w.app!.campuswatch, clock)).toContain('sz-xinghai');
      expect((await security()).state).toBe('not_met');
      const changes = (
        (await as('sip-oncall', 'GET', '/api/v1/findings')).json() as { changes: { kind: string }[] }
      ).changes;
      expect(changes.map((c) => c.kind)).toEqual(['expired']);
      // and a report after the date opens it
      clock = new Date(clock.getTime() + DAY);
      await telnetAt('sz-xinghai', new Date(clock.getTime() - 60_000));
      expect((await telnetFinding()).state).toBe('open');
      expect((await security()).state).toBe('not_met');
    });

    it('withdrawn: open again at once, audited; nothing to withdraw is 409', async () => {
      const until = '2027-01-20';
      expect(
        (await accept('sip-oncall', { ...TELNET, reason: '等待厂商 (waiting for the vendor)', until }))
          .statusCode,
      ).toBe(200);
      expect((await security()).state).toBe('met');
      const withdraw = (who: string) =>
        as(who, 'POST', '/api/v1/findings/withdraw', { ...TELNET, reason: '厂商已到 (vendor came)' });
      expect((await withdraw('wj-oncall')).statusCode).toBe(404);
      const res = await withdraw('sip-oncall');
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({
        finding: { state: 'open', acceptedUntil: null },
        security: { state: 'not_met' },
      });
      expect(await telnetFinding()).toMatchObject({ state: 'open', acceptedUntil: null });
      expect((await security()).state).toBe('not_met');
      expect(await audit('finding.withdraw')).toEqual([
        expect.objectContaining({
          actor: 'token:sip-oncall',
          target: 'sz-xinghai/cleartext-telnet/录播主机 A1:23',
          detail: `accepted until ${until} by token:sip-oncall: 厂商已到 (vendor came)`,
        }),
      ]);
      expect((await withdraw('sip-oncall')).statusCode).toBe(409);
      // a later report does not bring the withdrawn acceptance back
      clock = new Date(clock.getTime() + DAY);
      await telnetAt('sz-xinghai', new Date(clock.getTime() - 60_000));
      expect((await telnetFinding()).state).toBe('open');
    });

    it('a resolved finding has no risk to accept (409)', async () => {
      await telnetAt('sz-xinghai', new Date(clock.getTime() - 30_000), false);
      expect((await telnetFinding()).state).toBe('resolved');
      const res = await accept('sip-oncall', { ...TELNET, reason: '已修复 (fixed)', until: '2027-01-20' });
      expect(res.statusCode).toBe(409);
    });

    it('the store: a report written after an acceptance does not overwrite it', async () => {
      const state = w.app!.campuswatch.state;
      await telnetAt('sz-xinghai', new Date(clock.getTime() - 20_000));
      const before = (await state.findings('sz-xinghai'))[0]!;
      expect(before.state).toBe('open');
      const acceptance: Acceptance = {
        until: '2027-01-30',
        reason: '测试 (test)',
        by: 'account:x',
        at: clock.toISOString(),
      };
      expect(await state.setAcceptance('sz-xinghai', TELNET, acceptance)).toMatchObject({
        state: 'accepted',
        acceptedUntil: '2027-01-30',
      });
      // a report computed from the finding as it was before the acceptance (it was read first)
      const a = agents.get('sz-xinghai')!;
      const agent = (await state.getAgent(a.agentId))!;
      const stale = { ...before, count: before.count + 1, lastSeen: clock.toISOString() };
      expect(
        await state.completeIngest({
          reportId: '0190a000-0000-7000-8000-000000000001',
          agent,
          results: [],
          shiftMs: 0,
          clockOffsetMs: 0,
          receivedAt: clock,
          compliance: [],
          findings: [stale],
          begin: {
            reportId: '0190a000-0000-7000-8000-000000000001',
            agentId: agent.id,
            schoolId: 'sz-xinghai',
            shiftMs: 0,
            finishedAt: clock.toISOString(),
          },
        }),
      ).toBe(true);
      expect((await state.findings('sz-xinghai'))[0]).toMatchObject({
        state: 'accepted',
        acceptedUntil: '2027-01-30',
        acceptedBy: 'account:x',
        count: before.count + 1,
      });
      expect(await state.setAcceptance('sz-xinghai', { ...TELNET, port: 24 }, acceptance)).toBeUndefined();
      expect((await state.setAcceptance('sz-xinghai', TELNET, null))!.state).toBe('open');
    });
  });
});
