import { describe, expect, it } from 'vitest';
import {
  degradationRatio,
  SCORE_TABLE,
  type ServiceFacts,
  SYMPTOMS,
  scoreIpv6,
  serviceSymptoms,
} from '../../agent/src/probes/ipv6/score.js';
import { type Ipv6Result, RESULT_SCHEMAS } from '../../protocol/report.js';
import { checker } from '../../protocol/validate.js';

// Acceptance 7: the score table as pure functions, one case per symptom.

const schema = checker<Ipv6Result>(RESULT_SCHEMAS.ipv6);

type Check = Ipv6Result['check'];

function row(check: Check, target: string, patch: Partial<Ipv6Result> = {}): Ipv6Result {
  const r: Ipv6Result = {
    probe: 'ipv6',
    check,
    target,
    ok: true,
    outcome: 'ok',
    durationMs: 1,
    at: '2026-03-02T08:00:00.000Z',
  };
  for (const [k, v] of Object.entries(patch)) {
    // `undefined` in a patch removes the field
    if (v === undefined) delete (r as Record<string, unknown>)[k];
    else (r as Record<string, unknown>)[k] = v;
  }
  if (!schema.check(r))
    throw new Error(`test row does not fit the schema: ${JSON.stringify(schema.problems(r))}`);
  return r;
}

const failed = (patch: Partial<Ipv6Result> = {}): Partial<Ipv6Result> => ({
  ok: false,
  outcome: 'error',
  ...patch,
});

/** A healthy dual-stack school: every check passes. */
function healthy(): Ipv6Result[] {
  return [
    row('host-address', 'agent-box', { family: 6, address: '2001:db8:4::2', detail: 'static' }),
    row('default-route', 'agent-box', { family: 6, address: 'fe80::1' }),
    row('dns-aaaa', 'centre.example.test', { address: '2001:db8:5::2', ms: 0.4 }),
    row('dns-resolver-v6', 'resolver', { family: 6, address: '2001:db8:5::53', ms: 0.5 }),
    row('dns-v6-only', 'v6only.example.test', { ms: 0.4 }),
    row('tcp-v6', 'centre', { family: 6, ms: 1.0 }),
    row('tcp-v4', 'centre', { family: 4, ms: 1.0 }),
    row('http-v6', 'centre', { family: 6, ms: 2.0 }),
    row('http-v4', 'centre', { family: 4, ms: 2.0 }),
    row('dual-stack', 'ds.example.test', { family: 6, ms: 1.2 }),
    row('pmtu', 'mtu.example.test', { family: 6, ms: 3 }),
    row('service', 'www.example.test', { service: 'website', family: 6, symptoms: [] }),
  ];
}

/** `healthy()` with the row of `check` (and `target`, if given) patched. */
function withRow(check: Check, patch: Partial<Ipv6Result>, target?: string): Ipv6Result[] {
  return healthy().map((r) =>
    r.check === check && (target === undefined || r.target === target)
      ? row(r.check, r.target, { ...r, ...patch })
      : r,
  );
}

function facts(patch: Partial<ServiceFacts> = {}): ServiceFacts {
  return {
    name: 'website',
    aaaa: true,
    v6: 'ok',
    v4: 'ok',
    sameContent: true,
    tlsV6: 'valid',
    tlsV4: 'valid',
    ...patch,
  };
}

function serviceRow(f: ServiceFacts): Partial<Ipv6Result> {
  return { service: f.name, ok: serviceSymptoms(f).length === 0, symptoms: serviceSymptoms(f) };
}

