import { describe, expect, it } from 'vitest';
import { benchSchools, ReportTemplate } from '../../bench/school-profile.js';
import { RESULT_KINDS, RESULT_ROLLUPS, resultKindOf } from '../../collector/src/results/registry.js';
import { ReportLines } from '../../collector/src/store/line-protocol.js';
import { resultKey } from '../../collector/src/store/result-key.js';
import { ROLLUP_MEASUREMENTS } from '../../collector/src/store/retention.js';
import { PROBE_NAMES } from '../../protocol/probe-names.js';
import type { ProbeResult, Report } from '../../protocol/report.js';
import type { School } from '../../protocol/school.js';
import { pointOfLine } from '../helpers/line-protocol.js';

const AT = new Date('2026-12-02T02:00:00.000Z');
const school: School = { ...benchSchools(5)[4]!, district: '姑苏区' };

/** Results of the kinds the bench's reports do not hold (a new probe kind gives one here). */
const EXTRA: readonly ProbeResult[] = [
  {
    probe: 'live-class',
    target: '常州市专递课堂平台',
    outcome: 'ok',
    durationMs: 1100,
    at: AT.toISOString(),
    transport: 'udp-echo',
    host: '10.203.2.2',
    port: 7,
    rttMs: 40,
    rttP95Ms: 52,
    oneWayMs: 20,
    jitterMs: 3,
    lossPct: 0,
    sent: 50,
    received: 50,
    packetBytes: 200,
    limits: { oneWayMs: 150, jitterMs: 30, lossPct: 1 },
  },
];

/** Results of every probe kind: the bench's `full` cycle and its host probe, and EXTRA. */
function samples(): ProbeResult[] {
  const fill = (variant: 'full' | 'host') =>
    (JSON.parse(new ReportTemplate(4, 0, 1, variant).fill(school.id, 'ag_1', AT)) as Report).results;
  return [...fill('host').filter((r) => r.probe === 'host'), ...fill('full'), ...EXTRA];
}

const ctx = {
  school,
  tier: 'medium',
  uplinkGoalMbps: 500,
  shiftMs: 0,
  clockOffsetMs: 0,
  receivedAt: AT,
  compliance: [],
  maintenance: () => false,
};

/** The points a result's kind writes for it, as node-influx points. */
function pointsOf(r: ProbeResult) {
  const out = new ReportLines(school, ctx.tier);
  resultKindOf(r).lines(r, out, ctx);
  return out.lines.map(pointOfLine);
}

describe('result kinds (collector/src/results/)', () => {
  const all = samples();

  it('has a sample of every probe kind here', () => {
    expect(new Set(all.map((r) => r.probe))).toEqual(new Set(PROBE_NAMES));
  });

  it('lists each kind under its own name', () => {
    for (const probe of PROBE_NAMES) expect(RESULT_KINDS[probe].probe).toBe(probe);
  });

  it("keys a result under its own kind's prefix", () => {
    for (const r of all) expect(resultKey(r).startsWith(`${r.probe}|`)).toBe(true);
  });

  it('keeps results with different targets apart when keyHoldsTarget says so (mergeLatest relies on it)', () => {
    for (const r of all) {
      if (!resultKindOf(r).keyHoldsTarget) continue;
      const moved = { ...r, target: `${r.target} 另一台` } as ProbeResult;
      expect(resultKey(moved), `${r.probe} ${r.target}`).not.toBe(resultKey(r));
    }
    // and the kinds that say otherwise share a key across targets for at least one of their results
    for (const probe of PROBE_NAMES.filter((p) => !RESULT_KINDS[p].keyHoldsTarget)) {
      const shared = all
        .filter((r) => r.probe === probe)
        .some((r) => resultKey({ ...r, target: `${r.target} 另一台` } as ProbeResult) === resultKey(r));
      expect(shared, probe).toBe(true);
    }
  });

  it("rolls up only measurements and fields its kind writes, at the result's shifted time", () => {
    for (const probe of PROBE_NAMES) {
      const points = all.filter((r) => r.probe === probe).flatMap(pointsOf);
      for (const m of RESULT_KINDS[probe].rollups) {
        const written = points.filter((p) => p.measurement === m.measurement);
        expect(written.length, `${probe}: ${m.measurement}`).toBeGreaterThan(0);
        for (const f of m.fields)
          expect(
            written.some((p) => f in (p.fields ?? {})),
            `${probe}: ${m.measurement}.${f}`,
          ).toBe(true);
      }
    }
    const r = all.find((x) => x.probe === 'reachability')!;
    const out = new ReportLines(school, ctx.tier);
    resultKindOf(r).lines(r, out, { ...ctx, shiftMs: 90_000 });
    expect(out.lines.map((l) => Number(l.slice(l.lastIndexOf(' ') + 1)))).toEqual([
      Date.parse(r.at) - 90_000,
    ]);
  });

  it('rolls up every kind’s measurements once, then the collector’s own', () => {
    const names = ROLLUP_MEASUREMENTS.map((m) => m.measurement);
    expect(new Set(names).size).toBe(names.length);
    expect(names.slice(0, RESULT_ROLLUPS.length)).toEqual(RESULT_ROLLUPS.map((m) => m.measurement));
    expect(names.slice(RESULT_ROLLUPS.length)).toEqual(['compliance', 'agent']);
  });
});
