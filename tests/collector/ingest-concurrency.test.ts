import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SENT_AT_HEADER } from '../../protocol/version.js';
import { makeReport } from '../helpers/reports.js';
import { sqliteOf, World, XINGHAI } from '../helpers/world.js';

/**
 * An InfluxDB stand-in whose writes wait until the test releases them: the only way to hold a write
 * open at a chosen moment. It answers /ping and /query as InfluxDB 1.x does.
 */
class HeldInflux {
  server: Server;
  writes = 0;
  private waiting: Array<() => void> = [];
  private arrived: Array<() => void> = [];
  constructor() {
    this.server = createServer((req: IncomingMessage, res) => {
      req.resume();
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === '/ping') return res.writeHead(204).end();
      if (url.pathname === '/query')
        return res
          .writeHead(200, { 'content-type': 'application/json' })
          .end('{"results":[{"statement_id":0}]}');
      if (url.pathname === '/write') {
        this.writes++;
        this.waiting.push(() => res.writeHead(204).end());
        for (const a of this.arrived.splice(0)) a();
        return;
      }
      res.writeHead(404).end();
    });
  }
  /** Resolves once `n` writes are being held. */
  held(n: number): Promise<void> {
    if (this.waiting.length >= n) return Promise.resolve();
    return new Promise((resolve) => this.arrived.push(() => void this.held(n).then(resolve)));
  }
  release(): void {
    for (const w of this.waiting.splice(0)) w();
  }
}

describe('two deliveries of one report at the same time (an agent retrying after its timeout)', () => {
  const influx = new HeldInflux();
  let w: World;
  beforeAll(async () => {
    await new Promise<void>((r) => influx.server.listen(0, '127.0.0.1', r));
    const { port } = influx.server.address() as AddressInfo;
    w = new World({ influxUrl: `http://127.0.0.1:${port}` });
    await w.startCollector();
  });
  afterAll(async () => {
    await w.cleanup();
    await new Promise<void>((r) => influx.server.close(() => r()));
  });

  it('store it once: one "stored", one "duplicate", one write, availability counted once', async () => {
    const { agentId, token } = w.enrollDirect(XINGHAI.id, 'retrying');
    // Monday 10:00 Shanghai: teaching hours, so the critical recorder's sample counts for availability
    const report = makeReport({ agentId, schoolId: XINGHAI.id, at: new Date('2026-11-23T02:00:00Z') });
    const writesBefore = influx.writes;
    const first = w.postReport(token, report);
    await influx.held(1);
    const second = w.postReport(token, report);
    influx.release();
    const answers = await Promise.all([first, second]);
    expect(answers.map((a) => a.statusCode)).toEqual([200, 200]);
    expect(answers.map((a) => (a.json() as { status: string }).status).sort()).toEqual([
      'duplicate',
      'stored',
    ]);
    expect(influx.writes - writesBefore).toBe(1);
    const av = sqliteOf(w.app!).availability(XINGHAI.id, '2026-11-01');
    expect(av).toEqual({ up: 1, total: 1 });
    const metrics = await w.app!.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toContain('campuswatch_reports_total{outcome="stored"} 1');
    expect(metrics.body).toContain('campuswatch_reports_total{outcome="duplicate"} 1');
  });
  it('journals a report before writing its series only when its clock is off by over half the threshold', async () => {
    const { agentId, token } = w.enrollDirect(XINGHAI.id, 'clocks');
    const state = sqliteOf(w.app!);
    // maxOffsetS is 30: in sync; 20 s off (not shifted, but near it); 10 minutes slow (shifted)
    const cases = [
      { offsetS: 0, ahead: false, shifted: false },
      { offsetS: 20, ahead: true, shifted: false },
      { offsetS: -600, ahead: true, shifted: true },
    ];
    for (const c of cases) {
      // stamped by the same clock as the sent-at header (results after it would be in the future)
      const report = makeReport({
        agentId,
        schoolId: XINGHAI.id,
        at: new Date(Date.now() + c.offsetS * 1000),
      });
      const answer = w.app!.inject({
        method: 'POST',
        url: '/api/v1/reports',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          [SENT_AT_HEADER]: new Date(Date.now() + c.offsetS * 1000).toISOString(),
        },
        payload: JSON.stringify(report),
      });
      await influx.held(1);
      // while its series are being written
      const during = state.getIngest(report.reportId);
      if (c.ahead) {
        expect(during, `offset ${c.offsetS} s`).toMatchObject({ state: 'writing' });
        expect(Math.abs(during!.shiftMs - (c.shifted ? c.offsetS * 1000 : 0))).toBeLessThan(5000);
      } else {
        expect(during, `offset ${c.offsetS} s`).toBeUndefined();
      }
      influx.release();
      const res = await answer;
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ status: 'stored', shifted: c.shifted });
      expect(state.getIngest(report.reportId)?.state).toBe('done');
    }
    expect(state.ingestOrder(agentId)).toHaveLength(3);
  });
});
