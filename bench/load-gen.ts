// One load-generator process of bench/ingest (started by it; commands and results over IPC). It posts the
// reports of its share of the enrolled agents (global index ≡ part mod parts) to the collector through an
// undici keep-alive Pool, on the 60 s schedule (open loop: each agent at its own offset in the cycle,
// latency counted from the time it was due, so a slow collector cannot hide behind a slow generator) or
// flat out (closed loop, N in flight); or it posts the same points as raw line protocol straight to
// InfluxDB for the ceiling: N reports in flight, their points coalesced as the collector coalesces them
// (its WriteBatcher: at most WRITES_IN_FLIGHT /write requests, reports that arrive meanwhile share the next one), or
// (`coalesce: false`) one report's points per request.
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';
import { type BaselineConfig, DEFAULT_BASELINE_FILE, loadBaseline } from '../collector/src/baseline.js';
import { MAX_BATCH_POINTS, WRITES_IN_FLIGHT } from '../collector/src/store/influx.js';
import { WriteBatcher } from '../collector/src/store/write-batcher.js';
import { DEFAULT_TARGETS_FILE, loadTargets, type TargetsConfig } from '../collector/src/targets.js';
import { SENT_AT_HEADER } from '../protocol/version.js';
import { cpuSeconds } from './proc.js';
import { linesOfReport, TimedBody } from './raw-points.js';
import { type BenchAgent, benchSchools, Templates, variantOf } from './school-profile.js';

export interface GenInit {
  collectorUrl: string;
  influxUrl: string;
  database: string;
  agentsFile: string;
  schools: number;
  campuses: number;
  part: number;
  parts: number;
  connections: number;
}

export type GenCommand =
  | {
      cmd: 'schedule';
      startAt: number;
      measureFrom: number;
      endAt: number;
      cycleMs: number;
      cycleBase: number;
    }
  | {
      cmd: 'flat';
      concurrency: number;
      measureFrom: number;
      endAt: number;
      cycleBase: number;
      /** Each agent of this generator once, then done (priming the collector). */
      once?: boolean;
    }
  | { cmd: 'prepare-raw'; batches: number; cycleBase: number }
  | {
      cmd: 'raw';
      concurrency: number;
      measureFrom: number;
      endAt: number;
      coalesce: boolean;
      /** The collector's influx.batchLingerMs (WriteBatcher lingerMs). */
      lingerMs: number;
    }
  /** The collector's own /write bodies (bench/write-recorder JSON lines), re-timed, straight to InfluxDB. */
  | { cmd: 'replay'; file: string; concurrency: number; measureFrom: number; endAt: number }
  | { cmd: 'prime'; concurrency: number }
  | { cmd: 'exit' };

export interface GenResult {
  type: 'result';
  phase: 'schedule' | 'flat' | 'raw' | 'prime' | 'replay';
  part: number;
  /** Requests completed inside the measured window (all of them, whatever the status). */
  completed: number;
  /** …of which 200 (collector) or 204 (InfluxDB). */
  ok: number;
  /** Status or error code → count, for the measured window. */
  outcomes: Record<string, number>;
  /** Completion time (epoch ms) and latency (ms) of each request completed in the window. */
  doneAt: number[];
  latencyMs: number[];
  /** Schedule only: how late the generator dispatched each request (ms), to show it kept up. */
  lagMs: number[];
  /** Raw only: points in the requests InfluxDB answered 204. */
  points: number;
  /** Request bytes sent in the window. */
  bytes: number;
  cpuS: number;
}

export type GenMessage =
  | GenResult
  | { type: 'ready'; part: number; batches: number; points: number }
  | { type: 'error'; message: string };

const init = JSON.parse(process.argv[2] ?? '') as GenInit;
const allAgents = JSON.parse(readFileSync(init.agentsFile, 'utf8')) as BenchAgent[];
const mine: number[] = [];
for (let i = init.part; i < allAgents.length; i += init.parts) mine.push(i);
const templates = new Templates(init.campuses);
const sends = new Map<number, number>();
const collector = new Pool(init.collectorUrl, {
  connections: init.connections,
  pipelining: 1,
  keepAliveTimeout: 60_000,
  headersTimeout: 120_000,
  bodyTimeout: 120_000,
});
const influx = new Pool(init.influxUrl, {
  connections: init.connections,
  pipelining: 1,
  keepAliveTimeout: 60_000,
  headersTimeout: 120_000,
  bodyTimeout: 120_000,
});
const timeOrigin = performance.timeOrigin;
/** An agent's default request timeout (agent config collector.requestTimeoutS). */
const REQUEST_TIMEOUT_MS = 30_000;

