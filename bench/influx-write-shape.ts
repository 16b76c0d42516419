// Diagnostic for bench/ingest: what InfluxDB's CPU per point depends on, with the same points (the bench's
// reports, evaluated and serialised as in bench/raw-points.ts) written in different shapes:
//   raw-1     one report per /write, undici (the bench's raw reference)
//   raw-3     three reports (three schools) per /write, undici (as the collector's WriteBatcher coalesces)
//   influx-1  one report per writePoints() of node-influx (the collector's HTTP client), IPoint objects
//   influx-3  three reports per writePoints()
//   store-1   one report per InfluxStore.write() (the collector's writer: its own line protocol through
//             node-influx's request pool, keep-alive agent, no Authorization header)
//   store-3   three reports per InfluxStore.write()
// Each shape runs for --seconds (default 10) with 16 requests in flight, shapes in turn, --rounds times.
// Prints influxd CPU seconds per 1,000 points (its /proc stat and its own httpd.pointsWrittenOK).
// Run with: npx tsx bench/influx-write-shape.ts [--smoke] [--agents 2000] [--seconds 10] [--rounds 2] [--influx-cores 1]
import { join } from 'node:path';
import { InfluxDB } from 'influx';
import { Pool } from 'undici';
import { InfluxStore } from '../collector/src/store/influx.js';
import { startInfluxd } from '../tests/helpers/influxd.js';
import { pointOfLine } from '../tests/helpers/line-protocol.js';
import { cpuSeconds, findPid, fmt, influxPinning, influxStats, pin } from './proc.js';
import { benchReportLines, TimedBody } from './raw-points.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}
/** `--smoke` (scripts/bench-smoke.sh): 30 agents, 1 s per shape, one round; the same code path. */
const smoke = process.argv.includes('--smoke');
const agentsN = arg('--agents', smoke ? 30 : 2000);
const seconds = arg('--seconds', smoke ? 1 : 10);
const rounds = arg('--rounds', smoke ? 1 : 2);
const CAMPUSES = 10;

const influxd = await startInfluxd();
try {
  const pid = findPid(['influxd', join(influxd.dir, 'influxdb.conf')]);
  if (pid === undefined) throw new Error('no influxd pid');
  // `--influx-cores 1`: influxd on core 1 alone, this process (the writers) on the others, as bench/ingest pins
  const cores = process.argv.indexOf('--influx-cores');
  if (cores >= 0) {
    const pinning = influxPinning('bench/influx-write-shape', process.argv[cores + 1] ?? '');
    pin(pid, pinning.influx);
    pin(process.pid, pinning.rest);
  }
  await influxd.query('CREATE DATABASE shape');
  const { at, reports: lines } = benchReportLines(agentsN, CAMPUSES); // base variants only
  const reports = lines.map((l) => ({ points: l.map(pointOfLine), body: new TimedBody(l, at.getTime()) }));
  const pool = new Pool(influxd.url, { connections: 16, pipelining: 1 });
  const client = new InfluxDB({
    host: new URL(influxd.url).hostname,
    port: Number(new URL(influxd.url).port),
    database: 'shape',
  });
  const store = new InfluxStore({ url: influxd.url, database: 'shape', timeoutMs: 30_000 });
  const path = '/write?db=shape&precision=ms';
  // every report written once: the series exist before measuring
  for (let i = 0; i < reports.length; i += 16)
    await Promise.all(
      reports
        .slice(i, i + 16)
        .map((r) =>
          pool
            .request({ path, method: 'POST', body: r.body.fill(Date.now()) })
            .then((res) => res.body.text()),
        ),
    );

  const pointsOk = async () => (await influxStats(influxd, 'httpd')).get('pointsWrittenOK') ?? 0;
  const shapes: Record<string, (batch: typeof reports) => Promise<void>> = {
    raw: async (batch) => {
      const now = Date.now();
      const res = await pool.request({
        path,
        method: 'POST',
        body: batch.map((r) => r.body.fill(now)).join('\n'),
      });
      await res.body.text();
      if (res.statusCode !== 204) throw new Error(`write: ${res.statusCode}`);
    },
    influx: async (batch) => {
      const now = new Date();
      await client.writePoints(
        batch.flatMap((r) => r.points.map((p) => ({ ...p, timestamp: now }))),
        { precision: 'ms' },
      );
    },
    // the collector's own writer: its line protocol (lineOf) through node-influx's request pool, no auth
    store: async (batch) => {
      const now = new Date();
      await store.write(batch.flatMap((r) => r.points.map((p) => ({ ...p, timestamp: now }))));
    },
  };
  console.log(
    `influx-write-shape: ${agentsN} agents' base reports (${reports[0]!.points.length} points each), 16 in flight, ${seconds} s per shape`,
  );
  for (let round = 1; round <= rounds; round++) {
    for (const [name, write] of Object.entries(shapes)) {
      for (const per of [1, 3]) {
        let next = 0;
        const end = Date.now() + seconds * 1000;
        const cpu0 = cpuSeconds(pid);
        const p0 = await pointsOk();
        await Promise.all(
          Array.from({ length: 16 }, async () => {
            while (Date.now() < end) {
              const batch = Array.from({ length: per }, () => {
                next += 7919; // a stride through the schools
                return reports[next % reports.length]!;
              });
              await write(batch);
            }
          }),
        );
        const cpu = cpuSeconds(pid) - cpu0;
        const pts = (await pointsOk()) - p0;
        console.log(
          `round ${round} ${name}-${per}: ${fmt(pts / seconds, 0)} points/s, influxd ${fmt(cpu, 1)} s CPU, ${fmt((cpu * 1000) / pts, 3)} s per 1000 points`,
        );
      }
    }
  }
  await pool.close();
  await store.close();
} finally {
  await influxd.cleanup();
}
