/**
 * Accepting a security risk, the pure parts: a stored acceptance holds in later reports until its date,
 * the acceptance laid over the stored finding, when it ends, what changed in 24 h, the date's checks.
 * (The API on both stores: findings-accept.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_BASELINE_FILE, loadBaseline, parseBaseline } from '../../collector/src/baseline.js';
import {
  type Acceptance,
  dayEnd,
  effectiveState,
  type FindingRecord,
  findingKey,
  nextAcceptanceEnd,
  nextFindings,
  withAcceptance,
} from '../../collector/src/evaluate/findings.js';
import { type FindingView, findingChanges, untilProblem } from '../../collector/src/findings-view.js';
import type { SecurityResult } from '../../protocol/report.js';
import type { School } from '../../protocol/school.js';

const baseline = loadBaseline(DEFAULT_BASELINE_FILE);
const school: School = { id: 's1', name: '星海', timezone: 'Asia/Shanghai' };

function telnet(finding: boolean, at: string): SecurityResult {
  return {
    probe: 'security',
    target: '录播主机',
    outcome: 'ok',
    durationMs: 5,
    at,
    rule: 'cleartext-telnet',
    finding,
    evidence: finding ? 'TCP 23 open' : 'TCP 23 refused',
    port: 23,
  };
}

/** Applies a report to stored findings as the collector does: the store lays the acceptance over them. */
function apply(
  prev: FindingRecord[],
  results: SecurityResult[],
  acceptance: Acceptance | null,
  b = baseline,
) {
  const map = new Map(prev.map((f) => [findingKey(f), f]));
  for (const f of nextFindings(map, results, b, school)) map.set(findingKey(f), f);
  return [...map.values()].map((f) => withAcceptance(f, acceptance));
}

const ACCEPTANCE: Acceptance = {
  until: '2026-12-10',
  reason: '厂商 12 月更换设备 (vendor replaces it in December)',
  by: 'account:sip-oncall',
  at: '2026-12-01T02:00:00.000Z',
};

