/**
 * The pure parts of the school page's model: the speed tests merged from both directions' history, the y
 * axis of the chart, the IPv6 run, and the findings not resolved in order with their rule's words.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_BASELINE_FILE, loadBaseline } from '../../collector/src/baseline.js';
import { ipv6Of, openFindings, speedTestPoints } from '../../collector/src/console/school-model.js';
import { niceCeil } from '../../collector/src/console/speed-chart.js';
import type { FindingRecord } from '../../collector/src/evaluate/findings.js';
import type { BandwidthResult, Ipv6Result } from '../../protocol/report.js';

const bw = (at: string, direction: 'down' | 'up', mbps: number, ok = true): BandwidthResult => ({
  probe: 'bandwidth',
  target: 'collector',
  outcome: ok ? 'ok' : 'timeout',
  durationMs: 10_000,
  at,
  method: 'http',
  direction,
  mbps: ok ? mbps : 0,
  streams: 4,
  durationS: 10,
  bytes: 1,
  ...(ok ? {} : { error: 'the speed-test slot was refused' }),
});

describe('speed tests from the history of both directions', () => {
  it('a down and the up that follows are one test; a failed run is a test without figures; oldest first', () => {
    const history = [
      // newest first, as the store answers
      bw('2026-12-03T18:00:30Z', 'up', 250),
      bw('2026-12-03T18:00:00Z', 'down', 310),
      bw('2026-12-02T18:00:00Z', 'up', 0, false),
      bw('2026-12-02T18:00:00Z', 'down', 0, false),
      bw('2026-12-01T18:05:00Z', 'up', 240),
      bw('2026-12-01T18:00:00Z', 'down', 300),
      bw('2026-11-30T18:00:00Z', 'down', 280), // its up was lost
    ];
    expect(speedTestPoints(history)).toEqual([
      { at: '2026-11-30T18:00:00Z', downMbps: 280, upMbps: null, error: null },
      { at: '2026-12-01T18:00:00Z', downMbps: 300, upMbps: 240, error: null },
      { at: '2026-12-02T18:00:00Z', downMbps: null, upMbps: null, error: 'the speed-test slot was refused' },
      { at: '2026-12-03T18:00:00Z', downMbps: 310, upMbps: 250, error: null },
    ]);
  });

  it('keeps the last ones only; two downs in a row are two tests', () => {
    const history = Array.from({ length: 40 }, (_, i) =>
      bw(new Date(Date.UTC(2026, 10, 1 + i, 18)).toISOString(), 'down', 100 + i),
    );
    const points = speedTestPoints(history, 30);
    expect(points).toHaveLength(30);
    expect(points[0]!.downMbps).toBe(110);
    expect(points.at(-1)!.downMbps).toBe(139);
    expect(
      speedTestPoints([bw('2026-12-01T18:00:00Z', 'down', 1), bw('2026-12-01T18:01:00Z', 'down', 2)]),
    ).toHaveLength(2);
  });

  it('the chart’s top is a round number whose quarters are round too', () => {
    expect([0, 0.7, 1, 1.1, 3, 24, 330, 1034, 1100, 2600].map(niceCeil)).toEqual([
      1, 0.8, 1, 1.2, 3, 24, 400, 1200, 1200, 3000,
    ]);
  });
});

describe('the IPv6 run and the findings of the page', () => {
  const v6 = (check: Ipv6Result['check'], at: string, extra: Partial<Ipv6Result> = {}): Ipv6Result => ({
    probe: 'ipv6',
    target: 't',
    outcome: 'ok',
    durationMs: 1,
    at,
    check,
    ok: true,
    ...extra,
  });

  it('the newest score and the checks of its run, in the probe’s order', () => {
    const latest = [
      v6('pmtu', '2026-12-01T02:00:05Z', { ok: false }),
      v6('host-address', '2026-12-01T02:00:01Z'),
      v6('tcp-v6', '2026-11-29T02:00:00Z'), // an older run's
      v6('score', '2026-12-01T02:00:10Z', { scoreV6: 1, scoreV4only: 1, symptoms: ['x'] }),
      v6('score', '2026-11-29T02:00:10Z', { scoreV6: 10, scoreV4only: 10 }),
    ];
    const r = ipv6Of(latest, 9)!;
    expect(r).toMatchObject({ at: '2026-12-01T02:00:10Z', scoreV6: 1, minScore: 9, symptoms: ['x'] });
    expect(r.checks.map((c) => c.check)).toEqual(['host-address', 'pmtu']);
    expect(ipv6Of([v6('pmtu', '2026-12-01T02:00:05Z')], 9)).toBeNull();
  });

  it('findings not resolved, most severe first, with the rule’s words; an expired acceptance is open', () => {
    const baseline = loadBaseline(DEFAULT_BASELINE_FILE);
    const f = (
      rule: string,
      state: FindingRecord['state'],
      extra: Partial<FindingRecord> = {},
    ): FindingRecord => ({
      schoolId: 's',
      rule,
      target: '录播主机',
      port: 0,
      severity: baseline.rules[rule]!.severity,
      mlps: '7.1.4.1',
      state,
      evidence: 'seen',
      value: null,
      firstSeen: '2026-11-01T00:00:00Z',
      lastSeen: '2026-12-01T00:00:00Z',
      count: 3,
      resolvedAt: null,
      acceptedUntil: null,
      acceptedReason: null,
      ...extra,
    });
    const now = new Date('2026-12-06T04:00:00Z');
    const rows = openFindings(
      [
        f('tls-expiring', 'open'),
        f('cleartext-ftp', 'resolved'),
        f('snmp-default-community', 'open'),
        f('rtsp-no-auth', 'accepted', { acceptedUntil: '2026-12-31', acceptedReason: '厂商整改中' }),
        f('cleartext-telnet', 'accepted', { acceptedUntil: '2026-12-01', acceptedReason: '过期' }),
      ],
      baseline,
      now,
      'Asia/Shanghai',
    );
    expect(rows.map((r) => [r.rule, r.state])).toEqual([
      ['snmp-default-community', 'open'],
      ['cleartext-telnet', 'open'],
      ['rtsp-no-auth', 'accepted'],
      ['tls-expiring', 'open'],
    ]);
    expect(rows[1]).toMatchObject({ acceptedUntil: null, acceptedReason: null });
    expect(rows[0]).toMatchObject({
      title: baseline.rules['snmp-default-community']!.title,
      remediation: baseline.rules['snmp-default-community']!.remediation,
      remediationZh: baseline.rules['snmp-default-community']!.remediationZh,
    });
  });
});
