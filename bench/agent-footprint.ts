// bench/agent-footprint: the built agent running as users run it (`node dist/agent-bundle/cli.js run`) with 100
// devices (ICMP + one TCP port each) at a 60 s cycle, next to a bare `node -e "setInterval(()=>{},1e3)"`
// started in the same run. Samples both processes' RSS (VmRSS) every 5 s and their CPU (utime + stime)
// over the run. Goal: agent RSS ≤ 1.6 × bare node, agent CPU ≤ 0.5% of one core on average.
// Everything stays on loopback: the devices are 127.0.1.1-127.0.1.100 (Linux answers all of 127/8 on lo),
// each with its own TCP listener in this process; the collector (embedded store, no InfluxDB) runs as its
// own process. Needs `npm run build` first and ICMP (root or ping_group_range; fping if present).
// The agent gets the node flags of deploy/systemd/campuswatch-agent.service's ExecStart (--no-unit-flags: none).
// Run with: npx tsx bench/agent-footprint.ts [--smoke] [--seconds 600] [--cpu-prof DIR] [--node-arg=FLAG …] [--no-unit-flags]
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { firstJsonLine } from '../tests/lab/lab.js';

/** `--smoke` (scripts/bench-smoke.sh): 10 devices for 15 s; fails unless the agent ran a cycle and delivered it. */
const smoke = process.argv.includes('--smoke');
const DEVICES = smoke ? 10 : 100;
const CYCLE_S = 60;
const SAMPLE_MS = 5000;
const RSS_GOAL = 1.6;
const CPU_GOAL_PCT = 0.5;
const SCHOOL = { id: 'bench-footprint', name: '基准测试学校' };
const ROOT = join(fileURLToPath(import.meta.url), '..', '..');
const AGENT_CLI = process.env.AGENT_CLI ?? join(ROOT, 'dist', 'agent-bundle', 'cli.js');

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const seconds = Number(argValue('--seconds') ?? (smoke ? 15 : 600));
if (!Number.isFinite(seconds) || seconds < 10) {
  console.error('bench/agent-footprint: --seconds must be a number ≥ 10');
  process.exit(2);
}
const cpuProfDir = argValue('--cpu-prof');

/**
 * The node flags the systemd unit starts the agent with (ExecStart between the node binary and cli.js):
 * the agent is measured as schools run it. `--no-unit-flags` leaves them out.
 */
function unitNodeFlags(): string[] {
  const unit = readFileSync(join(ROOT, 'deploy', 'systemd', 'campuswatch-agent.service'), 'utf8');
  const exec = /^ExecStart=(.*)$/m.exec(unit)?.[1]?.trim().split(/\s+/) ?? [];
  const cli = exec.findIndex((w) => w.endsWith('/cli.js'));
  if (cli < 1) throw new Error('deploy/systemd/campuswatch-agent.service: no ExecStart=… node … cli.js');
  return exec.slice(1, cli);
}
/** Node flags for the agent only: the unit's, then extra ones (repeatable), e.g. `--node-arg=--max-semi-space-size=1`. */
const agentNodeArgs = [
  ...(process.argv.includes('--no-unit-flags') ? [] : unitNodeFlags()),
  ...process.argv.filter((a) => a.startsWith('--node-arg=')).map((a) => a.slice(11)),
];
if (!existsSync(AGENT_CLI)) {
  console.error(
    'bench/agent-footprint: run `npm run build` first (the agent is measured as users run it, from dist/)',
  );
  process.exit(2);
}

const TICK = 100; // USER_HZ

interface Cpu {
  /** utime + stime of the process itself, seconds. */
  self: number;
  /** cutime + cstime: its children that it has waited for (ping/fping, systeminformation's commands). */
  children: number;
}

function cpuOf(pid: number): Cpu {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const n = (i: number) => Number(f[i]) / TICK;
  return { self: n(11) + n(12), children: n(13) + n(14) };
}

/** VmRSS in MiB, or undefined when the process is gone. */
function rssMb(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

const children: ChildProcess[] = [];
const servers: Server[] = [];
const dir = mkdtempSync(join(tmpdir(), 'cw-bench-footprint-'));
let cleaning: Promise<void> | undefined;
let interrupted = false;

/** Stops every child, closes the listeners and removes the temp dir; every caller gets the same promise. */
function cleanup(): Promise<void> {
  cleaning ??= stopAll();
  return cleaning;
}

async function stopAll(): Promise<void> {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          const hard = setTimeout(() => c.kill('SIGKILL'), 5000);
          c.once('exit', () => {
            clearTimeout(hard);
            resolve();
          });
          c.kill('SIGTERM');
        }),
    ),
  );
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  rmSync(dir, { recursive: true, force: true });
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    interrupted = true;
    console.error(`bench/agent-footprint: ${sig}, cleaning up`);
    void cleanup().then(() => process.exit(130));
  });
}

