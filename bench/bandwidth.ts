import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadSockopt, receiveLowWater } from '../collector/src/speedtest/sockopt.js';
import { createLab, firstJsonLine, iperf3, iperf3Available, labAvailable } from '../tests/lab/lab.js';
import { median } from './proc.js';

// Run with: npm run build && npx tsx bench/bandwidth.ts [300 500 1000] (root; see bench/README.md)
//   --smoke (scripts/bench-smoke.sh): one 50 Mbit/s run, 2 s per direction; the same lab, iperf3 and agent path.
const smoke = process.argv.includes('--smoke');
const rates = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0);
const RATES = rates.length > 0 ? rates : smoke ? [50] : [300, 500, 1000];
const SECONDS = smoke ? 2 : 10;
const OMIT = smoke ? 1 : 2;
const STREAMS = 4;
const MAX_STREAMS = Number(process.env.MAX_STREAMS ?? 16);
/** Runs per rate (iperf3 then the agent, alternating); the verdict is on the median run. */
const RUNS = Math.max(1, Number(process.env.RUNS ?? (smoke ? 1 : 3)));
const IDLE_S = smoke ? 2 : 10;
/** Node flags for the agent process, e.g. the daemon's `--lite-mode --no-expose-wasm` (systemd unit). */
const AGENT_NODE_FLAGS = process.env.AGENT_NODE_FLAGS ?? '';

const skip = labAvailable() ?? iperf3Available();
if (skip) {
  console.error(`bench/bandwidth: cannot run here: ${skip}`);
  process.exit(2);
}
if (!existsSync('dist/agent-bundle/cli.js')) {
  console.error(
    'bench/bandwidth: run `npm run build` first (the agent is measured as users run it, from dist/)',
  );
  process.exit(2);
}

const TICK = 100; // USER_HZ
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICK; // utime + stime
}

function iperfCpu(json: unknown): number {
  const end = (json as { end?: { cpu_utilization_percent?: { host_total?: number; remote_total?: number } } })
    .end;
  const cpu = end?.cpu_utilization_percent;
  return (((cpu?.host_total ?? 0) + (cpu?.remote_total ?? 0)) / 100) * (SECONDS + OMIT);
}

