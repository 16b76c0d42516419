import { connect } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyedRateLimiter } from '../../collector/src/rate-limit.js';
import { type Influxd, influxdAvailable, startInfluxd } from '../helpers/influxd.js';
import { makeReport } from '../helpers/reports.js';
import { skipping } from '../helpers/skip.js';
import { World, XINGHAI } from '../helpers/world.js';

describe('KeyedRateLimiter', () => {
  it('allows a burst, then the sustained rate, per key; says how long to wait; forgets refilled buckets', () => {
    let t = 0;
    const l = new KeyedRateLimiter(2, 3, () => t);
    expect([l.take('a'), l.take('a'), l.take('a')]).toEqual([undefined, undefined, undefined]);
    expect(l.take('a')).toBeCloseTo(0.5); // 1 token at 2 a second
    expect(l.take('b')).toBeUndefined(); // another agent has its own bucket
    t = 500;
    expect(l.take('a')).toBeUndefined();
    expect(l.take('a')).toBeCloseTo(0.5);
    for (let i = 0; i < 10_001; i++) l.take(`k${i}`);
    t = 10_000; // every bucket is full again: the next sweep drops them
    l.take('c');
    for (let i = 0; i < 10_001; i++) l.take(`m${i}`);
    expect(l.size).toBeLessThan(10_100);
  });
});

/** Opens a raw connection, writes `text`, and resolves with everything the server said once it closes. */
function rawExchange(url: string, text: string | Buffer): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect({ host: hostname, port: Number(port) });
    let got = '';
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
    });
    s.on('error', (err: NodeJS.ErrnoException) => (err.code === 'ECONNRESET' ? resolve(got) : reject(err)));
    s.on('close', () => resolve(got));
    s.write(text);
  });
}

describe('HTTP limits on a real listener', () => {
  const w = new World({
    collector: {
      ingest: { retryAfterS: 1, ratePerAgent: { perSecond: 0.01, burst: 3 } },
      http: { headersTimeoutS: 1, requestTimeoutS: 2, maxHeaderBytes: 8192 },
    },
  });
  beforeAll(() => w.startCollector());
  afterAll(() => w.cleanup());

  it('per agent: past the burst a report gets 429 with Retry-After; another agent is not affected', async () => {
    const a = w.enrollDirect(XINGHAI.id, 'busy');
    const b = w.enrollDirect(XINGHAI.id, 'calm');
    const post = (who: { agentId: string; token: string }) =>
      w.postReport(who.token, makeReport({ agentId: who.agentId, schoolId: XINGHAI.id }));
    const codes = [];
    for (let i = 0; i < 4; i++) codes.push((await post(a)).statusCode);
    expect(codes).toEqual([200, 200, 200, 429]);
    const limited = await post(a);
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((limited.json() as { message: string }).message).toMatch(
      /^this agent sends more than 0.01 reports a second \(burst 3\); retry in \d+ s$/,
    );
    expect((await post(b)).statusCode).toBe(200);
    const metrics = await w.app!.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toContain('campuswatch_reports_rejected_total{reason="rate_limited"} 2');
  });

  it('slow-loris: a request head that never ends is answered 408 and the connection closed', async () => {
    const got = await rawExchange(w.url, 'POST /api/v1/reports HTTP/1.1\r\nhost: x\r\nx-slow: 1');
    expect(got).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('a body that trickles in past the request timeout is cut off with 408', async () => {
    const { token } = w.enrollDirect(XINGHAI.id, 'trickle');
    const got = await rawExchange(
      w.url,
      `POST /api/v1/reports HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"schema":`,
    );
    expect(got).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('an oversized request head gets 431 before any route runs', async () => {
    const got = await rawExchange(
      w.url,
      `GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(10_000)}\r\n\r\n`,
    );
    expect(got).toMatch(/^HTTP\/1\.1 431 /);
  });
});

const influxSkip = influxdAvailable();
describe.skipIf(skipping(influxSkip, 'with a real InfluxDB'))(
  influxSkip ?? 'ingest.maxConcurrent: a frozen InfluxDB and more reports than the limit',
  () => {
    let influx: Influxd;
    let w: World;
    beforeAll(async () => {
      influx = await startInfluxd();
      w = new World({
        collector: {
          // long enough for the writes to wait out the freeze instead of timing out
          influx: { url: influx.url, database: 'cw_overload', timeoutMs: 60_000 },
          ingest: { retryAfterS: 7, maxConcurrent: 2 },
        },
      });
      await w.startCollector();
    });
    afterAll(async () => {
      influx?.signal('SIGCONT');
      await w?.cleanup();
      await influx?.cleanup();
    });

    it('turns reports away with 503 + Retry-After while the limit is reached, and stores them when retried', async () => {
      const agents = [0, 1, 2].map((i) => w.enrollDirect(XINGHAI.id, `campus-${i}`));
      // a second apart: the same device's points at one time would be one point in InfluxDB
      const reports = agents.map((a, i) =>
        makeReport({ agentId: a.agentId, schoolId: XINGHAI.id, at: new Date(Date.now() - (3 - i) * 1000) }),
      );
      // InfluxDB frozen (SIGSTOP): the first two reports wait in their writes
      influx.signal('SIGSTOP');
      const waiting = [0, 1].map((i) => w.postReport(agents[i]!.token, reports[i]));
      // both are being stored (waiting for InfluxDB) once the gauge says so
      for (;;) {
        const m = await w.app!.inject({ method: 'GET', url: '/metrics' });
        if (m.body.includes('\ncampuswatch_ingests_in_flight 2\n')) break;
        await delay(10);
      }
      const refused = await w.postReport(agents[2]!.token, reports[2]);
      expect(refused.statusCode).toBe(503);
      expect(refused.headers['retry-after']).toBe('7');
      expect((refused.json() as { message: string }).message).toBe(
        'the collector is busy storing 2 reports; keep the report and retry in 7 s',
      );
      influx.signal('SIGCONT');
      for (const r of await Promise.all(waiting)) expect(r.json()).toMatchObject({ status: 'stored' });
      // the agent's retry is stored: nothing was lost
      expect((await w.postReport(agents[2]!.token, reports[2])).json()).toMatchObject({ status: 'stored' });
      const metrics = (await w.app!.inject({ method: 'GET', url: '/metrics' })).body;
      expect(metrics).toContain('campuswatch_reports_rejected_total{reason="overloaded"} 1');
      expect(metrics).toContain('campuswatch_reports_total{outcome="stored"} 3');
      const rows = await influx.query(
        `SELECT count("up") FROM "device" WHERE "school" = '${XINGHAI.id}'`,
        'cw_overload',
      );
      expect(rows[0]?.count).toBe(3);
    });
  },
);
