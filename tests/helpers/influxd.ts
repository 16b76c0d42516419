/**
 * Test harness: a real InfluxDB 1.x (`influxd`) on 127.0.0.1 with ephemeral ports and a temporary
 * data directory, started from its own config file (never /etc/influxdb/influxdb.conf).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { dirs, installExitHook, live } from './exit-cleanup.js';

export const INFLUXD_BIN = '/usr/bin/influxd';
const SETPRIV_BIN = '/usr/bin/setpriv';
const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 15_000;
const STDERR_TAIL_BYTES = 16_384;

export type InfluxRow = Record<string, unknown>;

export interface Influxd {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  /** Port of the backup/RPC service (`bind-address`). */
  readonly rpcPort: number;
  readonly dir: string;
  /** Milliseconds from spawn to the first `204` from `/ping`, for the last (re)start. */
  readonly startupMs: number;
  /** SIGTERM and await exit. */
  stop(): Promise<void>;
  /** SIGKILL and await exit. */
  kill(): Promise<void>;
  /** Sends a signal to the running influxd (SIGSTOP freezes it: requests hang, as on a stalled server). */
  signal(sig: NodeJS.Signals): void;
  /** Start again on the same ports and data directory; resolves once `/ping` answers 204. */
  restart(): Promise<void>;
  /**
   * Run InfluxQL over `GET /query` (epoch=ms) and return the rows of all series of all statements; with
   * `auth`, as its admin user.
   */
  query(influxql: string, db?: string): Promise<InfluxRow[]>;
  /**
   * The same as another user (`POST /query`, so CREATE/GRANT work too): the rows, or the refusal — HTTP
   * status and InfluxDB's error text (e.g. 403 "… not authorized to execute statement …").
   */
  queryAs(
    user: InfluxCredentials,
    influxql: string,
    db?: string,
  ): Promise<{ ok: true; rows: InfluxRow[] } | { ok: false; status: number; error: string }>;
  /** The admin user created at start (`auth`), or undefined without authentication. */
  readonly admin: InfluxCredentials | undefined;
  /** Stop (SIGTERM, SIGKILL if it does not exit in time) and remove the temporary directory. */
  cleanup(): Promise<void>;
}

export interface InfluxCredentials {
  username: string;
  password: string;
}

/** influxd exited before answering `/ping` (e.g. a port taken between choosing it and binding it). */
export class InfluxdExitedError extends Error {
  override readonly name = 'InfluxdExitedError';
}

/** Reason to skip tests that need influxd, or undefined when it is available. */
export function influxdAvailable(): string | undefined {
  if (!existsSync(INFLUXD_BIN)) {
    return `${INFLUXD_BIN} not found (install Debian's influxdb package: apt-get install influxdb)`;
  }
  return undefined;
}

/** Distinct free TCP ports on 127.0.0.1: listen on port 0 (all at once, so they differ), then close. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('unexpected server address');
    return address.port;
  });
  await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  return ports;
}

/** Optional settings of the test influxd; every default is the one the other tests rely on. */
export interface InfluxdOptions {
  /** Run continuous queries (default false: no CQ service) every `runInterval` (influxd's default 1s). */
  continuousQueries?: boolean | { runInterval: string };
  /** More `[data]` settings, e.g. `{ 'cache-snapshot-memory-size': '256m' }` (digits are written as integers). */
  data?: Record<string, string>;
  /** Serve Go's /debug/pprof on the HTTP port (default false), for bench/ingest --influx-pprof. */
  pprof?: boolean;
  /** The WAL's directory (default: `wal` in the temporary directory), e.g. on another file system. */
  walDir?: string;
  /** influxd's log level (default "error"); "info" logs snapshots and compactions, with times. */
  logLevel?: 'error' | 'warn' | 'info';
  /** Also append influxd's stderr (its log) to this file. */
  logFile?: string;
  /**
   * `[http] auth-enabled = true`, with this admin user created at start (InfluxDB 1.x lets the first
   * `CREATE USER … WITH ALL PRIVILEGES` through while it has no user). `query` then runs as it.
   */
  auth?: InfluxCredentials;
}

