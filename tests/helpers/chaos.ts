// The chaos run (issue 8): N agent processes (tests/helpers/chaos-agent.ts: the real Spool and Forwarder at a
// fixed report rate), one real collector process (collector/src/cli.ts run) and a real influxd, while the
// collector and influxd are SIGKILLed and restarted (same port, same data) and agents are SIGKILLed
// mid-spool and restarted. At the end every report must be in InfluxDB exactly once, every spool empty, and
// the collector's ingest journal (its de-duplication table) must agree. Used by bench/chaos.ts and
// tests/e2e/chaos.test.ts. Every process runs in its own process group, is SIGKILLed on failure, and dies
// with this process (setpriv --pdeathsig).

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { saveIdentity, spoolFile } from '../../agent/src/identity.js';
import { Spool } from '../../agent/src/spool/spool.js';
import { SqliteState } from '../../collector/src/store/sqlite-state.js';
import type { School } from '../../protocol/school.js';
import {
  type ChaosAgentConfig,
  type ChaosPlan,
  chaosReportId,
  chaosReportTime,
  MADE_META_KEY,
} from './chaos-report.js';
import { programArgs } from './cli.js';
import { type Influxd, startInfluxd } from './influxd.js';
import { WORLD_ADMIN_TOKEN } from './world.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');
const SETPRIV_BIN = '/usr/bin/setpriv';
const DATABASE = 'campuswatch';
const STDERR_TAIL = 8192;

export interface ChaosOptions {
  agents: number;
  schools: number;
  reportsPerAgent: number;
  /** Milliseconds between two reports of one agent. */
  periodMs: number;
  kills: { collector: number; influxd: number; agent: number };
  /** Seed of the choices (which agent, when): a run can be repeated. */
  seed?: number;
  /** Progress lines (kills, restarts). */
  log?: (line: string) => void;
  /** Share of all reports the agents make while the collector or influxd is down (default 0.02). */
  outageShare?: number;
  /** Keep the temporary directory (spools, collector state, influxd data) for a post-mortem. */
  keepDir?: boolean;
  /** The collector answers once a report's series are in its outbox (influx.outbox), not once in InfluxDB. */
  outbox?: boolean;
}

export interface SchoolTally {
  school: string;
  agents: number;
  made: number;
  /** Points of the `agent` measurement (one per report). */
  agentPoints: number;
  /** Points of the `device` measurement (one per report: each agent has its own device). */
  devicePoints: number;
  /** Rows of the collector's ingest journal in state `done`. */
  ingested: number;
}

export interface ChaosResult {
  ok: boolean;
  /** Everything that disagrees, one sentence each. */
  problems: string[];
  expected: number;
  /** Distinct reports the agents spooled. */
  made: number;
  /** Points in the `agent` measurement for these agents. */
  inInflux: number;
  /** Expected report times with no point. */
  missing: number;
  /** Points at times no report has, plus journal rows of reportIds no agent made. */
  duplicates: number;
  ratio: number;
  perSchool: SchoolTally[];
  kills: { collector: number; influxd: number; agent: number };
  /** Times a restarted agent found its next report already spooled by its previous life. */
  madeAgain: number;
  agentLives: number;
  /** Stopped flushes the agents saw, by HTTP status or network error code. */
  stops: Record<string, number>;
  status4xx: number;
  status5xx: number;
  networkErrors: number;
  /** Reports moved to a dead-letter table (4xx for good). */
  rejected: number;
  spools: { empty: number; total: number; dropped: number; rejected: number; integrityOk: number };
  collector: {
    ingestsDone: number;
    ingestsWriting: number;
    unexpectedIds: number;
    outOfOrderAgents: number;
    healthz: unknown;
  };
  wallMs: number;
  seed: number;
}

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function chaosSchools(n: number): School[] {
  return Array.from({ length: n }, (_, k) => ({
    id: `chaos-${String(k + 1).padStart(2, '0')}`,
    name: `混沌测试学校 ${k + 1} 号, 初中部`,
    district: k % 2 === 0 ? '苏州工业园区' : '吴江区',
    group: '混沌教育集团',
    pupils: [800, 1800, 3000][k % 3]!,
    area: k % 2 === 0 ? 'urban' : 'rural',
    timezone: 'Asia/Shanghai',
  }));
}

