// bench/ingest: the collector's report ingest at district scale. 10,000 agents (default: 1,000 schools ×
// 10 campuses, enrolled straight through the state store) post realistic reports (bench/school-profile:
// 20 devices, 40-56 results, 14-18 KB) to ONE real collector process (bench/collector-main →
// collector/src/server.ts startCollector) that writes to a real InfluxDB 1.6 (`influxd` with its own
// config on ephemeral ports, tests/helpers/influxd.ts). The load generator runs in its own process
// (bench/load-gen, undici keep-alive Pool). First the points of every agent's `full` and `host` reports
// are written once straight to InfluxDB, and every agent reports once through the collector, so the series
// and the state store are as in a running deployment (--no-prime: a fresh InfluxDB and state, where the
// first cycle creates ~500,000 series); then an unmeasured warm-up of the collector, then the phases:
//   1. steady   — every agent reports every 60 s at its own offset (10,000 agents ≈ 167 reports/s), open loop;
//   2. raw      — the reference: the same points (collector/src/store/points.ts, serialised as node-influx
//                 does) POSTed straight to InfluxDB's /write, one report's points per request (the
//                 collector's batch size), N in flight: the ceiling InfluxDB sets on this machine;
//   3. flat-out — closed loop, N reports in flight: the collector's sustained maximum;
//   4. raw      — the reference again; flat-out is compared with the mean of 2 and 4.
// Prints reports/s, points/s (InfluxDB's own httpd.pointsWrittenOK counter), latency p50/p99, CPU seconds of
// the collector, influxd and the generator (/proc/<pid>/stat), the collector's RSS at start/middle/end, and
// the goals: collector points/s ÷ raw points/s ≥ 0.8 (flat-out), steady p99 < 250 ms, no memory growth.
// Before each measured phase after steady, the bench waits until influxd is idle (its CPU under 5% of a core
// for a second): the snapshots and compactions the points of one phase cause are not charged to the next
// one (a 30 s raw phase at 22,000 points/s used to leave ~10 s of compaction to flat-out). That settling
// time and influxd's CPU in it are printed, and counted in each phase's influxd CPU per 1000 points.
// Run with: npx tsx bench/ingest.ts [--quick | --smoke] [--steady-seconds 180] [--flat-seconds 60] [--raw-seconds 60]
//   [--schools 1000] [--agents 10000] [--concurrency 64] [--raw-concurrency N] [--raw-one-per-write] [--generators 1]
//   [--no-prime] [--cpu-prof DIR] (profile the collector) and, to measure proposed changes without editing the
//   collector: [--alerts off] [--fix-agents-index] [--synchronous NORMAL]; [--state postgres] puts the
//   collector's state in a throw-away PostgreSQL (its CPU is printed too); [--influx-cores 1] runs influxd
//   on those cores alone and everything else (collector, generators, PostgreSQL, this process) on the
//   others, in every phase (taskset), as a deployment gives InfluxDB cores of its own; [--record-writes]
//   replays the collector's own flat-out /write bodies straight to InfluxDB in a 5th phase (diagnostic);
//   [--influx-pprof DIR] takes a Go CPU profile of influxd in each measured phase (bench/pprof-top);
//   [--per-district] turns on influx.perDistrict (every point also to its district's database, one reader
//   per district): points/s and the ratio then count the main database's points only (shard counters)
import { type ChildProcess, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BATCH_LINGER_MS } from '../collector/src/config.js';
import { districtDatabase } from '../collector/src/store/district-databases.js';
import { WRITES_IN_FLIGHT } from '../collector/src/store/influx.js';
import { PgStateStore } from '../collector/src/store/pg-state.js';
import { SqliteState } from '../collector/src/store/sqlite-state.js';
import { type Influxd, startInfluxd } from '../tests/helpers/influxd.js';
import { type Postgres, startPostgres } from '../tests/helpers/postgres.js';
import type { GenCommand, GenMessage, GenResult } from './load-gen.js';
import { formatSummary, summariseProfile } from './pprof-top.js';
import {
  coreTicks,
  cpuSeconds,
  cpuTicks,
  findPid,
  firstJsonLine,
  fmt,
  gitCommit,
  influxDataSettings,
  influxPinning,
  influxStats,
  loadLine,
  median,
  pin,
  rssMb,
  stealShare,
  stopChild,
  summarise,
} from './proc.js';
import { type BenchAgent, benchSchools, Templates, variantOf } from './school-profile.js';
import { IoSampler, influxLogBetween } from './stall-report.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..');
/** The collector's influx.perDistrict.databasePrefix with --per-district. */
const DISTRICT_PREFIX = 'campuswatch_d_';
const P99_GOAL_MS = 250;
const RATIO_GOAL = 0.8;
const RSS_GROWTH_GOAL = 0.1;
/**
 * How long InfluxDB's cache may go without writes before it is snapshotted (its
 * cache-snapshot-write-cold-duration, default 10m), so that settle can wait for it to be empty.
 */
const COLD_CACHE = '5s';

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
function numArg(name: string, dflt: number, min: number): number {
  const v = Number(argValue(name) ?? dflt);
  if (!Number.isFinite(v) || v < min) {
    console.error(`bench/ingest: ${name} must be a number ≥ ${min}`);
    process.exit(2);
  }
  return v;
}

/**
 * `--smoke` (scripts/bench-smoke.sh): every phase through the same code at a tiny size (20 agents, 4 schools,
 * seconds per phase); no goal judged, exit code 1 on any error (a failed report, a phase that could not run).
 */
