// Small helpers the collector benches share: /proc readings (CPU seconds, RSS, finding a pid by its
// command line), percentiles, the machine's load, and child processes that print one JSON line when up.
import { type ChildProcess, execFileSync, execSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { createInterface } from 'node:readline';

const TICK = 100; // USER_HZ

/** utime + stime of a process in seconds (its own threads, not its children); NaN when it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICK;
  } catch {
    return Number.NaN;
  }
}

/** VmRSS in MiB, or NaN when the process is gone. */
export function rssMb(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

/** The pid of the process whose command line contains every one of `parts` (e.g. influxd and its config path). */
export function findPid(parts: readonly string[]): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ');
    } catch {
      continue;
    }
    if (parts.every((p) => cmdline.includes(p))) return Number(entry);
  }
  return undefined;
}

/** The q-quantile (0..1) of numbers by the nearest-rank method; NaN for none. Sorts a copy. */
export function quantile(values: ArrayLike<number>, q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}

export interface LatencySummary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function summarise(values: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(values).sort();
  const at = (q: number) =>
    sorted.length === 0
      ? Number.NaN
      : sorted[Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length))) - 1]!;
  return { n: sorted.length, p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) };
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** "load 0.42 0.35 0.30 (2 cores)" */
export function loadLine(): string {
  const [a, b, c] = loadavg().map((x) => x.toFixed(2));
  return `load average ${a} ${b} ${c} (${cpus().length} cores)`;
}

/**
 * A `cpu` or `cpuN` line of /proc/stat in ticks: user nice system idle iowait irq softirq steal (guest time
 * is already counted in user).
 */
function statTicks(line: string): { total: number; idle: number; steal: number } {
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  return {
    total: f.slice(0, 8).reduce((a, b) => a + b, 0),
    idle: (f[3] ?? 0) + (f[4] ?? 0),
    steal: f[7] ?? 0,
  };
}

/** The machine's CPU time counters (/proc/stat, all cores): total and stolen by the hypervisor, in ticks. */
export function cpuTicks(): { total: number; steal: number } {
  const { total, steal } = statTicks(readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '');
  return { total, steal };
}

/** Busy and total ticks of each core (`cpuN` lines of /proc/stat), to say how busy each core was in a phase. */
export function coreTicks(): { busy: number; total: number }[] {
  return readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .filter((l) => /^cpu\d+ /.test(l))
    .map((l) => {
      const { total, idle } = statTicks(l);
      return { busy: total - idle, total };
    });
}

/** The share of CPU time the hypervisor took for other guests between two cpuTicks() readings. */
export function stealShare(a: { total: number; steal: number }, b: { total: number; steal: number }): number {
  return b.total > a.total ? (b.steal - a.steal) / (b.total - a.total) : 0;
}

/** The first stdout line of a child, parsed as JSON; rejects with its stderr if it exits first. */
export function firstJsonLine<T>(child: ChildProcess, timeoutMs = 60_000): Promise<T> {
  return new Promise((resolve, reject) => {
    let err = '';
    const onErr = (d: Buffer) => {
      err = (err + d.toString()).slice(-8000);
    };
    child.stderr?.on('data', onErr);
    const timer = setTimeout(
      () => reject(new Error(`no JSON line within ${timeoutMs} ms: ${err}`)),
      timeoutMs,
    );
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code} before printing: ${err}`));
    };
    child.once('exit', onExit);
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      child.off('exit', onExit);
      child.stderr?.off('data', onErr);
      try {
        resolve(JSON.parse(line) as T);
      } catch {
        reject(new Error(`not a JSON line: ${line.slice(0, 500)}`));
      }
    });
  });
}

/** SIGTERM (SIGKILL after `graceMs`) and wait for the exit. */
export function stopChild(c: ChildProcess, graceMs = 15_000): Promise<void> {
  return new Promise((resolve) => {
    if (c.exitCode !== null || c.signalCode !== null) return resolve();
    const hard = setTimeout(() => c.kill('SIGKILL'), graceMs);
    c.once('exit', () => {
      clearTimeout(hard);
      resolve();
    });
    c.kill('SIGTERM');
  });
}

export const fmt = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');

/** The short commit of the checkout at `dir` (printed in bench headers), or 'unknown'. */
export function gitCommit(dir: string): string {
  try {
    return execSync('git rev-parse --short HEAD', { cwd: dir, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

/**
 * Sums of the numeric counters of one module of InfluxDB's `SHOW STATS` (over every row of it: databases,
 * shards, engines), keyed by counter name.
 */
export async function influxStats(
  influxd: { query(influxql: string): Promise<Record<string, unknown>[]> },
  module: string,
): Promise<Map<string, number>> {
  const sums = new Map<string, number>();
  for (const row of await influxd.query(`SHOW STATS FOR '${module}'`))
    for (const [k, v] of Object.entries(row)) if (typeof v === 'number') sums.set(k, (sums.get(k) ?? 0) + v);
  return sums;
}

/**
 * `--influx-data setting=value,…`: more [data] settings for a bench's influxd, or an error naming `bench`
 * and the item that is not `setting=value`.
 */
export function influxDataSettings(bench: string, list: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of (list ?? '').split(',').filter((s) => s.length > 0)) {
    const m = /^([a-z0-9-]+)=([A-Za-z0-9.]+)$/.exec(kv.trim());
    if (!m) throw new Error(`${bench}: --influx-data: "${kv}" is not setting=value`);
    out[m[1]!] = m[2]!;
  }
  return out;
}

/** The cores of a taskset list (`1`, `0,2`, `2-3`), or an error naming --influx-cores. */
function coreList(bench: string, list: string): number[] {
  const out: number[] = [];
  for (const part of list.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`${bench}: --influx-cores: "${part}" is not a core or a range of cores`);
    for (let c = Number(m[1]); c <= Number(m[2] ?? m[1]); c++) out.push(c);
  }
  return out;
}

/**
 * `--influx-cores LIST`: influxd on those cores, everything else on the others, as taskset lists; an
 * error naming `bench` when a core does not exist or none is left for the rest.
 */
export function influxPinning(bench: string, list: string): { influx: string; rest: string } {
  const all = cpus().map((_, i) => i);
  const influx = coreList(bench, list);
  const bad = influx.find((c) => !all.includes(c));
  if (bad !== undefined)
    throw new Error(`${bench}: --influx-cores: core ${bad} does not exist (${all.length} cores)`);
  const rest = all.filter((c) => !influx.includes(c));
  if (rest.length === 0)
    throw new Error(`${bench}: --influx-cores must leave at least one core for the rest`);
  return { influx: influx.join(','), rest: rest.join(',') };
}

/** Every thread of a running process onto these cores (threads it starts later inherit them). */
export function pin(pid: number | undefined, cores: string | undefined): void {
  if (pid === undefined || cores === undefined) return;
  execFileSync('taskset', ['-a', '-p', '-c', cores, String(pid)], { stdio: 'ignore' });
}