// ---- processes -------------------------------------------------------------------------------------

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A child in its own process group; SIGKILLed with its group when this process exits. */
class Proc {
  readonly child: ChildProcess;
  readonly exit: Promise<Exit>;
  exited: Exit | undefined;
  killedByUs = false;
  private tail = '';

  constructor(args: string[], env: NodeJS.ProcessEnv, onLine: (line: string) => void, onExit: () => void) {
    const [cmd, ...rest] = existsSync(SETPRIV_BIN)
      ? [SETPRIV_BIN, '--pdeathsig', 'KILL', '--', ...args]
      : args;
    this.child = spawn(cmd!, rest, {
      cwd: ROOT,
      env: { ...process.env, ...env },
      detached: true, // its own process group: a kill reaches everything it started
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    live.add(this);
    this.child.stdin!.on('error', () => undefined); // EPIPE once it is gone
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (chunk: string) => {
      this.tail = (this.tail + chunk).slice(-STDERR_TAIL);
    });
    const lines = createInterface({ input: this.child.stdout! });
    lines.on('line', onLine);
    // 'close' comes after the last stdout line has been read, so every line precedes the exit
    this.exit = new Promise<Exit>((resolve) => {
      this.child.once('error', (err) => {
        this.tail += `\nspawn error: ${err.message}`;
      });
      this.child.once('close', (code, signal) => {
        this.exited = { code, signal };
        live.delete(this);
        resolve(this.exited);
        onExit();
      });
    });
  }

  /** Writes one line to its stdin. */
  send(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  get stderrTail(): string {
    return this.tail;
  }

  /** SIGKILL the whole process group and wait for the exit. */
  async kill(): Promise<Exit> {
    this.killedByUs = true;
    this.signalGroup('SIGKILL');
    return this.exit;
  }

  signalGroup(signal: NodeJS.Signals): void {
    if (this.exited || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      // the group is gone already
    }
  }
}

const live = new Set<Proc>();
/** Temporary directories of runs that have not cleaned up yet (e.g. a test timed out): removed at exit. */
const dirs = new Set<string>();
let exitHook = false;
function installExitHook(): void {
  if (exitHook) return;
  exitHook = true;
  process.on('exit', () => {
    for (const p of live) p.signalGroup('SIGKILL');
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
}

// ---- waiting for events ----------------------------------------------------------------------------

interface Waiter {
  cond: () => boolean;
  resolve: () => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/** Re-checks conditions whenever a child prints a line or exits; fails every waiter once something broke. */
class Monitor {
  private readonly waiters = new Set<Waiter>();
  failure: Error | undefined;

  poke(): void {
    for (const w of [...this.waiters]) {
      if (w.cond()) {
        this.waiters.delete(w);
        clearTimeout(w.timer);
        w.resolve();
      }
    }
  }

  fail(err: Error): void {
    this.failure ??= err;
    for (const w of [...this.waiters]) {
      this.waiters.delete(w);
      clearTimeout(w.timer);
      w.reject(this.failure);
    }
  }

  waitUntil(cond: () => boolean, what: string, timeoutMs: number): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (cond()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = {
        cond,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.waiters.delete(w);
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
        }, timeoutMs),
      };
      this.waiters.add(w);
    });
  }
}

// ---- the run ---------------------------------------------------------------------------------------

interface AgentState {
  index: number;
  name: string;
  agentId: string;
  token: string;
  schoolId: string;
  stateDir: string;
  device: string;
  proc: Proc | undefined;
  /** Reports known spooled (from `spooled` and `again` lines). */
  spooled: Set<number>;
  made: number;
  madeAgain: number;
  lines: number;
  lives: number;
  ready: boolean;
  done: Record<string, number> | undefined;
}

const TSX = ['--import', 'tsx'];

export async function runChaos(opts: ChaosOptions): Promise<ChaosResult> {
  installExitHook();
  const seed = opts.seed ?? Math.floor(Math.random() * 2 ** 31);
  const random = prng(seed);
  const log = opts.log ?? (() => undefined);
  const t0 = performance.now();
  const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s`;
  const dir = mkdtempSync(join(tmpdir(), 'cw-chaos-'));
  if (!opts.keepDir) dirs.add(dir);
  const monitor = new Monitor();
  const schools = chaosSchools(opts.schools);
  const expected = opts.agents * opts.reportsPerAgent;
  const outageShare = opts.outageShare ?? 0.02;
  const stops: Record<string, number> = {};
  let networkStops = 0;
  let unavailableStops = 0;
  let rejected = 0;
  const kills = { collector: 0, influxd: 0, agent: 0 };
  const agents: AgentState[] = [];
  let influx: Influxd | undefined;
  let collector: Proc | undefined;
  let collectorPort = 0;
  let collectorListening = false;
  const collectorData = join(dir, 'collector');
  const collectorConfig = join(dir, 'collector.yaml');

  const totalMade = () => agents.reduce((n, a) => n + a.made, 0);
  const active = () => agents.filter((a) => a.done === undefined).length;

  try {
    influx = await startInfluxd();
    const ifx = influx;
    log(`${elapsed()}  influxd up at ${influx.url}`);

    // schools and agents go straight into the collector's state store before it first starts
    const state = new SqliteState(collectorData);
    try {
      for (const s of schools) state.upsertSchool(s);
      for (let k = 0; k < opts.agents; k++) {
        const school = schools[k % schools.length]!;
        const { code } = state.createEnrollCode(school.id, 3_600_000);
        const r = state.enroll(code, { hostname: `chaos-agent-${k + 1}`, version: '0.1.0' });
        if ('error' in r) throw new Error(`enrolment failed: ${r.error}`);
        const name = `agent-${String(k + 1).padStart(2, '0')}`;
        agents.push({
          index: k,
          name,
          agentId: r.agent.id,
          token: r.token,
          schoolId: school.id,
          stateDir: join(dir, name),
          device: `录播主机 ${name}`,
          proc: undefined,
          spooled: new Set(),
          made: 0,
          madeAgain: 0,
          lines: 0,
          lives: 0,
          ready: false,
          done: undefined,
        });
      }
    } finally {
      state.close();
    }
    writeFileSync(
      collectorConfig,
      JSON.stringify({
        listen: '127.0.0.1:0',
        adminToken: WORLD_ADMIN_TOKEN,
        dataDir: collectorData,
        influx: {
          url: influx.url,
          database: DATABASE,
          timeoutMs: 5000,
          ...(opts.outbox ? { outbox: { enabled: true } } : {}),
        },
        ingest: { retryAfterS: 1 },
        schools,
      }),
    );

    const startCollector = async (): Promise<void> => {
      if (monitor.failure) throw monitor.failure; // never spawn once the run is being torn down
      collectorListening = false;
      const proc = new Proc(
        [
          process.execPath,
          ...programArgs('collector'),
          'run',
          '--config',
          collectorConfig,
          '--listen',
          `127.0.0.1:${collectorPort}`,
        ],
        { CAMPUSWATCH_LOG_LEVEL: 'error' },
        (line) => {
          const m = /collector listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(line);
          if (m) {
            collectorPort = Number(m[1]);
            collectorListening = true;
          }
          monitor.poke();
        },
        () => {
          if (!proc.killedByUs) {
            monitor.fail(
              new Error(
                `the collector exited by itself (${JSON.stringify(proc.exited)}); stderr:\n${proc.stderrTail}`,
              ),
            );
          }
          monitor.poke();
        },
      );
      collector = proc;
      await monitor.waitUntil(() => collectorListening, 'the collector to listen', 60_000);
    };

    // t0Ms is set once every agent is up (the agents wait for `go <t0Ms>`), so that none starts behind
    const plan: ChaosPlan = { t0Ms: 0, periodMs: opts.periodMs, count: opts.reportsPerAgent };

    const onAgentLine = (a: AgentState, line: string): void => {
      a.lines++;
      const [kind, x, y] = line.split(' ');
      switch (kind) {
        case 'ready':
          a.ready = true;
          a.made = Math.max(a.made, Number(x));
          break;
        case 'spooled':
        case 'again': {
          const i = Number(x);
          if (kind === 'again') a.madeAgain++;
          a.spooled.add(i);
          a.made = Math.max(a.made, i + 1);
          break;
        }
        case 'stop': {
          const key = x === 'network' ? `network ${y}` : `HTTP ${y}`;
          stops[key] = (stops[key] ?? 0) + 1;
          if (x === 'network') networkStops++;
          if (x === 'unavailable' && y === '503') unavailableStops++;
          break;
        }
        case 'rejected':
          rejected += Number(x);
          break;
        case 'done':
          a.done = JSON.parse(line.slice(5)) as Record<string, number>;
          break;
        default:
          break;
      }
      monitor.poke();
    };

    const startAgent = async (a: AgentState): Promise<void> => {
      if (monitor.failure) throw monitor.failure;
      a.ready = false;
      a.done = undefined;
      a.lives++;
      const config: ChaosAgentConfig = {
        ...plan,
        stateDir: a.stateDir,
        collectorUrl: `http://127.0.0.1:${collectorPort}`,
        device: a.device,
        backoffBaseMs: 100,
        backoffMaxMs: 2000,
        requestTimeoutMs: 10_000,
      };
      const proc = new Proc(
        [process.execPath, ...TSX, 'tests/helpers/chaos-agent.ts', JSON.stringify(config)],
        { CAMPUSWATCH_LOG_LEVEL: 'error' },
        (line) => onAgentLine(a, line),
        () => {
          const clean = proc.exited?.code === 0 && a.done !== undefined;
          if (!proc.killedByUs && !clean) {
            monitor.fail(
              new Error(
                `${a.name} exited by itself (${JSON.stringify(proc.exited)}) before it was done; stderr:\n${proc.stderrTail}`,
              ),
            );
          }
          monitor.poke();
        },
      );
      a.proc = proc;
      await monitor.waitUntil(() => a.ready, `${a.name} to open its spool`, 60_000);
    };

    await startCollector();
    log(`${elapsed()}  collector listening on 127.0.0.1:${collectorPort}`);
    for (const a of agents) {
      saveIdentity(
        a.stateDir,
        {
          agentId: a.agentId,
          schoolId: a.schoolId,
          collectorUrl: `http://127.0.0.1:${collectorPort}`,
          enrolledAt: new Date().toISOString(),
        },
        a.token,
      );
    }
    await Promise.all(agents.map((a) => startAgent(a)));
    plan.t0Ms = Date.now() + 200;
    for (const a of agents) a.proc!.send(`go ${plan.t0Ms}`);
    log(`${elapsed()}  ${agents.length} agents started (${schools.length} schools)`);

    /** Fractions of `expected` at which the n events of one kind happen, spread over [from, to]. */
    const at = (n: number, from: number, to: number) =>
      Array.from({ length: n }, (_, k) => from + ((to - from) * (k + 0.5)) / n);
    const progress = (f: number, what: string) =>
      monitor.waitUntil(
        () => totalMade() >= Math.ceil(f * expected),
        `${what} (made ${Math.ceil(f * expected)} of ${expected})`,
        plan.count * plan.periodMs + 300_000,
      );
    /**
     * An outage lasts until agents noticed it (`count` grew by up to 3) and the agents made another
     * `outageShare` of all reports meanwhile (or all there are), so that their spools fill up.
     */
    const outage = (count: () => number, what: string) => {
      const before = count();
      const madeBefore = totalMade();
      const need = Math.max(1, Math.min(3, active()));
      const more = Math.ceil(outageShare * expected);
      return monitor.waitUntil(
        () =>
          (count() - before >= need && totalMade() >= Math.min(madeBefore + more, expected)) ||
          active() === 0,
        what,
        120_000,
      );
    };

    const collectorChaos = async () => {
      for (const f of at(opts.kills.collector, 0.05, 0.85)) {
        await progress(f, 'the next collector kill');
        await collector!.kill();
        kills.collector++;
        const madeAt = totalMade();
        await outage(() => networkStops, 'agents to notice the collector is gone');
        await startCollector();
        log(
          `${elapsed()}  collector SIGKILL ${kills.collector}/${opts.kills.collector} at ${madeAt}/${expected} made; restarted on port ${collectorPort}`,
        );
      }
    };
    const influxChaos = async () => {
      for (const f of at(opts.kills.influxd, 0.1, 0.8)) {
        await progress(f, 'the next influxd kill');
        await ifx.kill();
        kills.influxd++;
        const madeAt = totalMade();
        await outage(() => unavailableStops, 'agents to get 503 from the collector');
        await ifx.restart();
        log(
          `${elapsed()}  influxd SIGKILL ${kills.influxd}/${opts.kills.influxd} at ${madeAt}/${expected} made; restarted`,
        );
      }
    };
    const agentChaos = async () => {
      for (const f of at(opts.kills.agent, 0.02, 0.9)) {
        await progress(f, 'the next agent kill');
        for (;;) {
          const candidates = agents.filter(
            (a) => a.done === undefined && a.proc && !a.proc.exited && a.ready,
          );
          if (candidates.length === 0) return; // every agent is done: nothing left to kill mid-spool
          const a = candidates[Math.floor(random() * candidates.length)]!;
          const seen = a.lines;
          // SIGKILL right after its next line: between an enqueue and the meta write, after a delivery, ...
          await monitor.waitUntil(
            () => a.lines > seen || a.proc!.exited !== undefined,
            `${a.name} to print`,
            60_000,
          );
          if (a.done !== undefined || a.proc!.exited) continue;
          const exit = await a.proc!.kill();
          if (exit.signal !== 'SIGKILL') {
            if (a.done !== undefined) continue; // it finished just before the signal: not a kill
            throw new Error(`${a.name} ended with ${JSON.stringify(exit)} instead of SIGKILL`);
          }
          kills.agent++;
          const madeBefore = a.made;
          await startAgent(a);
          log(
            `${elapsed()}  ${a.name} SIGKILL ${kills.agent}/${opts.kills.agent} after ${madeBefore}/${plan.count} made; restarted (life ${a.lives})`,
          );
          break;
        }
      }
    };
    await Promise.all([collectorChaos(), influxChaos(), agentChaos()]).catch((err: unknown) => {
      monitor.fail(err instanceof Error ? err : new Error(String(err)));
      throw err;
    });
    await monitor.waitUntil(
      () => agents.every((a) => a.done !== undefined && a.proc?.exited !== undefined),
      'every agent to deliver all its reports and exit',
      plan.count * plan.periodMs + 300_000,
    );
    log(`${elapsed()}  every agent made ${plan.count} reports, emptied its spool and exited`);

    // ---- what happened --------------------------------------------------------------------------
    const runProblems: string[] = [];
    if (opts.outbox) {
      // answered reports may still be on their way to InfluxDB: wait for the collector's outbox to empty
      // (a separate process's queue: its /metrics is polled, there is no event to await here)
      const deadline = Date.now() + 120_000;
      for (;;) {
        const text = await fetch(`http://127.0.0.1:${collectorPort}/metrics`, {
          headers: { authorization: `Bearer ${WORLD_ADMIN_TOKEN}` },
          signal: AbortSignal.timeout(10_000),
        }).then((r) => r.text());
        if (/^campuswatch_outbox_pending\{unit="points"\} 0$/m.test(text)) break;
        if (monitor.failure) throw monitor.failure;
        if (Date.now() > deadline) throw new Error("timed out waiting for the collector's outbox to empty");
        await new Promise((r) => setTimeout(r, 100));
      }
      log(`${elapsed()}  the collector's outbox is empty`);
    }
    const healthz: unknown = await fetch(`http://127.0.0.1:${collectorPort}/healthz`, {
      signal: AbortSignal.timeout(10_000),
    })
      .then((r) => r.json())
      .catch((err: unknown) => ({ error: (err as Error).message }));
    // graceful stop, so that the state store is closed before it is read
    collector!.killedByUs = true;
    collector!.signalGroup('SIGTERM');
    const stopped = await Promise.race([
      collector!.exit,
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 15_000).unref()),
    ]);
    if (stopped?.code !== 0)
      runProblems.push(`the collector did not stop cleanly on SIGTERM: ${JSON.stringify(stopped)}`);
    await collector!.kill();

    const db = new Database(join(collectorData, 'state.sqlite'), { readonly: true, fileMustExist: true });
    let journal: JournalRow[];
    try {
      journal = db
        .prepare(
          'SELECT report_id AS reportId, agent_id AS agentId, school_id AS schoolId, state FROM ingests ORDER BY seq',
        )
        .all() as JournalRow[];
    } finally {
      db.close();
    }
    const observed: AgentObservation[] = [];
    for (const a of agents) {
      if (!/^[A-Za-z0-9_-]+$/.test(a.agentId)) throw new Error(`unexpected agent id ${a.agentId}`);
      const rows = await ifx.query(
        `SELECT "spool_depth" FROM "agent" WHERE "agent" = '${a.agentId}'`,
        DATABASE,
      );
      const spool = new Spool(spoolFile(a.stateDir), 1_000_000);
      try {
        observed.push({
          name: a.name,
          agentId: a.agentId,
          schoolId: a.schoolId,
          spooled: a.spooled,
          spool: {
            ...spool.counters(),
            integrity: spool.integrityCheck(),
            made: Number(spool.getMeta(MADE_META_KEY) ?? 0),
          },
          influxTimes: rows.map((r) => Number(r.time)),
        });
      } finally {
        spool.close();
      }
    }
    const devicePoints = new Map(
      (await ifx.query('SELECT count("up") FROM "device" GROUP BY "school"', DATABASE)).map((r) => [
        String(r.school),
        Number(r.count),
      ]),
    );
    const verdict = judgeChaos({
      plan,
      schools: schools.map((s) => s.id),
      agents: observed,
      journal,
      devicePoints,
      killsPlanned: opts.kills,
      killsPerformed: kills,
    });
    const problems = [...runProblems, ...verdict.problems];
    const statusOf = (key: string) => (key.startsWith('HTTP ') ? Number(key.slice(5)) : Number.NaN);
    const sumWhere = (p: (s: number) => boolean) =>
      Object.entries(stops)
        .filter(([k]) => p(statusOf(k)))
        .reduce((n, [, v]) => n + v, 0);
    return {
      ...verdict,
      ok: problems.length === 0,
      problems,
      kills,
      madeAgain: agents.reduce((n, a) => n + a.madeAgain, 0),
      agentLives: agents.reduce((n, a) => n + a.lives, 0),
      stops,
      status4xx: sumWhere((s) => s >= 400 && s < 500) + rejected,
      status5xx: sumWhere((s) => s >= 500 && s < 600),
      networkErrors: networkStops,
      rejected,
      collector: { ...verdict.collector, healthz },
      wallMs: Math.round(performance.now() - t0),
      seed,
    };
  } finally {
    monitor.fail(new Error('the chaos run ended'));
    await Promise.all([...live].map((p) => p.kill()));
    await influx?.cleanup();
    if (opts.keepDir) log(`kept ${dir}`);
    else {
      rmSync(dir, { recursive: true, force: true });
      dirs.delete(dir);
    }
  }
}

