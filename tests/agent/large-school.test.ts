import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { saveIdentity } from '../../agent/src/identity.js';
import { type Influxd, influxdAvailable, startInfluxd } from '../helpers/influxd.js';
import { World, XINGHAI } from '../helpers/world.js';

// A school of 20,000 devices (acceptance 2 of issue 27): the agent as the systemd unit runs it (the bundle,
// `node --lite-mode --no-expose-wasm … run`), a real collector writing to a real InfluxDB. Each cycle's
// results go as several gzip-compressed reports under the body limit; every result lands exactly once; the
// agent's peak RSS stays under the unit's MemoryHigh (256M). Where it goes (lite mode, 2 CPUs): parsing the
// 2.4 MB YAML inventory at start is the peak (~234 MiB VmHWM: the yaml package's syntax tree and document,
// freed once parsed); the cycles run at 80-105 MiB (20,000 results, one part's body at a time).

const skip = influxdAvailable();
if (skip) console.warn(`[large-school.test] SKIPPED: ${skip}`);

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');
const DEVICES = 20_000;
const ROOMS = 200;
/** Listening ports the devices' TCP checks go to: spread so that no one destination runs out of source ports. */
const UP_PORTS = 8;
/** Every tenth device points at a closed port: refused, down. */
const DOWN_EVERY = 10;
const MEMORY_HIGH_MIB = 256;
const CYCLES = 2;

/** MemoryHigh of deploy/systemd/campuswatch-agent.service, in MiB. */
function unitMemoryHighMib(): number {
  const unit = readFileSync(join(ROOT, 'deploy', 'systemd', 'campuswatch-agent.service'), 'utf8');
  const m = /^MemoryHigh=(\d+)M$/m.exec(unit);
  if (!m) throw new Error('deploy/systemd/campuswatch-agent.service: no MemoryHigh=…M');
  return Number(m[1]);
}

/** The node flags between the node binary and cli.js in the unit's ExecStart. */
function unitNodeFlags(): string[] {
  const unit = readFileSync(join(ROOT, 'deploy', 'systemd', 'campuswatch-agent.service'), 'utf8');
  const exec = /^ExecStart=(.*)$/m.exec(unit)?.[1]?.trim().split(/\s+/) ?? [];
  return exec.slice(
    1,
    exec.findIndex((w) => w.endsWith('/cli.js')),
  );
}

/** VmHWM (peak RSS) and VmRSS of a process, in MiB. */
function memoryOf(pid: number): { peak: number; rss: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { peak: kb('VmHWM') / 1024, rss: kb('VmRSS') / 1024 };
  } catch {
    return undefined;
  }
}

