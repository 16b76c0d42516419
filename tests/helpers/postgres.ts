/**
 * Test harness: a throw-away PostgreSQL from Debian's binaries (/usr/lib/postgresql/<version>/bin),
 * initialised into a temporary directory and listening on a free port of 127.0.0.1 only (trust
 * authentication, unix socket inside that directory). It never touches a packaged cluster (5432).
 * As root it runs as the `postgres` user (the server refuses to run as root).
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client, escapeIdentifier } from 'pg';
import { dirs, installExitHook, live } from './exit-cleanup.js';
import { freePorts } from './influxd.js';

const execFileAsync = promisify(execFile);

const PG_ROOT = '/usr/lib/postgresql';
const SETPRIV_BIN = '/usr/bin/setpriv';
const RUNUSER_BIN = '/usr/sbin/runuser';
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;
const STDERR_TAIL_BYTES = 16_384;
/** The superuser initdb creates (whatever OS user runs the server). */
export const PG_SUPERUSER = 'postgres';

export interface Postgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Creates a database (name: lower-case letters, digits, underscores) and returns its URL. */
  createDatabase(name: string, options?: { icuLocale?: string }): Promise<string>;
  /** URL of an existing database of this server. */
  urlOf(database: string): string;
  /** SIGKILL the server and await its exit. */
  kill(): Promise<void>;
  /** Fast shutdown (SIGKILL if it does not exit in time) and remove the temporary directory. */
  cleanup(): Promise<void>;
}

/** The server exited before it was ready (e.g. its port was taken between choosing and binding it). */
export class PostgresExitedError extends Error {
  override readonly name = 'PostgresExitedError';
}

/** The bin directory of the highest installed PostgreSQL major version, if any. */
export function postgresBinDir(): string | undefined {
  if (!existsSync(PG_ROOT)) return undefined;
  const versions = readdirSync(PG_ROOT)
    .filter((v) => /^\d+(\.\d+)?$/.test(v))
    .filter(
      (v) => existsSync(join(PG_ROOT, v, 'bin', 'initdb')) && existsSync(join(PG_ROOT, v, 'bin', 'postgres')),
    )
    .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
  return versions[0] === undefined ? undefined : join(PG_ROOT, versions[0], 'bin');
}

interface RunAs {
  uid: number;
  gid: number;
}

/** As root: the uid and gid of the `postgres` user; otherwise undefined (run as ourselves). */
async function postgresUser(): Promise<RunAs | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const [uid, gid] = await Promise.all([
    execFileAsync('id', ['-u', PG_SUPERUSER]).then((r) => Number(r.stdout.trim())),
    execFileAsync('id', ['-g', PG_SUPERUSER]).then((r) => Number(r.stdout.trim())),
  ]);
  return { uid, gid };
}

/** Reason to skip tests that need PostgreSQL, or undefined when it can be started. */
export function postgresAvailable(): string | undefined {
  const bin = postgresBinDir();
  if (bin === undefined) {
    return `no ${PG_ROOT}/<version>/bin/{initdb,postgres} (install Debian's postgresql package: apt-get install postgresql)`;
  }
  if (process.getuid?.() === 0) {
    if (!hasPostgresUser())
      return `running as root and there is no '${PG_SUPERUSER}' user to run the server as`;
    if (!existsSync(SETPRIV_BIN) && !existsSync(RUNUSER_BIN)) {
      return `running as root and neither ${SETPRIV_BIN} nor ${RUNUSER_BIN} is there to drop to '${PG_SUPERUSER}'`;
    }
  }
  return undefined;
}

/** Whether the `postgres` user exists (id(1) asks NSS, not only /etc/passwd). */
function hasPostgresUser(): boolean {
  return spawnSync('id', ['-u', PG_SUPERUSER], { stdio: 'ignore' }).status === 0;
}

/** The command line that runs `bin args` as `user` (root) or as ourselves, dying with this process. */
function command(file: string, args: string[], user: RunAs | undefined): [string, string[]] {
  if (existsSync(SETPRIV_BIN)) {
    // setpriv execs the program (same pid); --pdeathsig has the kernel kill it if this process dies
    // without running its exit handlers (e.g. the test worker is SIGKILLed)
    const drop =
      user === undefined
        ? []
        : [`--reuid=${user.uid}`, `--regid=${user.gid}`, '--init-groups', '--reset-env'];
    return [SETPRIV_BIN, [...drop, '--pdeathsig', 'KILL', '--', file, ...args]];
  }
  if (user !== undefined) return [RUNUSER_BIN, ['-u', PG_SUPERUSER, '--', file, ...args]];
  return [file, args];
}

/** The environment without PG* variables (PGDATA, PGPORT, PGHOST … would steer the tools elsewhere). */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { LC_ALL: 'C', LANG: 'C' };
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('PG') && key !== 'LC_ALL' && key !== 'LANG') env[key] = value;
  }
  return env;
}

interface Running {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves when the server logs that it accepts connections. */
  ready: Promise<void>;
  stderr: () => string;
  alive: () => boolean;
}

function spawnPostgres(bin: string, args: string[], user: RunAs | undefined): Running {
  installExitHook();
  const [file, argv] = command(join(bin, 'postgres'), args, user);
  const child = spawn(file, argv, { env: childEnv(), stdio: ['ignore', 'ignore', 'pipe'] });
  live.add(child);
  let tail = '';
  let alive = true;
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    tail = (tail + chunk).slice(-STDERR_TAIL_BYTES);
    // lc_messages=C: the postmaster's own words once it takes connections
    if (tail.includes('database system is ready to accept connections')) markReady();
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
  return { child, exited, ready, stderr: () => tail, alive: () => alive };
}