const smoke = process.argv.includes('--smoke');
const quick = smoke || process.argv.includes('--quick');
const opts = {
  steadyS: numArg('--steady-seconds', smoke ? 5 : quick ? 15 : 180, 5),
  flatS: numArg('--flat-seconds', smoke ? 3 : quick ? 8 : 60, 3),
  /** As long as flat-out by default: both then pay the same share of their own deferred InfluxDB work. */
  rawS: numArg('--raw-seconds', Number(argValue('--flat-seconds') ?? (smoke ? 3 : quick ? 8 : 60)), 3),
  /** Unmeasured start of flat-out and raw; the warm-up before the schedule lasts twice as long. */
  warmupS: numArg('--warmup-seconds', smoke ? 0 : quick ? 1 : 5, 0),
  cycleS: numArg('--cycle-seconds', smoke ? 5 : 60, 1),
  schools: numArg('--schools', smoke ? 4 : 1000, 1),
  agents: numArg('--agents', smoke ? 20 : 10_000, 1),
  /**
   * Reports in flight in flat-out (and priming), and raw writers. 16 until session 11: the collector's core
   * was then 56% busy in flat-out (the `cores busy` line), and its writes to InfluxDB carried 84 points
   * instead of the 157-227 they carry at 48-64.
   */
  concurrency: numArg('--concurrency', smoke ? 4 : 64, 1),
  rawConcurrency: numArg('--raw-concurrency', Number(argValue('--concurrency') ?? (smoke ? 4 : 64)), 1),
  /**
   * The raw writers' bodies coalesced as the collector coalesces its writes (its WriteBatcher, same
   * settings), so the reference's requests are as large as the collector's; `--raw-one-per-write`: one
   * report's points per request (as before session 11).
   */
  rawCoalesce: !process.argv.includes('--raw-one-per-write'),
  /**
   * `--linger-ms N`: the collector's influx.batchLingerMs, which the coalesced raw writers use too
   * (default: the collector's default).
   */
  lingerMs: numArg('--linger-ms', BATCH_LINGER_MS, 0),
  /**
   * `--outbox`: the collector's influx.outbox (answers once a report's series are queued on its disk);
   * `--outbox-max-points N` its maxPendingPoints. Settling first waits for the queue to be written out.
   */
  outbox: process.argv.includes('--outbox'),
  outboxMaxPoints: numArg('--outbox-max-points', 100_000, 1),
  generators: numArg('--generators', 1, 1),
  /**
   * Keep-alive connections to the collector (all generators together). Agents each have their own
   * connection, so reports must not wait in the generator for a free one (their sent-at header would
   * age, and the collector would take that for a wrong agent clock): enough for every report in flight.
   */
  connections: numArg('--connections', 512, 1),
  /** /write bodies prepared for the raw phases (default: one per agent, so the same series are written). */
  rawBatches: numArg('--raw-batches', Number(argValue('--agents') ?? (smoke ? 20 : 10_000)), 10),
  cpuProf: argValue('--cpu-prof'),
  /** `--influx-pprof DIR`: a Go CPU profile of influxd per measured phase (its /debug/pprof), summarised. */
  influxPprof: argValue('--influx-pprof'),
  /**
   * `--per-district`: the collector's influx.perDistrict (Grafana in the access scopes): every point also to its
   * district's database. InfluxDB runs without authentication here as in every run (the collector's user and
   * the readers are created, and not checked), so the cost measured is the writing, not the auth.
   */
  perDistrict: process.argv.includes('--per-district'),
  /** `--alerts off`: the collector without alert evaluation (default: on, as deployed). */
  alerts: argValue('--alerts') !== 'off',
  /** Adds the index on agents(school_id) proposed for collector/src/store/state.ts before the collector starts. */
  agentsIndex: process.argv.includes('--fix-agents-index'),
  /** Write every agent's points once before the schedule (series exist, as in a running deployment). */
  prime: !process.argv.includes('--no-prime'),
  /** Sets PRAGMA synchronous on the collector's SQLite connection once it runs (state.ts sets FULL). */
  synchronous: argValue('--synchronous'),
  /** `--state postgres`: the collector's state in a throw-away PostgreSQL (tests/helpers/postgres.ts). */
  state: argValue('--state') ?? 'sqlite',
  /** `--influx-cores 1` (a taskset list): influxd on these cores only, the rest of the bench on the others. */
  influxCores: argValue('--influx-cores'),
  /**
   * `--steady-pinning on`: the --influx-cores split holds in the steady phase too. By default it holds in the
   * phases that are compared (raw and flat-out: InfluxDB gets the same core for the reference and for the
   * collector), while steady runs as deployed, every process free to use every core.
   */
  steadyPinned: argValue('--steady-pinning') === 'on',
  /**
   * `--record-writes`: the collector writes through bench/write-recorder, which keeps its /write bodies of
   * the flat-out phase; a 5th phase POSTs those bodies (re-timed) straight to InfluxDB, so InfluxDB's CPU
   * per point for exactly what the collector writes is measured next to the raw reference's. (The proxy
   * costs CPU on the collector's cores: flat-out's own figures are then not the goal's.)
   */
  recordWrites: process.argv.includes('--record-writes'),
  /** `--latest-cache N`: the collector's state.latestCacheResults (default: the collector's default). */
  latestCache: argValue('--latest-cache') === undefined ? undefined : numArg('--latest-cache', 0, 0),
  /** `--collector-node-flags "--max-semi-space-size=64"`: V8/Node flags for the collector process. */
  collectorNodeFlags: (argValue('--collector-node-flags') ?? '').split(' ').filter((f) => f.length > 0),
  /**
   * `--keep-cache`: settle waits only for influxd's CPU, not for its cache to be written out, so a phase
   * starts with what the phases before it left in the cache (as before session 7; see settle).
   */
  keepCache: process.argv.includes('--keep-cache'),
  /**
   * `--stall-log DIR`: influxd logs at info level with Go's gctrace into DIR/influxd.log, the collector
   * reports every /write over 1 s with its time, and the machine's I/O is sampled; the report then lists,
   * for each slow write, the I/O and influxd's log lines around it (bench/stall-report).
   */
  stallLog: argValue('--stall-log'),
  /** `--tsx`: the collector's TypeScript through tsx even when a fresh build (`npm run build`) is there. */
  tsx: process.argv.includes('--tsx'),
  /** `--influx-data cache-snapshot-memory-size=256m,…`: more [data] settings of the bench's influxd. */
  influxData: (() => {
    try {
      return influxDataSettings('bench/ingest', argValue('--influx-data'));
    } catch (err) {
      console.error((err as Error).message);
      process.exit(2);
    }
  })(),
};
if (!opts.keepCache) opts.influxData['cache-snapshot-write-cold-duration'] ??= COLD_CACHE;
if (opts.state !== 'sqlite' && opts.state !== 'postgres') {
  console.error('bench/ingest: --state must be sqlite or postgres');
  process.exit(2);
}
if (opts.synchronous !== undefined && !/^(OFF|NORMAL|FULL|EXTRA)$/i.test(opts.synchronous)) {
  console.error('bench/ingest: --synchronous must be OFF, NORMAL, FULL or EXTRA');
  process.exit(2);
}
if (opts.agents % opts.schools !== 0) {
  console.error(
    'bench/ingest: --agents must be a multiple of --schools (each school gets the same number of campuses)',
  );
  process.exit(2);
}
const campuses = opts.agents / opts.schools;

const pinning = opts.influxCores === undefined ? undefined : influxPinning('bench/ingest', opts.influxCores);
pin(process.pid, pinning?.rest);

const children: ChildProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'cw-bench-ingest-'));
let influxd: Influxd | undefined;
let postgres: Postgres | undefined;
let cleaning: Promise<void> | undefined;

/** The TypeScript sources under a directory of ROOT (recursive), relative to ROOT. */
function tsSources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name).slice(ROOT.length + 1));
}

/**
 * How the collector process runs: the built JavaScript (dist/, what scripts/start.sh and the systemd unit
 * run) when `npm run build` is newer than every collector and protocol source, else the TypeScript through
 * tsx (whose output differs: esbuild wraps functions in `__name` calls, ~1.5% of the collector's CPU in
 * bench/ingest profiles), and why.
 */
function collectorEntry(): { args: string[]; how: string } {
  const built = join(ROOT, 'dist', 'bench', 'collector-main.js');
  const tsx = { args: ['--import', 'tsx', join(ROOT, 'bench', 'collector-main.ts')] };
  if (opts.tsx) return { ...tsx, how: 'TypeScript through tsx (--tsx)' };
  // every source compiled since it last changed (tsc writes each output file on every build)
  const stale = [...tsSources('collector/src'), ...tsSources('protocol'), 'bench/collector-main.ts'].find(
    (ts) => {
      const js = join(ROOT, 'dist', ts.replace(/\.ts$/, '.js'));
      return !existsSync(js) || statSync(js).mtimeMs < statSync(join(ROOT, ts)).mtimeMs;
    },
  );
  if (stale) {
    return { ...tsx, how: `TypeScript through tsx (${stale} changed since \`npm run build\`)` };
  }
  return { args: [built], how: 'built JavaScript (dist/, as deployed)' };
}

function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await Promise.all(children.map((c) => stopChild(c)));
    await influxd?.cleanup();
    await postgres?.cleanup();
    rmSync(dir, { recursive: true, force: true });
  })();
  return cleaning;
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    console.error(`bench/ingest: ${sig}, cleaning up`);
    void cleanup().then(() => process.exit(130));
  });
}

/** Schools, and `agents` agents enrolled through the state store (one transaction); their tokens. */
function enrolAll(dataDir: string): { agents: BenchAgent[]; ms: number } {
  const t0 = performance.now();
  const state = new SqliteState(dataDir);
  const schools = benchSchools(opts.schools);
  const agents: BenchAgent[] = [];
  state.db.transaction(() => {
    for (const s of schools) state.upsertSchool(s);
    for (let i = 0; i < opts.agents; i++) {
      const schoolIndex = i % opts.schools;
      const school = schools[schoolIndex]!;
      const { code } = state.createEnrollCode(school.id, 3_600_000);
      const r = state.enroll(code, { hostname: `agent-${i}`, version: '0.1.0' });
      if ('error' in r) throw new Error(`enrolment failed: ${r.error}`);
      agents.push({
        agentId: r.agent.id,
        token: r.token,
        schoolId: school.id,
        schoolIndex,
        campus: Math.floor(i / opts.schools),
      });
    }
  })();
  if (opts.agentsIndex) state.db.exec('CREATE INDEX IF NOT EXISTS agents_school ON agents (school_id)');
  state.close();
  return { agents, ms: performance.now() - t0 };
}

/** The same through a PostgreSQL state store (its schema made by PgStateStore.open), 32 enrolments at a time. */
async function enrolAllPg(url: string): Promise<{ agents: BenchAgent[]; ms: number }> {
  const t0 = performance.now();
  const store = await PgStateStore.open({ url, poolMax: 32 });
  try {
    const schools = benchSchools(opts.schools);
    for (const s of schools) await store.upsertSchool(s);
    const agents: BenchAgent[] = new Array(opts.agents);
    for (let from = 0; from < opts.agents; from += 32) {
      await Promise.all(
        Array.from({ length: Math.min(32, opts.agents - from) }, async (_, k) => {
          const i = from + k;
          const schoolIndex = i % opts.schools;
          const school = schools[schoolIndex]!;
          const { code } = await store.createEnrollCode(school.id, 3_600_000);
          const r = await store.enroll(code, { hostname: `agent-${i}`, version: '0.1.0' });
          if ('error' in r) throw new Error(`enrolment failed: ${r.error}`);
          agents[i] = {
            agentId: r.agent.id,
            token: r.token,
            schoolId: school.id,
            schoolIndex,
            campus: Math.floor(i / opts.schools),
          };
        }),
      );
    }
    return { agents, ms: performance.now() - t0 };
  } finally {
    await store.close();
  }
}

/** CPU seconds of a process and its children, live (utime + stime) and exited (cutime + cstime). */
function treeCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const fields = (p: string) => {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    } catch {
      return undefined;
    }
  };
  const own = fields(String(pid));
  if (!own) return Number.NaN;
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14]);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const f = fields(entry);
    if (f && Number(f[1]) === pid) ticks += Number(f[11]) + Number(f[12]);
  }
  return ticks / 100;
}

/**
 * InfluxDB's own counters: points written (all, httpd; and to the main database `campuswatch`, its shards'),
 * and /write requests (points per request = all points ÷ them). Without --per-district the two counts are equal.
 */