// ---- the verdict -----------------------------------------------------------------------------------

export interface JournalRow {
  reportId: string;
  agentId: string;
  schoolId: string;
  state: string;
}

export interface AgentObservation {
  name: string;
  agentId: string;
  schoolId: string;
  /** Indexes the agent said it spooled (`spooled` and `again` lines). */
  spooled: ReadonlySet<number>;
  spool: { depth: number; dropped: number; rejected: number; integrity: string; made: number };
  /** Times of this agent's points in the `agent` measurement. */
  influxTimes: readonly number[];
}

export interface ChaosObservations {
  plan: ChaosPlan;
  schools: readonly string[];
  agents: readonly AgentObservation[];
  /** The collector's ingest journal (its de-duplication table), in insertion order. */
  journal: readonly JournalRow[];
  /** `device` points per school. */
  devicePoints: ReadonlyMap<string, number>;
  killsPlanned: ChaosResult['kills'];
  killsPerformed: ChaosResult['kills'];
}

export type ChaosVerdict = Pick<
  ChaosResult,
  | 'ok'
  | 'problems'
  | 'expected'
  | 'made'
  | 'inInflux'
  | 'missing'
  | 'duplicates'
  | 'ratio'
  | 'perSchool'
  | 'spools'
> & { collector: Omit<ChaosResult['collector'], 'healthz'> };

