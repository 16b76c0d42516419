// bench/compliance: GET /api/v1/compliance (district KPIs) over 10,000 schools on the embedded SQLite store.
// The collector (collector/src/app.ts buildApp, no InfluxDB) listens on loopback; its state is filled the
// way ingest fills it: per school one enrolled agent and two reports (a full cycle with IPv6, security and
// a speed test, then an ordinary one) evaluated by the collector's own code (evaluate/*) and stored with
// the state store's beginIngest/completeIngest, as collector/src/ingest/service.ts does; one school in 20 has
// never reported (its rows are evaluated at request time). Reference in the same run: a bare Fastify route
// returning the same response, precomputed (so the ratio separates evaluation from serialisation and
// HTTP). Requests alternate between the two, one at a time, over keep-alive connections.
// Goal: p99 < 200 ms. Run with: npx tsx bench/compliance.ts [--schools 10000] [--requests 200] [--quick]
//   [--keep-state DIR] (populate DIR once and reuse it in later runs)
//   [--smoke] (scripts/bench-smoke.sh: 60 schools, 4 requests, the same code path; exit code 1 on any error)
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import Fastify, { type FastifyInstance } from 'fastify';
import { Pool } from 'undici';
import { buildApp } from '../collector/src/app.js';
import type { BaselineConfig } from '../collector/src/baseline.js';
import { schoolCompliance } from '../collector/src/compliance/school-view.js';
import { parseCollectorConfig } from '../collector/src/config.js';
import { teachingSamples, windowStartDay } from '../collector/src/evaluate/availability.js';
import { evaluateCompliance, noEvidence } from '../collector/src/evaluate/compliance.js';
import { aggregateCompliance, aggregateStates } from '../collector/src/evaluate/district.js';
import { findingKey, nextFindings } from '../collector/src/evaluate/findings.js';
import { localTime } from '../collector/src/evaluate/teaching-hours.js';
import { mergeLatest } from '../collector/src/ingest/merge-latest.js';
import { schoolStates } from '../collector/src/routes/compliance.js';
import { type SqliteState, SqliteStateStore } from '../collector/src/store/sqlite-state.js';
import type { TargetsConfig } from '../collector/src/targets.js';
import type { Report } from '../protocol/report.js';
import type { School } from '../protocol/school.js';
import { fmt, gitCommit, loadLine, median, summarise } from './proc.js';
import { type BenchAgent, benchSchools, Templates } from './school-profile.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..');
const P99_GOAL_MS = 200;

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const quick = process.argv.includes('--quick');
const smoke = process.argv.includes('--smoke');
const nSchools = Number(argValue('--schools') ?? (smoke ? 60 : 10_000));
/** `--keep-state DIR`: populate DIR once and keep it; later runs with the same DIR reuse the state. */
const keepState = argValue('--keep-state');
const nRequests = Number(argValue('--requests') ?? (smoke ? 4 : quick ? 40 : 200));
/** The city-wide administrator's token of the bench's collector (the route needs an identity). */
const ADMIN_TOKEN = 'bench-compliance-admin-token-0123';
const AUTH = { authorization: `Bearer ${ADMIN_TOKEN}` };
if (!Number.isInteger(nSchools) || nSchools < 1 || !Number.isInteger(nRequests) || nRequests < 2) {
  console.error('bench/compliance: --schools and --requests must be positive integers (requests ≥ 2)');
  process.exit(2);
}

/** The latest moment before `now` inside teaching hours (a weekday 10:00 in Shanghai), so availability has data. */
function lastTeachingInstant(now: Date): Date {
  for (let d = 0; d < 8; d++) {
    const t = new Date(now.getTime() - d * 86_400_000);
    const local = localTime(t, 'Asia/Shanghai');
    if (local.weekday === 'sat' || local.weekday === 'sun') continue;
    const at = new Date(`${local.date}T10:00:00+08:00`);
    if (at.getTime() <= now.getTime()) return at;
  }
  return new Date(now.getTime() - 86_400_000);
}

/** What POST /api/v1/reports stores for a report (clock in sync, no InfluxDB), without HTTP. */
function ingestDirect(
  state: SqliteState,
  targets: TargetsConfig,
  baseline: BaselineConfig,
  school: School,
  agentId: string,
  report: Report,
  receivedAt: Date,
): void {
  const agent = state.getAgent(agentId)!;
  state.beginIngest({
    reportId: report.reportId,
    agentId,
    schoolId: school.id,
    shiftMs: 0,
    finishedAt: report.finishedAt,
  });
  const latest = mergeLatest(state.latestResults(school.id), report.results);
  const speedtests = [
    ...state.history(school.id, 'bandwidth'),
    ...report.results.filter((r) => r.probe === 'bandwidth'),
  ];
  const samples = teachingSamples(report.results, school, targets);
  const stored = state.availability(school.id, windowStartDay(receivedAt, school, targets));
  const availability = {
    up: stored.up + samples.availability.filter((s) => s.up).length,
    total: stored.total + samples.availability.length,
  };
  const previousFindings = new Map(state.findings(school.id).map((f) => [findingKey(f), f]));
  const findings = nextFindings(previousFindings, report.results, baseline, school);
  for (const f of findings) previousFindings.set(findingKey(f), f);
  const compliance = evaluateCompliance(
    {
      ...noEvidence(school, [{ ...agent, lastSeenAt: receivedAt.toISOString() }]),
      latest,
      speedtests,
      availability,
      findings: [...previousFindings.values()],
    },
    targets,
    receivedAt,
  );
  state.completeIngest({
    reportId: report.reportId,
    agent,
    results: report.results,
    shiftMs: 0,
    clockOffsetMs: 0,
    receivedAt,
    compliance,
    availability: samples.availability,
    findings,
    rooms: samples.rooms,
  });
}

