// Diagnostic for bench/ingest's steady-phase bursts (seconds-long /write answers): InfluxDB alone, written in
// the collector's steady pattern, with no collector. Every /write's start and duration is kept, and a sampler
// reads the kernel's I/O pressure (/proc/pressure/io) and the disk's flush and write counters
// (/proc/diskstats) every 250 ms, so a stall can be laid next to what the disk and influxd were doing.
//
// Phases, as bench/ingest runs them:
//   prime   every agent's points once (the series exist)
//   flat    --flat-seconds (default 60) at full speed, 16 writes of 3 reports in flight (bench/ingest's
//           flat-out phase leaves this much data to be snapshotted and compacted)
//   steady  --steady-seconds (default 180): --agents reports per --cycle-seconds (default 10,000 per 60 s),
//           through the collector's own WriteBatcher (4 writes in flight, further reports coalesce).
// Prints per phase the write p50/p99/max and the writes over 1 s; then, for every steady write over 1 s,
// the I/O pressure during it and influxd's log lines in that window (with --log: influxd logs at info level,
// which names its cache snapshots and compactions).
//
// Run with (--smoke: a few seconds): GOGC=200 npx tsx bench/influx-stall.ts --influx-cores 1 \
//   --influx-data cache-snapshot-memory-size=1g,cache-max-memory-size=2g [--wal-dir DIR] [--log]
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Pool } from 'undici';
import { MAX_BATCH_POINTS } from '../collector/src/store/influx.js';
import { WriteBatcher } from '../collector/src/store/write-batcher.js';
import { startInfluxd } from '../tests/helpers/influxd.js';
import { cpuSeconds, findPid, fmt, influxDataSettings, influxPinning, pin, quantile } from './proc.js';
import { benchReportLines, TimedBody } from './raw-points.js';
import { IoSampler, influxLogBetween } from './stall-report.js';

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
function numArg(name: string, dflt: number): number {
  const v = Number(argValue(name) ?? dflt);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`bench/influx-stall: ${name} must be a positive number`);
  return v;
}
/** `--smoke` (scripts/bench-smoke.sh): 30 agents, seconds per phase; the same code path, any failed write fails it. */
const smoke = process.argv.includes('--smoke');
const agentsN = numArg('--agents', smoke ? 30 : 10_000);
const flatS = numArg('--flat-seconds', smoke ? 2 : 60);
const steadyS = numArg('--steady-seconds', smoke ? 3 : 180);
const cycleS = numArg('--cycle-seconds', smoke ? 3 : 60);
const CAMPUSES = 10;
const SLOW_MS = 1000;
const influxData = influxDataSettings('bench/influx-stall', argValue('--influx-data'));
const logFile = process.argv.includes('--log')
  ? join(mkdtempSync(join(tmpdir(), 'cw-influx-stall-')), 'influxd.log')
  : undefined;

interface WriteRecord {
  /** Wall-clock ms when the write was sent. */
  at: number;
  ms: number;
  points: number;
  status: number;
}