/**
 * Every report exactly once: each agent's reports 0..count-1 have one `agent` point at their own time and
 * one `device` point, one `done` journal row, in the order they were made; no other points or reportIds;
 * every spool empty, nothing dropped or refused, and the planned kills all happened.
 */
export function judgeChaos(o: ChaosObservations): ChaosVerdict {
  const { plan } = o;
  const problems: string[] = [];
  const perSchool = new Map<string, SchoolTally>(
    o.schools.map((id) => [
      id,
      { school: id, agents: 0, made: 0, agentPoints: 0, devicePoints: 0, ingested: 0 },
    ]),
  );
  const expectedIds = new Set<string>();
  let made = 0;
  let inInflux = 0;
  let missing = 0;
  let duplicates = 0;
  let outOfOrderAgents = 0;
  const spools = { empty: 0, total: o.agents.length, dropped: 0, rejected: 0, integrityOk: 0 };
  const times = Array.from({ length: plan.count }, (_, i) => chaosReportTime(plan, i));
  for (const a of o.agents) {
    const ids = times.map((t, i) => chaosReportId(a.agentId, i, t));
    for (const id of ids) expectedIds.add(id);
    const tally = perSchool.get(a.schoolId);
    if (!tally) throw new Error(`${a.name} is in an unknown school ${a.schoolId}`);
    tally.agents++;
    tally.made += a.spooled.size;
    made += a.spooled.size;
    if (a.spooled.size !== plan.count) problems.push(`${a.name} spooled ${a.spooled.size} of ${plan.count}`);

    // InfluxDB: one `agent` point per report, at the report's own time (a point is series + time)
    const want = new Set(times);
    const have = new Set(a.influxTimes);
    inInflux += a.influxTimes.length;
    tally.agentPoints += a.influxTimes.length;
    const absent = times.filter((t) => !have.has(t));
    const extra = a.influxTimes.filter((t) => !want.has(t)).length + (a.influxTimes.length - have.size);
    missing += absent.length;
    duplicates += extra;
    if (absent.length > 0) {
      problems.push(
        `${a.name}: ${absent.length} report(s) missing in InfluxDB, first index ${(absent[0]! - plan.t0Ms) / plan.periodMs}`,
      );
    }
    if (extra > 0) problems.push(`${a.name}: ${extra} point(s) in InfluxDB at times no report has`);

    // its spool: empty, nothing dropped or refused, intact, all made
    if (a.spool.depth === 0) spools.empty++;
    else problems.push(`${a.name}: ${a.spool.depth} report(s) still spooled`);
    spools.dropped += a.spool.dropped;
    spools.rejected += a.spool.rejected;
    if (a.spool.dropped > 0) problems.push(`${a.name}: its spool dropped ${a.spool.dropped} report(s)`);
    if (a.spool.rejected > 0)
      problems.push(`${a.name}: ${a.spool.rejected} report(s) in the dead-letter table`);
    if (a.spool.integrity === 'ok') spools.integrityOk++;
    else problems.push(`${a.name}: spool integrity check: ${a.spool.integrity}`);
    if (a.spool.made !== plan.count) problems.push(`${a.name}: its spool says ${a.spool.made} made`);

    // the collector's journal for this agent: every report once, in the order made (the forwarder sends oldest first)
    const order = o.journal
      .filter((j) => j.agentId === a.agentId && j.state === 'done')
      .map((j) => j.reportId);
    if (order.join() !== ids.join()) {
      outOfOrderAgents++;
      problems.push(
        `${a.name}: the collector's journal holds ${order.length} report(s), not the ${plan.count} made, in order`,
      );
    }
  }
  let unexpectedIds = 0;
  for (const j of o.journal) {
    if (j.state === 'done') {
      const tally = perSchool.get(j.schoolId);
      if (tally) tally.ingested++;
    }
    if (!expectedIds.has(j.reportId)) unexpectedIds++;
  }
  const ingestsDone = o.journal.filter((j) => j.state === 'done').length;
  const ingestsWriting = o.journal.length - ingestsDone;
  duplicates += unexpectedIds;
  if (unexpectedIds > 0) problems.push(`the collector ingested ${unexpectedIds} reportId(s) no agent made`);
  if (ingestsWriting > 0) problems.push(`${ingestsWriting} ingest(s) left in state 'writing'`);
  if (ingestsDone !== made)
    problems.push(`the collector's journal has ${ingestsDone} done, agents made ${made}`);
  for (const t of perSchool.values()) {
    t.devicePoints = o.devicePoints.get(t.school) ?? 0;
    if (t.devicePoints !== t.made)
      problems.push(`${t.school}: ${t.devicePoints} device points for ${t.made} reports`);
    if (t.ingested !== t.made) problems.push(`${t.school}: ${t.ingested} ingested for ${t.made} reports`);
  }
  const expected = o.agents.length * plan.count;
  if (made !== expected) problems.push(`the agents made ${made} reports, expected ${expected}`);
  for (const kind of ['collector', 'influxd', 'agent'] as const) {
    if (o.killsPerformed[kind] !== o.killsPlanned[kind]) {
      problems.push(`${o.killsPerformed[kind]} ${kind} kill(s) performed of ${o.killsPlanned[kind]} planned`);
    }
  }
  return {
    ok: problems.length === 0,
    problems,
    expected,
    made,
    inInflux,
    missing,
    duplicates,
    ratio: made === 0 ? 0 : inInflux / made,
    perSchool: [...perSchool.values()],
    spools,
    collector: { ingestsDone, ingestsWriting, unexpectedIds, outOfOrderAgents },
  };
}
