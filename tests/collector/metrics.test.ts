import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Influxd, influxdAvailable, startInfluxd } from '../helpers/influxd.js';
import { makeReport } from '../helpers/reports.js';
import { World, XINGHAI } from '../helpers/world.js';

/** Parses Prometheus text format into `name{labels}` → value. */
function parse(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

async function scrape(w: World): Promise<Map<string, number>> {
  const res = await w.app!.inject({ method: 'GET', url: '/metrics' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return parse(res.body);
}

const skip = influxdAvailable();
if (skip) console.warn(`[metrics.test] SKIPPED (InfluxDB part): ${skip}`);

describe('GET /metrics (Prometheus text format)', () => {
  it('counts stored, duplicate and rejected reports by reason, with the ingest latency histogram', async () => {
    const w = new World();
    await w.startCollector();
    try {
      const { agentId, token } = w.enrollDirect();
      const report = makeReport({ agentId, schoolId: XINGHAI.id });
      expect((await w.postReport(token, report)).statusCode).toBe(200);
      expect((await w.postReport(token, report)).statusCode).toBe(200); // replay
      expect((await w.postReport(token, { ...report, reportId: 'nope' })).statusCode).toBe(400);
      expect((await w.postReport('cw1.x.y', report)).statusCode).toBe(401);
      const other = makeReport({ agentId, schoolId: 'another-school' });
      expect((await w.postReport(token, other)).statusCode).toBe(403);
      const m = await scrape(w);
      expect(m.get('campuswatch_reports_total{outcome="stored"}')).toBe(1);
      expect(m.get('campuswatch_reports_total{outcome="duplicate"}')).toBe(1);
      expect(m.get('campuswatch_reports_total{outcome="rejected"}')).toBe(3);
      expect(m.get('campuswatch_reports_rejected_total{reason="invalid"}')).toBe(1);
      expect(m.get('campuswatch_reports_rejected_total{reason="unauthenticated"}')).toBe(1);
      expect(m.get('campuswatch_reports_rejected_total{reason="forbidden"}')).toBe(1);
      expect(m.get('campuswatch_ingest_duration_seconds_count{outcome="stored"}')).toBe(1);
      expect(m.get('campuswatch_ingest_duration_seconds_bucket{le="+Inf",outcome="rejected"}')).toBe(3);
      expect(m.get('campuswatch_schools')).toBe(1);
      expect(m.get('campuswatch_agents')).toBe(1);
      expect(m.get('campuswatch_influxdb_write_errors_total{kind="unavailable"}')).toBe(0);
      expect(m.get('campuswatch_collector_process_resident_memory_bytes')).toBeGreaterThan(0);
    } finally {
      await w.cleanup();
    }
  });

  it('counts InfluxDB being away as a write error and a 503 rejection', async () => {
    // a loopback port nobody listens on: connection refused, the collector answers 503
    const probe = new World();
    await probe.startCollector();
    const closedPort = probe.port;
    await probe.cleanup();
    const w = new World({ influxUrl: `http://127.0.0.1:${closedPort}` });
    await w.startCollector();
    try {
      const { agentId, token } = w.enrollDirect();
      expect((await w.postReport(token, makeReport({ agentId, schoolId: XINGHAI.id }))).statusCode).toBe(503);
      const m = await scrape(w);
      expect(m.get('campuswatch_influxdb_write_errors_total{kind="unavailable"}')).toBe(1);
      expect(m.get('campuswatch_reports_rejected_total{reason="influxdb_unavailable"}')).toBe(1);
      expect(m.get('campuswatch_influxdb_points_written_total')).toBe(0);
    } finally {
      await w.cleanup();
    }
  });

  describe.skipIf(skip !== undefined)('with a real InfluxDB', () => {
    let influx: Influxd;
    beforeAll(async () => {
      influx = await startInfluxd();
    });
    afterAll(async () => {
      await influx?.cleanup();
    });

    it('counts the points it wrote: the same number InfluxDB holds', async () => {
      const w = new World({ influxUrl: influx.url, database: 'cw_metrics' });
      await w.startCollector();
      try {
        const { agentId, token } = w.enrollDirect();
        for (let i = 0; i < 3; i++) {
          const r = makeReport({ agentId, schoolId: XINGHAI.id, at: new Date(Date.now() - i * 60_000) });
          expect((await w.postReport(token, r)).statusCode).toBe(200);
        }
        const m = await scrape(w);
        let stored = 0;
        const measurements = (await influx.query('SHOW MEASUREMENTS', 'cw_metrics')).map((r) =>
          String(r.name),
        );
        expect(measurements).toContain('agent');
        for (const measurement of measurements) {
          const rows = await influx.query(`SELECT * FROM "${measurement}"`, 'cw_metrics');
          stored += rows.length;
        }
        expect(stored).toBeGreaterThan(3);
        expect(m.get('campuswatch_influxdb_points_written_total')).toBe(stored);
        // one /write per report here (nothing else was being written), each answered within the buckets
        expect(m.get('campuswatch_influxdb_write_duration_seconds_count{outcome="ok"}')).toBe(3);
        expect(m.get('campuswatch_influxdb_write_duration_seconds_bucket{le="10",outcome="ok"}')).toBe(3);
      } finally {
        await w.cleanup();
      }
    });
  });
});