function start(args: string[], opts: { stdio?: 'pipe' | 'ignore' } = {}): ChildProcess {
  const c = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', opts.stdio ?? 'pipe', 'pipe'] });
  children.push(c);
  return c;
}

/** Stops one child with SIGTERM (SIGKILL after 10 s) and waits for it. */
function stop(c: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    const hard = setTimeout(() => c.kill('SIGKILL'), 10_000);
    c.once('exit', () => {
      clearTimeout(hard);
      resolve();
    });
    c.kill('SIGTERM');
  });
}

/** One TCP listener per device address on an ephemeral port; connections are closed at once. */
async function listen(address: string): Promise<number> {
  const server = createServer((s) => s.destroy());
  servers.push(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: address, port: 0 }, () => resolve());
  });
  const addr = server.address();
  return typeof addr === 'object' && addr ? addr.port : 0;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

async function main(): Promise<void> {
  const addresses = Array.from({ length: DEVICES }, (_, k) => `127.0.1.${k + 1}`);
  const ports = await Promise.all(addresses.map(listen));

  const stateDir = join(dir, 'agent');
  const collector = start([
    '--import',
    'tsx',
    'tests/lab/collector-main.ts',
    join(dir, 'collector'),
    '127.0.0.1',
    stateDir,
    JSON.stringify(SCHOOL),
  ]);
  const { url } = await firstJsonLine<{ url: string }>(collector);
  collector.stderr?.resume();

  const configFile = join(dir, 'agent.yaml');
  writeFileSync(
    configFile,
    JSON.stringify({
      school: SCHOOL,
      collector: { url },
      state: stateDir,
      cycle: { intervalS: CYCLE_S },
      probes: {
        host: { enabled: true, intervalS: 300 },
        reachability: { enabled: true, intervalS: CYCLE_S },
        ipv6: { enabled: false },
      },
      rooms: Array.from({ length: DEVICES / 10 }, (_, r) => ({
        name: `教室 ${r + 1}`,
        type: 'classroom',
        devices: addresses.slice(r * 10, r * 10 + 10).map((address, i) => ({
          name: `设备 ${r * 10 + i + 1}`,
          type: 'pc',
          address,
          checks: ['icmp', { tcp: ports[r * 10 + i]! }],
        })),
      })),
    }),
  );

  // Both measured processes start together; each CPU baseline is taken once it is up (the agent: once it
  // logs 'agent started', i.e. after module loading), so start-up cost is reported apart from the run.
  const bare = start(['-e', 'setInterval(()=>{},1e3)'], { stdio: 'ignore' });
  const agentArgs = [
    ...agentNodeArgs,
    ...(cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : []),
    AGENT_CLI,
    'run',
    '--config',
    configFile,
  ];
  const agent = start(agentArgs);
  agent.stdout?.resume();
  const agentPid = agent.pid!;
  const barePid = bare.pid!;
  let cycles = 0;
  let results = 0;
  const cycleMs: number[] = [];
  const errors: string[] = [];
  let resolveStarted: () => void = () => {};
  const started = new Promise<void>((resolve) => {
    resolveStarted = resolve;
  });
  createInterface({ input: agent.stderr! }).on('line', (line) => {
    let rec: { msg?: string; level?: number; results?: number; cycleMs?: number; err?: string };
    try {
      rec = JSON.parse(line) as typeof rec;
    } catch {
      errors.push(line);
      return;
    }
    if (rec.msg === 'agent started') resolveStarted();
    if (rec.msg === 'cycle spooled') {
      cycles++;
      results = rec.results ?? results;
      if (rec.cycleMs !== undefined) cycleMs.push(rec.cycleMs);
    } else if ((rec.level ?? 0) >= 40) errors.push(`${rec.msg ?? ''}${rec.err ? `: ${rec.err}` : ''}`);
  });
  const exited = new Promise<never>((_, reject) =>
    agent.once('exit', (code) => reject(new Error(`the agent exited (${code}): ${errors.join('; ')}`))),
  );
  await Promise.race([started, exited]);
  const agentCpu0 = cpuOf(agentPid);
  const bareCpu0 = cpuOf(barePid);
  const t0 = performance.now();

  const agentRss = { samples: [] as number[] };
  const bareRss = { samples: [] as number[] };
  const sample = () => {
    const a = rssMb(agentPid);
    const b = rssMb(barePid);
    if (a !== undefined) agentRss.samples.push(a);
    if (b !== undefined) bareRss.samples.push(b);
  };
  sample();
  console.error(
    `bench/agent-footprint: ${DEVICES} devices, ${CYCLE_S} s cycle, ${seconds} s; agent pid ${agentPid}, bare pid ${barePid}, collector ${url}`,
  );
  await Promise.race([
    exited,
    new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        sample();
        const elapsed = (performance.now() - t0) / 1000;
        if (elapsed >= seconds - 0.5) {
          clearInterval(timer);
          resolve();
        } else if (Math.round(elapsed) % 60 === 0) {
          const last = agentRss.samples.at(-1) ?? 0;
          console.error(`  ${Math.round(elapsed)} s: ${cycles} cycles, agent RSS ${last.toFixed(1)} MiB`);
        }
      }, SAMPLE_MS);
    }),
  ]);
  const wallS = (performance.now() - t0) / 1000;
  const agentCpu1 = cpuOf(agentPid);
  const bareCpu1 = cpuOf(barePid);
  exited.catch(() => {});
  await stop(agent);
  await stop(bare);

  let latestUp = 0;
  let latestReach = 0;
  try {
    const school = (await (await fetch(`${url}/api/v1/schools/${SCHOOL.id}`)).json()) as {
      latest?: { probe: string; up?: boolean }[];
    };
    const reach = (school.latest ?? []).filter((r) => r.probe === 'reachability');
    latestReach = reach.length;
    latestUp = reach.filter((r) => r.up).length;
  } catch {
    // reported as 0/0
  }
  await stop(collector);
  const db = new Database(join(dir, 'collector', 'state.sqlite'), { readonly: true });
  const delivered = (
    db.prepare("SELECT count(*) AS n FROM ingests WHERE state = 'done'").get() as { n: number }
  ).n;
  db.close();

  const pct = (s: number) => (s / wallS) * 100;
  const agentCpuS = agentCpu1.self - agentCpu0.self;
  const bareCpuS = bareCpu1.self - bareCpu0.self;
  const agentChildS = agentCpu1.children - agentCpu0.children;
  const mb = (x: number) => `${x.toFixed(1)} MiB`;
  const aMean = mean(agentRss.samples);
  const bMean = mean(bareRss.samples);
  const aMax = Math.max(...agentRss.samples);
  const bMax = Math.max(...bareRss.samples);
  const ratio = aMean / bMean;
  const cpuPct = pct(agentCpuS);
  console.log(
    `bench/agent-footprint: ${DEVICES} devices (icmp + tcp each, loopback), cycle ${CYCLE_S} s, host probe 300 s, ` +
      `${wallS.toFixed(0)} s, ${cpus().length} cores, node ${process.version}` +
      (agentNodeArgs.length > 0 ? `, agent node flags ${agentNodeArgs.join(' ')}` : ''),
  );
  console.log(
    `  agent RSS  mean ${mb(aMean)}  max ${mb(aMax)}  (${agentRss.samples.length} samples every ${SAMPLE_MS / 1000} s)`,
  );
  const perMin = 60_000 / SAMPLE_MS;
  console.log(
    `             first minute mean ${mb(mean(agentRss.samples.slice(0, perMin)))}, last minute mean ${mb(mean(agentRss.samples.slice(-perMin)))}`,
  );
  console.log(`  bare  RSS  mean ${mb(bMean)}  max ${mb(bMax)}`);
  console.log(
    `  ratio agent / bare RSS   mean ${ratio.toFixed(2)}  max ${(aMax / bMax).toFixed(2)}   goal ≤ ${RSS_GOAL}  ${ratio <= RSS_GOAL ? 'ok' : 'MISSED'}`,
  );
  console.log(
    `  agent CPU  ${agentCpuS.toFixed(2)} s = ${cpuPct.toFixed(3)}% of one core   goal ≤ ${CPU_GOAL_PCT}%  ${cpuPct <= CPU_GOAL_PCT ? 'ok' : 'MISSED'}`,
  );
  console.log(
    `             + reaped children (fping/ping, host commands) ${agentChildS.toFixed(2)} s = ${pct(agentChildS).toFixed(3)}%; ` +
      `start-up before 'agent started' ${agentCpu0.self.toFixed(2)} s (not counted)`,
  );
  console.log(
    `  bare CPU   ${bareCpuS.toFixed(2)} s = ${pct(bareCpuS).toFixed(3)}% of one core; start-up ${bareCpu0.self.toFixed(2)} s`,
  );
  console.log(
    `  cycles ${cycles} (${results} results in the last; cycle ms mean ${mean(cycleMs).toFixed(0)}, max ${Math.max(0, ...cycleMs).toFixed(0)}), ` +
      `delivered reports ${delivered}, devices checks up at the collector ${latestUp}/${latestReach}`,
  );
  if (errors.length > 0)
    console.log(`  agent warnings/errors: ${[...new Set(errors)].slice(0, 5).join(' | ')}`);
  if (smoke && (cycles === 0 || delivered === 0)) {
    console.error(
      `bench/agent-footprint --smoke: ${cycles} cycles, ${delivered} reports delivered (expected ≥ 1 each)`,
    );
    process.exitCode = 1;
  }
}

try {
  await main();
} catch (err) {
  if (!interrupted) throw err; // after SIGINT the children exiting is expected
} finally {
  await cleanup();
}