describe('scoreIpv6: one case per symptom (test-ipv6.com pairs)', () => {
  it('a healthy dual stack scores 10/10 with no symptom', () => {
    const s = scoreIpv6(healthy());
    expect(s).toMatchObject({ scoreV6: 10, scoreV4only: 10, symptoms: [] });
    expect(s.degradation).toBe(0);
    expect(s.rttDegradation).toBe(0);
  });

  const cases: {
    name: string;
    checks: () => Ipv6Result[];
    v6: number;
    v4only: number;
    symptoms: string[];
  }[] = [
    {
      name: 'no global address (IPv4-only school; the transport failures that follow are not listed)',
      checks: () =>
        healthy().map((r) => {
          if (r.check === 'host-address') return row(r.check, r.target, failed({ outcome: 'unreachable' }));
          if (
            r.check === 'tcp-v6' ||
            r.check === 'http-v6' ||
            r.check === 'pmtu' ||
            r.check === 'dns-resolver-v6'
          )
            return row(
              r.check,
              r.target,
              failed({ family: 6, address: '2001:db8:5::2', outcome: 'unreachable' }),
            );
          return r;
        }),
      v6: 0,
      v4only: 0,
      symptoms: ['no global IPv6 address'],
    },
    {
      name: 'no default route',
      checks: () => withRow('default-route', failed({ outcome: 'unreachable' })),
      v6: 0,
      v4only: 0,
      symptoms: ['no IPv6 default route'],
    },
    {
      name: 'IPv6 TCP connections fail where IPv4 works (broken IPv6)',
      checks: () =>
        withRow('tcp-v6', failed({ outcome: 'timeout', family: 6, address: '2001:db8:5::2', ms: undefined })),
      v6: 0,
      v4only: 0,
      symptoms: ['IPv6 connections fail'],
    },
    {
      name: 'IPv6 HTTP fails where IPv4 HTTP works',
      checks: () =>
        withRow('http-v6', failed({ outcome: 'refused', address: '2001:db8:5::2', ms: undefined })),
      v6: 0,
      v4only: 0,
      symptoms: ['IPv6 connections fail'],
    },
    {
      name: 'path MTU: large responses do not arrive',
      checks: () => withRow('pmtu', failed({ outcome: 'timeout' })),
      v6: 1,
      v4only: 1,
      symptoms: ['large IPv6 responses do not arrive (path MTU)'],
    },
    {
      name: 'IPv6 slow (connect time 3× IPv4)',
      checks: () =>
        withRow('tcp-v6', { ms: 60 }).map((r) =>
          r.check === 'tcp-v4' ? row(r.check, r.target, { ...r, ms: 20 }) : r,
        ),
      v6: 10,
      v4only: 5,
      symptoms: ['IPv6 slower than IPv4 (ratio 2.00)'],
    },
    {
      name: 'IPv6 slow (request time, where there is no connect time to compare)',
      checks: () =>
        withRow('http-v6', { ms: 250 }).map((r) => {
          if (r.check === 'http-v4') return row(r.check, r.target, { ...r, ms: 100 });
          if (r.check === 'tcp-v6' || r.check === 'tcp-v4')
            return row(r.check, r.target, failed({ error: 'not run' }));
          return r;
        }),
      v6: 10,
      v4only: 5,
      symptoms: ['IPv6 slower than IPv4 (ratio 1.50)'],
    },
    {
      name: 'the resolver returns no AAAA for a name',
      checks: () => withRow('dns-aaaa', failed({ address: undefined, detail: 'no AAAA record (ENODATA)' })),
      v6: 10,
      v4only: 0,
      symptoms: ['resolver returns no AAAA for centre.example.test'],
    },
    {
      name: 'the IPv6-only name does not resolve',
      checks: () => withRow('dns-v6-only', failed()),
      v6: 10,
      v4only: 0,
      symptoms: ['IPv6-only name does not resolve'],
    },
    {
      name: 'the resolver is not reachable over IPv6',
      checks: () => withRow('dns-resolver-v6', failed({ outcome: 'timeout' })),
      v6: 10,
      v4only: 9,
      symptoms: ['resolver not reachable over IPv6'],
    },
    {
      name: 'a service without AAAA',
      checks: () =>
        withRow('service', serviceRow(facts({ aaaa: false, v6: 'untested', sameContent: undefined }))),
      v6: 10,
      v4only: 0,
      symptoms: ['service website has no AAAA'],
    },
    {
      name: 'a service not reachable over IPv6',
      checks: () =>
        withRow('service', serviceRow(facts({ v6: 'failed', sameContent: undefined, tlsV6: 'untested' }))),
      v6: 5,
      v4only: 0,
      symptoms: ['service website not reachable over IPv6'],
    },
    {
      name: 'a service that serves other content over IPv6',
      checks: () => withRow('service', serviceRow(facts({ sameContent: false }))),
      v6: 7,
      v4only: 7,
      symptoms: ['service website differs over IPv4 and IPv6'],
    },
    {
      name: 'a service whose certificate is invalid over IPv6 only',
      checks: () => withRow('service', serviceRow(facts({ tlsV6: 'invalid' }))),
      v6: 1,
      v4only: 1,
      symptoms: ['service website TLS invalid over IPv6'],
    },
  ];

  for (const c of cases) {
    it(`${c.name} → ${c.v6}/${c.v4only}`, () => {
      const s = scoreIpv6(c.checks());
      expect(s.symptoms).toEqual(c.symptoms);
      expect([s.scoreV6, s.scoreV4only]).toEqual([c.v6, c.v4only]);
    });
  }

  it('every symptom kind has a case above, with the pair of the table', () => {
    expect(Object.keys(SCORE_TABLE).sort()).toEqual(Object.keys(SYMPTOMS).sort());
    // The pairs the issue names: broken 0/0, slow 10/5, MTU 1/1, resolver without IPv6 10/9.
    expect(SCORE_TABLE.connectionsFail).toEqual([0, 0]);
    expect(SCORE_TABLE.slow).toEqual([10, 5]);
    expect(SCORE_TABLE.pathMtu).toEqual([1, 1]);
    expect(SCORE_TABLE.resolverNotV6).toEqual([10, 9]);
    // IPv4-only: test-ipv6.com's 10/0 reinterpreted as 0/0 (see ipv6/score.ts).
    expect(SCORE_TABLE.noGlobalAddress).toEqual([0, 0]);
  });
});

