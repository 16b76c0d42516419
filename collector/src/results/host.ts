// `host`: the agent's own box — one `host` point, one `host_nic` per interface (loopback aside) and one
// `host_disk` per mounted disk; not rolled up.
import type { HostResult } from '../../../protocol/report.js';
import { bit, type ResultKind, resultTime } from './result-kind.js';

export const hostResults: ResultKind<HostResult> = {
  probe: 'host',
  key: (r) => `host|${r.target}`,
  keyHoldsTarget: true,
  lines(r, out, ctx) {
    const t = resultTime(r, ctx);
    out
      .begin('host')
      .tag('host', r.target)
      .num('cpu_cores', r.cpu.cores)
      .opt('cpu_load_pct', r.cpu.loadPct)
      .num('duration_ms', r.durationMs)
      .num('mem_total_bytes', r.memory.totalBytes)
      .num('mem_used_bytes', r.memory.usedBytes)
      .num('ok', bit(r.outcome === 'ok'))
      .num('uptime_s', r.uptimeS)
      .end(t);
    for (const nic of r.nics) {
      if (nic.name === 'lo') continue;
      out
        .begin('host_nic')
        .tag('host', r.target)
        .tag('nic', nic.name)
        .num('ipv4_count', nic.ipv4.length)
        .num('ipv6_count', nic.ipv6.length)
        .opt('speed_mbps', nic.speedMbps)
        .num('up', bit(nic.up))
        .end(t);
    }
    for (const disk of r.disks) {
      if (!disk.mount || disk.mount.endsWith('\\')) continue;
      out
        .begin('host_disk')
        .tag('host', r.target)
        .tag('mount', disk.mount)
        .num('size_bytes', disk.sizeBytes)
        .num('used_bytes', disk.usedBytes)
        .end(t);
    }
  },
  rollups: [],
};