/** Resolves once the server logged readiness and a connection succeeds; rejects if it exits first or on timeout. */
async function awaitReady(url: string, running: Running): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), READY_TIMEOUT_MS);
  });
  try {
    const outcome = await Promise.race([
      running.ready.then(() => 'ready' as const),
      running.exited.then(() => 'exited' as const),
      timeout,
    ]);
    if (outcome === 'ready') {
      const client = new Client({ connectionString: url, connectionTimeoutMillis: 5000 });
      await client.connect();
      await client.end();
      return;
    }
    if (outcome === 'exited') {
      const { code, signal } = await running.exited;
      throw new PostgresExitedError(
        `postgres exited before it was ready (code ${code}, signal ${signal}); stderr:\n${running.stderr()}`,
      );
    }
    running.child.kill('SIGKILL');
    await running.exited;
    throw new Error(
      `postgres not ready within ${READY_TIMEOUT_MS} ms at ${url}; stderr:\n${running.stderr()}`,
    );
  } finally {
    clearTimeout(timer);
  }
}

async function terminate(running: Running | undefined, signal: NodeJS.Signals): Promise<void> {
  if (running === undefined || !running.alive()) return;
  running.child.kill(signal);
  if (signal === 'SIGKILL') {
    await running.exited;
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS);
  });
  const outcome = await Promise.race([running.exited.then(() => 'exited' as const), timedOut]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    running.child.kill('SIGKILL');
    await running.exited;
  }
}

const DATABASE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export async function startPostgres(): Promise<Postgres> {
  const reason = postgresAvailable();
  if (reason !== undefined) throw new Error(reason);
  const bin = postgresBinDir()!;
  const user = await postgresUser();
  installExitHook();
  const dir = await mkdtemp(join(tmpdir(), 'campuswatch-postgres-'));
  dirs.add(dir);
  try {
    if (user !== undefined) await chown(dir, user.uid, user.gid);
    const data = join(dir, 'data');
    const [initdb, initdbArgs] = command(
      join(bin, 'initdb'),
      [
        '-D',
        data,
        '-U',
        PG_SUPERUSER,
        '--auth=trust',
        '--encoding=UTF8',
        '--locale=C',
        '--no-sync',
        '--no-instructions',
      ],
      user,
    );
    try {
      await execFileAsync(initdb, initdbArgs, { env: childEnv(), cwd: dir });
    } catch (err) {
      const e = err as Error & { stderr?: string };
      throw new Error(`initdb failed: ${e.message}\n${e.stderr ?? ''}`);
    }
    // trust, but only over the socket in our directory and from 127.0.0.1
    await writeFile(join(data, 'pg_hba.conf'), 'local all all trust\nhost all all 127.0.0.1/32 trust\n');
    if (user !== undefined) await chown(join(data, 'pg_hba.conf'), user.uid, user.gid);

    let port = 0;
    let running: Running | undefined;
    const urlOf = (database: string) => `postgres://${PG_SUPERUSER}@127.0.0.1:${port}/${database}`;
    // A port found free can be taken by someone else before the server binds it: choose again (3 tries).
    for (let attempt = 1; ; attempt += 1) {
      port = (await freePorts(1))[0] ?? 0;
      running = spawnPostgres(
        bin,
        [
          '-D',
          data,
          '-p',
          String(port),
          '-c',
          'listen_addresses=127.0.0.1',
          '-c',
          `unix_socket_directories=${dir}`,
          '-c',
          'fsync=off',
          '-c',
          'synchronous_commit=off',
          '-c',
          'full_page_writes=off',
          '-c',
          'max_connections=200',
          '-c',
          'lc_messages=C',
          '-c',
          'log_min_messages=warning',
          '-c',
          'logging_collector=off',
        ],
        user,
      );
      try {
        await awaitReady(urlOf('postgres'), running);
        break;
      } catch (err) {
        await terminate(running, 'SIGKILL');
        if (!(err instanceof PostgresExitedError) || attempt >= 3) throw err;
      }
    }
    const server = running;

    return {
      url: urlOf('postgres'),
      port,
      dir,
      urlOf,
      async createDatabase(name: string, options: { icuLocale?: string } = {}): Promise<string> {
        if (!DATABASE_NAME.test(name))
          throw new Error(`createDatabase: invalid name ${JSON.stringify(name)}`);
        const client = new Client({ connectionString: urlOf('postgres') });
        await client.connect();
        try {
          // identifiers cannot be parameters; the name is checked above and quoted
          let sql = `CREATE DATABASE ${escapeIdentifier(name)}`;
          if (options.icuLocale !== undefined) {
            if (!/^[A-Za-z0-9_-]+$/.test(options.icuLocale))
              throw new Error('createDatabase: invalid ICU locale');
            sql += ` TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '${options.icuLocale}'`;
          }
          await client.query(sql);
        } finally {
          await client.end();
        }
        return urlOf(name);
      },
      kill: () => terminate(server, 'SIGKILL'),
      async cleanup(): Promise<void> {
        // SIGINT: fast shutdown (sessions ended, no checkpoint wait worth speaking of with fsync off)
        await terminate(server, 'SIGINT');
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