async function timeRequests(pool: Pool, path: string): Promise<{ ms: number; bytes: number }> {
  const t0 = performance.now();
  const res = await pool.request({ path, method: 'GET', headers: AUTH });
  const body = await res.body.text();
  const ms = performance.now() - t0;
  if (res.statusCode !== 200) throw new Error(`GET ${path}: HTTP ${res.statusCode}: ${body.slice(0, 300)}`);
  return { ms, bytes: Buffer.byteLength(body) };
}

/** Median milliseconds of `fn` over `n` runs. */
async function timeIt(n: number, fn: () => unknown): Promise<number> {
  const t: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    t.push(performance.now() - t0);
  }
  return median(t);
}

async function main(): Promise<void> {
  const loadBefore = loadLine();
  const commit = gitCommit(ROOT);
  const dir = keepState ?? mkdtempSync(join(tmpdir(), 'cw-bench-compliance-'));
  const reuse = keepState !== undefined && existsSync(join(dir, 'collector', 'state.sqlite'));
  let app: FastifyInstance | undefined;
  let ref: FastifyInstance | undefined;
  const pools: Pool[] = [];
  try {
    const schools = benchSchools(nSchools);
    app = await buildApp(
      parseCollectorConfig(
        JSON.stringify({
          listen: '127.0.0.1:0',
          dataDir: join(dir, 'collector'),
          adminToken: ADMIN_TOKEN,
          // the periodic alert pass lives in server.ts; none runs here, so it cannot disturb the timing
          alerts: { enabled: false },
        }),
      ),
    );
    const ctx = app.campuswatch;
    if (!(ctx.state instanceof SqliteStateStore))
      throw new Error('bench/compliance measures the embedded store');
    const store = ctx.state;
    // filled synchronously, in one transaction; measured through the store's interface, as the route uses it
    const state = store.sync;

    // ---- state: schools, one agent each, two reports each (one in 20 never reported) -----------
    const t0 = performance.now();
    const templates = new Templates(1);
    const at = lastTeachingInstant(new Date());
    let reports = 0;
    const populate = state.db.transaction(() => {
      for (const [i, school] of schools.entries()) {
        state.upsertSchool(school);
        const { code } = state.createEnrollCode(school.id, 3_600_000);
        const enrolled = state.enroll(code, { hostname: `agent-${i}`, version: '0.1.0' });
        if ('error' in enrolled) throw new Error(`enrolment failed: ${enrolled.error}`);
        if (i % 20 === 19) continue;
        const agent: BenchAgent = {
          agentId: enrolled.agent.id,
          token: enrolled.token,
          schoolId: school.id,
          schoolIndex: i,
          campus: 0,
        };
        // cycle 60 - i is a full cycle for agent i (variantOf), the next one an ordinary one
        for (const [k, t] of [new Date(at.getTime() - 60_000), at].entries()) {
          const cycle = 60 * Math.ceil((i + 1) / 60) - i + k;
          ingestDirect(
            state,
            ctx.targets,
            ctx.baseline,
            school,
            agent.agentId,
            templates.report(agent, cycle, t, i),
            t,
          );
          reports++;
        }
      }
    });
    if (reuse) reports = (state.db.prepare('SELECT count(*) AS n FROM ingests').get() as { n: number }).n;
    else populate();
    const setupS = (performance.now() - t0) / 1000;
    const rowCount = (table: string) =>
      (state.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;

    await app.listen({ host: '127.0.0.1', port: 0 });
    const addr = app.server.address();
    const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;

    // ---- the reference: the same response, precomputed, from a bare Fastify route ---------------
    const first = await app.inject({ method: 'GET', url: '/api/v1/compliance', headers: AUTH });
    if (first.statusCode !== 200)
      throw new Error(`GET /api/v1/compliance: HTTP ${first.statusCode}: ${first.body.slice(0, 300)}`);
    const precomputed = first.json() as unknown;
    ref = Fastify();
    ref.get('/ref', async () => precomputed);
    await ref.listen({ host: '127.0.0.1', port: 0 });
    const refAddr = ref.server.address();
    const refUrl = `http://127.0.0.1:${typeof refAddr === 'object' && refAddr ? refAddr.port : 0}`;

    const realPool = new Pool(url, { connections: 1, keepAliveTimeout: 60_000 });
    const refPool = new Pool(refUrl, { connections: 1, keepAliveTimeout: 60_000 });
    pools.push(realPool, refPool);
    for (let i = 0; i < 5; i++) {
      await timeRequests(realPool, '/api/v1/compliance');
      await timeRequests(refPool, '/ref');
    }
    const real: number[] = [];
    const reference: number[] = [];
    let realBytes = 0;
    let refBytes = 0;
    const tRun = performance.now();
    for (let i = 0; i < nRequests; i++) {
      const a = await timeRequests(realPool, '/api/v1/compliance');
      const b = await timeRequests(refPool, '/ref');
      real.push(a.ms);
      reference.push(b.ms);
      realBytes = a.bytes;
      refBytes = b.bytes;
    }
    const runS = (performance.now() - tRun) / 1000;

    // ---- where the time goes: the route's steps, called directly ----------------------------------
    const steps = Math.max(5, Math.min(20, Math.floor(nRequests / 10)));
    const listed = await store.listSchools();
    const rows = await Promise.all(
      listed.map(async (school) => ({
        school,
        compliance: await schoolCompliance(store, ctx.targets, school),
      })),
    );
    const kpis = aggregateCompliance(rows, ctx.targets);
    const states = await schoolStates(store, ctx.targets);
    // the route's one-query path must give what the per-school rows give
    const samePath = isDeepStrictEqual(aggregateStates(states, ctx.targets), kpis);
    const sameResponse = isDeepStrictEqual(precomputed, JSON.parse(JSON.stringify(kpis)));
    const breakdown = {
      listSchools: await timeIt(steps, () => store.listSchools()),
      schoolStates: await timeIt(steps, () => schoolStates(store, ctx.targets)),
      perSchool: await timeIt(steps, () =>
        Promise.all(listed.map((s) => schoolCompliance(store, ctx.targets, s))),
      ),
      aggregate: await timeIt(steps, () => aggregateStates(states, ctx.targets)),
      stringify: await timeIt(steps, () => JSON.stringify(kpis)),
    };
    const loadAfter = loadLine();

    const r = summarise(real);
    const f = summarise(reference);
    const out: string[] = [];
    const p = (s = '') => out.push(s);
    p(
      `bench/compliance — ${new Date().toISOString()} — commit ${commit}${smoke ? ' — SMOKE run (checks the code path; the numbers mean nothing)' : quick ? ' — QUICK run (numbers are indicative only)' : ''}`,
    );
    p(
      `machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), Node ${process.version}; client and both servers in this one process, requests one at a time`,
    );
    p(`load before: ${loadBefore}; after: ${loadAfter}`);
    p(
      `state: ${nSchools} schools (${new Set(schools.map((s) => s.district)).size} districts, ${kpis.groups.length} district/group rows), ${nSchools} agents, ${reports} reports ${reuse ? `reused from ${dir}` : `ingested in ${fmt(setupS)} s`}; rows: latest ${rowCount('latest')}, compliance ${rowCount('compliance')}, findings ${rowCount('findings')}, availability_days ${rowCount('availability_days')}`,
    );
    p(
      `response: ${fmt(realBytes / 1024)} KB (reference ${fmt(refBytes / 1024)} KB); ${nRequests} requests each, alternating, in ${fmt(runS)} s`,
    );
    p();
    const line = (name: string, s: ReturnType<typeof summarise>) =>
      `${name.padEnd(44)} p50 ${fmt(s.p50).padStart(7)} ms   p90 ${fmt(s.p90).padStart(7)} ms   p99 ${fmt(s.p99).padStart(7)} ms   max ${fmt(s.max).padStart(7)} ms`;
    p(line('GET /api/v1/compliance (10,000 schools)'.replace('10,000', nSchools.toLocaleString('en')), r));
    p(line('reference: bare Fastify, same JSON precomputed', f));
    p(`ratio compliance ÷ reference: p50 ${fmt(r.p50 / f.p50, 1)}×, p99 ${fmt(r.p99 / f.p99, 1)}×`);
    p(
      `where the time goes (median of ${steps} direct calls): schoolStates ${fmt(breakdown.schoolStates)} ms (of which listSchools ${fmt(breakdown.listSchools)} ms), aggregateStates ${fmt(breakdown.aggregate)} ms, JSON.stringify ${fmt(breakdown.stringify)} ms`,
    );
    p(
      `check: the response equals aggregateCompliance over each school's rows read one school at a time: ${samePath && sameResponse ? 'yes' : 'NO'}`,
    );
    p(
      `  (for comparison, one query per school as compliance/school-view.ts schoolCompliance does: ${fmt(breakdown.perSchool)} ms for ${nSchools} schools)`,
    );
    p();
    p(
      `goal: p99 < ${P99_GOAL_MS} ms over ${nSchools} schools: ${fmt(r.p99)} ms — ${smoke ? 'not judged (smoke run)' : r.p99 < P99_GOAL_MS ? 'MET' : 'NOT MET'}`,
    );
    console.log(out.join('\n'));
    if (!(samePath && sameResponse)) process.exitCode = 1;
  } finally {
    await Promise.all(pools.map((p) => p.close()));
    await ref?.close();
    await app?.close();
    if (keepState === undefined) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