function send(msg: GenMessage): void {
  process.send?.(msg);
}

class Window {
  completed = 0;
  ok = 0;
  points = 0;
  bytes = 0;
  outcomes: Record<string, number> = {};
  doneAt: number[] = [];
  latencyMs: number[] = [];
  lagMs: number[] = [];
  constructor(
    readonly measureFrom: number,
    readonly endAt: number,
  ) {}

  /** Counts a finished request if it finished inside the window. */
  record(outcome: string, ok: boolean, latencyMs: number, bytes: number, points = 0): void {
    const now = Date.now();
    if (now < this.measureFrom || now > this.endAt) return;
    this.completed++;
    if (ok) {
      this.ok++;
      this.points += points;
    }
    this.bytes += bytes;
    this.outcomes[outcome] = (this.outcomes[outcome] ?? 0) + 1;
    this.doneAt.push(now);
    this.latencyMs.push(latencyMs);
  }

  result(phase: GenResult['phase'], cpu0: number): GenResult {
    return {
      type: 'result',
      phase,
      part: init.part,
      completed: this.completed,
      ok: this.ok,
      outcomes: this.outcomes,
      doneAt: this.doneAt,
      latencyMs: this.latencyMs,
      lagMs: this.lagMs,
      points: this.points,
      bytes: this.bytes,
      cpuS: cpuSeconds(process.pid) - cpu0,
    };
  }
}

function errorCode(err: unknown): string {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : err instanceof Error ? err.name : 'error';
}

