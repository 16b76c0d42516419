// How `campuswatch-agent probe host` shows the agent's own host: a disk that is (nearly) full, or (verbose) each
// disk's use; the system, CPU, memory and network cards as notes after the summary.
import type { HostResult } from '../../../../protocol/report.js';
import { type ResultPrinter, type Text, t } from '../print.js';

const HINTS = {
  hostFailed: {
    en: 'the agent could not read its own host: see the error',
    zh: '监测终端无法读取本机信息：请查看错误信息',
  },
  diskFull: {
    en: 'free space on this disk (old logs, packages) or enlarge it',
    zh: '请清理该磁盘（旧日志、安装包）或扩容',
  },
} as const satisfies Record<string, Text>;

/** A disk at least this full (%) is a problem. */
const DISK_FULL_PCT = 90;

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

export const printHost: ResultPrinter<HostResult> = (r, lang, out) => {
  if (r.outcome !== 'ok') {
    out.lines.push({
      problem: true,
      text: `FAILED   host ${r.target}: ${r.outcome}${r.error ? ` (${r.error})` : ''} → ${t(lang, HINTS.hostFailed)}`,
    });
    return;
  }
  for (const d of r.disks) {
    const pct = d.sizeBytes > 0 ? (100 * d.usedBytes) / d.sizeBytes : 0;
    const text = `disk ${d.mount}: ${pct.toFixed(0)}% used (${gib(d.usedBytes)} of ${gib(d.sizeBytes)})`;
    out.lines.push(
      pct >= DISK_FULL_PCT
        ? { problem: true, text: `FULL     host ${r.target} ${text} → ${t(lang, HINTS.diskFull)}` }
        : { problem: false, text: `ok       host ${r.target} ${text}` },
    );
  }
  const nics = r.nics.filter((n) => !n.virtual);
  out.notes.push(
    `host ${r.target}: ${[r.os.distro, r.os.release].filter(Boolean).join(' ')} (${r.os.platform} ${r.os.kernel}, ${r.os.arch}), up ${(r.uptimeS / 86_400).toFixed(1)} days`,
    `cpu ${r.cpu.cores} cores${r.cpu.loadPct !== null ? `, ${r.cpu.loadPct.toFixed(0)}% busy` : ''}; memory ${gib(r.memory.usedBytes)} of ${gib(r.memory.totalBytes)} used`,
    ...nics.map(
      (n) =>
        `nic ${n.name}: ${n.up ? 'up' : 'down'}${n.speedMbps ? ` ${n.speedMbps} Mbps` : ''}${[...n.ipv4, ...n.ipv6].length > 0 ? ` ${[...n.ipv4, ...n.ipv6].join(' ')}` : ''}`,
    ),
  );
};