describe('a stored acceptance (pure)', () => {
  it('holds in the next reports until its date (local), then the finding is open again', () => {
    let f = apply([], [telnet(true, '2026-12-01T01:00:00.000Z')], null);
    expect(f[0]).toMatchObject({ state: 'open', acceptedUntil: null });
    f = f.map((x) => withAcceptance(x, ACCEPTANCE));
    expect(f[0]).toMatchObject({
      state: 'accepted',
      acceptedUntil: '2026-12-10',
      acceptedBy: 'account:sip-oncall',
    });
    // the next report, which the store writes: accepted by nextFindings itself (points, compliance at ingest)
    const map = new Map(f.map((x) => [findingKey(x), x]));
    const next = nextFindings(map, [telnet(true, '2026-12-10T15:59:00.000Z')], baseline, school); // 23:59 local
    expect(next[0]).toMatchObject({
      state: 'accepted',
      acceptedUntil: '2026-12-10',
      acceptedReason: ACCEPTANCE.reason,
      acceptedBy: 'account:sip-oncall',
      acceptedAt: ACCEPTANCE.at,
      count: 2,
    });
    // the day after its date (local): open again, between scans and at the next scan
    expect(effectiveState(next[0]!, new Date('2026-12-10T16:00:00.000Z'), 'Asia/Shanghai')).toBe('open');
    const after = nextFindings(
      new Map(next.map((x) => [findingKey(x), x])),
      [telnet(true, '2026-12-10T16:01:00.000Z')],
      baseline,
      school,
    );
    expect(after[0]).toMatchObject({ state: 'open', acceptedUntil: null, acceptedBy: null });
  });

  it('a finding resolved and back before the date is accepted again; the re-opening is kept', () => {
    let f = apply([], [telnet(true, '2026-12-01T01:00:00.000Z')], ACCEPTANCE);
    f = apply(f, [telnet(false, '2026-12-02T01:00:00.000Z')], ACCEPTANCE);
    expect(f[0]).toMatchObject({ state: 'resolved', resolvedAt: '2026-12-02T01:00:00.000Z' });
    f = apply(f, [telnet(true, '2026-12-03T01:00:00.000Z')], ACCEPTANCE);
    expect(f[0]).toMatchObject({ state: 'accepted', reopenedAt: '2026-12-03T01:00:00.000Z', count: 2 });
    f = apply(f, [telnet(true, '2026-12-04T01:00:00.000Z')], ACCEPTANCE);
    expect(f[0]!.reopenedAt).toBe('2026-12-03T01:00:00.000Z');
  });

  it('withdrawn, the acceptance a report copied into the record no longer counts', () => {
    const f = apply([], [telnet(true, '2026-12-01T01:00:00.000Z')], ACCEPTANCE);
    const written = nextFindings(
      new Map(f.map((x) => [findingKey(x), x])),
      [telnet(true, '2026-12-02T01:00:00.000Z')],
      baseline,
      school,
    )[0]!;
    expect(written.state).toBe('accepted');
    const read = withAcceptance(written, null);
    expect(read).toMatchObject({ state: 'open', acceptedUntil: null, acceptedReason: null });
    expect(read).not.toHaveProperty('acceptedBy');
  });

  it('an exception of config/baseline.yaml that lasts longer wins; a shorter one gives way', () => {
    const withException = (expires: string) =>
      parseBaseline(
        JSON.stringify({
          rules: baseline.rules,
          exceptions: [{ rule: 'cleartext-telnet', school: 's1', reason: '旧设备 (legacy)', expires }],
        }),
      );
    const long = apply(
      [],
      [telnet(true, '2026-12-01T01:00:00.000Z')],
      ACCEPTANCE,
      withException('2027-03-01'),
    );
    expect(long[0]).toMatchObject({
      state: 'accepted',
      acceptedUntil: '2027-03-01',
      acceptedReason: '旧设备 (legacy)',
    });
    expect(long[0]!.acceptedBy ?? null).toBeNull();
    const short = apply(
      [],
      [telnet(true, '2026-12-01T01:00:00.000Z')],
      ACCEPTANCE,
      withException('2026-12-05'),
    );
    expect(short[0]).toMatchObject({
      state: 'accepted',
      acceptedUntil: '2026-12-10',
      acceptedBy: 'account:sip-oncall',
    });
  });

  it('an acceptance ends at the first instant of the day after its date, in the school’s zone', () => {
    expect(dayEnd('2026-12-10', 'Asia/Shanghai')).toBe('2026-12-10T16:00:00.000Z');
    expect(dayEnd('2026-12-31', 'UTC')).toBe('2027-01-01T00:00:00.000Z');
    // New York: 8 March 2026 is the day clocks go forward (EST, −5 h, before it)
    expect(dayEnd('2026-03-07', 'America/New_York')).toBe('2026-03-08T05:00:00.000Z');
    expect(dayEnd('2026-03-08', 'America/New_York')).toBe('2026-03-09T04:00:00.000Z');
    const f = apply([], [telnet(true, '2026-12-01T01:00:00.000Z')], ACCEPTANCE);
    expect(nextAcceptanceEnd(f, new Date('2026-12-05T00:00:00Z'), 'Asia/Shanghai')).toBe(
      '2026-12-10T16:00:00.000Z',
    );
    // ended already, or nothing accepted: no end to wait for
    expect(nextAcceptanceEnd(f, new Date('2026-12-11T00:00:00Z'), 'Asia/Shanghai')).toBeNull();
    expect(
      nextAcceptanceEnd(apply([], [telnet(true, '2026-12-01T01:00:00.000Z')], null), new Date(), 'UTC'),
    ).toBeNull();
  });

  it('checks the date: a real day after today, at most 365 days ahead', () => {
    const now = new Date('2026-12-01T17:00:00Z'); // 2 Dec, 01:00 in Shanghai
    expect(untilProblem('2026-12-02', now, 'Asia/Shanghai')).toBe(
      'must be after today (2026-12-02, Asia/Shanghai)',
    );
    expect(untilProblem('2026-12-03', now, 'Asia/Shanghai')).toBeUndefined();
    expect(untilProblem('2027-12-02', now, 'Asia/Shanghai')).toBeUndefined();
    expect(untilProblem('2027-12-03', now, 'Asia/Shanghai')).toBe('at most 365 days ahead (2027-12-02)');
    expect(untilProblem('2027-02-30', now, 'Asia/Shanghai')).toBe('"2027-02-30" is not a date (YYYY-MM-DD)');
    expect(untilProblem('31/12/2026', now, 'Asia/Shanghai')).toMatch(/is not a date/);
  });

  it('what changed in the last 24 h: opened, re-opened, resolved, accepted, acceptance ended', () => {
    const view = (f: Partial<FindingRecord>): FindingView => ({
      schoolId: 's1',
      rule: 'cleartext-telnet',
      target: 't',
      port: 23,
      severity: 'high',
      mlps: 'x',
      state: 'open',
      evidence: '',
      value: null,
      firstSeen: '2026-11-01T00:00:00.000Z',
      lastSeen: '2026-12-01T00:00:00.000Z',
      count: 3,
      resolvedAt: null,
      acceptedUntil: null,
      acceptedReason: null,
      schoolName: '星海',
      district: null,
      timezone: 'Asia/Shanghai',
      title: null,
      remediation: null,
      ...f,
    });
    const now = new Date('2026-12-02T02:00:00.000Z');
    const changes = findingChanges(
      [
        view({ target: 'new', firstSeen: '2026-12-01T03:00:00.000Z' }),
        view({ target: 'old' }),
        view({ target: 'yesterday', firstSeen: '2026-12-01T01:59:00.000Z' }),
        view({ target: 'back', reopenedAt: '2026-12-01T20:00:00.000Z' }),
        view({ target: 'fixed', state: 'resolved', resolvedAt: '2026-12-02T01:00:00.000Z' }),
        view({
          target: 'accepted',
          state: 'accepted',
          acceptedUntil: '2026-12-20',
          acceptedBy: 'account:x',
          acceptedAt: '2026-12-01T10:00:00.000Z',
        }),
        // its acceptance ended at 00:00 Shanghai on 2 Dec (16:00 UTC on 1 Dec)
        view({ target: 'ended', state: 'open', acceptedUntil: '2026-12-01' }),
        view({ target: 'ended long ago', state: 'open', acceptedUntil: '2026-11-20' }),
      ],
      now,
    );
    expect(changes.map((c) => [c.kind, c.finding.target, c.at])).toEqual([
      ['resolved', 'fixed', '2026-12-02T01:00:00.000Z'],
      ['reopened', 'back', '2026-12-01T20:00:00.000Z'],
      ['expired', 'ended', '2026-12-01T16:00:00.000Z'],
      ['accepted', 'accepted', '2026-12-01T10:00:00.000Z'],
      ['opened', 'new', '2026-12-01T03:00:00.000Z'],
    ]);
  });
});