describe('scoreIpv6: combining and reading the checks', () => {
  it('each score is the minimum over the symptoms; symptoms are listed most severe first', () => {
    const checks = withRow('dns-resolver-v6', failed()).map((r) =>
      r.check === 'pmtu' ? row(r.check, r.target, { ...r, ...failed({ outcome: 'timeout' }) }) : r,
    );
    const s = scoreIpv6(checks);
    expect(s.symptoms).toEqual([
      'large IPv6 responses do not arrive (path MTU)',
      'resolver not reachable over IPv6',
    ]);
    expect([s.scoreV6, s.scoreV4only]).toEqual([1, 1]);
  });

  it('names every name without AAAA', () => {
    const checks = [
      ...withRow('dns-aaaa', failed()),
      row('dns-aaaa', 'portal.example.test', failed()),
      row('dns-aaaa', 'ok.example.test'),
    ];
    expect(scoreIpv6(checks).symptoms).toEqual([
      'resolver returns no AAAA for centre.example.test',
      'resolver returns no AAAA for portal.example.test',
    ]);
  });

  it('a row with `error` (could not be checked) is no symptom', () => {
    const checks = healthy().map((r) =>
      r.check === 'tcp-v6' || r.check === 'http-v6' || r.check === 'pmtu' || r.check === 'default-route'
        ? row(r.check, r.target, failed({ error: 'no IPv6 address for centre.example.test (ENOTFOUND)' }))
        : r,
    );
    expect(scoreIpv6(checks)).toMatchObject({ scoreV6: 10, scoreV4only: 10, symptoms: [] });
  });

  it('a target down over both families says nothing about IPv6', () => {
    const checks = healthy().map((r) =>
      r.check === 'tcp-v6' || r.check === 'tcp-v4'
        ? row(
            r.check,
            r.target,
            failed({ outcome: 'refused', address: r.check === 'tcp-v6' ? '2001:db8::1' : '10.0.0.1' }),
          )
        : r,
    );
    expect(scoreIpv6(checks).symptoms).toEqual([]);
  });

  it('an IPv6 failure counts when the target has no IPv4 to compare with', () => {
    const checks = withRow(
      'tcp-v6',
      failed({ outcome: 'timeout', address: '2001:db8::1', ms: undefined }),
    ).map((r) =>
      r.check === 'tcp-v4'
        ? row(r.check, r.target, failed({ error: 'no IPv4 address for v6only (ENOTFOUND)' }))
        : r,
    );
    expect(scoreIpv6(checks).symptoms).toEqual(['IPv6 connections fail']);
  });

  it('no default route hides the transport symptoms that follow from it, not the DNS ones', () => {
    const checks = healthy().map((r) => {
      if (r.check === 'default-route') return row(r.check, r.target, failed({ outcome: 'unreachable' }));
      if (r.check === 'tcp-v6' || r.check === 'pmtu' || r.check === 'dns-resolver-v6')
        return row(r.check, r.target, failed({ outcome: 'unreachable', address: '2001:db8::1' }));
      if (r.check === 'dns-aaaa') return row(r.check, r.target, failed());
      if (r.check === 'service')
        return row(r.check, r.target, { ...r, ...serviceRow(facts({ v6: 'failed' })) });
      return r;
    });
    const s = scoreIpv6(checks);
    expect(s.symptoms).toEqual(['no IPv6 default route', 'resolver returns no AAAA for centre.example.test']);
    expect([s.scoreV6, s.scoreV4only]).toEqual([0, 0]);
  });

  it('sub-millisecond differences are no slowness (LAN noise), whatever the ratio', () => {
    const checks = withRow('tcp-v6', { ms: 0.3 }).map((r) =>
      r.check === 'tcp-v4' ? row(r.check, r.target, { ...r, ms: 0.1 }) : r,
    );
    const s = scoreIpv6(checks);
    expect(s.degradation).toBe(2);
    expect(s.symptoms).toEqual([]);
    expect(scoreIpv6(checks, { slowMinDiffMs: 0.1 }).symptoms).toEqual([
      'IPv6 slower than IPv4 (ratio 2.00)',
    ]);
  });

  it('the connect-time ratio decides; a slow single request alone is no slowness', () => {
    const checks = withRow('http-v6', { ms: 250 }).map((r) =>
      r.check === 'http-v4' ? row(r.check, r.target, { ...r, ms: 100 }) : r,
    );
    const s = scoreIpv6(checks);
    expect(s.rttDegradation).toBe(1.5);
    expect(s.degradation).toBe(0);
    expect(s.symptoms).toEqual([]);
  });

  it('slowRatio is the configured threshold', () => {
    const checks = withRow('tcp-v6', { ms: 40 }).map((r) =>
      r.check === 'tcp-v4' ? row(r.check, r.target, { ...r, ms: 25 }) : r,
    );
    expect(scoreIpv6(checks).symptoms).toEqual(['IPv6 slower than IPv4 (ratio 0.60)']);
    expect(scoreIpv6(checks, { slowRatio: 1 }).symptoms).toEqual([]);
  });
});

