import { spawn } from 'node:child_process';
import type { BandwidthResult } from '../../../../protocol/report.js';
import { SpeedtestError } from './speedtest-client.js';

interface Iperf3Json {
  error?: string;
  start?: { connected?: { remote_host?: string }[] };
  end?: {
    sum_received?: { bits_per_second?: number; bytes?: number; seconds?: number };
    streams?: { sender?: { mean_rtt?: number } }[];
  };
}

/** Runs the iperf3 client once and returns its JSON (`-J`); its own failures come back as `error`. */
export function iperf3Client(args: string[], signal: AbortSignal, bin = 'iperf3'): Promise<Iperf3Json> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['-J', ...args], { stdio: ['ignore', 'pipe', 'pipe'], signal });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT')
        reject(
          new SpeedtestError('iperf3 is not installed (Debian package iperf3)', 'error', { cause: err }),
        );
      else if (signal.aborted)
        reject(new SpeedtestError('iperf3 did not finish before the deadline', 'timeout', { cause: err }));
      else reject(new SpeedtestError(`iperf3: ${err.message}`, 'error', { cause: err }));
    });
    child.on('close', () => {
      try {
        resolve(JSON.parse(out) as Iperf3Json);
      } catch (err) {
        reject(new SpeedtestError(`iperf3 printed no JSON: ${out.slice(0, 200)}`, 'error', { cause: err }));
      }
    });
  });
}

/** `method: iperf3`: both directions against a site's own iperf3 server. */
export async function runIperf3(opts: {
  host: string;
  port: number;
  streams: number;
  durationS: number;
  omitS: number;
  signal: AbortSignal;
  now: () => Date;
  bin?: string;
}): Promise<BandwidthResult[]> {
  const results: BandwidthResult[] = [];
  for (const direction of ['down', 'up'] as const) {
    const at = opts.now().toISOString();
    const t0 = performance.now();
    const args = [
      '-c',
      opts.host,
      '-p',
      String(opts.port),
      '-t',
      String(opts.durationS),
      '-O',
      String(opts.omitS),
      '-P',
      String(opts.streams),
    ];
    if (direction === 'down') args.push('-R');
    const j = await iperf3Client(args, opts.signal, opts.bin);
    if (j.error) {
      throw new SpeedtestError(`iperf3: ${j.error}`, /refused/i.test(j.error) ? 'refused' : 'error');
    }
    const sum = j.end?.sum_received;
    const rtts = (j.end?.streams ?? [])
      .map((s) => s.sender?.mean_rtt)
      .filter((x): x is number => typeof x === 'number');
    results.push({
      probe: 'bandwidth',
      target: `${opts.host}:${opts.port}`,
      outcome: 'ok',
      durationMs: Math.round((performance.now() - t0) * 1000) / 1000,
      at,
      method: 'iperf3',
      direction,
      mbps: Math.round(((sum?.bits_per_second ?? 0) / 1e6) * 100) / 100,
      streams: opts.streams,
      durationS: sum?.seconds ?? opts.durationS,
      bytes: sum?.bytes ?? 0,
      // iperf3 reports the sender's smoothed RTT in microseconds, under load
      ...(rtts.length > 0
        ? { rttLoadedMs: Math.round((rtts.reduce((a, b) => a + b, 0) / rtts.length / 1000) * 1000) / 1000 }
        : {}),
    });
  }
  return results;
}