async function httpdCounters(): Promise<{ points: number; mainPoints: number; writes: number }> {
  const httpd = await influxStats(influxd!, 'httpd');
  let mainPoints = 0;
  for (const row of await influxd!.query(`SHOW STATS FOR 'shard'`))
    if (row.database === 'campuswatch' && typeof row.writePointsOk === 'number')
      mainPoints += row.writePointsOk;
  return { points: httpd.get('pointsWrittenOK') ?? 0, mainPoints, writes: httpd.get('writeReq') ?? 0 };
}

/**
 * --per-district: copies the main database's points of each district into that district's database (which the
 * collector created at start, with `raw` its default policy), as InfluxQL `SELECT * INTO … GROUP BY *`.
 */
async function primeDistrictDatabases(): Promise<{ databases: number; points: number }> {
  const districts = [
    ...new Set(benchSchools(opts.schools).flatMap((s) => (s.district === undefined ? [] : [s.district]))),
  ];
  let points = 0;
  for (const d of districts) {
    const q = `SELECT * INTO "${districtDatabase(DISTRICT_PREFIX, d)}"."raw".:MEASUREMENT FROM "campuswatch"."raw"./.*/ WHERE "district" = '${d}' GROUP BY *`;
    const res = await fetch(`${influxd!.url}/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ q, db: 'campuswatch' }).toString(),
    });
    const body = (await res.json()) as {
      results?: { error?: string; series?: { values?: unknown[][] }[] }[];
    };
    const error = body.results?.[0]?.error;
    if (!res.ok || error)
      throw new Error(`bench/ingest: priming ${d}'s database: ${error ?? `HTTP ${res.status}`}`);
    for (const s of body.results?.[0]?.series ?? [])
      for (const v of s.values ?? []) points += Number(v[1]) || 0;
  }
  return { databases: districts.length, points };
}

interface Pids {
  collector: number;
  /** The collector's base URL, for its /metrics. */
  collectorUrl: string;
  influxd: number;
  generators: number[];
  /** The PostgreSQL postmaster (--state postgres). */
  postgres?: number;
}

interface Sample extends CollectorMetricsSample {
  /** Busy and total ticks of each core (/proc/stat). */
  cores: { busy: number; total: number }[];
  collector: number;
  influxd: number;
  generators: number;
  postgres: number;
  /** Points written to the main database; `allPoints` with the districts' copies (--per-district). */
  points: number;
  allPoints: number;
  writes: number;
  series: number;
  compactionS: number;
  /** Bytes InfluxDB has written out of its caches so far (snapshots), and the bytes they hold now. */
  snapshotBytes: number;
  cacheBytes: number;
  at: number;
}

/** The bench's collector's admin token (a city-scope token may read /metrics). */
const BENCH_ADMIN_TOKEN = 'bench-admin-token-not-a-secret-01';
const METRICS_AUTH = { authorization: `Bearer ${BENCH_ADMIN_TOKEN}` };

/** What the bench reads from the collector's own /metrics at each sample. */
interface CollectorMetricsSample {
  /** Seconds of alert evaluations so far. */
  alertEvalS: number;
  /** Event-loop delay since the previous scrape (prom-client resets its histogram on each): max, p99. */
  loopMaxMs: number;
  loopP99Ms: number;
  /** Its /write requests answered by InfluxDB so far, cumulative per histogram bound (seconds). */
  writeBuckets: [number, number][];
  /** V8 heap in use and memory outside it (Buffers, strings handed to C++), MB. */
  heapUsedMb: number;
  externalMb: number;
}

async function collectorMetrics(collectorUrl: string): Promise<CollectorMetricsSample> {
  const text = await (await fetch(`${collectorUrl}/metrics`, { headers: METRICS_AUTH })).text();
  const value = (name: string) => {
    const m = new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text);
    return m ? Number(m[1]) : Number.NaN;
  };
  const writeBuckets: [number, number][] = [];
  for (const m of text.matchAll(
    /^campuswatch_influxdb_write_duration_seconds_bucket\{le="([^"]+)",outcome="ok"\} ([0-9.e+-]+)$/gm,
  )) {
    writeBuckets.push([m[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[1]), Number(m[2])]);
  }
  return {
    alertEvalS: value('campuswatch_alert_evaluation_seconds'),
    loopMaxMs: value('campuswatch_collector_nodejs_eventloop_lag_max_seconds') * 1000,
    loopP99Ms: value('campuswatch_collector_nodejs_eventloop_lag_p99_seconds') * 1000,
    writeBuckets,
    heapUsedMb: value('campuswatch_collector_nodejs_heap_size_used_bytes') / 1e6,
    externalMb: value('campuswatch_collector_nodejs_external_memory_bytes') / 1e6,
  };
}

/**
 * The /write requests answered between two samples: count, upper bounds of p50, p99 and the slowest, and
 * how many took over a second (while InfluxDB stalls only the few writes in flight wait, and the reports
 * queue behind them in the collector: a p99 of the writes does not show a stall, the slowest does).
 */
function writeLatency(
  start: CollectorMetricsSample,
  end: CollectorMetricsSample,
): { n: number; p50: number; p99: number; max: number; over1s: number } {
  const counts = end.writeBuckets.map(([le, c], i) => [le, c - (start.writeBuckets[i]?.[1] ?? 0)] as const);
  const n = counts.at(-1)?.[1] ?? 0;
  const bound = (q: number) => counts.find(([, c]) => c >= q * n)?.[0] ?? Number.NaN;
  const within1s = counts.find(([le]) => le === 1)?.[1] ?? Number.NaN;
  return { n, p50: bound(0.5), p99: bound(0.99), max: bound(1), over1s: n - within1s };
}

async function sample(pids: Pids): Promise<Sample> {
  const s = {
    at: Date.now(),
    cores: coreTicks(),
    collector: cpuSeconds(pids.collector),
    influxd: cpuSeconds(pids.influxd),
    generators: pids.generators.reduce((a, p) => a + cpuSeconds(p), 0),
    postgres: treeCpuSeconds(pids.postgres),
  };
  const { points, mainPoints, writes } = await httpdCounters();
  return {
    ...s,
    points: mainPoints,
    allPoints: points,
    writes,
    series: await seriesCount(),
    compactionS: await compactionSeconds(),
    ...(await cacheStats()),
    ...(await collectorMetrics(pids.collectorUrl)),
  };
}

/**
 * Seconds InfluxDB's TSM engines have spent snapshotting their caches and compacting files so far (the
 * `*Duration` counters of its `tsm1_engine` statistics, nanoseconds): work a phase may inherit from the
 * points of the phases before it.
 */
async function compactionSeconds(): Promise<number> {
  let ns = 0;
  for (const [k, v] of await influxStats(influxd!, 'tsm1_engine')) if (k.endsWith('Duration')) ns += v;
  return ns / 1e9;
}

/**
 * InfluxDB's caches (`tsm1_cache` statistics of every shard): bytes snapshotted so far (`cachedBytes`, a
 * counter; its `snapshotCount` is only the snapshots in progress), bytes held now (`memBytes`).
 */
async function cacheStats(): Promise<{ snapshotBytes: number; cacheBytes: number }> {
  const c = await influxStats(influxd!, 'tsm1_cache');
  return { snapshotBytes: c.get('cachedBytes') ?? 0, cacheBytes: c.get('memBytes') ?? 0 };
}

/** Series in the bench database (InfluxDB's `database` statistics): new ones are what a phase created. */
async function seriesCount(): Promise<number> {
  return (await influxStats(influxd!, 'database')).get('numSeries') ?? 0;
}

interface PhaseResult {
  name: string;
  /** Until influxd was idle again after the phase: its deferred work (snapshots, compactions). */
  settle?: Settle;
  seconds: number;
  ok: number;
  completed: number;
  outcomes: Record<string, number>;
  latency: ReturnType<typeof summarise>;
  lag: ReturnType<typeof summarise> | undefined;
  /** p99 per consecutive window of `windowS` seconds (steady only). */
  windows: { fromS: number; n: number; p99: number }[];
  /** Points written to the main database (the reports' points); `allPoints` with the districts' copies. */
  points: number;
  allPoints: number;
  /** Series InfluxDB created during the measured window. */
  newSeries: number;
  /** `/write` requests InfluxDB answered during the measured window. */
  writes: number;
  /** Seconds InfluxDB spent snapshotting and compacting during the window (wall time of those tasks). */
  compactionS: number;
  /** MB InfluxDB snapshotted out of its cache during the window, and the MB its cache held when it began. */
  snapshotMb: number;
  cacheMbAtStart: number;
  bytes: number;
  cpu: { collector: number; influxd: number; generators: number; postgres: number };
  /** How busy each core was in the measured window (0–1), whatever ran on it. */
  coresBusy: number[];
  /** Seconds of the collector's alert evaluations in the window (wall time, part of its CPU). */
  alertEvalS: number;
  /** The collector's event-loop delay in the window (its /metrics): max and p99, ms. */
  loop: { maxMs: number; p99Ms: number };
  /** Its /write requests answered by InfluxDB in the window: count, p50 and p99 (histogram bounds, s). */
  influxWrites: ReturnType<typeof writeLatency>;
  /** The collector's V8 heap in use and its external memory when measuring began and ended (its /metrics), MB. */
  memory: { heapStart: number; heapEnd: number; externalStart: number; externalEnd: number };
}