describe('serviceSymptoms and degradationRatio', () => {
  it('only IPv6-specific service problems are symptoms', () => {
    expect(serviceSymptoms(facts())).toEqual([]);
    expect(serviceSymptoms(facts({ aaaa: false, v6: 'untested' }))).toEqual([
      SYMPTOMS.serviceNoAaaa('website'),
    ]);
    expect(serviceSymptoms(facts({ v6: 'failed' }))).toEqual(['service website not reachable over IPv6']);
    // down over both families: not an IPv6 problem
    expect(serviceSymptoms(facts({ v6: 'failed', v4: 'failed', sameContent: undefined }))).toEqual([]);
    // an IPv6-only service that fails is
    expect(serviceSymptoms(facts({ v6: 'failed', v4: 'untested' }))).toEqual([
      'service website not reachable over IPv6',
    ]);
    expect(serviceSymptoms(facts({ sameContent: undefined }))).toEqual([]);
    expect(serviceSymptoms(facts({ sameContent: false }))).toEqual([
      'service website differs over IPv4 and IPv6',
    ]);
    // invalid over both families: the baseline's TLS rules see it, not an IPv6 problem
    expect(serviceSymptoms(facts({ tlsV6: 'invalid', tlsV4: 'invalid' }))).toEqual([]);
    expect(serviceSymptoms(facts({ tlsV6: 'invalid', tlsV4: 'n/a' }))).toEqual([
      'service website TLS invalid over IPv6',
    ]);
  });

  it('(v6 − v4) / v4, bounded like the report schema', () => {
    expect(degradationRatio(15, 10)).toBe(0.5);
    expect(degradationRatio(5, 10)).toBe(-0.5);
    expect(degradationRatio(10, 0)).toBeUndefined();
    expect(degradationRatio(1e9, 1e-3)).toBe(1e6);
  });
});
