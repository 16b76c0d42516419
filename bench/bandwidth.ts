import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLab, firstJsonLine, iperf3, iperf3Available, labAvailable } from '../tests/lab/lab.js';

const rates = process.argv
  .slice(2)
  .map(Number)
  .filter((n) => n > 0);
const RATES = rates.length > 0 ? rates : [300, 500, 1000];
const SECONDS = 10;
const OMIT = 2;
const STREAMS = 4;
const MAX_STREAMS = Number(process.env.MAX_STREAMS ?? 16);

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
  const rows: string[][] = [];
  let worstRatio = Number.POSITIVE_INFINITY;
  let worstCpu = 0;
  for (const rate of RATES) {
    await lab.shape(rate);
    const down = await iperf3(lab, { direction: 'down', seconds: SECONDS, streams: STREAMS, omit: OMIT });
    const up = await iperf3(lab, { direction: 'up', seconds: SECONDS, streams: STREAMS, omit: OMIT });
    const iperfCpuS = iperfCpu(down.json) + iperfCpu(up.json);
    const collectorBefore = cpuSeconds(pid);
    const cmd = [
      `${process.execPath} dist/agent-bundle/cli.js probe bandwidth --server ${url} --token-file ${join(dir, 'agent', 'token')}`,
      `--streams ${STREAMS} --max-streams ${MAX_STREAMS} --duration ${SECONDS} --json; times`,
    ].join(' ');
    const r = await lab.exec('school', ['bash', '-c', cmd], { timeoutMs: 180_000, check: true });
    const collectorCpuS = cpuSeconds(pid) - collectorBefore;
    const [json, , children] = r.stdout.trim().split('\n');
    const agent = JSON.parse(json!) as { download_mbps: number; upload_mbps: number; streams: number };
    const m = /(\d+)m([\d.]+)s (\d+)m([\d.]+)s/.exec(children ?? '');
    const agentCpuS = m ? Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]) : Number.NaN;
    const rd = agent.download_mbps / down.mbps;
    const ru = agent.upload_mbps / up.mbps;
    const cpuRatio = (agentCpuS + collectorCpuS) / iperfCpuS;
    worstRatio = Math.min(worstRatio, rd, ru);
    worstCpu = Math.max(worstCpu, cpuRatio);
    rows.push([
      `${rate}`,
      `${down.mbps.toFixed(1)} / ${up.mbps.toFixed(1)}`,
      `${agent.download_mbps.toFixed(1)} / ${agent.upload_mbps.toFixed(1)}`,
      `${rd.toFixed(3)} / ${ru.toFixed(3)}`,
      `${agent.streams}`,
      `${agentCpuS.toFixed(2)} + ${collectorCpuS.toFixed(2)}`,
      `${iperfCpuS.toFixed(2)}`,
      `${cpuRatio.toFixed(2)}`,
    ]);
  }
  const head = [
    'Mbit',
    'iperf3 down/up',
    'agent down/up',
    'ratio down/up',
    'streams',
    'CPU s agent+collector',
    'CPU s iperf3',
    'CPU ratio',
  ];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(
    `bench/bandwidth: ${STREAMS} streams, ${SECONDS} s per direction after ${OMIT} s warm-up, tbf-shaped veth in network namespaces`,
  );
  console.log(line(head));
  for (const r of rows) console.log(line(r));
  console.log(
    `worst throughput ratio ${worstRatio.toFixed(3)} (goal ≥ 0.98); worst CPU ratio ${worstCpu.toFixed(2)} (goal ≤ 1.5)`,
  );
  collector.kill('SIGTERM');
} finally {
  await lab.destroy();
  rmSync(dir, { recursive: true, force: true });
}