function merge(results: GenResult[]): Omit<
  PhaseResult,
  | 'name'
  | 'seconds'
  | 'points'
  | 'allPoints'
  | 'newSeries'
  | 'writes'
  | 'compactionS'
  | 'snapshotMb'
  | 'cacheMbAtStart'
  | 'alertEvalS'
  | 'loop'
  | 'influxWrites'
  | 'memory'
  | 'cpu'
  | 'coresBusy'
  | 'windows'
> & {
  doneAt: number[];
  latencyMs: number[];
  rawPoints: number;
} {
  const outcomes: Record<string, number> = {};
  for (const r of results)
    for (const [k, v] of Object.entries(r.outcomes)) outcomes[k] = (outcomes[k] ?? 0) + v;
  const latencyMs = results.flatMap((r) => r.latencyMs);
  const lag = results.flatMap((r) => r.lagMs);
  return {
    ok: results.reduce((a, r) => a + r.ok, 0),
    completed: results.reduce((a, r) => a + r.completed, 0),
    outcomes,
    latency: summarise(latencyMs),
    lag: lag.length > 0 ? summarise(lag) : undefined,
    bytes: results.reduce((a, r) => a + r.bytes, 0),
    doneAt: results.flatMap((r) => r.doneAt),
    latencyMs,
    rawPoints: results.reduce((a, r) => a + r.points, 0),
  };
}

class Generators {
  private readonly waiting = new Map<number, (m: GenMessage) => void>();
  private closing = false;
  constructor(readonly procs: ChildProcess[]) {
    procs.forEach((p, part) => {
      p.on('message', (m: GenMessage) => {
        if (m.type === 'error') {
          console.error(`bench/ingest: generator ${part} failed:\n${m.message}`);
          void cleanup().then(() => process.exit(1));
          return;
        }
        const w = this.waiting.get(part);
        this.waiting.delete(part);
        w?.(m);
      });
      p.once('exit', (code) => {
        if (!cleaning && !this.closing) {
          console.error(`bench/ingest: generator ${part} exited (${code})`);
          void cleanup().then(() => process.exit(1));
        }
      });
    });
  }

  /** Sends a command to every generator and waits for each one's answer. */
  all(cmd: GenCommand): Promise<GenMessage[]> {
    return Promise.all(
      this.procs.map(
        (p, part) =>
          new Promise<GenMessage>((resolve) => {
            this.waiting.set(part, resolve);
            p.send(cmd);
          }),
      ),
    );
  }

  /** Asks every generator to close its pools and exit; waits for them. */
  async exit(): Promise<void> {
    this.closing = true;
    await Promise.all(
      this.procs.map(
        (p) =>
          new Promise<void>((resolve) => {
            if (p.exitCode !== null || p.signalCode !== null) return resolve();
            p.once('exit', () => resolve());
            p.send({ cmd: 'exit' } satisfies GenCommand);
          }),
      ),
    );
  }

  ready(): Promise<GenMessage[]> {
    return Promise.all(
      this.procs.map((_, part) => new Promise<GenMessage>((resolve) => this.waiting.set(part, resolve))),
    );
  }
}

/** influxd's CPU seconds in a phase and in the settling after it (its deferred work). */
function influxdWithSettle(r: PhaseResult): number {
  return r.cpu.influxd + (r.settle?.influxdCpu ?? 0);
}

interface Settle {
  seconds: number;
  influxdCpu: number;
  /** MB InfluxDB snapshotted out of its cache while settling. */
  snapshotMb: number;
  /** False when influxd was still busy (or its cache not written out) when the bench gave up waiting. */
  idle: boolean;
}

/** The collector's base URL once it listens, when its outbox is on (--outbox): settle waits for it to empty. */
let outboxCollectorUrl: string | undefined;

