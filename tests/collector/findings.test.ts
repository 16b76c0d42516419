import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_BASELINE_FILE, loadBaseline, parseBaseline } from '../../collector/src/baseline.js';
import {
  effectiveState,
  type FindingRecord,
  findingKey,
  nextFindings,
} from '../../collector/src/evaluate/findings.js';
import type { SecurityResult } from '../../protocol/report.js';
import type { School } from '../../protocol/school.js';
import { makeReport } from '../helpers/reports.js';
import { World, XINGHAI } from '../helpers/world.js';

const school: School = { id: 's1', name: '星海', timezone: 'Asia/Shanghai' };
const baseline = loadBaseline(DEFAULT_BASELINE_FILE);

function check(
  rule: string,
  finding: boolean,
  at: string,
  extra: Partial<SecurityResult> = {},
): SecurityResult {
  return {
    probe: 'security',
    target: '录播主机',
    outcome: 'ok',
    durationMs: 5,
    at,
    rule,
    finding,
    evidence: finding ? 'open' : 'closed',
    ...extra,
  };
}
const apply = (prev: FindingRecord[], results: SecurityResult[], b = baseline) => {
  const map = new Map(prev.map((f) => [findingKey(f), f]));
  for (const f of nextFindings(map, results, b, school)) map.set(findingKey(f), f);
  return [...map.values()];
};

describe('findings lifecycle (pure)', () => {
  it('open → seen again (count) → resolved → re-opened', () => {
    let f = apply([], [check('cleartext-telnet', true, '2026-11-23T01:00:00.000Z', { port: 23 })]);
    expect(f).toEqual([
      expect.objectContaining({
        rule: 'cleartext-telnet',
        state: 'open',
        severity: 'high',
        // the school declares no protection level: the baseline's default, level 2 (chapter 7)
        mlps: '7.1.4.1 身份鉴别 c) (credentials protected in transit)',
        protectionLevel: 2,
        count: 1,
        firstSeen: '2026-11-23T01:00:00.000Z',
      }),
    ]);
    f = apply(f, [check('cleartext-telnet', true, '2026-11-24T01:00:00.000Z', { port: 23 })]);
    expect(f[0]).toMatchObject({
      state: 'open',
      count: 2,
      firstSeen: '2026-11-23T01:00:00.000Z',
      lastSeen: '2026-11-24T01:00:00.000Z',
    });
    f = apply(f, [check('cleartext-telnet', false, '2026-11-25T01:00:00.000Z', { port: 23 })]);
    expect(f[0]).toMatchObject({ state: 'resolved', resolvedAt: '2026-11-25T01:00:00.000Z' });
    f = apply(f, [check('cleartext-telnet', true, '2026-11-26T01:00:00.000Z', { port: 23 })]);
    expect(f[0]).toMatchObject({ state: 'open', count: 3, resolvedAt: null });
  });

  it('a passing check with no finding creates nothing; failed checks and disabled rules change nothing', () => {
    expect(apply([], [check('cleartext-telnet', false, '2026-11-23T01:00:00.000Z')])).toEqual([]);
    expect(
      apply([], [check('cleartext-telnet', true, '2026-11-23T01:00:00.000Z', { outcome: 'timeout' })]),
    ).toEqual([]);
    const off = {
      ...baseline,
      rules: {
        ...baseline.rules,
        'cleartext-telnet': { ...baseline.rules['cleartext-telnet']!, enabled: false },
      },
    };
    expect(apply([], [check('cleartext-telnet', true, '2026-11-23T01:00:00.000Z')], off)).toEqual([]);
  });

  it('an accepted risk is accepted until its date, then open again (also between scans)', () => {
    const b = parseBaseline(
      JSON.stringify({
        rules: baseline.rules,
        exceptions: [
          {
            rule: 'high-risk-port',
            school: 's1',
            target: '录播主机',
            port: 3389,
            reason: '厂商远程维护, ticket 118',
            expires: '2026-11-30',
          },
        ],
      }),
    );
    const f = apply([], [check('high-risk-port', true, '2026-11-23T01:00:00.000Z', { port: 3389 })], b);
    expect(f[0]).toMatchObject({
      state: 'accepted',
      acceptedUntil: '2026-11-30',
      acceptedReason: '厂商远程维护, ticket 118',
    });
    expect(effectiveState(f[0]!, new Date('2026-11-30T15:00:00Z'), 'Asia/Shanghai')).toBe('accepted'); // 23:00 local
    expect(effectiveState(f[0]!, new Date('2026-11-30T16:00:00Z'), 'Asia/Shanghai')).toBe('open'); // Dec 1 local
    const later = apply(f, [check('high-risk-port', true, '2026-12-02T01:00:00.000Z', { port: 3389 })], b);
    expect(later[0]).toMatchObject({ state: 'open', acceptedUntil: null });
    // another port on the same device is not covered by the exception
    expect(
      apply([], [check('high-risk-port', true, '2026-11-23T01:00:00.000Z', { port: 445 })], b)[0]!.state,
    ).toBe('open');
  });

  it('baseline errors name the field', () => {
    expect(() =>
      parseBaseline(
        JSON.stringify({
          rules: {},
          exceptions: [{ rule: 'nope', school: 's', reason: 'why', expires: '2027-01-01' }],
        }),
        'baseline.yaml',
      ),
    ).toThrow('baseline.yaml: exceptions[0].rule: unknown rule "nope"');
  });
});