function configText(dir: string, port: number, rpcPort: number, opts: InfluxdOptions = {}): string {
  const cq = opts.continuousQueries;
  const cqSection = cq
    ? `  enabled = true\n  log-enabled = false\n  run-interval = "${typeof cq === 'object' ? cq.runInterval : '1s'}"`
    : '  enabled = false\n  log-enabled = false';
  // Sections not listed keep influxd's built-in defaults; graphite/collectd/opentsdb/udp are
  // disabled by default and are only enabled when a config section turns them on.
  return `reporting-enabled = false
bind-address = "127.0.0.1:${rpcPort}"

[meta]
  dir = "${join(dir, 'meta')}"
  logging-enabled = false

[data]
  dir = "${join(dir, 'data')}"
  wal-dir = "${opts.walDir ?? join(dir, 'wal')}"
  query-log-enabled = false
  trace-logging-enabled = false
${Object.entries(opts.data ?? {})
  .map(([k, v]) => `  ${k} = ${/^\d+$/.test(v) ? v : JSON.stringify(v)}\n`)
  .join('')}
[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[continuous_queries]
${cqSection}

[retention]
  enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:${port}"
  auth-enabled = ${opts.auth !== undefined}
  log-enabled = false
  write-tracing = false
  pprof-enabled = ${opts.pprof === true}
  unix-socket-enabled = false

[ifql]
  enabled = false

[logging]
  level = "${opts.logLevel ?? 'error'}"
  suppress-logo = true
`;
}