// gctrace: influxd logs every Go GC cycle (on stderr, into the log file)
if (logFile !== undefined) process.env.GODEBUG = 'gctrace=1';
const influxdStartedAt = Date.now();
const influxd = await startInfluxd({
  data: influxData,
  walDir: argValue('--wal-dir'),
  logLevel: logFile === undefined ? 'error' : 'info',
  logFile,
});
const io = new IoSampler();
try {
  const pid = findPid(['influxd', join(influxd.dir, 'influxdb.conf')]);
  if (pid === undefined) throw new Error('no influxd pid');
  const cores = argValue('--influx-cores');
  if (cores !== undefined) {
    const pinning = influxPinning('bench/influx-stall', cores);
    pin(pid, pinning.influx);
    pin(process.pid, pinning.rest);
  }
  await influxd.query('CREATE DATABASE stall');
  const { at, reports } = benchReportLines(agentsN, CAMPUSES);
  const bodies = reports.map((lines) => new TimedBody(lines, at.getTime()));
  const pointsPerReport = bodies[0]!.points;
  const pool = new Pool(influxd.url, { connections: 64, pipelining: 1 });
  const path = '/write?db=stall&precision=ms';
  const writes: Record<string, WriteRecord[]> = { prime: [], flat: [], steady: [] };
  const write = async (phase: string, body: string, points: number): Promise<void> => {
    const at = Date.now();
    const start = performance.now();
    const res = await pool.request({ path, method: 'POST', body });
    await res.body.text();
    writes[phase]!.push({ at, ms: performance.now() - start, points, status: res.statusCode });
    if (res.statusCode !== 204) throw new Error(`write: HTTP ${res.statusCode}`);
  };
  let next = 0;
  const nextBody = (ts: number): string => {
    next = (next + 7919) % bodies.length; // a stride through the schools
    return bodies[next]!.fill(ts);
  };

  // prime: every agent once
  for (let i = 0; i < bodies.length; i += 16)
    await Promise.all(
      bodies.slice(i, i + 16).map((b) => write('prime', b.fill(Date.now()), pointsPerReport)),
    );

  // flat: full speed, 16 writes of 3 reports in flight
  const cpuFlat0 = cpuSeconds(pid);
  const flatEnd = Date.now() + flatS * 1000;
  let ts = Date.now();
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (Date.now() < flatEnd) {
        ts += 1; // distinct timestamps: every write adds points, as new reports do
        await write('flat', [nextBody(ts), nextBody(ts), nextBody(ts)].join('\n'), 3 * pointsPerReport);
      }
    }),
  );
  const cpuFlat = cpuSeconds(pid) - cpuFlat0;

  // steady: reports at the agents' rate through the collector's WriteBatcher
  const batcher = new WriteBatcher<string>((lines) => write('steady', lines.join('\n'), lines.length), {
    maxInFlight: 4,
    maxPoints: MAX_BATCH_POINTS,
    isBadData: () => false,
  });
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  const perMs = agentsN / (cycleS * 1000);
  const steadyStart = performance.now();
  const cpuSteady0 = cpuSeconds(pid);
  let sent = 0;
  while (performance.now() - steadyStart < steadyS * 1000) {
    const due = Math.floor((performance.now() - steadyStart) * perMs);
    for (; sent < due; sent++) {
      const arrived = performance.now();
      const lines = nextBody(Date.now() + sent).split('\n');
      pending.push(batcher.submit(lines).then(() => void latencies.push(performance.now() - arrived)));
    }
    await delay(5);
  }
  await Promise.all(pending);
  const cpuSteady = cpuSeconds(pid) - cpuSteady0;
  io.stop();

  const line = (phase: string, cpu?: number): string => {
    const ms = Float64Array.from(writes[phase]!, (w) => w.ms).sort();
    const pts = writes[phase]!.reduce((s, w) => s + w.points, 0);
    return `${phase}: ${ms.length} writes, ${pts} points, /write p50 ${fmt(quantile(ms, 0.5), 1)} ms, p99 ${fmt(quantile(ms, 0.99), 1)} ms, max ${fmt(ms[ms.length - 1] ?? NaN, 0)} ms, ${ms.filter((x) => x > SLOW_MS).length} over ${SLOW_MS} ms${cpu === undefined ? '' : `, influxd ${fmt(cpu, 1)} s CPU`}`;
  };
  console.log(
    `influx-stall: ${agentsN} agents (${pointsPerReport} points per report), influxd data ${JSON.stringify(influxData)}, wal ${argValue('--wal-dir') ?? 'beside data'}, GOGC=${process.env.GOGC ?? 'default'}`,
  );
  console.log(line('prime'));
  console.log(line('flat', cpuFlat));
  console.log(line('steady', cpuSteady));
  const lat = Float64Array.from(latencies).sort();
  console.log(
    `steady reports: ${lat.length}, latency p50 ${fmt(quantile(lat, 0.5), 1)} ms, p99 ${fmt(quantile(lat, 0.99), 1)} ms, max ${fmt(lat[lat.length - 1] ?? NaN, 0)} ms`,
  );
  // I/O during each slow write of any phase, and influxd's log in its window
  const log = logFile === undefined ? [] : readFileSync(logFile, 'utf8').split('\n');
  for (const [phase, list] of Object.entries(writes)) {
    for (const w of list.filter((x) => x.ms > SLOW_MS)) {
      console.log(
        `  slow ${phase} write at ${new Date(w.at).toISOString()}: ${fmt(w.ms, 0)} ms, ${w.points} points; ${io.between(w.at, w.at + w.ms)}`,
      );
      for (const l of influxLogBetween(log, influxdStartedAt, w.at - 2000, w.at + w.ms + 500))
        console.log(`    ${l}`);
    }
  }
  if (logFile !== undefined) console.log(`influxd log: ${logFile}`);
  await pool.close();
} finally {
  io.stop();
  await influxd.cleanup();
}
