import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveClass } from '../../collector/src/evaluate/targets/live-class.js';
import type { SchoolEvidence } from '../../collector/src/evaluate/targets/target.js';
import { liveClassResults } from '../../collector/src/results/live-class.js';
import { ReportLines } from '../../collector/src/store/line-protocol.js';
import { parseTargets, targetsFor } from '../../collector/src/targets.js';
import { criterionOf } from '../../collector/src/term-report/criteria.js';
import type { LiveClassResult, Report } from '../../protocol/report.js';
import type { School } from '../../protocol/school.js';
import { pointOfLine } from '../helpers/line-protocol.js';
import { makeReport } from '../helpers/reports.js';
import { World } from '../helpers/world.js';

const school: School = {
  id: 'cz-wujin-1',
  name: '常州市武进区湖塘桥实验小学',
  district: '武进区',
  timezone: 'Asia/Shanghai',
};

const BASE_TARGETS =
  'uplink: {tiers: {small: {maxPupils: 1000, mbps: 300}, medium: {maxPupils: 2000, mbps: 500}, large: {mbps: 1000}}}\n' +
  'backbone: {coreMinMbps: 10000, accessMinMbps: 1000}\nipv6: {minScore: 9, districtGoalPct: 100}\n' +
  'recordingRoom: {minPerSchool: 1, districtGoalPct: 80}\nsmartClassroom: {minPerSchool: 1, districtGoalPct: 100}\n' +
  "deviceAvailability: {minPct: 95, teachingHours: {days: [mon], start: '08:00', end: '17:00'}}\n" +
  'security: {maxOpenSeverity: medium}\n';

/** A train's result: within the default limits unless changed. */
function train(at: string, over: Partial<LiveClassResult> = {}): LiveClassResult {
  return {
    probe: 'live-class',
    target: '常州市专递课堂平台',
    outcome: 'ok',
    durationMs: 1200,
    at,
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
    ...over,
  };
}

describe('live_class points (collector/src/results/live-class.ts)', () => {
  const ctx = {
    school,
    tier: 'small',
    uplinkGoalMbps: 300,
    shiftMs: 5000,
    clockOffsetMs: 5000,
    receivedAt: new Date(),
    compliance: [],
  };
  const pointOf = (r: LiveClassResult) => {
    const out = new ReportLines(school, 'small');
    liveClassResults.lines(r, out, ctx);
    expect(out.lines).toHaveLength(1);
    return pointOfLine(out.lines[0]!);
  };

  it('one point per train: platform tags, the numbers, the limits and met, at the shifted time', () => {
    const at = '2026-12-01T02:00:00.000Z';
    const p = pointOf(train(at));
    expect(p.measurement).toBe('live_class');
    expect(p.tags).toMatchObject({
      school: school.id,
      school_name: school.name,
      target: '常州市专递课堂平台',
      platform: '10.203.2.2:7',
      transport: 'udp-echo',
    });
    expect(p.fields).toMatchObject({
      rtt_ms: 40,
      one_way_ms: 20,
      jitter_ms: 3,
      loss_pct: 0,
      met: 1,
      sent: 50,
    });
    expect(Number(p.timestamp)).toBe(Date.parse(at) - 5000);
  });

  it('met 0 past any limit, and for a train without an echo (its numbers absent)', () => {
    const at = '2026-12-01T02:00:00.000Z';
    expect(pointOf(train(at, { jitterMs: 31 })).fields).toMatchObject({ met: 0 });
    expect(pointOf(train(at, { lossPct: 2 })).fields).toMatchObject({ met: 0 });
    expect(pointOf(train(at, { oneWayMs: 151, rttMs: 302 })).fields).toMatchObject({ met: 0 });
    const none = pointOf(
      train(at, {
        outcome: 'timeout',
        rttMs: undefined,
        rttP95Ms: undefined,
        oneWayMs: undefined,
        jitterMs: undefined,
        lossPct: 100,
        received: 0,
      }),
    );
    expect(none.fields).toMatchObject({ met: 0, loss_pct: 100, ok: 0 });
    expect(none.fields).not.toHaveProperty('rtt_ms');
  });

  it('keyed per platform', () => {
    const at = '2026-12-01T02:00:00.000Z';
    expect(liveClassResults.key(train(at))).toBe('live-class|常州市专递课堂平台');
  });
});

