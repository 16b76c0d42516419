import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../protocol/report.js';
import { makeReport } from '../helpers/reports.js';
import { World, XINGHAI } from '../helpers/world.js';

/** Issue 5 acceptance 2 (collector side): teaching hours decide what an outage is. */
describe('recording rooms, teaching hours and availability through the API', () => {
  let now = new Date('2026-11-23T02:00:00Z'); // Monday 10:00 Shanghai
  const w = new World();
  let token: string;
  let agentId: string;
  beforeAll(async () => {
    await w.startCollector();
    w.app!.campuswatch.now = () => now;
    ({ token, agentId } = w.enrollDirect());
  });
  afterAll(() => w.cleanup());

  const send = async (at: string, up: boolean) => {
    const base = makeReport({ agentId, schoolId: XINGHAI.id, at: new Date(at), device: '录播编码器' });
    const report: Report = {
      ...base,
      results: base.results.map((x) =>
        x.probe === 'reachability' ? { ...x, up, outcome: up ? 'ok' : 'timeout' } : x,
      ),
    };
    const res = await w.postReport(token, report);
    expect(res.statusCode).toBe(200);
    return (await w.app!.inject({ method: 'GET', url: `/api/v1/schools/${XINGHAI.id}` })).json() as {
      compliance: { target: string; state: string; value: number | null; reason: string }[];
      alertCandidates: { rule: string; room: string; minutes: number }[];
    };
  };
  const row = (d: Awaited<ReturnType<typeof send>>, t: string) => d.compliance.find((c) => c.target === t)!;

  it('encoder down on Monday 10:00 → room down, recording_room_working not met; an alert candidate after 10 minutes', async () => {
    let d = await send('2026-11-23T02:00:00Z', false);
    expect(row(d, 'recording_room_working')).toMatchObject({ state: 'not_met', value: 0 });
    expect(row(d, 'recording_room_working').reason).toContain('录播室 1: 录播编码器 (icmp timeout)');
    expect(d.alertCandidates).toEqual([]);
    now = new Date('2026-11-23T02:11:00Z');
    d = await send('2026-11-23T02:11:00Z', false);
    expect(d.alertCandidates).toEqual([
      expect.objectContaining({ rule: 'recording_room_down', room: '录播室 1', minutes: 11 }),
    ]);
    expect(row(d, 'device_availability')).toMatchObject({ state: 'not_met', value: 0 });
  });

  it('the same encoder down at 22:00 on a Saturday is not an outage', async () => {
    now = new Date('2026-11-28T14:00:00Z'); // Saturday 22:00 Shanghai
    const d = await send('2026-11-28T14:00:00Z', false);
    expect(row(d, 'recording_room_working').state).toBe('met');
    expect(row(d, 'recording_room_working').reason).toContain('off outside teaching hours');
    expect(d.alertCandidates).toEqual([]); // the down-since closed
    // and the Saturday sample did not count against availability (still 0 of 2 from Monday)
    expect(row(d, 'device_availability').reason).toMatch(/^0% of 2 critical-device checks/);
  });

  it('availability over the window: 2 down + 198 up in teaching hours → 99% met', async () => {
    now = new Date('2026-11-24T02:00:00Z');
    let d: Awaited<ReturnType<typeof send>> | undefined;
    // the collector's clock moves with the reports (results from its future are refused)
    for (let i = 0; i < 198; i++) {
      now = new Date(Date.parse('2026-11-24T02:00:00Z') + i * 60_000);
      d = await send(now.toISOString(), true);
    }
    expect(row(d!, 'device_availability')).toMatchObject({ state: 'met', value: 99 });
  });
});