describe('findings through the API', () => {
  const w = new World();
  let token: string;
  let agentId: string;
  beforeAll(async () => {
    await w.startCollector();
    ({ token, agentId } = w.enrollDirect());
  });
  afterAll(() => w.cleanup());

  const send = async (results: (at: string) => SecurityResult[]) => {
    const base = makeReport({ agentId, schoolId: XINGHAI.id });
    const res = await w.postReport(token, { ...base, results: results(base.startedAt) });
    expect(res.statusCode).toBe(200);
  };
  const security = async () =>
    (
      (await w.app!.inject({ method: 'GET', url: `/api/v1/schools/${XINGHAI.id}` })).json() as {
        compliance: { target: string; state: string; value: number | null; reason: string }[];
      }
    ).compliance.find((c) => c.target === 'security')!;

  it('no scan → no_data; a default SNMP community → critical finding, security not met; fixed → resolved, met', async () => {
    expect((await security()).state).toBe('no_data');
    await send((at) => [
      check('snmp-default-community', true, at, { evidence: 'community "public" answered: Ruijie RG-S5750' }),
      check('cleartext-ftp', true, at, { port: 21, evidence: '220 FTP server ready' }),
    ]);
    expect(await security()).toMatchObject({ state: 'not_met', value: 1 });
    expect((await security()).reason).toContain('critical snmp-default-community on 录播主机');
    const open = (
      await w.app!.inject({ method: 'GET', url: '/api/v1/findings?state=open&severity=critical' })
    ).json() as {
      findings: { rule: string; schoolName: string; title: { zh: string }; mlps: string; evidence: string }[];
    };
    expect(open.findings).toEqual([
      expect.objectContaining({
        rule: 'snmp-default-community',
        schoolName: XINGHAI.name,
        title: expect.objectContaining({ zh: 'SNMP 默认团体名' }),
        mlps: '7.1.4.2 访问控制 b) (default accounts and passwords)',
        protectionLevel: 2,
        evidence: 'community "public" answered: Ruijie RG-S5750',
      }),
    ]);
    await send((at) => [check('snmp-default-community', false, at)]);
    const s = await security();
    expect(s.state).toBe('met'); // the medium FTP finding is allowed by targets.security.maxOpenSeverity
    expect(s.reason).toContain('medium cleartext-ftp on 录播主机:21');
    const resolved = (
      await w.app!.inject({ method: 'GET', url: '/api/v1/findings?state=resolved' })
    ).json() as {
      findings: { rule: string }[];
    };
    expect(resolved.findings.map((f) => f.rule)).toEqual(['snmp-default-community']);
    const bad = await w.app!.inject({ method: 'GET', url: '/api/v1/findings?severity=urgent' });
    expect(bad.statusCode).toBe(400);
    expect((bad.json() as { message: string }).message).toContain('querystring/severity: must be one of');
  });
});
