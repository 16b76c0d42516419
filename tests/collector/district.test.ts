import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Ipv6Result, Report } from '../../protocol/report.js';
import type { School } from '../../protocol/school.js';
import { makeReport } from '../helpers/reports.js';
import { World } from '../helpers/world.js';

const schools: School[] = Array.from({ length: 10 }, (_, i) => ({
  id: `school-${i}`,
  name: `第${i + 1}小学`,
  district: i < 6 ? '苏州工业园区' : '太仓市',
  group: i < 3 ? '星海教育集团' : i < 6 ? '金鸡湖教育集团' : '沙溪教育集团',
  timezone: 'Asia/Shanghai',
}));

/** District KPIs from real reports through the API (issue 5, acceptance 3; IPv6 rows of issue 4). */
describe('GET /api/v1/compliance', () => {
  let seq = 0;
  // Monday 2026-11-23 10:00 in Shanghai: inside teaching hours; the collector's clock follows the reports
  const T0 = Date.parse('2026-11-23T02:00:00Z');
  const w = new World({ schools, now: () => new Date(T0 + seq * 1000 + 500) });
  const tokens = new Map<string, { token: string; agentId: string }>();
  beforeAll(async () => {
    await w.startCollector();
    for (const s of schools) tokens.set(s.id, w.enrollDirect(s.id, s.id));
  });
  afterAll(() => w.cleanup());

  const post = (schoolId: string, build: (r: Report) => Report) => {
    const { token, agentId } = tokens.get(schoolId)!;
    const report = build(makeReport({ agentId, schoolId, at: new Date(T0 + seq++ * 1000) }));
    return w.postReport(token, report);
  };

  it('10 schools, 7 with a working recording room → 70%, below the 80% goal; per district and per group', async () => {
    for (const [i, s] of schools.entries()) {
      const up = i !== 2 && i !== 5 && i !== 8; // schools 2, 5, 8: the recorder is down
      const res = await post(s.id, (r) => ({
        ...r,
        results: r.results.map((x) =>
          x.probe === 'reachability' ? { ...x, up, outcome: up ? 'ok' : 'timeout' } : x,
        ),
      }));
      expect(res.statusCode).toBe(200);
    }
    const body = (await w.app!.inject({ method: 'GET', url: '/api/v1/compliance' })).json() as {
      overall: {
        schools: number;
        targets: Record<
          string,
          { met: number; notMet: number; pct: number; goalPct: number; goalMet: boolean }
        >;
      };
      districts: {
        district: string;
        schools: number;
        targets: Record<string, { pct: number; goalMet: boolean }>;
      }[];
      groups: {
        district: string;
        group: string;
        targets: Record<string, { met: number; notMet: number; pct: number }>;
      }[];
    };
    expect(body.overall.schools).toBe(10);
    expect(body.overall.targets.recording_room).toMatchObject({
      met: 7,
      notMet: 3,
      pct: 70,
      goalPct: 80,
      goalMet: false,
    });
    // every school reports its devices and none has a smart classroom: 未建, counted, not "no data"
    expect(body.overall.targets.smart_classroom).toMatchObject({
      met: 0,
      notMet: 10,
      noData: 0,
      pct: 0,
      goalPct: 100,
    });
    const byDistrict = Object.fromEntries(body.districts.map((d) => [d.district, d]));
    expect(byDistrict.苏州工业园区!.schools).toBe(6);
    expect(byDistrict.苏州工业园区!.targets.recording_room).toMatchObject({ pct: 66.7, goalMet: false });
    expect(byDistrict.太仓市!.targets.recording_room).toMatchObject({ pct: 75, goalMet: false });
    const group = body.groups.find((g) => g.group === '星海教育集团')!;
    expect(group).toMatchObject({ district: '苏州工业园区' });
    expect(group.targets.recording_room).toMatchObject({ met: 2, notMet: 1, pct: 66.7 });
    const filtered = (
      await w.app!.inject({
        method: 'GET',
        url: `/api/v1/compliance?district=${encodeURIComponent('太仓市')}`,
      })
    ).json() as {
      overall: { schools: number };
    };
    expect(filtered.overall.schools).toBe(4);
  });

  it('the IPv6 row follows the agent score and the school services', async () => {
    const score = (at: string, scoreV6: number, symptoms: string[]): Ipv6Result => ({
      probe: 'ipv6',
      target: 'agent-host',
      outcome: 'ok',
      durationMs: 100,
      at,
      check: 'score',
      ok: scoreV6 >= 9,
      scoreV6,
      scoreV4only: scoreV6,
      symptoms,
    });
    const service = (at: string, ok: boolean): Ipv6Result => ({
      probe: 'ipv6',
      target: 'https://www.school-0.example.edu.cn/',
      outcome: ok ? 'ok' : 'timeout',
      durationMs: 10,
      at,
      check: 'service',
      service: '学校网站',
      ok,
    });
    await post('school-0', (r) => ({
      ...r,
      results: [score(r.startedAt, 10, []), service(r.startedAt, true)],
    }));
    await post('school-1', (r) => ({ ...r, results: [score(r.startedAt, 0, ['no global IPv6 address'])] }));
    await post('school-3', (r) => ({
      ...r,
      results: [
        score(r.startedAt, 10, ['service 学校网站 not reachable over IPv6']),
        service(r.startedAt, false),
      ],
    }));
    const row = async (id: string) =>
      (
        (await w.app!.inject({ method: 'GET', url: `/api/v1/schools/${id}` })).json() as {
          compliance: { target: string; state: string; value: number; reason: string }[];
        }
      ).compliance.find((c) => c.target === 'ipv6')!;
    expect(await row('school-0')).toMatchObject({ state: 'met', value: 10 });
    const v4only = await row('school-1');
    expect(v4only).toMatchObject({ state: 'not_met', value: 0 });
    expect(v4only.reason).toContain('no global IPv6 address');
    const svc = await row('school-3');
    expect(svc.state).toBe('not_met');
    expect(svc.reason).toContain('service 学校网站 not reachable over IPv6');
    const kpi = (await w.app!.inject({ method: 'GET', url: '/api/v1/compliance' })).json() as {
      overall: { targets: Record<string, { met: number; notMet: number; pct: number }> };
    };
    // the seven schools without an IPv6 check are unmonitored, and in the denominator
    expect(kpi.overall.targets.ipv6).toMatchObject({ met: 1, notMet: 2, noData: 7, pct: 10 });
  });
});