describe('live_class target (collector/src/evaluate/targets/live-class.ts)', () => {
  const targets = parseTargets(`${BASE_TARGETS}liveClass: {districtGoalPct: 90, maxAge: 1h}\n`);
  const now = new Date('2026-12-01T03:00:00.000Z');
  const evidence = (latest: LiveClassResult[]): SchoolEvidence => ({
    school,
    latest,
    speedtests: [],
    availability: { up: 0, total: 0 },
    findings: [],
    answeredRooms: new Set(),
    agents: [],
  });
  const fresh = '2026-12-01T02:30:00.000Z';

  it('met within the limits: value is the worst share of a limit (%), the numbers in the reason', () => {
    const row = liveClass.evaluate(evidence([train(fresh)]), targets, now);
    expect(row).toMatchObject({ target: 'live_class', state: 'met', goal: 100, value: 13.3 });
    expect(row.reason).toContain('one-way 20 ms, jitter 3 ms, loss 0%');
    expect(row.evidenceAt).toBe(fresh);
    expect(row.expiresAt).toBe('2026-12-01T03:30:00.000Z');
  });

  it('not met past a limit, naming which and by how much', () => {
    const row = liveClass.evaluate(evidence([train(fresh, { jitterMs: 45, lossPct: 10 })]), targets, now);
    expect(row).toMatchObject({ state: 'not_met', value: 1000 });
    expect(row.reason).toContain('jitter 45 ms > 30 ms');
    expect(row.reason).toContain('loss 10% > 1%');
    expect(row.reason).not.toContain('one-way delay');
  });

  it("the term report's criteria name the limits in both languages", () => {
    expect(criterionOf('live_class', targets, 'zh')).toContain('单向时延 ≤ 150 ms');
    expect(criterionOf('live_class', targets, 'en')).toContain('jitter ≤ 30 ms');
  });

  it('no data when the newest train is older than maxAge', () => {
    const row = liveClass.evaluate(evidence([train('2026-12-01T01:00:00.000Z')]), targets, now);
    expect(row.state).toBe('no_data');
    expect(row.reason).toContain('last at 2026-12-01T01:00:00.000Z');
  });

  it("a district's own maxAge applies (districts: overrides)", () => {
    const t = parseTargets(`${BASE_TARGETS}districts: {武进区: {liveClass: {maxAge: 10m}}}\n`);
    expect(t.liveClass.maxAge).toBe('1h');
    expect(liveClass.evaluate(evidence([train(fresh)]), t, now).state).toBe('met');
    // 30 minutes old: too old for 武进区's 10 minutes
    expect(liveClass.evaluate(evidence([train(fresh)]), targetsFor(t, '武进区'), now).state).toBe('no_data');
  });
});

describe('live_class through a real collector: the compliance row and the district KPI', () => {
  const schools: School[] = Array.from({ length: 4 }, (_, i) => ({
    id: `lc-${i}`,
    name: `专递课堂试点学校${i + 1}`,
    district: i < 2 ? '武进区' : '溧阳市',
    timezone: 'Asia/Shanghai',
  }));
  const T0 = Date.parse('2026-11-23T02:00:00Z');
  let seq = 0;
  const w = new World({ schools, now: () => new Date(T0 + seq * 1000 + 500) });
  const tokens = new Map<string, { token: string; agentId: string }>();
  beforeAll(async () => {
    await w.startCollector();
    for (const s of schools) tokens.set(s.id, w.enrollDirect(s.id, s.id));
  });
  afterAll(() => w.cleanup());

  const post = (schoolId: string, extra: (at: string) => LiveClassResult[]) => {
    const { token, agentId } = tokens.get(schoolId)!;
    const at = new Date(T0 + seq++ * 1000);
    const r: Report = makeReport({ agentId, schoolId, at });
    return w.postReport(token, { ...r, results: [...r.results, ...extra(at.toISOString())] });
  };

  it('1 of 4 schools within the limits → 25%; the unmeasured school counted as no data', async () => {
    expect((await post('lc-0', (at) => [train(at)])).statusCode).toBe(200);
    expect((await post('lc-1', (at) => [train(at, { jitterMs: 48.2 })])).statusCode).toBe(200);
    expect((await post('lc-2', (at) => [train(at, { lossPct: 10, received: 45 })])).statusCode).toBe(200);
    expect((await post('lc-3', () => [])).statusCode).toBe(200);
    const kpis = (await w.app!.inject({ method: 'GET', url: '/api/v1/compliance' })).json() as {
      overall: { targets: Record<string, { met: number; notMet: number; noData: number; pct: number }> };
      districts: { district: string; targets: Record<string, { met: number; pct: number }> }[];
    };
    expect(kpis.overall.targets.live_class).toMatchObject({ met: 1, notMet: 2, noData: 1, pct: 25 });
    const wujin = kpis.districts.find((d) => d.district === '武进区')!;
    expect(wujin.targets.live_class).toMatchObject({ met: 1, pct: 50 });
    const detail = (await w.app!.inject({ method: 'GET', url: '/api/v1/schools/lc-1' })).json() as {
      compliance: { target: string; state: string; reason: string }[];
    };
    const row = detail.compliance.find((c) => c.target === 'live_class')!;
    expect(row.state).toBe('not_met');
    expect(row.reason).toContain('jitter 48.2 ms > 30 ms');
    expect(row.reason).toContain('常州市专递课堂平台');
  });
});