/** One report of agent `i`, posted; resolves when answered. `startPerf`: when its latency starts. */
async function postReport(i: number, cycleBase: number, startPerf: number, w: Window): Promise<void> {
  const agent = allAgents[i]!;
  const n = sends.get(i) ?? 0;
  sends.set(i, n + 1);
  const now = new Date();
  const body = templates.get(agent, variantOf(i, cycleBase + n)).fill(agent.schoolId, agent.agentId, now);
  try {
    const res = await collector.request({
      path: '/api/v1/reports',
      method: 'POST',
      headers: {
        authorization: `Bearer ${agent.token}`,
        'content-type': 'application/json',
        [SENT_AT_HEADER]: now.toISOString(),
      },
      body,
      // as an agent does (collector.requestTimeoutS, default 30): it gives up and sends again later
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await res.body.text();
    const ok = res.statusCode === 200 && text.includes('"stored"');
    w.record(
      ok ? '200 stored' : `${res.statusCode} ${text.slice(0, 160)}`,
      ok,
      performance.now() - startPerf,
      body.length,
    );
  } catch (err) {
    w.record(errorCode(err), false, performance.now() - startPerf, body.length);
  }
}

/** Open loop: agent i is due at startAt + (i / agents) × cycle, then every cycle, until endAt. */
function schedule(c: Extract<GenCommand, { cmd: 'schedule' }>): Promise<Window> {
  // every report due in the phase counts, however late its answer comes
  const w = new Window(c.measureFrom, Number.POSITIVE_INFINITY);
  const total = allAgents.length;
  const inflight = new Set<Promise<void>>();
  let k = 0;
  let cycle = 0;
  return new Promise((resolve) => {
    const tick = () => {
      const now = Date.now();
      for (;;) {
        const i = mine[k]!;
        const due = c.startAt + cycle * c.cycleMs + (i / total) * c.cycleMs;
        if (due >= c.endAt) {
          void Promise.all(inflight).then(() => resolve(w));
          return;
        }
        if (due > now) {
          setTimeout(tick, due - now);
          return;
        }
        if (due >= c.measureFrom) w.lagMs.push(now - due);
        const p = postReport(i, c.cycleBase + cycle, due - timeOrigin, w);
        inflight.add(p);
        void p.then(() => inflight.delete(p));
        k++;
        if (k === mine.length) {
          k = 0;
          cycle++;
        }
      }
    };
    setTimeout(tick, Math.max(0, c.startAt - Date.now()));
  });
}

async function flat(c: Extract<GenCommand, { cmd: 'flat' }>): Promise<Window> {
  const w = new Window(c.measureFrom, c.endAt);
  let next = 0;
  const worker = async () => {
    while (c.once ? next < mine.length : Date.now() < c.endAt) {
      const i = mine[next++ % mine.length]!;
      await postReport(i, c.cycleBase, performance.now(), w);
    }
  };
  await Promise.all(Array.from({ length: c.concurrency }, worker));
  return w;
}

let rawBodies: TimedBody[] = [];
let targets: TargetsConfig | undefined;
let baseline: BaselineConfig | undefined;

/** The `/write` bodies of `batches` reports (agents in the order flat-out uses), built before timing. */
function prepareRaw(c: Extract<GenCommand, { cmd: 'prepare-raw' }>): { batches: number; points: number } {
  const at = new Date(Math.floor(Date.now() / 1000) * 1000);
  rawBodies = [];
  let points = 0;
  for (let j = 0; j < c.batches; j++) {
    const i = mine[j % mine.length]!;
    const body = rawBody(i, c.cycleBase + Math.floor(j / mine.length), at);
    rawBodies.push(body);
    points += body.points;
  }
  return { batches: rawBodies.length, points };
}

function rawBody(i: number, cycle: number, at: Date): TimedBody {
  targets ??= loadTargets(DEFAULT_TARGETS_FILE);
  baseline ??= loadBaseline(DEFAULT_BASELINE_FILE);
  schools ??= benchSchools(init.schools);
  const agent = allAgents[i]!;
  const report = templates.report(agent, cycle, at, i);
  const lines = linesOfReport(report, schools[agent.schoolIndex]!, targets, baseline, at);
  const body = new TimedBody(lines, at.getTime());
  if (!body.timedEverywhere) throw new Error('a point of a bench report does not carry the report time');
  return body;
}
let schools: ReturnType<typeof benchSchools> | undefined;

/**
 * The priming bodies: each agent's `full` report (IPv6, security, speed test) and its `host` report, so
 * every series of every variant exists (a deployment has them after its first hour), not only those of
 * the variant the raw phases happen to start with.
 */
function primeBodies(): TimedBody[] {
  const at = new Date(Math.floor(Date.now() / 1000) * 1000);
  const bodies: TimedBody[] = [];
  for (const i of mine) {
    const full = (60 - (i % 60)) % 60; // (i + cycle) % 60 === 0
    let host = (5 - (i % 5)) % 5; // (i + cycle) % 5 === 0 …
    if ((i + host) % 60 === 0) host += 5; // … but not a full cycle
    bodies.push(rawBody(i, full, at), rawBody(i, host, at));
  }
  return bodies;
}

/**
 * A recorded /write body of the collector whose timestamps all move with the time it is sent: each line
 * keeps its offset from the body's earliest timestamp (finding points at earlier times stay earlier).
 */
class ShiftedBody {
  private readonly heads: string[] = [];
  private readonly offsets: number[] = [];
  readonly points: number;

  constructor(
    readonly path: string,
    body: string,
  ) {
    const lines = body.split('\n').filter((l) => l.length > 0);
    const stamps = lines.map((l) => Number(l.slice(l.lastIndexOf(' ') + 1)));
    if (stamps.some((t) => !Number.isSafeInteger(t)))
      throw new Error(`replay: a recorded line has no integer timestamp (${path})`);
    const base = Math.min(...stamps);
    lines.forEach((l, k) => {
      this.heads.push(l.slice(0, l.lastIndexOf(' ') + 1));
      this.offsets.push(stamps[k]! - base);
    });
    this.points = lines.length;
  }

  fill(atMs: number): string {
    return this.heads.map((h, k) => `${h}${atMs + this.offsets[k]!}`).join('\n');
  }
}

/** This generator's share of the recorded bodies (bench/write-recorder JSON lines), every `parts`-th. */
function replayBodies(file: string): ShiftedBody[] {
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.length > 0);
  const out: ShiftedBody[] = [];
  for (let k = init.part; k < lines.length; k += init.parts) {
    const r = JSON.parse(lines[k]!) as { path: string; body: string };
    if (!/[?&]precision=ms(&|$)/.test(r.path))
      throw new Error(`replay: recorded write ${r.path} is not in ms precision`);
    out.push(new ShiftedBody(r.path, r.body));
  }
  if (out.length === 0) throw new Error(`replay: no recorded writes for generator ${init.part} in ${file}`);
  return out;
}

class WriteRefused extends Error {
  constructor(readonly outcome: string) {
    super(outcome);
  }
}

/**
 * Raw writes until `endAt` by `concurrency` writers, cycling through the prepared bodies; or (`once`) each
 * body once. `coalesce`: the writers' bodies go through the collector's WriteBatcher with its settings, so
 * InfluxDB gets requests as large as the collector's under the same load (each body's latency is from its
 * submission until its batch was stored); else each body is a request of its own.
 */
async function raw(
  c: { concurrency: number; measureFrom: number; endAt: number; coalesce?: boolean; lingerMs?: number },
  once = false,
  bodies: readonly (TimedBody | ShiftedBody)[] = rawBodies,
): Promise<Window> {
  const w = new Window(c.measureFrom, c.endAt);
  const rawPath = `/write?db=${encodeURIComponent(init.database)}&precision=ms`;
  const post = async (path: string, body: string): Promise<void> => {
    const res = await influx.request({ path, method: 'POST', body });
    const text = await res.body.text();
    if (res.statusCode !== 204) throw new WriteRefused(`${res.statusCode} ${text.slice(0, 160)}`);
  };
  const batcher = c.coalesce
    ? new WriteBatcher<string>((lines) => post(rawPath, lines.join('\n')), {
        maxInFlight: WRITES_IN_FLIGHT,
        maxPoints: MAX_BATCH_POINTS,
        lingerMs: c.lingerMs ?? 0,
        isBadData: () => false,
      })
    : undefined;
  let next = 0;
  const worker = async () => {
    while (once ? next < bodies.length : Date.now() < c.endAt) {
      const b = bodies[next++ % bodies.length]!;
      const t0 = performance.now();
      const body = b.fill(Date.now());
      const path = b instanceof ShiftedBody ? b.path : rawPath;
      try {
        if (batcher && path === rawPath) await batcher.submit(body.split('\n'));
        else await post(path, body);
        w.record('204', true, performance.now() - t0, body.length, b.points);
      } catch (err) {
        w.record(
          err instanceof WriteRefused ? err.outcome : errorCode(err),
          false,
          performance.now() - t0,
          body.length,
        );
      }
    }
  };
  await Promise.all(Array.from({ length: c.concurrency }, worker));
  return w;
}

process.on('message', (raw0: unknown) => {
  const c = raw0 as GenCommand;
  const cpu0 = cpuSeconds(process.pid);
  const done = (phase: GenResult['phase']) => (w: Window) => send(w.result(phase, cpu0));
  const fail = (err: unknown) =>
    send({ type: 'error', message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  switch (c.cmd) {
    case 'schedule':
      schedule(c).then(done('schedule'), fail);
      break;
    case 'flat':
      flat(c).then(done('flat'), fail);
      break;
    case 'prepare-raw':
      try {
        send({ type: 'ready', part: init.part, ...prepareRaw(c) });
      } catch (err) {
        fail(err);
      }
      break;
    case 'raw':
      raw(c).then(done('raw'), fail);
      break;
    case 'replay':
      try {
        raw(c, false, replayBodies(c.file)).then(done('replay'), fail);
      } catch (err) {
        fail(err);
      }
      break;
    case 'prime':
      raw(
        { concurrency: c.concurrency, measureFrom: 0, endAt: Number.POSITIVE_INFINITY },
        true,
        primeBodies(),
      ).then(done('prime'), fail);
      break;
    case 'exit':
      void Promise.all([collector.close(), influx.close()]).finally(() => process.exit(0));
      break;
  }
});
send({ type: 'ready', part: init.part, batches: 0, points: 0 });
