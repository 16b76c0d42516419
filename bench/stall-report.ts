// What the machine and influxd were doing while a write stalled, for bench/ingest --stall-log and
// bench/influx-stall: the kernel's I/O pressure and the disks' write and flush counters sampled every
// 250 ms, and influxd's own log (at info level it names cache snapshots and compactions; with
// GODEBUG=gctrace=1 every Go GC cycle) within a window around the stall.
import { readFileSync } from 'node:fs';
import { fmt } from './proc.js';

/** One sample of the machine's I/O state, at wall-clock time `at` (ms). */
interface IoSample {
  at: number;
  /** /proc/pressure/io "full" total: µs during which every runnable task waited for I/O. */
  fullUs: number;
  /** Over the whole disks of /proc/diskstats: sectors written and flush requests completed. */
  sectorsWritten: number;
  flushes: number;
}

function ioSample(): IoSample {
  let fullUs = 0;
  try {
    fullUs = Number(/full .*total=(\d+)/.exec(readFileSync('/proc/pressure/io', 'utf8'))?.[1] ?? 0);
  } catch {
    // a kernel without PSI: pressure stays 0
  }
  let sectorsWritten = 0;
  let flushes = 0;
  for (const line of readFileSync('/proc/diskstats', 'utf8').split('\n')) {
    const f = line.trim().split(/\s+/);
    // whole disks only (vda, sda, nvme0n1), not partitions, loop or ram devices
    if (f.length < 14 || !/^(vd[a-z]+|sd[a-z]+|xvd[a-z]+|nvme\d+n\d+)$/.test(f[2] ?? '')) continue;
    sectorsWritten += Number(f[9]);
    flushes += Number(f[18] ?? 0);
  }
  return { at: Date.now(), fullUs, sectorsWritten, flushes };
}

/** Samples the machine's I/O every 250 ms from construction until `stop()`. */
export class IoSampler {
  private readonly samples: IoSample[] = [ioSample()];
  private readonly timer = setInterval(() => this.samples.push(ioSample()), 250);

  stop(): void {
    clearInterval(this.timer);
  }

  /** I/O between two wall-clock times (ms): share of time fully stalled on I/O, MB written, flushes. */
  between(from: number, to: number): string {
    const a = this.samples.filter((s) => s.at <= from).at(-1) ?? this.samples[0]!;
    const b = this.samples.find((s) => s.at >= to) ?? this.samples.at(-1)!;
    if (b.at <= a.at) return 'no I/O samples';
    return `I/O full ${fmt((100 * (b.fullUs - a.fullUs)) / 1000 / (b.at - a.at), 0)}% of ${fmt((b.at - a.at) / 1000, 1)} s, ${fmt(((b.sectorsWritten - a.sectorsWritten) * 512) / 1e6, 0)} MB written, ${b.flushes - a.flushes} flushes`;
  }
}

/**
 * The lines of influxd's log (its file, read once by the caller) from `from` to `to` (wall-clock ms): its
 * own log lines by their `ts=`, and Go's gctrace lines (`gc N @S.SSSs …`, seconds since influxd started at
 * `startedAt`).
 */
export function influxLogBetween(
  log: readonly string[],
  startedAt: number,
  from: number,
  to: number,
): string[] {
  const out: string[] = [];
  for (const line of log) {
    const ts = /^ts=(\S+)/.exec(line);
    const gc = /^gc \d+ @([\d.]+)s/.exec(line);
    const at = ts ? Date.parse(ts[1]!) : gc ? startedAt + Number(gc[1]) * 1000 : NaN;
    if (at >= from && at <= to) out.push(line.length > 240 ? `${line.slice(0, 240)}…` : line);
  }
  return out;
}
