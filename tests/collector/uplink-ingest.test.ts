import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BandwidthResult, Report, UplinkSnmpResult } from '../../protocol/report.js';
import { makeReport } from '../helpers/reports.js';
import { World, XINGHAI } from '../helpers/world.js';

/** Speed tests and SNMP port speeds reported over the API become the uplink_bandwidth and backbone rows. */
describe('uplink compliance through the API (embedded store)', () => {
  const w = new World();
  let token: string;
  let agentId: string;
  beforeAll(async () => {
    await w.startCollector();
    ({ token, agentId } = w.enrollDirect());
  });
  afterAll(() => w.cleanup());

  const post = (report: Report) => w.postReport(token, report);
  const speedtest = (at: string, direction: 'down' | 'up', mbps: number): BandwidthResult => ({
    probe: 'bandwidth',
    target: 'collector',
    outcome: 'ok',
    durationMs: 10_000,
    at,
    method: 'http',
    direction,
    mbps,
    streams: 4,
    durationS: 10,
    bytes: Math.round((mbps * 1e6 * 10) / 8),
  });
  const compliance = async () =>
    (
      (await w.app!.inject({ method: 'GET', url: `/api/v1/schools/${XINGHAI.id}` })).json() as {
        compliance: { target: string; state: string; value: number | null; goal: number; reason: string }[];
      }
    ).compliance;

  it('three tests below the medium-tier target (500 × 0.9) make uplink_bandwidth not met; a good one makes it met', async () => {
    for (let i = 0; i < 3; i++) {
      const base = makeReport({ agentId, schoolId: XINGHAI.id, at: new Date(Date.now() - (3 - i) * 60_000) });
      const at = base.startedAt;
      const res = await post({
        ...base,
        results: [speedtest(at, 'down', 400 + i), speedtest(at, 'up', 410 + i)],
      });
      expect(res.statusCode).toBe(200);
      const row = (await compliance()).find((c) => c.target === 'uplink_bandwidth')!;
      expect(row.state).toBe(i < 2 ? 'no_data' : 'not_met');
    }
    const row = (await compliance()).find((c) => c.target === 'uplink_bandwidth')!;
    expect(row).toMatchObject({ state: 'not_met', value: 401, goal: 500 });
    const good = makeReport({ agentId, schoolId: XINGHAI.id });
    await post({
      ...good,
      results: [speedtest(good.startedAt, 'down', 470), speedtest(good.startedAt, 'up', 480)],
    });
    expect((await compliance()).find((c) => c.target === 'uplink_bandwidth')).toMatchObject({
      state: 'met',
      goal: 500,
    });
  });

  it('SNMP port speeds give the backbone row', async () => {
    const base = makeReport({ agentId, schoolId: XINGHAI.id });
    const port = (
      ifName: string,
      role: 'core' | 'access',
      speed: number,
      ifIndex: number,
    ): UplinkSnmpResult => ({
      probe: 'uplink-snmp',
      target: '核心交换机',
      outcome: 'ok',
      durationMs: 3,
      at: base.startedAt,
      device: { name: '核心交换机', address: '10.203.9.1' },
      role,
      ifIndex,
      ifName,
      operUp: true,
      ifSpeedMbps: speed,
    });
    const res = await post({
      ...base,
      results: [
        port('TenGigabitEthernet 0/1', 'core', 10000, 1),
        port('GigabitEthernet 0/2', 'access', 100, 2),
      ],
    });
    expect(res.statusCode).toBe(200);
    const row = (await compliance()).find((c) => c.target === 'backbone')!;
    expect(row).toMatchObject({ state: 'not_met', value: 10000, goal: 10000 });
    expect(row.reason).toContain('GigabitEthernet 0/2 (access) 100 Mbps < 1000');
  });
});
