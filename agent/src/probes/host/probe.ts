import { networkInterfaces as osNetworkInterfaces, uptime } from 'node:os';
import si from 'systeminformation';
import type { HostResult } from '../../../../protocol/report.js';
import { hostTarget } from '../lib/host-target.js';
import { elapsedMs, errorText, raceAbort } from '../lib/net-util.js';
import type { KindProbe, ProbeContext } from '../probe.js';
import type { HostConfig } from './schema.js';

type Nic = HostResult['nics'][number];
type Disk = HostResult['disks'][number];
type SiNic = si.Systeminformation.NetworkInterfacesData;

const MAX_ITEMS = 256;
const MAX_ADDRESSES = 64;

function text(value: unknown, max = 200): string {
  return typeof value === 'string' ? value.slice(0, max) : '';
}

function count(value: unknown, max: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.min(value, max) : 0;
}

/** The required fields of a host result with nothing measured (timeout, error). */
function emptyResult(at: string, startedAt: number): HostResult {
  return {
    probe: 'host',
    target: hostTarget('unknown-host'),
    outcome: 'ok',
    durationMs: elapsedMs(startedAt),
    at,
    os: { platform: '', distro: '', release: '', kernel: '', arch: '' },
    uptimeS: 0,
    cpu: { cores: 0, model: '', loadPct: null },
    memory: { totalBytes: 0, usedBytes: 0 },
    disks: [],
    nics: [],
  };
}

/** `speed` is null for lo and −1 on virtual NICs: both mean "unknown". */
function speedMbps(speed: unknown): number | null {
  return typeof speed === 'number' && Number.isFinite(speed) && speed >= 0 && speed <= 1e7 ? speed : null;
}

function toNic(n: SiNic, all: ReturnType<typeof osNetworkInterfaces>): Nic {
  // systeminformation reports one address per family; Node's view lists all of them.
  const addrs = all[n.iface] ?? [];
  const v4 = addrs.filter((a) => a.family === 'IPv4').map((a) => a.address);
  const v6 = addrs.filter((a) => a.family === 'IPv6').map((a) => a.address);
  const ipv4 = (v4.length > 0 ? v4 : n.ip4 ? [n.ip4] : []).slice(0, MAX_ADDRESSES).map((a) => text(a, 64));
  const ipv6 = (v6.length > 0 ? v6 : n.ip6 ? [n.ip6] : []).slice(0, MAX_ADDRESSES).map((a) => text(a, 64));
  // Linux reports operstate "unknown" for lo and some tunnels that are in fact up.
  const up = n.operstate === 'up' || (n.operstate === 'unknown' && ipv4.length + ipv6.length > 0);
  return {
    name: text(n.iface, 64),
    up,
    speedMbps: speedMbps(n.speed),
    virtual: n.virtual === true,
    mac: text(n.mac, 64),
    ipv4,
    ipv6,
  };
}

interface Gathered {
  os: si.Systeminformation.OsData;
  cpu: si.Systeminformation.CpuData;
  load: si.Systeminformation.CurrentLoadData;
  mem: si.Systeminformation.MemData;
  fs: si.Systeminformation.FsSizeData[];
  nics: SiNic[] | SiNic;
}

/** One call per kind; currentLoad takes ~0.5 s on its first call in a process, later calls are instant. */
async function gather(): Promise<Gathered> {
  const [os, cpu, load, mem, fs, nics] = await Promise.all([
    si.osInfo(),
    si.cpu(),
    si.currentLoad(),
    si.mem(),
    si.fsSize(),
    si.networkInterfaces(),
  ]);
  return { os, cpu, load, mem, fs, nics };
}

function fill(result: HostResult, g: Gathered): void {
  result.os = {
    platform: text(g.os.platform),
    distro: text(g.os.distro),
    release: text(g.os.release),
    kernel: text(g.os.kernel),
    arch: text(g.os.arch),
  };
  // os.uptime() is what si.time() reports as uptime; si.time() also runs `date` synchronously and asks
  // Intl for the zone name, which loads ICU's date-formatting data (~8 MiB kept for good by the daemon).
  result.uptimeS = count(uptime(), 1e10);
  const model = [g.cpu.manufacturer, g.cpu.brand].filter((s) => typeof s === 'string' && s !== '').join(' ');
  const load = g.load.currentLoad;
  result.cpu = {
    cores: Math.round(count(g.cpu.cores, 4096)),
    model: text(model),
    loadPct: typeof load === 'number' && Number.isFinite(load) && load >= 0 ? Math.min(100, load) : null,
  };
  const total = count(g.mem.total, 1e18);
  // "Used" as `free` shows it: what is not available (page cache does not count as used).
  const available = count(g.mem.available, 1e18);
  const used = available > 0 ? Math.max(0, total - available) : count(g.mem.used, 1e18);
  result.memory = { totalBytes: total, usedBytes: Math.min(used, total) };
  const seen = new Set<string>();
  const disks: Disk[] = [];
  for (const f of Array.isArray(g.fs) ? g.fs : []) {
    if (typeof f.mount !== 'string' || f.mount === '' || f.mount.length > 512 || seen.has(f.mount)) continue;
    seen.add(f.mount);
    disks.push({ mount: f.mount, sizeBytes: count(f.size, 1e18), usedBytes: count(f.used, 1e18) });
  }
  result.disks = disks.slice(0, MAX_ITEMS);
  const all = osNetworkInterfaces();
  const list = Array.isArray(g.nics) ? g.nics : [g.nics];
  result.nics = list
    .filter(
      (n): n is SiNic => typeof n === 'object' && n !== null && typeof n.iface === 'string' && n.iface !== '',
    )
    .slice(0, MAX_ITEMS)
    .map((n) => toNic(n, all));
}

async function checkHost(ctx: ProbeContext): Promise<HostResult> {
  const at = ctx.now().toISOString();
  const startedAt = performance.now();
  const result = emptyResult(at, startedAt);
  const finish = (outcome: HostResult['outcome'], error?: string): HostResult => {
    result.outcome = outcome;
    if (error !== undefined) result.error = error.slice(0, 2000);
    result.durationMs = elapsedMs(startedAt);
    return result;
  };
  if (ctx.signal.aborted) return finish('timeout', 'not started: the probe deadline passed');
  try {
    // systeminformation cannot be cancelled: on abort we stop waiting and its calls end by themselves.
    const raced = await raceAbort(gather(), ctx.signal);
    if (raced.aborted) return finish('timeout', 'systeminformation did not answer before the probe deadline');
    fill(result, raced.value);
    return finish('ok');
  } catch (err) {
    ctx.log.warn({ err: errorText(err) }, 'host probe failed');
    return finish('error', errorText(err));
  }
}

/** The agent's own host: OS, uptime, CPU, memory, file systems and network interfaces (README.md beside this file). */
export const hostProbe: KindProbe<HostConfig> = {
  async run(_slice, ctx) {
    return [await checkHost(ctx)];
  },
};
