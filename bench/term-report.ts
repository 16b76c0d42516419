// bench/term-report: the term inspection report (督导通报) over 1,000 schools (10 districts × 100) on the
// embedded SQLite store, as `campuswatch-collector report --term … --format F` makes it: two terms of
// evidence through the store's own API (tests/helpers/term-fixture.ts: enrolled agents, one ingest per
// school and term), a snapshot of each term, then one child process per format that opens the store, reads
// both terms' snapshots, builds the report and writes it. Reference in the same run: a child process that
// reads the same snapshots and writes the same schools' rows as plain JSON (JSON.stringify of every
// school's rows of both terms), so the ratio separates the report's layout from reading the store.
// Each child prints its time from start to the file written (modules loaded included) and its peak RSS.
// Goal (issue 26 acceptance 7): every format under 10 s. Run: npx tsx bench/term-report.ts [--schools 1000] [--smoke]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CITY } from '../collector/src/access/model.js';
import { DEFAULT_BASELINE_FILE, loadBaseline } from '../collector/src/baseline.js';
import { SqliteStateStore } from '../collector/src/store/state.js';
import { parseTargets } from '../collector/src/targets.js';
import type { ReportFormat } from '../collector/src/term-report/report.js';
import { takeTermSnapshots } from '../collector/src/term-report/snapshot.js';
import {
  AFTER_TERM1,
  AFTER_TERM2,
  fixtureSchools,
  fixtureTargetsYaml,
  loadTerm,
  registerFixture,
  TERM1,
  TERM2,
} from '../tests/helpers/term-fixture.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..');
const GOAL_S = 10;

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

interface ChildResult {
  what: string;
  ms: number;
  /** CPU seconds of the whole child (node start and module loading included). */
  cpuS: number;
  maxRssMiB: number;
  bytes: number;
}

/** In a child: read the snapshots and write one format (or the plain-JSON reference); print what it took. */
async function child(dir: string, what: ReportFormat | 'reference', out: string): Promise<void> {
  const t0 = performance.now();
  const store = new SqliteStateStore(dir);
  if (what === 'reference') {
    const [a, b] = await Promise.all([
      store.snapshots.snapshotsOfTerm(TERM2.name),
      store.snapshots.snapshotsOfTerm(TERM1.name),
    ]);
    const rows = [...a, ...b].flatMap((s) =>
      s.schools.map((x) => ({ id: x.id, name: x.name, rows: x.compliance })),
    );
    writeFileSync(out, JSON.stringify(rows));
  } else {
    const { termReport, renderTermReport } = await import('../collector/src/term-report/report.js');
    const report = await termReport(store, {
      term: TERM2.name,
      compare: TERM1.name,
      scope: CITY,
      now: AFTER_TERM2,
    });
    writeFileSync(out, (await renderTermReport(report, what, 'zh')).body);
  }
  await store.close();
  const cpu = process.cpuUsage();
  const result: ChildResult = {
    what,
    ms: performance.now() - t0,
    cpuS: (cpu.user + cpu.system) / 1e6,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    bytes: statSync(out).size,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

async function main(): Promise<void> {
  // --smoke (scripts/bench-smoke.sh): 10 schools, every format through the same code; no goal judged
  const smoke = process.argv.includes('--smoke');
  const nSchools = Number(argValue('--schools') ?? (smoke ? 10 : 1000));
  if (!Number.isInteger(nSchools) || nSchools < 10 || nSchools % 10 !== 0) {
    console.error('bench/term-report: --schools must be a multiple of 10 (10 districts)');
    process.exit(2);
  }
  const keep = argValue('--keep-state');
  const dir = keep ?? mkdtempSync(join(tmpdir(), 'cw-bench-term-'));
  try {
    const targets = parseTargets(fixtureTargetsYaml(), 'targets.yaml');
    const store = new SqliteStateStore(dir);
    if ((await store.snapshots.listSnapshots()).length === 0) {
      const districts = Array.from({ length: 10 }, (_, i) => `第${i + 1}区`);
      const fixture = await registerFixture(store, fixtureSchools(districts, nSchools / 10));
      const ctx = { state: store, targets, baseline: loadBaseline(DEFAULT_BASELINE_FILE) };
      let t = performance.now();
      await loadTerm(store, fixture, 1);
      await takeTermSnapshots(ctx, TERM1.name, { now: AFTER_TERM1, takenBy: 'bench', trigger: 'term-end' });
      await loadTerm(store, fixture, 2);
      const setup = performance.now() - t;
      t = performance.now();
      const taken = await takeTermSnapshots(ctx, TERM2.name, {
        now: AFTER_TERM2,
        takenBy: 'bench',
        trigger: 'term-end',
      });
      const snapshotMs = performance.now() - t;
      console.log(
        `bench/term-report: ${nSchools} schools in 10 districts; set-up ${(setup / 1000).toFixed(1)} s; snapshot of term 2 (${taken.length} districts) ${snapshotMs.toFixed(0)} ms`,
      );
    } else console.log(`bench/term-report: the snapshots kept in ${dir}`);
    await store.close();
    const results: ChildResult[] = [];
    for (const what of ['reference', 'json', 'csv', 'xlsx', 'pdf'] as const) {
      const out = join(dir, `report.${what === 'reference' ? 'ref.json' : what}`);
      const wall = performance.now();
      const r = spawnSync(
        process.execPath,
        ['--import', 'tsx', fileURLToPath(import.meta.url), '--child', dir, what, out],
        {
          cwd: ROOT,
          encoding: 'utf8',
        },
      );
      if (r.status !== 0) throw new Error(`child ${what} failed: ${r.stderr}`);
      const res = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as ChildResult;
      results.push(res);
      console.log(
        `  ${what.padEnd(9)} ${(res.ms / 1000).toFixed(2)} s in the process (${((performance.now() - wall) / 1000).toFixed(2)} s with node start; CPU ${res.cpuS.toFixed(2)} s), peak RSS ${res.maxRssMiB.toFixed(0)} MiB, ${(res.bytes / 1024).toFixed(0)} KiB`,
      );
    }
    const ref = results[0]!;
    console.log(`  ratio to the plain-JSON reference (time / peak RSS):`);
    for (const r of results.slice(1))
      console.log(
        `  ${r.what.padEnd(9)} ${(r.ms / ref.ms).toFixed(1)}× / ${(r.maxRssMiB / ref.maxRssMiB).toFixed(2)}×`,
      );
    const slow = results.slice(1).filter((r) => r.ms > GOAL_S * 1000);
    if (smoke) return console.log('smoke run: every format written; the goal is not judged');
    console.log(
      slow.length === 0
        ? `goal met: every format under ${GOAL_S} s`
        : `GOAL MISSED: ${slow.map((r) => r.what).join(', ')} over ${GOAL_S} s`,
    );
    if (slow.length > 0) process.exitCode = 1;
  } finally {
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') {
  await child(process.argv[3]!, process.argv[4] as ReportFormat | 'reference', process.argv[5]!);
} else {
  await main();
}
