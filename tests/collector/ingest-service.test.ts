// The ingest service (collector/src/ingest/service.ts) called directly on a real collector's context: each
// way a report can end is one typed outcome, and only a stored report changes the school's state.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type IngestRequest, ingestService } from '../../collector/src/ingest/service.js';
import type { Report } from '../../protocol/report.js';
import { freePorts } from '../helpers/influxd.js';
import { makeReport } from '../helpers/reports.js';
import { World, XINGHAI } from '../helpers/world.js';

const OTHER = {
  id: 'tc-shaxi-primary',
  name: '太仓市沙溪第一小学',
  district: '太仓市',
  area: 'rural',
  timezone: 'Asia/Shanghai',
} as const;

const DEVICE = '录播主机 A1, 东楼';
const silent = { warn: () => undefined, error: () => undefined };

describe('ingest service outcomes (embedded store)', () => {
  const w = new World({
    schools: [XINGHAI, OTHER],
    collector: { budgets: { schools: { [XINGHAI.id]: { resultsPerReport: 3 } } } },
  });
  let a: { agentId: string; token: string };
  let b: { agentId: string; token: string };
  let service: ReturnType<typeof ingestService>;
  beforeAll(async () => {
    await w.startCollector();
    a = w.enrollDirect(XINGHAI.id, 'box-a');
    b = w.enrollDirect(XINGHAI.id, 'box-b');
    service = ingestService(w.app!.campuswatch);
  });
  afterAll(() => w.cleanup());

  const agentOf = async (id: string) =>
    (await w.app!.campuswatch.state.listAgents(XINGHAI.id)).find((x) => x.id === id)!;
  const request = async (report: Report, over: Partial<IngestRequest> = {}): Promise<IngestRequest> => ({
    agent: await agentOf(report.agentId),
    report,
    receivedAt: () => new Date(),
    sentAt: new Date().toISOString(),
    log: silent,
    ...over,
  });
  const report = (agentId: string, over: Partial<Report> = {}): Report => ({
    ...makeReport({ agentId, schoolId: XINGHAI.id, device: DEVICE }),
    ...over,
  });

  it('stores a report once, then answers duplicate; the UTF-8 device name is the latest result', async () => {
    const r = report(a.agentId);
    expect(await service.ingest(await request(r))).toEqual({
      kind: 'stored',
      reportId: r.reportId,
      clockOffsetS: expect.any(Number),
      shifted: false,
    });
    expect(await service.ingest(await request(r))).toEqual({ kind: 'duplicate', reportId: r.reportId });
    const latest = await w.app!.campuswatch.state.latestResults(XINGHAI.id);
    expect(latest.map((x) => x.target)).toEqual([DEVICE]);
    expect((await w.app!.campuswatch.state.getIngest(r.reportId))?.state).toBe('done');
  });

  it('shifts a report whose agent clock is off past clock.maxOffsetS, and says so', async () => {
    const r = report(a.agentId);
    const ahead = new Date(Date.now() + 3_600_000).toISOString();
    const outcome = await service.ingest(await request(r, { sentAt: ahead }));
    expect(outcome).toMatchObject({ kind: 'stored', reportId: r.reportId, shifted: true });
    expect(outcome.kind === 'stored' && outcome.clockOffsetS).toBeGreaterThan(3590);
  });

  it('rejects with a reason, a status and a message naming what is wrong; nothing is stored', async () => {
    const ours = report(a.agentId);
    const cases: [string, Promise<IngestRequest>, number, RegExp][] = [
      ['agent-mismatch', request(ours, { agent: await agentOf(b.agentId) }), 403, /agentId "ag_/],
      ['school-mismatch', request(report(a.agentId, { schoolId: OTHER.id })), 403, /bound to school "sz-/],
      [
        'bad-sent-at',
        request(report(a.agentId), { sentAt: 'yesterday' }),
        400,
        /x-campuswatch-sent-at: "yesterday"/,
      ],
      [
        'time-out-of-range',
        request(
          report(a.agentId, {
            results: [{ ...ours.results[0]!, at: new Date(Date.now() + 86_400_000).toISOString() }],
          }),
        ),
        400,
        /^results\/0\/at: .* 1 days? .*in the future|^results\/0\/at: .*23\.\d h|^results\/0\/at: .*24 h/,
      ],
      [
        'duplicate-identities',
        request(report(a.agentId, { results: [ours.results[0]!, ours.results[0]!] })),
        400,
        /^results: 1 device identities .*\(2 times\)/,
      ],
    ];
    for (const [reason, req, status, message] of cases) {
      const r = await req;
      const outcome = await service.ingest(r);
      expect(outcome, reason).toMatchObject({ kind: 'rejected', reason, status });
      expect(outcome.kind === 'rejected' && outcome.message, reason).toMatch(message);
      expect(await w.app!.campuswatch.state.getIngest(r.report.reportId), reason).toBeUndefined();
    }
  });

  it('refuses a report id another agent began (409), and answers a done one as a duplicate to anyone', async () => {
    // a report whose journal row was committed before its series (a large clock offset), then a crash
    const r = report(a.agentId);
    await w.app!.campuswatch.state.beginIngest({
      reportId: r.reportId,
      agentId: a.agentId,
      schoolId: XINGHAI.id,
      shiftMs: 0,
      finishedAt: r.finishedAt,
    });
    expect(await service.ingest(await request({ ...r, agentId: b.agentId }))).toEqual({
      kind: 'rejected',
      status: 409,
      reason: 'report-id-taken',
      message: `reportId ${r.reportId} was already sent by another agent`,
    });
    expect(await service.ingest(await request(r))).toMatchObject({ kind: 'stored', reportId: r.reportId });
    expect(await service.ingest(await request({ ...r, agentId: b.agentId }))).toEqual({
      kind: 'duplicate',
      reportId: r.reportId,
    });
  });

  it('refuses a report over its school budget with the budget, and notes it for the alert', async () => {
    const base = report(a.agentId).results[0]!;
    if (base.probe !== 'reachability') throw new Error('makeReport gives a reachability result first');
    const results = [1, 2, 3, 4].map((i) => ({
      ...base,
      target: `${DEVICE} ${i}`,
      device: { ...base.device, name: `${DEVICE} ${i}` },
    }));
    const outcome = await service.ingest(await request(report(a.agentId, { results })));
    expect(outcome).toMatchObject({
      kind: 'rejected',
      status: 422,
      reason: 'over-budget',
      budget: { budget: 'resultsPerReport', limit: 3, count: 4 },
    });
    expect(outcome.kind === 'rejected' && outcome.message).toMatch(/resultsPerReport/);
    const noted = await w.app!.campuswatch.state.budgetRefusals(new Date(Date.now() - 60_000));
    expect(noted).toEqual([
      expect.objectContaining({
        schoolId: XINGHAI.id,
        agentId: a.agentId,
        budget: 'resultsPerReport',
        limit: 3,
        count: 4,
      }),
    ]);
  });
});

describe('ingest service outcomes (InfluxDB away)', () => {
  let w: World;
  let a: { agentId: string };
  beforeAll(async () => {
    // a loopback port nothing listens on: every write is refused at connect
    const [port] = await freePorts(1);
    w = new World({ influxUrl: `http://127.0.0.1:${port}`, database: 'cw_away' });
    await w.startCollector();
    a = w.enrollDirect(XINGHAI.id, 'box-a');
  });
  afterAll(() => w?.cleanup());

  it('asks the agent to retry later (503, ingest.retryAfterS) and stores nothing', async () => {
    const service = ingestService(w.app!.campuswatch);
    const r = makeReport({ agentId: a.agentId, schoolId: XINGHAI.id, device: DEVICE });
    const agent = (await w.app!.campuswatch.state.listAgents(XINGHAI.id))[0]!;
    const outcome = await service.ingest({
      agent,
      report: r,
      receivedAt: () => new Date(),
      sentAt: undefined,
      log: silent,
    });
    expect(outcome).toEqual({
      kind: 'retry-later',
      status: 503,
      reason: 'series-store-unavailable',
      retryAfterS: 1,
      message: 'the time-series store is unavailable; keep the report and retry later',
    });
    expect(await w.app!.campuswatch.state.latestResults(XINGHAI.id)).toEqual([]);
  });
});