/** Waits until the collector's outbox holds no points (its /metrics), at most maxS. */
async function outboxDrained(maxS = 180): Promise<void> {
  if (outboxCollectorUrl === undefined) return;
  const t0 = Date.now();
  while (Date.now() - t0 < maxS * 1000) {
    const text = await (await fetch(`${outboxCollectorUrl}/metrics`, { headers: METRICS_AUTH })).text();
    if (/^campuswatch_outbox_pending\{unit="points"\} 0$/m.test(text)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Waits (at most `maxS`) until influxd uses < 5% of a core over a second and, unless --keep-cache, its
 * cache is empty: the work earlier phases left (with --outbox, after the collector's queue has emptied). A cache is written out when it reaches
 * cache-snapshot-memory-size, and the cost of a snapshot grows with the series keys in it, not with the
 * points; before session 7 a phase began with the points the phases before it had left in the cache
 * (up to 256 MB), and the phase that filled it paid for all of them: session 7's influxd profiles gave
 * flat-out 5.6× the raw phases' snapshot CPU per point that way (0.045 against 0.008 s per 1,000
 * points). With the cache cold after COLD_CACHE, every phase begins with an empty one and pays for the
 * snapshots of its own points only.
 */
async function settle(influxPid: number, maxS = 180): Promise<Settle> {
  const t0 = Date.now();
  await outboxDrained(maxS);
  const c0 = cpuSeconds(influxPid);
  const s0 = (await cacheStats()).snapshotBytes;
  for (;;) {
    const before = cpuSeconds(influxPid);
    await new Promise((r) => setTimeout(r, 1000));
    const after = cpuSeconds(influxPid);
    const cache = await cacheStats();
    const idle = after - before < 0.05 && (opts.keepCache || cache.cacheBytes === 0);
    if (idle || Date.now() - t0 > maxS * 1000)
      return {
        seconds: (Date.now() - t0) / 1000,
        influxdCpu: after - c0,
        snapshotMb: (cache.snapshotBytes - s0) / 1e6,
        idle,
      };
  }
}

/**
 * influxd's Go CPU profile from `from` to `to` (its /debug/pprof/profile), saved in `dir` and summarised
 * (bench/pprof-top); a failure to take it is reported in the text, not thrown.
 */
async function influxProfile(name: string, dir: string, from: number, to: number): Promise<string> {
  await new Promise((r) => setTimeout(r, Math.max(0, from - Date.now())));
  const seconds = Math.max(1, Math.floor((to - Date.now()) / 1000));
  try {
    const res = await fetch(`${influxd?.url}/debug/pprof/profile?seconds=${seconds}`, {
      signal: AbortSignal.timeout((seconds + 30) * 1000),
    });
    if (!res.ok) return `influxd profile of ${name}: HTTP ${res.status}`;
    const bytes = new Uint8Array(await res.arrayBuffer());
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `influxd-${name.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '')}.pb.gz`);
    writeFileSync(file, bytes);
    return formatSummary(`influxd profile of ${name} (${file})`, summariseProfile(bytes), 30);
  } catch (err) {
    return `influxd profile of ${name}: ${err instanceof Error ? err.message : String(err)}`;
  }
}

/** Each phase's measured span (wall-clock ms), to say in which phase a slow write fell (--stall-log). */
const phaseSpans: { name: string; from: number; to: number }[] = [];
/** Seconds (wall-clock ms) in which reports were answered after more than 1 s (--stall-log). */
const slowAnswers: { at: number; n: number; maxMs: number; phase: string }[] = [];

/** Runs one phase; CPU and InfluxDB's point counter are sampled when measuring starts and when it ends. */
async function phase(
  name: string,
  gens: Generators,
  pids: Pids,
  cmd: GenCommand,
  measureFrom: number,
  endAt: number,
  windowS = 0,
  /** Open loop: the phase lasts until the last report due in it is answered (a backlog counts). */
  drain = false,
): Promise<PhaseResult> {
  const at = (t: number) =>
    new Promise<Sample>((resolve) => setTimeout(() => resolve(sample(pids)), Math.max(0, t - Date.now())));
  const first = at(measureFrom);
  const last = drain ? undefined : at(endAt);
  const profile = opts.influxPprof ? influxProfile(name, opts.influxPprof, measureFrom, endAt) : undefined;
  const answers = (await gens.all(cmd)) as GenResult[];
  if (profile) console.log(await profile);
  const start = await first;
  const end = last ? await last : await sample(pids);
  const m = merge(answers);
  const lastDone = m.doneAt.reduce((a, t) => Math.max(a, t), endAt);
  phaseSpans.push({ name, from: measureFrom, to: drain ? lastDone : endAt });
  if (opts.stallLog !== undefined) {
    // the seconds in which reports were answered after more than 1 s (--stall-log)
    const bySecond = new Map<number, { n: number; maxMs: number }>();
    m.latencyMs.forEach((ms, k) => {
      if (ms <= 1000) return;
      const sec = Math.floor(m.doneAt[k]! / 1000) * 1000;
      const b = bySecond.get(sec) ?? { n: 0, maxMs: 0 };
      b.n += 1;
      b.maxMs = Math.max(b.maxMs, ms);
      bySecond.set(sec, b);
    });
    for (const [at, b] of [...bySecond].sort((x, y) => x[0] - y[0]))
      slowAnswers.push({ at, ...b, phase: name });
  }
  const seconds = ((drain ? lastDone : endAt) - measureFrom) / 1000;
  const windows: PhaseResult['windows'] = [];
  if (windowS > 0) {
    for (let from = measureFrom; from < endAt; from += windowS * 1000) {
      const to = from + windowS * 1000;
      // answers that came after the phase ended count in its last window
      const lat = m.latencyMs.filter((_, k) => m.doneAt[k]! >= from && (m.doneAt[k]! < to || to >= endAt));
      windows.push({ fromS: (from - measureFrom) / 1000, n: lat.length, p99: summarise(lat).p99 });
    }
  }
  return {
    name,
    seconds,
    ok: m.ok,
    completed: m.completed,
    outcomes: m.outcomes,
    latency: m.latency,
    lag: m.lag,
    windows,
    points: end.points - start.points,
    allPoints: end.allPoints - start.allPoints,
    newSeries: end.series - start.series,
    writes: end.writes - start.writes,
    compactionS: end.compactionS - start.compactionS,
    snapshotMb: (end.snapshotBytes - start.snapshotBytes) / 1e6,
    cacheMbAtStart: start.cacheBytes / 1e6,
    alertEvalS: end.alertEvalS - start.alertEvalS,
    loop: { maxMs: end.loopMaxMs, p99Ms: end.loopP99Ms },
    influxWrites: writeLatency(start, end),
    memory: {
      heapStart: start.heapUsedMb,
      heapEnd: end.heapUsedMb,
      externalStart: start.externalMb,
      externalEnd: end.externalMb,
    },
    bytes: m.bytes,
    coresBusy: end.cores.map((c, i) => {
      const s0 = start.cores[i] ?? { busy: 0, total: 0 };
      return c.total > s0.total ? (c.busy - s0.busy) / (c.total - s0.total) : 0;
    }),
    cpu: {
      collector: end.collector - start.collector,
      influxd: end.influxd - start.influxd,
      generators: end.generators - start.generators,
      postgres: end.postgres - start.postgres,
    },
  };
}

/** Runs fn with these variables in the environment (which influxd inherits), then puts the old values back. */
async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.keys(vars).map((k) => [k, process.env[k]] as const);
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

async function main(): Promise<void> {
  const loadBefore = loadLine();
  const ticksBefore = cpuTicks();
  const commit = gitCommit(ROOT);
  const influxLog = opts.stallLog === undefined ? undefined : join(opts.stallLog, 'influxd.log');
  if (opts.stallLog !== undefined) {
    mkdirSync(opts.stallLog, { recursive: true });
  }
  const influxdStartedAt = Date.now();
  // Go sizes GOMAXPROCS by the CPU affinity it starts with, and influxd inherits the bench's own pinning
  // (--influx-cores): until session 10 it ran with ONE P in every phase, the unpinned steady one too, so
  // its garbage collector could never mark beside its writers. As deployed, it gets one P per core.
  const gomaxprocs = process.env.GOMAXPROCS;
  const influxProcs = gomaxprocs ?? String(cpus().length);
  influxd = await withEnv(
    // with --stall-log, influxd (only) logs every Go GC cycle on stderr, into influxd.log
    { GOMAXPROCS: influxProcs, ...(influxLog === undefined ? {} : { GODEBUG: 'gctrace=1' }) },
    () =>
      startInfluxd({
        data: opts.influxData,
        pprof: opts.influxPprof !== undefined,
        ...(influxLog === undefined ? {} : { logLevel: 'info', logFile: influxLog }),
      }),
  );
  const io = opts.stallLog === undefined ? undefined : new IoSampler();
  const influxPid = findPid(['influxd', join(influxd.dir, 'influxdb.conf')]);
  if (!influxPid) throw new Error('cannot find the pid of the influxd just started');
  pin(influxPid, pinning?.influx);
  const dataDir = join(dir, 'collector');
  let stateConfig: Record<string, unknown> =
    opts.latestCache === undefined ? {} : { state: { kind: 'sqlite', latestCacheResults: opts.latestCache } };
  let postgresPid: number | undefined;
  let enrolled: { agents: BenchAgent[]; ms: number };
  if (opts.state === 'postgres') {
    postgres = await startPostgres();
    const url = await postgres.createDatabase('campuswatch');
    postgresPid = findPid(['postgres', '-D', postgres.dir]);
    pin(postgresPid, pinning?.rest);
    stateConfig = { state: { kind: 'postgres', url, poolMax: 10 } };
    enrolled = await enrolAllPg(url);
  } else {
    enrolled = enrolAll(dataDir);
  }
  const { agents, ms: enrolMs } = enrolled;
  let recorderUrl: string | undefined;
  if (opts.recordWrites) {
    const rec = spawn(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'bench', 'write-recorder.ts'), influxd.url],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    children.push(rec);
    pin(rec.pid, pinning?.rest);
    recorderUrl = (await firstJsonLine<{ url: string }>(rec)).url;
  }
  const agentsFile = join(dir, 'agents.json');
  writeFileSync(agentsFile, JSON.stringify(agents));
  const configFile = join(dir, 'collector.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      listen: '127.0.0.1:0',
      // /metrics needs a token of the city scope: the bench reads it with this one
      adminToken: BENCH_ADMIN_TOKEN,
      dataDir,
      ...stateConfig,
      influx: {
        url: recorderUrl ?? influxd.url,
        database: 'campuswatch',
        timeoutMs: 10_000,
        batchLingerMs: opts.lingerMs,
        outbox: { enabled: opts.outbox, maxPendingPoints: opts.outboxMaxPoints },
        ...(opts.perDistrict
          ? {
              // (influxd has no authentication here: the user is not checked; the collector still creates
              // each district's database, retention policies, rollups and reader before its first write)
              username: 'bench',
              password: 'bench',
              perDistrict: {
                enabled: true,
                databasePrefix: DISTRICT_PREFIX,
                readers: Object.fromEntries(
                  [...new Set(benchSchools(opts.schools).map((s) => s.district))]
                    .filter((d): d is string => d !== undefined)
                    .map((d) => [d, { password: 'bench-reader' }]),
                ),
              },
            }
          : {}),
      },
      alerts: { enabled: opts.alerts },
    }),
  );

  const entry = collectorEntry();
  const collector = spawn(
    process.execPath,
    [
      ...(opts.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProf}`] : []),
      ...opts.collectorNodeFlags,
      ...entry.args,
      configFile,
      ...(opts.synchronous ? ['--synchronous', opts.synchronous.toUpperCase()] : []),
    ],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...(io === undefined ? {} : { CAMPUSWATCH_BENCH_STALLS: '1' }) },
    },
  );
  children.push(collector);
  pin(collector.pid, pinning?.rest);
  const { url, pid: collectorPid } = await firstJsonLine<{ url: string; pid: number }>(collector);
  const collectorLog: string[] = [];
  const slowWrites: { sentAt: number; seconds: number; ok: boolean }[] = [];
  const loopBlocks: { at: number; ms: number }[] = [];
  const gcs: { at: number; ms: number; major: boolean }[] = [];
  collector.stderr?.setEncoding('utf8');
  let partial = '';
  collector.stderr?.on('data', (d: string) => {
    const lines = (partial + d).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.startsWith('{"slowWrite":'))
        slowWrites.push((JSON.parse(line) as { slowWrite: (typeof slowWrites)[number] }).slowWrite);
      else if (line.startsWith('{"loopBlock":'))
        loopBlocks.push((JSON.parse(line) as { loopBlock: (typeof loopBlocks)[number] }).loopBlock);
      else if (line.startsWith('{"gc":')) gcs.push((JSON.parse(line) as { gc: (typeof gcs)[number] }).gc);
      else if (line.trim()) collectorLog.push(line);
    }
    if (collectorLog.length > 200) collectorLog.splice(0, collectorLog.length - 200);
  });
  collector.stdout?.resume();

  const gens = new Generators(
    Array.from({ length: opts.generators }, (_, part) => {
      const c = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          join(ROOT, 'bench', 'load-gen.ts'),
          JSON.stringify({
            collectorUrl: url,
            influxUrl: influxd!.url,
            database: 'campuswatch',
            agentsFile,
            schools: opts.schools,
            campuses,
            part,
            parts: opts.generators,
            connections: Math.ceil(
              Math.max(opts.concurrency, opts.rawConcurrency, opts.connections) / opts.generators,
            ),
          }),
        ],
        { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
      );
      children.push(c);
      pin(c.pid, pinning?.rest);
      return c;
    }),
  );
  await gens.ready();
  if (opts.outbox) outboxCollectorUrl = url;
  const pids: Pids = {
    collector: collectorPid,
    collectorUrl: url,
    influxd: influxPid,
    generators: gens.procs.map((p) => p.pid!),
    ...(postgresPid === undefined ? {} : { postgres: postgresPid }),
  };

  // the collector's RSS every second, from before the first report to the end
  const rss: { at: number; mb: number }[] = [];
  const rssTimer = setInterval(() => rss.push({ at: Date.now(), mb: rssMb(collectorPid) }), 1000);
  await new Promise((r) => setTimeout(r, 2000));
  const rssStart = rssMb(collectorPid);
  const collectorCpuIdle = cpuSeconds(collectorPid);

  const templates = new Templates(campuses);
  const sizes = [0, 1, 5].map((c) => {
    const v = variantOf(0, c);
    const t = templates.get(agents[0]!, v);
    return {
      v,
      results: t.resultCount,
      bytes: Buffer.byteLength(t.fill(agents[0]!.schoolId, agents[0]!.agentId, new Date())),
    };
  });

  // The raw /write bodies (built before any timing), one per agent: written once now, they create every
  // series the run writes, as in a deployment that has been running (a fresh InfluxDB spends most of the
  // first cycle creating 450,000 series; --no-prime shows that)
  const tPrep = performance.now();
  const prepared = (await gens.all({
    cmd: 'prepare-raw',
    batches: Math.ceil(opts.rawBatches / opts.generators),
    cycleBase: 2000,
  })) as Extract<GenMessage, { type: 'ready' }>[];
  const rawPrepared = prepared.reduce(
    (acc, r) => ({ batches: acc.batches + r.batches, points: acc.points + r.points }),
    { batches: 0, points: 0 },
  );
  const prepS = (performance.now() - tPrep) / 1000;
  const primed = opts.prime
    ? merge(
        (await gens.all({
          cmd: 'prime',
          concurrency: Math.ceil(opts.rawConcurrency / opts.generators),
        })) as GenResult[],
      )
    : undefined;
  const primeS = (performance.now() - tPrep) / 1000 - prepS;
  // --per-district: the districts' databases get the primed points too (as the collector would have written
  // them), or their series would be created during the measured phases and charged to the collector
  const tPrimeDistricts = performance.now();
  const primedDistricts = primed && opts.perDistrict ? await primeDistrictDatabases() : undefined;
  const primeDistrictsS = (performance.now() - tPrimeDistricts) / 1000;
  // …and every agent reports once through the collector: the state store holds every school's latest
  // results, and InfluxDB every series the collector writes beyond the raw ones (compliance targets a
  // single report has no data for), as after the first cycle of a deployment
  const tPrimeCollector = performance.now();
  const primedCollector = opts.prime
    ? merge(
        (await gens.all({
          cmd: 'flat',
          once: true,
          concurrency: Math.ceil(opts.concurrency / opts.generators),
          measureFrom: 0,
          // (finite: the command goes over IPC as JSON, where Infinity would become null)
          endAt: Date.now() + 86_400_000,
          cycleBase: 400,
        })) as GenResult[],
      )
    : undefined;
  const primeCollectorS = (performance.now() - tPrimeCollector) / 1000;
  // the priming's burst of points leaves InfluxDB compactions a deployment would not have pending
  const primeSettle = await settle(influxPid);

  // 0. warm-up (not measured): lazy module loads, JIT, the database and its retention policies
  const warmEnd = Date.now() + opts.warmupS * 2000;
  const warm = merge(
    (await gens.all({
      cmd: 'flat',
      concurrency: 2,
      measureFrom: Date.now(),
      endAt: warmEnd,
      cycleBase: 500,
    })) as GenResult[],
  );

  // 1. the 60 s schedule, unpinned unless --steady-pinning on (the compared phases below are pinned again)
  const pinPhases = (pinned: boolean) => {
    if (!pinning || opts.steadyPinned) return;
    const every = cpus()
      .map((_, i) => i)
      .join(',');
    pin(influxPid, pinned ? pinning.influx : every);
    for (const pid of [process.pid, postgresPid, ...children.map((c) => c.pid)])
      pin(pid, pinned ? pinning.rest : every);
  };
  pinPhases(false);
  const steadyStart = Date.now() + 1500;
  const steadyEnd = steadyStart + opts.steadyS * 1000;
  const steady = await phase(
    `steady (${opts.agents} agents / ${opts.cycleS} s)`,
    gens,
    pids,
    {
      cmd: 'schedule',
      startAt: steadyStart,
      measureFrom: steadyStart,
      endAt: steadyEnd,
      cycleMs: opts.cycleS * 1000,
      cycleBase: 0,
    },
    steadyStart,
    steadyEnd,
    Math.min(opts.cycleS, Math.max(5, Math.round(opts.steadyS / 6))),
    true,
  );
  const rssIn = (from: number, to: number) =>
    median(rss.filter((s) => s.at >= from && s.at < to).map((s) => s.mb));
  const steadyMid = (steadyStart + steadyEnd) / 2;
  const span = Math.max(3000, Math.min(10_000, (opts.steadyS * 1000) / 6));
  const rssMiddle = rssIn(steadyMid - span, steadyMid + span);
  const rssEnd = rssIn(steadyEnd - 2 * span, steadyEnd + 1);
  const steadyWindowS = steady.windows[1]
    ? steady.windows[1].fromS - steady.windows[0]!.fromS
    : steady.seconds;
  const steadyRssWindows = steady.windows.map((w) =>
    rssIn(steadyStart + w.fromS * 1000, steadyStart + (w.fromS + steadyWindowS) * 1000),
  );

  const rawPhase = (label: string) => {
    const measureFrom = Date.now() + 500 + opts.warmupS * 1000;
    const endAt = measureFrom + opts.rawS * 1000;
    return phase(
      `raw /write ${label} (${opts.rawConcurrency} in flight)`,
      gens,
      pids,
      {
        cmd: 'raw',
        concurrency: Math.ceil(opts.rawConcurrency / opts.generators),
        measureFrom,
        endAt,
        coalesce: opts.rawCoalesce,
        lingerMs: opts.lingerMs,
      },
      measureFrom,
      endAt,
    );
  };
  pinPhases(true);
  steady.settle = await settle(influxPid);
  const rawBefore = await rawPhase('before');
  rawBefore.settle = await settle(influxPid);

  // 3. flat out
  const flatMeasure = Date.now() + 500 + opts.warmupS * 1000;
  const flatEnd = flatMeasure + opts.flatS * 1000;
  const recordFile = join(dir, 'collector-writes.jsonl');
  const recordStart = recorderUrl
    ? new Promise<void>((resolve, reject) =>
        setTimeout(
          () =>
            fetch(`${recorderUrl}/_recorder/start`)
              .then((r) => r.text())
              .then(() => resolve(), reject),
          Math.max(0, flatMeasure - Date.now()),
        ),
      )
    : undefined;
  const flat = await phase(
    `flat-out (${opts.concurrency} in flight${recorderUrl ? ', through the write recorder' : ''})`,
    gens,
    pids,
    {
      cmd: 'flat',
      concurrency: Math.ceil(opts.concurrency / opts.generators),
      measureFrom: flatMeasure,
      endAt: flatEnd,
      cycleBase: 1000,
    },
    flatMeasure,
    flatEnd,
  );
  const rssAfterFlat = rssMb(collectorPid);
  flat.settle = await settle(influxPid);
  let recordedWrites = 0;
  if (recorderUrl) {
    await recordStart;
    const r = await fetch(`${recorderUrl}/_recorder/stop?file=${encodeURIComponent(recordFile)}`);
    recordedWrites = ((await r.json()) as { writes: number }).writes;
  }

  // 4. the ceiling again, after flat-out: flat-out is compared with the mean of the two
  const rawAfter = await rawPhase('after');
  rawAfter.settle = await settle(influxPid);
  // 5. (--record-writes) the collector's own flat-out /write bodies, re-timed, straight to InfluxDB
  let replay: PhaseResult | undefined;
  if (recorderUrl) {
    const measureFrom = Date.now() + 500 + opts.warmupS * 1000;
    const endAt = measureFrom + opts.rawS * 1000;
    replay = await phase(
      `replay of the collector's writes (${opts.rawConcurrency} in flight)`,
      gens,
      pids,
      {
        cmd: 'replay',
        file: recordFile,
        concurrency: Math.ceil(opts.rawConcurrency / opts.generators),
        measureFrom,
        endAt,
      },
      measureFrom,
      endAt,
    );
    replay.settle = await settle(influxPid);
  }
  clearInterval(rssTimer);
  const loadAfter = loadLine();
  const steal = stealShare(ticksBefore, cpuTicks());

  // ---- report --------------------------------------------------------------------------------
  const out: string[] = [];
  const p = (s = '') => out.push(s);
  p(
    `bench/ingest — ${new Date().toISOString()} — commit ${commit}${smoke ? ' — SMOKE run (checks the code path; the numbers mean nothing)' : quick ? ' — QUICK run (numbers are indicative only)' : ''}`,
  );
  p(
    `machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), Node ${process.version}; ${pinning ? `influxd pinned to core(s) ${pinning.influx}, the collector, the load generator and the rest to core(s) ${pinning.rest} (--influx-cores)${opts.steadyPinned ? ', in every phase (--steady-pinning on)' : ' in the compared phases (raw, flat-out); steady unpinned, every process on every core as deployed (--steady-pinning on pins it too)'}` : 'the load generator, the collector and influxd all compete for these cores'}`,
  );
  p(
    opts.outbox
      ? `collector answers once a report's series are queued on its disk (--outbox: influx.outbox, at most ${opts.outboxMaxPoints} points pending); every settle waits for the queue to be written out first`
      : "collector answers once InfluxDB took a report's series (no --outbox)",
  );
  p(
    `load before: ${loadBefore}; after: ${loadAfter}; CPU time stolen by the hypervisor during the run: ${fmt(steal * 100, 1)}% (other guests on the host: figures of runs with different steal are not comparable)`,
  );
  p(
    `setup: ${opts.schools} schools × ${campuses} campus agent(s) = ${opts.agents} agents, enrolled through the state store in ${fmt(enrolMs / 1000)} s; InfluxDB ${influxd.url} (influxd 1.6, own config${
      Object.keys(opts.influxData).length > 0
        ? ` with ${Object.entries(opts.influxData)
            .map(([k, v]) => `${k} = ${v}`)
            .join(', ')}`
        : ''
    }${process.env.GOGC ? `, GOGC=${process.env.GOGC} from the environment` : ''}, GOMAXPROCS=${influxProcs}${gomaxprocs === undefined ? ' (the machine’s cores)' : ' from the environment'}, pid ${influxPid}); collector ${url} (pid ${collectorPid})`,
  );
  p(
    `report: ${sizes.map((s) => `${s.v} ${s.results} results ${fmt(s.bytes / 1024)} KB`).join(', ')} (base 4 cycles in 5, host every 5th, full 1 in 60)`,
  );
  p(
    `collector: default config${opts.alerts ? ' (alert evaluation on, as deployed)' : ', alert evaluation OFF (--alerts off)'}${opts.agentsIndex ? ', with the proposed index agents(school_id) (--fix-agents-index)' : ''}${opts.synchronous ? `, SQLite synchronous = ${opts.synchronous.toUpperCase()} (--synchronous; state.ts sets FULL)` : ''}${opts.latestCache === undefined ? '' : `, state.latestCacheResults = ${opts.latestCache} (--latest-cache)`}${opts.collectorNodeFlags.length > 0 ? `, node ${opts.collectorNodeFlags.join(' ')}` : ''}; run as ${entry.how}; CPU for start-up ${fmt(collectorCpuIdle, 2)} s`,
  );
  p(
    primed
      ? `influx primed: every agent's points written once straight to /write before the schedule (${primed.ok} requests, ${primed.rawPoints} points in ${fmt(primeS)} s), so the series exist as in a running deployment`
      : 'influx NOT primed (--no-prime): the first cycle creates every series',
  );
  if (primedDistricts)
    p(
      `--per-district: the primed points copied into the ${primedDistricts.databases} districts' databases (SELECT … INTO, ${primedDistricts.points} points in ${fmt(primeDistrictsS)} s)`,
    );
  p(
    `InfluxDB settled after priming in ${fmt(primeSettle.seconds)} s (${fmt(primeSettle.influxdCpu)} s CPU)${primeSettle.idle ? '' : ', still busy when the bench went on'}`,
  );
  if (primedCollector)
    p(
      `collector primed: every agent reported once through the collector (${primedCollector.ok} of ${primedCollector.completed} stored, ${opts.concurrency} in flight, ${fmt(primeCollectorS)} s = ${fmt(primedCollector.ok / primeCollectorS)} reports/s), so every school's latest results are in its state store and every series it writes exists`,
    );
  p(
    `warm-up (not measured): ${warm.ok} reports in ${fmt(opts.warmupS * 2, 0)} s, 2 in flight, p50 ${fmt(warm.latency.p50)} ms${warm.completed > warm.ok ? `, ${warm.completed - warm.ok} errors` : ''}`,
  );
  p();
  const phases = [steady, rawBefore, flat, rawAfter, ...(replay ? [replay] : [])];
  const rows = phases.map((r) => {
    const rps = r.ok / r.seconds;
    const errs = r.completed - r.ok;
    return [
      r.name,
      fmt(r.seconds, 0),
      r.name.startsWith('raw') || r === replay ? '-' : fmt(rps, 1),
      fmt(r.points / r.seconds, 0),
      fmt(r.points / Math.max(1, r.ok), 1),
      fmt(r.latency.p50, 1),
      fmt(r.latency.p99, 1),
      fmt(r.latency.max, 0),
      String(errs),
      fmt(r.cpu.collector, 1),
      fmt(r.cpu.influxd, 1),
      fmt(r.cpu.generators, 1),
      ...(pids.postgres === undefined ? [] : [fmt(r.cpu.postgres, 1)]),
    ];
  });
  const header = [
    'phase',
    's',
    'reports/s',
    'points/s',
    'pts/req',
    'p50 ms',
    'p99 ms',
    'max ms',
    'errors',
    'collector CPU s',
    'influxd CPU s',
    'generator CPU s',
    ...(pids.postgres === undefined ? [] : ['postgres CPU s']),
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  p(line(header));
  for (const r of rows) p(line(r));
  p();
  for (const r of phases) {
    const bad = Object.entries(r.outcomes).filter(([k]) => !k.startsWith('200') && k !== '204');
    if (bad.length > 0) p(`${r.name}: non-OK answers: ${bad.map(([k, v]) => `${v} × ${k}`).join('; ')}`);
  }
  if (steady.lag) {
    p(
      `steady: generator dispatch lag p50 ${fmt(steady.lag.p50)} ms, p99 ${fmt(steady.lag.p99)} ms, max ${fmt(steady.lag.max)} ms (latency is counted from the due time)`,
    );
  }
  p(
    `steady: p99 per ${steady.windows[0] ? (steady.windows[1] ? steady.windows[1].fromS - steady.windows[0].fromS : steady.seconds) : 0} s window: ${steady.windows.map((w) => `${fmt(w.p99, 0)}`).join(' ')} ms`,
  );
  const perReport = (r: PhaseResult) => (r.cpu.collector * 1000) / Math.max(1, r.ok);
  p(
    `collector CPU: ${fmt(perReport(steady), 2)} ms/report steady (${fmt((steady.cpu.collector / steady.seconds) * 100, 0)}% of a core), ${fmt(perReport(flat), 2)} ms/report flat-out (${fmt((flat.cpu.collector / flat.seconds) * 100, 0)}% of a core)`,
  );
  p(
    `cores busy in each phase (/proc/stat, whatever ran on them): ${phases.map((r) => `${r.name.replace(/ \(.*/, '')} ${r.coresBusy.map((b) => `${fmt(b * 100, 0)}%`).join(' / ')}`).join('; ')}`,
  );
  p(
    `collector alert evaluations (its /metrics): steady ${fmt(steady.alertEvalS)} s (${fmt((steady.alertEvalS / Math.max(1e-9, steady.cpu.collector)) * 100, 0)}% of its CPU), flat-out ${fmt(flat.alertEvalS)} s (${fmt((flat.alertEvalS / Math.max(1e-9, flat.cpu.collector)) * 100, 0)}%)`,
  );
  const stalls = (r: PhaseResult) => {
    const w = r.influxWrites;
    const le = (x: number) => (Number.isFinite(x) ? `≤ ${fmt(x * 1000, 0)} ms` : '> 10 s');
    return `${r.name.split(' ')[0]} loop max ${fmt(r.loop.maxMs, 0)} ms (p99 ${fmt(r.loop.p99Ms, 0)}), ${w.n} writes p50 ${le(w.p50)}, p99 ${le(w.p99)}, slowest ${le(w.max)}, ${w.over1s} over 1 s`;
  };
  p(
    `collector event-loop delay and its InfluxDB /write answer times (its /metrics, over each phase): ${stalls(steady)}; ${stalls(flat)}`,
  );
  p(
    `InfluxDB points per /write request (its httpd counters): steady ${fmt(steady.allPoints / Math.max(1, steady.writes))}, raw before ${fmt(rawBefore.allPoints / Math.max(1, rawBefore.writes))}, flat-out ${fmt(flat.allPoints / Math.max(1, flat.writes))}, raw after ${fmt(rawAfter.allPoints / Math.max(1, rawAfter.writes))}`,
  );
  if (opts.perDistrict)
    p(
      `--per-district: points/s, the ratio and influxd CPU per 1000 points count the main database's points; InfluxDB wrote ${phases.map((r) => `${r.name.split(' (')[0]} ${fmt(r.allPoints / Math.max(1, r.points), 2)}×`).join(', ')} as many in all (the districts' copies), in ${phases.map((r) => `${r.name.split(' (')[0]} ${r.writes}`).join(', ')} /write requests`,
    );
  p(
    `InfluxDB snapshot + compaction time (its tsm1_engine counters, s): steady ${fmt(steady.compactionS)}, raw before ${fmt(rawBefore.compactionS)}, flat-out ${fmt(flat.compactionS)}, raw after ${fmt(rawAfter.compactionS)}`,
  );
  p(
    `InfluxDB MB snapshotted out of its cache (its tsm1_cache counters) in each phase + while settling, and the MB its cache held when the phase's measuring began: ${phases.map((r) => `${r.name.split(' (')[0]} ${fmt(r.snapshotMb, 0)} + ${r.settle ? fmt(r.settle.snapshotMb, 0) : '-'} (${fmt(r.cacheMbAtStart, 0)} MB)`).join('; ')}${opts.keepCache ? ' (--keep-cache: phases begin with what the ones before left in the cache)' : ''}`,
  );
  p(
    `InfluxDB series created: steady ${steady.newSeries}, raw before ${rawBefore.newSeries}, flat-out ${flat.newSeries}, raw after ${rawAfter.newSeries}`,
  );
  const withSettle = (r: PhaseResult) => `${fmt((influxdWithSettle(r) * 1000) / Math.max(1, r.points), 3)} s`;
  p(
    `InfluxDB settling after each phase (until idle; the phase's deferred work): ${phases.map((r) => `${r.name.split(' (')[0]} ${r.settle ? `${fmt(r.settle.seconds)} s, ${fmt(r.settle.influxdCpu)} s CPU${r.settle.idle ? '' : ' (still busy)'}` : '-'}`).join('; ')}`,
  );
  p(
    `influxd CPU per 1000 points with its settling: ${phases.map((r) => `${r.name.split(' (')[0]} ${withSettle(r)}`).join(', ')}`,
  );
  p(
    `influxd CPU per 1000 points: collector flat-out ${fmt((flat.cpu.influxd * 1000) / Math.max(1, flat.points), 3)} s, raw ${fmt(((rawBefore.cpu.influxd + rawAfter.cpu.influxd) * 1000) / Math.max(1, rawBefore.points + rawAfter.points), 3)} s${replay ? `, replay of the collector's ${recordedWrites} recorded flat-out writes ${fmt((replay.cpu.influxd * 1000) / Math.max(1, replay.points), 3)} s (${fmt(replay.points / replay.seconds, 0)} points/s)` : ''}`,
  );
  p(
    `raw reference: ${rawPrepared.batches} prepared /write bodies (${fmt(rawPrepared.points / rawPrepared.batches, 1)} points each, built in ${fmt(prepS)} s), cycled with fresh timestamps, ${opts.rawCoalesce ? `coalesced as the collector's writes are (its WriteBatcher: ${WRITES_IN_FLIGHT} /write requests in flight, reports that arrive meanwhile share the next one, a report waits up to ${opts.lingerMs} ms for others (--linger-ms); --raw-one-per-write: one report per request)` : 'one report per /write request (--raw-one-per-write)'}`,
  );
  p(
    `collector RSS: start ${fmt(rssStart, 0)} MB (idle, before the first report), middle of steady ${fmt(rssMiddle, 0)} MB, end of steady ${fmt(rssEnd, 0)} MB, after flat-out ${fmt(rssAfterFlat, 0)} MB`,
  );
  p(
    `collector memory in steady: RSS per ${steadyWindowS} s window (median) ${steadyRssWindows.map((mb) => fmt(mb, 0)).join(' ')} MB; V8 heap in use ${fmt(steady.memory.heapStart, 0)} → ${fmt(steady.memory.heapEnd, 0)} MB, external ${fmt(steady.memory.externalStart, 0)} → ${fmt(steady.memory.externalEnd, 0)} MB (its /metrics at the start and end of measuring)`,
  );
  const collectorPps = flat.points / flat.seconds;
  const rawPps = (rawBefore.points / rawBefore.seconds + rawAfter.points / rawAfter.seconds) / 2;
  const ratio = collectorPps / rawPps;
  const growth = (rssEnd - rssMiddle) / rssMiddle;
  p();
  p('goals:');
  p(
    `  collector points/s (flat-out) ÷ raw points/s (mean of before and after) = ${fmt(collectorPps, 0)} ÷ ${fmt(rawPps, 0)} = ${fmt(ratio, 2)}  (goal ≥ ${RATIO_GOAL}): ${ratio >= RATIO_GOAL ? 'MET' : 'NOT MET'}`,
  );
  const steadyErrors = steady.completed - steady.ok;
  p(
    `  steady p99 ${fmt(steady.latency.p99, 1)} ms at ${opts.agents} agents / ${opts.cycleS} s (goal < ${P99_GOAL_MS} ms${steadyErrors > 0 ? ', and no errors' : ''}): ${steady.latency.p99 < P99_GOAL_MS && steadyErrors === 0 ? 'MET' : 'NOT MET'}`,
  );
  p(
    `  memory: RSS end of steady vs middle ${growth >= 0 ? '+' : ''}${fmt(growth * 100, 1)}% (goal ≤ +${RSS_GROWTH_GOAL * 100}%, no growth): ${growth <= RSS_GROWTH_GOAL ? 'MET' : 'NOT MET'}${opts.steadyS < 2 * opts.cycleS ? ` (steady shorter than two ${opts.cycleS} s cycles: not every agent has reported by the middle)` : ''}`,
  );
  if (pinning) {
    // what influxd's own cores could sustain from the raw writer if its deferred work (snapshots and
    // compactions, measured while it settles) had to be done in the same time: not the goal's ratio
    const cores = pinning.influx.split(',').length;
    const sustained = (r: PhaseResult) => r.points / (influxdWithSettle(r) / cores);
    const rawSustained = (sustained(rawBefore) + sustained(rawAfter)) / 2;
    p();
    p(
      `not a goal — raw points/s InfluxDB's ${cores} core(s) could sustain with its deferred work (points ÷ its CPU seconds with settling): ${fmt(rawSustained, 0)}; collector flat-out ÷ that = ${fmt(collectorPps / rawSustained, 2)}`,
    );
  }
  if (io !== undefined && influxLog !== undefined) {
    io.stop();
    p();
    p(`slow InfluxDB writes (--stall-log: /write over 1 s, the I/O meanwhile, influxd's log ${influxLog}):`);
    if (slowWrites.length === 0) p('  none');
    const phaseOf = (t: number) => phaseSpans.find((s) => t >= s.from && t < s.to)?.name ?? 'between phases';
    const log = readFileSync(influxLog, 'utf8').split('\n');
    for (const w of slowWrites) {
      const end = w.sentAt + w.seconds * 1000;
      p(
        `  ${new Date(w.sentAt).toISOString()} (${phaseOf(w.sentAt)}): ${fmt(w.seconds, 2)} s${w.ok ? '' : ', failed'}; ${io.between(w.sentAt, end)}`,
      );
      for (const l of influxLogBetween(log, influxdStartedAt, w.sentAt - 2000, end + 500)) p(`    ${l}`);
    }
    p(`collector event-loop blocks over 100 ms (${loopBlocks.length}), with its GCs over 50 ms in them:`);
    for (const b of loopBlocks) {
      const inside = gcs.filter((g) => g.at + g.ms >= b.at && g.at <= b.at + b.ms);
      p(
        `  ${new Date(b.at).toISOString()} (${phaseOf(b.at)}): ${fmt(b.ms, 0)} ms; ${inside.length === 0 ? 'no GC over 50 ms' : inside.map((g) => `${g.major ? 'major' : 'minor'} GC ${fmt(g.ms, 0)} ms`).join(', ')}; ${io.between(b.at, b.at + b.ms)}`,
      );
    }
    p('seconds in which reports were answered after more than 1 s (reports, slowest):');
    for (const a of slowAnswers)
      p(`  ${new Date(a.at).toISOString()} (${a.phase}): ${a.n}, ${fmt(a.maxMs, 0)} ms`);
    const major = gcs.filter((g) => g.major);
    p(
      `collector GCs over 50 ms: ${gcs.length} (${major.length} major, longest ${fmt(Math.max(0, ...gcs.map((g) => g.ms)), 0)} ms)`,
    );
  }
  if (collectorLog.length > 0) {
    p();
    p(`collector log (warn+, last ${Math.min(5, collectorLog.length)} of ${collectorLog.length}):`);
    for (const l of collectorLog.slice(-5)) p(`  ${l.slice(0, 300)}`);
  }
  console.log(out.join('\n'));
  await gens.exit();
  if (smoke) {
    const failed = [steady, flat].reduce((n, ph) => n + ph.completed - ph.ok, 0);
    if (failed > 0 || steady.ok === 0 || flat.ok === 0) {
      console.error(
        `bench/ingest --smoke: ${failed} reports failed (steady ${steady.ok} ok, flat-out ${flat.ok} ok)`,
      );
      process.exitCode = 1;
    }
  }
}

main()
  .catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  })
  .finally(() => cleanup());
