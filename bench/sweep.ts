// bench/sweep: the agent's device sweep over 1000 endpoints (ICMP + one TCP port each) against fping over
// the same addresses and a plain concurrent TCP connect loop, same run, same lab.
// Needs root and iproute2 (+ fping for the reference); run with: npx tsx bench/sweep.ts [devices | --smoke]
// The endpoints are addresses of 10.203.252.0/22 held by the lab's `centre` namespace (one TCP
// listener on 0.0.0.0:80 serves them all); everything runs from the `school` namespace via the router.
// Prints wall times and the ratios; goal: whole sweep ≤ 10 s on 2 cores, ICMP part ≤ 1.5 × fping.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAgentConfig } from '../agent/src/config.js';
import { silentLogger } from '../agent/src/log.js';
import { mapLimit } from '../agent/src/probes/lib/net-util.js';
import { reachabilityKind } from '../agent/src/probes/reachability/index.js';
import { reachabilityProbe } from '../agent/src/probes/reachability/probe.js';
import { addDeviceNet, liveAddress, startPeerIn } from '../tests/lab/device-net.js';
import { createLab, labAvailable } from '../tests/lab/lab.js';

const PING_COUNT = 3;
const TCP_TIMEOUT_MS = 1000;
const CONCURRENCY = 256;
const PORT = 80;

interface Timings {
  pingPackageMs: number;
  sweepMs: number;
  icmpOnlyMs: number;
  tcpOnlyMs: number;
  loopMs: number;
  up: number;
  checks: number;
}

/** Inside the school namespace: the agent's sweeps and the plain connect loop, timed in-process. */
async function driver(addresses: string[]): Promise<Timings> {
  const config = (checks: unknown[], icmpMethod = 'auto') =>
    parseAgentConfig(
      JSON.stringify({
        school: { id: 'bench', name: 'bench' },
        collector: { url: 'http://127.0.0.1:9' },
        probes: {
          reachability: {
            pingCount: PING_COUNT,
            tcpTimeoutMs: TCP_TIMEOUT_MS,
            concurrency: CONCURRENCY,
            timeoutS: 59,
            icmpMethod,
          },
        },
        rooms: [
          {
            name: 'bench',
            type: 'lab',
            devices: addresses.map((address, i) => ({ name: `d${i}`, type: 'pc', address, checks })),
          },
        ],
      }),
    );
  const ctx = () => ({ signal: AbortSignal.timeout(60_000), log: silentLogger(), now: () => new Date() });
  const time = async (checks: unknown[], icmpMethod = 'auto') => {
    const c = config(checks, icmpMethod);
    const t0 = performance.now();
    const r = await reachabilityProbe.run(reachabilityKind.slice(c), ctx());
    return {
      ms: performance.now() - t0,
      up: r.filter((x) => x.probe === 'reachability' && x.up).length,
      n: r.length,
    };
  };
  const sweep = await time(['icmp', { tcp: PORT }]);
  const icmp = await time(['icmp']);
  const tcp = await time([{ tcp: PORT }]);
  const pingPkg = await time(['icmp'], 'ping');
  const t0 = performance.now();
  await mapLimit(
    addresses,
    CONCURRENCY,
    (host) =>
      new Promise<void>((resolve) => {
        const s = connect({ host, port: PORT });
        const done = () => {
          s.destroy();
          resolve();
        };
        s.setTimeout(TCP_TIMEOUT_MS, done);
        s.once('connect', done);
        s.once('error', done);
      }),
  );
  const loopMs = performance.now() - t0;
  return {
    pingPackageMs: pingPkg.ms,
    sweepMs: sweep.ms,
    icmpOnlyMs: icmp.ms,
    tcpOnlyMs: tcp.ms,
    loopMs,
    up: sweep.up,
    checks: sweep.n,
  };
}

async function main(): Promise<void> {
  // --smoke (scripts/bench-smoke.sh): 20 devices through the same lab, agent sweep and references; all must be up
  const smoke = process.argv[2] === '--smoke';
  const n = smoke ? 20 : Number(process.argv[2] ?? 1000);
  const skip = labAvailable();
  if (skip) {
    console.error(`bench/sweep: cannot run here: ${skip}`);
    process.exit(2);
  }
  const addresses = Array.from({ length: n }, (_, k) => liveAddress(k));
  const lab = await createLab({ name: 'sweep' });
  const dir = mkdtempSync(join(tmpdir(), 'cw-sweep-'));
  try {
    await addDeviceNet(lab);
    await startPeerIn(lab, 'tcp', '0.0.0.0', PORT);
    const list = join(dir, 'addresses.json');
    writeFileSync(list, JSON.stringify(addresses));
    // fping over the same addresses, same count, per-target period and wait as the agent uses.
    const fpingArgs = [
      '-C',
      String(PING_COUNT),
      '-q',
      '-t',
      String(TCP_TIMEOUT_MS),
      '-p',
      '200',
      '-i',
      '1',
      '-r',
      '0',
    ];
    const fpingRuns: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      const r = await lab.exec('school', ['fping', ...fpingArgs, ...addresses], { timeoutMs: 60_000 });
      fpingRuns.push(performance.now() - t0);
      if (r.code !== 0) console.warn(`fping exit ${r.code}: ${r.stderr.split('\n').slice(-3).join(' ')}`);
    }
    const fpingMs = Math.min(...fpingRuns);
    const child = await lab.exec(
      'school',
      [process.execPath, '--import', 'tsx', fileURLToPath(import.meta.url), '--driver', list],
      {
        timeoutMs: 180_000,
        cwd: join(fileURLToPath(import.meta.url), '..', '..'),
      },
    );
    if (child.code !== 0) throw new Error(`driver failed: ${child.stderr}`);
    const t = JSON.parse(child.stdout.trim().split('\n').at(-1) ?? '{}') as Timings;
    const f = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
    console.log(
      `bench/sweep: ${n} devices (icmp ×${PING_COUNT} + tcp/${PORT}), concurrency ${CONCURRENCY}, ${cpus().length} cores`,
    );
    console.log(`  agent sweep (icmp + tcp)   ${f(t.sweepMs)}   ${t.up}/${t.checks} checks up   goal ≤ 10 s`);
    console.log(`  agent icmp part            ${f(t.icmpOnlyMs)}`);
    console.log(
      `  fping -C ${PING_COUNT} (best of 3)     ${f(fpingMs)}   runs ${fpingRuns.map(f).join(', ')}`,
    );
    console.log(`  ratio agent icmp / fping   ${(t.icmpOnlyMs / fpingMs).toFixed(2)}   goal ≤ 1.5`);
    console.log(
      `  icmp via ping package      ${f(t.pingPackageMs)}   (one ping per device, concurrency ${CONCURRENCY})`,
    );
    console.log(`  agent tcp part             ${f(t.tcpOnlyMs)}`);
    console.log(`  plain connect loop         ${f(t.loopMs)}`);
    console.log(`  ratio agent tcp / loop     ${(t.tcpOnlyMs / t.loopMs).toFixed(2)}`);
    if (smoke && (t.checks === 0 || t.up !== t.checks)) {
      console.error(`bench/sweep --smoke: ${t.up}/${t.checks} checks up (every device of the lab answers)`);
      process.exitCode = 1;
    }
  } finally {
    await lab.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--driver') {
  const addresses = JSON.parse(readFileSync(process.argv[3] ?? '', 'utf8')) as string[];
  process.stdout.write(`${JSON.stringify(await driver(addresses))}\n`);
} else {
  await main();
}