/** The environment without INFLUXDB_* variables: influxd applies them over the config file. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('INFLUXDB_')) env[key] = value;
  }
  return env;
}

interface Running {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
  alive: () => boolean;
}

function spawnInfluxd(configPath: string, logFile?: string): Running {
  installExitHook();
  const args = ['-config', configPath];
  // setpriv --pdeathsig KILL execs influxd (same pid) and has the kernel kill it if this process
  // dies without running its exit handlers (e.g. the test worker is SIGKILLed).
  const child = existsSync(SETPRIV_BIN)
    ? spawn(SETPRIV_BIN, ['--pdeathsig', 'KILL', '--', INFLUXD_BIN, ...args], {
        env: childEnv(),
        stdio: ['ignore', 'ignore', 'pipe'],
      })
    : spawn(INFLUXD_BIN, args, { env: childEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
  live.add(child);
  let tail = '';
  let alive = true;
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    tail = (tail + chunk).slice(-STDERR_TAIL_BYTES);
    if (logFile !== undefined) appendFileSync(logFile, chunk);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('error', (err) => {
      tail += `\nspawn error: ${err.message}`;
      alive = false;
      live.delete(child);
      resolve({ code: null, signal: null });
    });
    child.once('exit', (code, signal) => {
      alive = false;
      live.delete(child);
      resolve({ code, signal });
    });
  });
  return { child, exited, stderr: () => tail, alive: () => alive };
}

async function pingOnce(url: string, signal: AbortSignal): Promise<boolean> {
  try {
    const res = await fetch(`${url}/ping`, { signal: AbortSignal.any([signal, AbortSignal.timeout(1000)]) });
    await res.body?.cancel();
    return res.status === 204;
  } catch {
    return false;
  }
}

/** Resolves once `/ping` answers 204; rejects (with stderr) if influxd exits first or on timeout. */
async function awaitReady(url: string, running: Running): Promise<void> {
  const stopPolling = new AbortController();
  let exitedEarly = false;
  const exit = running.exited.then((result) => {
    exitedEarly = true;
    stopPolling.abort();
    return result;
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  try {
    while (!exitedEarly && Date.now() < deadline) {
      if (await pingOnce(url, stopPolling.signal)) return;
      if (exitedEarly) break;
      await delay(50, undefined, { signal: stopPolling.signal }).catch(() => undefined);
    }
    if (exitedEarly) {
      const { code, signal } = await exit;
      throw new InfluxdExitedError(
        `influxd exited before it was ready (code ${code}, signal ${signal}); stderr:\n${running.stderr()}`,
      );
    }
    running.child.kill('SIGKILL');
    await running.exited;
    throw new Error(
      `influxd not ready within ${READY_TIMEOUT_MS} ms at ${url}; stderr:\n${running.stderr()}`,
    );
  } finally {
    stopPolling.abort();
  }
}

async function terminate(running: Running | undefined, signal: NodeJS.Signals): Promise<void> {
  if (running === undefined || !running.alive()) return;
  running.child.kill(signal);
  if (signal === 'SIGKILL') {
    await running.exited;
    return;
  }
  const giveUp = new AbortController();
  const timedOut = delay(STOP_TIMEOUT_MS, 'timeout' as const, { signal: giveUp.signal }).catch(
    () => 'aborted' as const,
  );
  const outcome = await Promise.race([running.exited.then(() => 'exited' as const), timedOut]);
  giveUp.abort(); // clear the timer once influxd has exited
  if (outcome === 'timeout') {
    running.child.kill('SIGKILL');
    await running.exited;
  }
}

function rowsOf(body: unknown): InfluxRow[] {
  const rows: InfluxRow[] = [];
  if (typeof body !== 'object' || body === null) throw new Error('query: response is not a JSON object');
  const results = (body as { results?: unknown }).results;
  if (!Array.isArray(results)) {
    const error = (body as { error?: unknown }).error;
    throw new Error(`query: ${typeof error === 'string' ? error : 'no results in response'}`);
  }
  for (const result of results as unknown[]) {
    if (typeof result !== 'object' || result === null) continue;
    const { error, series } = result as { error?: unknown; series?: unknown };
    if (typeof error === 'string') throw new Error(`query: ${error}`);
    if (!Array.isArray(series)) continue;
    for (const s of series as unknown[]) {
      if (typeof s !== 'object' || s === null) continue;
      const { columns, values, tags } = s as { columns?: unknown; values?: unknown; tags?: unknown };
      if (!Array.isArray(columns) || !Array.isArray(values)) continue;
      for (const value of values as unknown[]) {
        if (!Array.isArray(value)) continue;
        const row: InfluxRow = typeof tags === 'object' && tags !== null ? { ...tags } : {};
        columns.forEach((column: unknown, i) => {
          row[String(column)] = value[i];
        });
        rows.push(row);
      }
    }
  }
  return rows;
}

const basic = (c: InfluxCredentials) =>
  `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;

/** InfluxQL string literal (passwords in CREATE USER). */
const literal = (s: string) => `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;

export async function startInfluxd(opts: InfluxdOptions = {}): Promise<Influxd> {
  const reason = influxdAvailable();
  if (reason !== undefined) throw new Error(reason);
  installExitHook();
  const dir = await mkdtemp(join(tmpdir(), 'campuswatch-influxd-'));
  dirs.add(dir);
  try {
    const configPath = join(dir, 'influxdb.conf');
    let port = 0;
    let rpcPort = 0;
    let url = '';
    let running: Running | undefined;
    let startupMs = 0;
    const start = async (): Promise<void> => {
      if (running?.alive()) {
        throw new Error('influxd is already running');
      }
      const t0 = performance.now();
      running = spawnInfluxd(configPath, opts.logFile);
      await awaitReady(url, running);
      startupMs = Math.round(performance.now() - t0);
    };
    // A port found free can be taken by someone else before influxd binds it: choose again (3 tries).
    for (let attempt = 1; ; attempt += 1) {
      const ports = await freePorts(2);
      port = ports[0] ?? 0;
      rpcPort = ports[1] ?? 0;
      url = `http://127.0.0.1:${port}`;
      await writeFile(configPath, configText(dir, port, rpcPort, opts));
      try {
        await start();
        break;
      } catch (err) {
        if (!(err instanceof InfluxdExitedError) || attempt >= 3) throw err;
      }
    }
    const post = async (user: InfluxCredentials | undefined, influxql: string, db?: string) => {
      const params = new URLSearchParams({ q: influxql, epoch: 'ms' });
      if (db !== undefined) params.set('db', db);
      const res = await fetch(`${url}/query`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          ...(user === undefined ? {} : { authorization: basic(user) }),
        },
        body: params.toString(),
        signal: AbortSignal.timeout(10_000),
      });
      return { status: res.status, text: await res.text() };
    };
    if (opts.auth !== undefined) {
      const { username, password } = opts.auth;
      const created = await post(
        undefined,
        `CREATE USER "${username.replaceAll('"', '\\"')}" WITH PASSWORD ${literal(password)} WITH ALL PRIVILEGES`,
      );
      if (created.status !== 200 || created.text.includes('"error"'))
        throw new Error(`influxd: creating the admin user failed: HTTP ${created.status}: ${created.text}`);
    }

    return {
      url,
      port,
      rpcPort,
      dir,
      get startupMs() {
        return startupMs;
      },
      stop: () => terminate(running, 'SIGTERM'),
      kill: () => terminate(running, 'SIGKILL'),
      signal: (sig) => {
        running?.child.kill(sig);
      },
      restart: start,
      admin: opts.auth,
      async query(influxql: string, db?: string): Promise<InfluxRow[]> {
        const params = new URLSearchParams({ q: influxql, epoch: 'ms' });
        if (db !== undefined) params.set('db', db);
        const res = await fetch(`${url}/query?${params.toString()}`, {
          signal: AbortSignal.timeout(10_000),
          ...(opts.auth === undefined ? {} : { headers: { authorization: basic(opts.auth) } }),
        });
        const text = await res.text();
        if (!res.ok) throw new Error(`query: HTTP ${res.status}: ${text}`);
        return rowsOf(JSON.parse(text));
      },
      async queryAs(user, influxql, db) {
        const { status, text } = await post(user, influxql, db);
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          return { ok: false, status, error: text };
        }
        const error =
          (body as { error?: unknown }).error ??
          (body as { results?: { error?: unknown }[] }).results?.find((r) => r.error !== undefined)?.error;
        if (status !== 200 || error !== undefined) return { ok: false, status, error: String(error ?? text) };
        return { ok: true, rows: rowsOf(body) };
      },
      async cleanup(): Promise<void> {
        await terminate(running, 'SIGTERM');
        await rm(dir, { recursive: true, force: true });
        dirs.delete(dir);
      },
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    dirs.delete(dir);
    throw err;
  }
}