const dir = mkdtempSync(join(tmpdir(), 'cw-bench-bw-'));
const lab = await createLab({ uplinkMbit: RATES[0]!, name: 'bench' });
try {
  const collector = lab.nodeIn('centre', 'tests/lab/collector-main.ts', [
    join(dir, 'collector'),
    lab.centreV4,
    join(dir, 'agent'),
    JSON.stringify({ id: 'bench-school', name: '基准测试学校' }),
  ]);
  const { url, pid } = await firstJsonLine<{ url: string; pid: number }>(collector);
  // the collector's own CPU while nothing is tested (timers, housekeeping), measured in this run
  await sleep(2000);
  const idleBefore = cpuSeconds(pid);
  await sleep(IDLE_S * 1000);
  const idlePerS = (cpuSeconds(pid) - idleBefore) / IDLE_S;

  interface Run {
    rate: number;
    run: number;
    iperfDown: number;
    iperfUp: number;
    agentDown: number;
    agentUp: number;
    streams: number;
    agentCpuS: number;
    collectorCpuS: number;
    collectorNetS: number;
    iperfCpuS: number;
  }
  const runs: Run[] = [];
  for (const rate of RATES) {
    await lab.shape(rate);
    for (let run = 1; run <= RUNS; run++) {
      const down = await iperf3(lab, { direction: 'down', seconds: SECONDS, streams: STREAMS, omit: OMIT });
      const up = await iperf3(lab, { direction: 'up', seconds: SECONDS, streams: STREAMS, omit: OMIT });
      const iperfCpuS = iperfCpu(down.json) + iperfCpu(up.json);
      const collectorBefore = cpuSeconds(pid);
      const cmd = [
        `${process.execPath} ${AGENT_NODE_FLAGS} dist/agent-bundle/cli.js probe bandwidth --server ${url} --token-file ${join(dir, 'agent', 'token')}`,
        `--streams ${STREAMS} --max-streams ${MAX_STREAMS} --duration ${SECONDS} --json; times`,
      ].join(' ');
      const t0 = performance.now();
      const r = await lab.exec('school', ['bash', '-c', cmd], { timeoutMs: 180_000, check: true });
      const wallS = (performance.now() - t0) / 1000;
      const collectorCpuS = cpuSeconds(pid) - collectorBefore;
      const [json, , children] = r.stdout.trim().split('\n');
      const agent = JSON.parse(json!) as { download_mbps: number; upload_mbps: number; streams: number };
      const m = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s/.exec(children ?? '');
      const agentCpuS = m ? Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]) : Number.NaN;
      runs.push({
        rate,
        run,
        iperfDown: down.mbps,
        iperfUp: up.mbps,
        agentDown: agent.download_mbps,
        agentUp: agent.upload_mbps,
        streams: agent.streams,
        agentCpuS,
        collectorCpuS,
        collectorNetS: collectorCpuS - idlePerS * wallS,
        iperfCpuS,
      });
    }
  }
  collector.kill('SIGTERM');

  const ratioDown = (r: Run) => r.agentDown / r.iperfDown;
  const ratioUp = (r: Run) => r.agentUp / r.iperfUp;
  const cpuRaw = (r: Run) => (r.agentCpuS + r.collectorCpuS) / r.iperfCpuS;
  const cpuNet = (r: Run) => (r.agentCpuS + r.collectorNetS) / r.iperfCpuS;
  const head = [
    'Mbit',
    'run',
    'iperf3 down/up',
    'agent down/up',
    'ratio down/up',
    'streams',
    'CPU s agent',
    'collector',
    '(net of idle)',
    'iperf3',
    'CPU ratio',
    '(net of idle)',
  ];
  const rows: string[][] = [];
  const verdict: { rate: number; down: number; up: number; raw: number; net: number }[] = [];
  for (const rate of RATES) {
    const mine = runs.filter((r) => r.rate === rate);
    for (const r of mine)
      rows.push([
        `${rate}`,
        `${r.run}`,
        `${r.iperfDown.toFixed(1)} / ${r.iperfUp.toFixed(1)}`,
        `${r.agentDown.toFixed(1)} / ${r.agentUp.toFixed(1)}`,
        `${ratioDown(r).toFixed(3)} / ${ratioUp(r).toFixed(3)}`,
        `${r.streams}`,
        r.agentCpuS.toFixed(2),
        r.collectorCpuS.toFixed(2),
        r.collectorNetS.toFixed(2),
        r.iperfCpuS.toFixed(2),
        cpuRaw(r).toFixed(2),
        cpuNet(r).toFixed(2),
      ]);
    const v = {
      rate,
      down: median(mine.map(ratioDown)),
      up: median(mine.map(ratioUp)),
      raw: median(mine.map(cpuRaw)),
      net: median(mine.map(cpuNet)),
    };
    verdict.push(v);
    if (mine.length > 1)
      rows.push([
        `${rate}`,
        'median',
        '',
        '',
        `${v.down.toFixed(3)} / ${v.up.toFixed(3)}`,
        '',
        median(mine.map((r) => r.agentCpuS)).toFixed(2),
        median(mine.map((r) => r.collectorCpuS)).toFixed(2),
        median(mine.map((r) => r.collectorNetS)).toFixed(2),
        median(mine.map((r) => r.iperfCpuS)).toFixed(2),
        v.raw.toFixed(2),
        v.net.toFixed(2),
      ]);
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  const sockopt = loadSockopt();
  const lowWater = receiveLowWater();
  const agentAddon = existsSync('dist/agent-bundle/sockopt.node');
  console.log(
    `bench/bandwidth: ${STREAMS} streams, ${SECONDS} s per direction after ${OMIT} s warm-up, tbf-shaped veth in network namespaces; ${RUNS} run(s) per rate (iperf3, then the agent)`,
  );
  console.log(
    `agent: node ${AGENT_NODE_FLAGS || '(no flags)'} dist/agent-bundle/cli.js; SO_RCVLOWAT ${lowWater > 0 ? `${lowWater} B` : 'off (CAMPUSWATCH_RCVLOWAT=0)'}: collector ${sockopt.addon ? 'addon loaded' : `no addon (${sockopt.reason})`}, agent bundle ${agentAddon ? 'has dist/agent-bundle/sockopt.node' : 'has no addon'}`,
  );
  console.log(
    'CPU s per test (download + upload): agent = the whole agent process (`times`, start-up included); collector = its process during the agent run; iperf3 = client + server (-J cpu_utilization × duration)',
  );
  console.log(
    `collector idle: ${idlePerS.toFixed(3)} CPU s/s (measured over ${IDLE_S} s before the tests); "net of idle" subtracts it over each agent run's wall time`,
  );
  console.log(line(head));
  for (const r of rows) console.log(line(r));
  const worst = (f: (v: (typeof verdict)[number]) => number, max: boolean) =>
    verdict.map(f).reduce((a, b) => (max ? Math.max(a, b) : Math.min(a, b)));
  const worstRatio = worst((v) => Math.min(v.down, v.up), false);
  const worstRaw = worst((v) => v.raw, true);
  const worstNet = worst((v) => v.net, true);
  const of = RUNS > 1 ? `median of ${RUNS} runs per rate` : 'one run per rate';
  console.log(
    `throughput ratio (${of}), worst rate: ${worstRatio.toFixed(3)} (goal ≥ 0.98: ${worstRatio >= 0.98 ? 'met' : 'NOT met'})`,
  );
  console.log(
    `CPU ratio (${of}), worst rate: raw ${worstRaw.toFixed(2)} (goal ≤ 1.5: ${worstRaw <= 1.5 ? 'met' : 'NOT met'}); net of the collector's idle ${worstNet.toFixed(2)} (for information; the goal is judged on the raw figure)`,
  );
  if (smoke && !runs.every((r) => r.agentDown > 0 && r.agentUp > 0 && r.iperfDown > 0 && r.iperfUp > 0)) {
    console.error('bench/bandwidth --smoke: a run measured no throughput');
    process.exitCode = 1;
  }
} finally {
  await lab.destroy();
  rmSync(dir, { recursive: true, force: true });
}