function sample(metrics: string, name: string, labels = ''): number {
  const line = metrics.split('\n').find((l) => l.startsWith(labels ? `${name}{${labels}} ` : `${name} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

describe.skipIf(skip !== undefined)(
  `a school of ${DEVICES} devices${skip ? ` (SKIPPED: ${skip})` : ''}`,
  () => {
    let influx: Influxd;
    let w: World;
    const servers: Server[] = [];
    let agent: ChildProcess | undefined;
    const bundleDir = join(ROOT, 'dist', 'test-artifacts', `large-school-agent-${process.pid}`);

    beforeAll(async () => {
      expect(unitMemoryHighMib()).toBe(MEMORY_HIGH_MIB);
      // the agent from this source, bundled as `npm run build` bundles it (scripts/bundle-agent.mjs) but in one
      // file: every probe loaded at start, a little more memory than the deployed bundle (the measure errs on
      // the safe side). Inside the repository so that better-sqlite3 resolves from node_modules.
      await build({
        entryPoints: { cli: join(ROOT, 'agent', 'src', 'cli.ts') },
        bundle: true,
        format: 'esm',
        platform: 'node',
        target: 'node20',
        outdir: bundleDir,
        external: ['better-sqlite3'],
        banner: {
          js: "import { createRequire as __cwCreateRequire } from 'node:module'; const require = __cwCreateRequire(import.meta.url);",
        },
        logLevel: 'warning',
      });
      influx = await startInfluxd();
      w = new World({ influxUrl: influx.url, database: 'cw_large_school' });
      await w.startCollector();
    }, 120_000);

    afterAll(async () => {
      if (agent && agent.exitCode === null && agent.signalCode === null) agent.kill('SIGKILL');
      await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
      await w?.cleanup();
      await influx?.cleanup();
      rmSync(bundleDir, { recursive: true, force: true });
    });

    it(`${CYCLES} cycles: split reports, gzip bodies, every result once in InfluxDB, no 413, agent RSS under MemoryHigh`, async () => {
      const ports: number[] = [];
      for (let i = 0; i < UP_PORTS; i++) {
        const server = createServer((s) => s.destroy());
        servers.push(server);
        await new Promise<void>((r) => server.listen({ host: '127.0.0.1', port: 0 }, () => r()));
        ports.push((server.address() as { port: number }).port);
      }
      // a port that was just free and is closed again: connections are refused
      const closed = createServer();
      await new Promise<void>((r) => closed.listen({ host: '127.0.0.1', port: 0 }, () => r()));
      const closedPort = (closed.address() as { port: number }).port;
      await new Promise<void>((r) => closed.close(() => r()));

      const perRoom = DEVICES / ROOMS;
      const rooms = Array.from({ length: ROOMS }, (_, r) => ({
        name: `教学楼 ${r + 1}`,
        type: r < 10 ? 'recording' : 'classroom',
        devices: Array.from({ length: perRoom }, (_, d) => {
          const n = r * perRoom + d;
          return {
            name: `终端 ${r + 1}-${d + 1}`,
            type: 'pc',
            address: '127.0.0.1',
            icmp: false,
            tcp: [n % DOWN_EVERY === DOWN_EVERY - 1 ? closedPort : ports[n % UP_PORTS]!],
          };
        }),
      }));
      const dir = join(w.dir, 'large-agent');
      const state = join(dir, 'state');
      mkdirSync(dir, { recursive: true });
      const { agentId, token } = w.enrollDirect();
      saveIdentity(
        state,
        { agentId, schoolId: XINGHAI.id, collectorUrl: w.url, enrolledAt: new Date().toISOString() },
        token,
      );
      const configFile = join(dir, 'agent.yaml');
      // block YAML, as a school writes its inventory (~2.4 MB: under the 4 MiB a config file may have)
      writeFileSync(
        configFile,
        stringify({
          school: XINGHAI,
          collector: { url: w.url, requestTimeoutS: 30 },
          state,
          cycle: { intervalS: 20, jitterPct: 0 },
          probes: {
            host: { enabled: false },
            ipv6: { enabled: false },
            bandwidth: { enabled: false },
            'uplink-snmp': { enabled: false },
            reachability: { intervalS: 20, timeoutS: 19, tcpTimeoutMs: 2000, concurrency: 256 },
          },
          rooms,
        }),
      );

      const t0 = performance.now();
      agent = spawn(
        process.execPath,
        [...unitNodeFlags(), join(bundleDir, 'cli.js'), 'run', '--config', configFile],
        {
          cwd: dir,
          env: { ...process.env, CAMPUSWATCH_LOG_LEVEL: 'info', NODE_ENV: 'production' },
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      const child = agent;
      const pid = child.pid!;
      let peak = 0;
      const watch = setInterval(() => {
        peak = Math.max(peak, memoryOf(pid)?.peak ?? 0);
      }, 100);
      const cycles: { reportId: string; results: number; reports: number }[] = [];
      const problems: string[] = [];
      let stderrTail = '';
      const cyclesSpooled = new Promise<void>((resolve, reject) => {
        child.once('exit', (code, signal) =>
          reject(new Error(`the agent exited (${code ?? signal}) before ${CYCLES} cycles: ${stderrTail}`)),
        );
        createInterface({ input: child.stderr! }).on('line', (line) => {
          stderrTail = `${stderrTail}\n${line}`.slice(-4000);
          let entry: { msg?: string; level?: number; reportId?: string; results?: number; reports?: number };
          try {
            entry = JSON.parse(line) as typeof entry;
          } catch {
            problems.push(line);
            return;
          }
          if ((entry.level ?? 0) >= 50) problems.push(line);
          if (entry.msg === 'cycle spooled') {
            cycles.push({ reportId: entry.reportId!, results: entry.results!, reports: entry.reports! });
            if (cycles.length === CYCLES) resolve();
          }
        });
      });
      await cyclesSpooled;
      const parts = cycles.slice(0, CYCLES).reduce((n, c) => n + c.reports, 0);
      // delivered: the collector stored every report of both cycles (its metric counts answers as it gives them)
      const metrics = async () => (await w.app!.inject({ method: 'GET', url: '/metrics' })).body;
      for (
        let m = await metrics();
        sample(m, 'campuswatch_reports_total', 'outcome="stored"') < parts;
        m = await metrics()
      ) {
        if (child.exitCode !== null) throw new Error(`the agent exited: ${stderrTail}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      peak = Math.max(peak, memoryOf(pid)?.peak ?? 0);
      const rssNow = memoryOf(pid)?.rss ?? 0;
      clearInterval(watch);
      const elapsedS = (performance.now() - t0) / 1000;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;

      const m = await metrics();
      const gzipBodies = sample(m, 'campuswatch_ingest_bodies_total', 'encoding="gzip"');
      const wire = sample(m, 'campuswatch_ingest_body_bytes_total', 'encoding="gzip",form="wire"');
      const decoded = sample(m, 'campuswatch_ingest_body_bytes_total', 'encoding="gzip",form="decoded"');
      const ingestMs =
        (sample(m, 'campuswatch_ingest_duration_seconds_sum', 'outcome="stored"') * 1000) /
        Math.max(1, sample(m, 'campuswatch_ingest_duration_seconds_count', 'outcome="stored"'));
      const agentPoints = await influx.query(
        'SELECT "results", "reports", "rss_mb", "cycle_ms" FROM "agent" ORDER BY time',
        'cw_large_school',
      );
      const counts: number[] = [];
      let after = 0;
      for (const p of agentPoints.slice(0, CYCLES)) {
        const t = Number(p.time);
        const rows = await influx.query(
          `SELECT count("up") FROM "device" WHERE time > ${after}ms AND time <= ${t}ms`,
          'cw_large_school',
        );
        counts.push(Number(rows[0]?.count ?? 0));
        after = t;
      }
      const downRows = await influx.query(
        `SELECT count("up") FROM "device" WHERE "up" = 0 AND time <= ${after}ms`,
        'cw_large_school',
      );
      console.log(
        `[large-school] ${DEVICES} devices, ${CYCLES} cycles in ${elapsedS.toFixed(1)} s: reports per cycle ${cycles
          .map((c) => c.reports)
          .join(
            ', ',
          )}; bodies ${gzipBodies} gzip, ${(wire / 1024).toFixed(0)} KiB on the wire for ${(decoded / 1024).toFixed(0)} KiB of JSON (${(decoded / Math.max(1, wire)).toFixed(1)}×, ${(wire / Math.max(1, gzipBodies) / 1024).toFixed(0)} KiB vs ${(decoded / Math.max(1, gzipBodies) / 1024).toFixed(0)} KiB a report); agent peak RSS ${peak.toFixed(1)} MiB (now ${rssNow.toFixed(1)} MiB; MemoryHigh ${MEMORY_HIGH_MIB} MiB); device points per cycle ${counts.join(', ')}; the collector took ${ingestMs.toFixed(0)} ms a report`,
      );

      expect(problems).toEqual([]);
      expect(cycles.slice(0, CYCLES).map((c) => c.results)).toEqual(Array(CYCLES).fill(DEVICES));
      // split: more than one report a cycle, each under the body limit before compression
      for (const c of cycles.slice(0, CYCLES)) expect(c.reports).toBeGreaterThan(1);
      expect(decoded / gzipBodies).toBeLessThanOrEqual(1_048_576);
      // exactly once: every report stored once, none refused (no 413), none answered as a duplicate
      expect(sample(m, 'campuswatch_reports_total', 'outcome="stored"')).toBe(gzipBodies);
      expect(sample(m, 'campuswatch_reports_total', 'outcome="duplicate"')).toBe(0);
      expect(sample(m, 'campuswatch_reports_rejected_total', 'reason="too_large"')).toBe(0);
      expect(sample(m, 'campuswatch_ingest_bodies_total', 'encoding="identity"')).toBe(0);
      expect(gzipBodies).toBeGreaterThanOrEqual(parts);
      // every device's result of each cycle is in InfluxDB once; the agent point says the cycle's size
      expect(counts).toEqual(Array(CYCLES).fill(DEVICES));
      // the closed port's devices are down (on a busy machine a few others may time out too)
      expect(Number(downRows[0]?.count ?? 0)).toBeGreaterThanOrEqual((CYCLES * DEVICES) / DOWN_EVERY);
      for (const p of agentPoints.slice(0, CYCLES)) expect(p).toMatchObject({ results: DEVICES });
      expect(peak).toBeGreaterThan(0);
      expect(peak).toBeLessThan(MEMORY_HIGH_MIB);
    }, 300_000);
  },
);
