import { spawn } from 'node:child_process';
import type { Observation } from './device-checks.js';

/**
 * ICMP for a large sweep: one `fping -C <count> -q` process for the whole batch instead of one `ping`
 * process per device (Debian's fping 5.x; IPv4 and IPv6 literals mixed in one run). Per target,
 * fping prints on stderr `<address> : <rtt ms or -> …` with one column per echo request.
 */

export interface FpingOptions {
  count: number;
  /** Wait for each reply (fping -t). */
  timeoutMs: number;
  /** Between two requests to one target (fping -p). */
  periodMs: number;
  /** Between any two requests (fping -i). */
  intervalMs: number;
  signal: AbortSignal;
}

const LINE = /^(\S+)\s+:\s+((?:[\d.]+|-)(?:\s+(?:[\d.]+|-))*)\s*$/;
const UNREACHABLE = /^ICMP (?:Host|Network|Port|Protocol) Unreachable from \S+ for ICMP Echo sent to (\S+)/i;

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/** Parses `fping -C N -q` output into one observation per address (addresses without a line are absent). */
export function parseFping(
  output: string,
  count: number,
  timeoutMs: number,
): Map<string, Omit<Observation, 'family' | 'address'>> {
  const unreachable = new Set<string>();
  const out = new Map<string, Omit<Observation, 'family' | 'address'>>();
  for (const raw of output.split('\n')) {
    const line = raw.trim();
    const u = UNREACHABLE.exec(line);
    if (u?.[1]) unreachable.add(u[1].replace(/,$/, ''));
  }
  for (const raw of output.split('\n')) {
    const m = LINE.exec(raw.trim());
    if (!m?.[1] || !m[2]) continue;
    const address = m[1];
    const cols = m[2].split(/\s+/);
    const times = cols
      .filter((c) => c !== '-')
      .map(Number)
      .filter((n) => Number.isFinite(n) && n >= 0);
    const sent = cols.length || count;
    const received = times.length;
    const lossPct = round3((1 - received / sent) * 100);
    if (received > 0) {
      out.set(address, {
        outcome: 'ok',
        up: true,
        sent,
        received,
        lossPct,
        rttMs: round3(times.reduce((a, b) => a + b, 0) / received),
      });
    } else if (unreachable.has(address)) {
      out.set(address, {
        outcome: 'unreachable',
        up: false,
        sent,
        received: 0,
        lossPct: 100,
        error: `ICMP unreachable for ${address}`,
      });
    } else {
      out.set(address, {
        outcome: 'timeout',
        up: false,
        sent,
        received: 0,
        lossPct: 100,
        error: `no echo reply to ${sent} request(s) within ${timeoutMs} ms`,
      });
    }
  }
  return out;
}

export type FpingRun =
  | { ok: true; results: Map<string, Omit<Observation, 'family' | 'address'>> }
  | { ok: false; aborted: boolean; error: string };

/** Runs one fping over `addresses` (IP literals); killed when `signal` aborts. Never throws. */
export function runFping(fping: string, addresses: readonly string[], o: FpingOptions): Promise<FpingRun> {
  const unique = [...new Set(addresses)];
  const args = [
    '-C',
    String(o.count),
    '-q',
    '-t',
    String(o.timeoutMs),
    '-p',
    String(o.periodMs),
    '-i',
    String(o.intervalMs),
    '-r',
    '0',
    '-f',
    '-',
  ];
  return new Promise((resolve) => {
    if (o.signal.aborted) {
      resolve({ ok: false, aborted: true, error: 'the probe deadline passed before fping started' });
      return;
    }
    const child = spawn(fping, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C' },
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      output += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      output += d;
    });
    const onAbort = () => child.kill('SIGKILL');
    o.signal.addEventListener('abort', onAbort, { once: true });
    child.stdin.on('error', () => {});
    child.stdin.end(`${unique.join('\n')}\n`);
    child.once('error', (err) => {
      o.signal.removeEventListener('abort', onAbort);
      resolve({ ok: false, aborted: false, error: `fping could not start: ${err.message}` });
    });
    child.once('close', (code) => {
      o.signal.removeEventListener('abort', onAbort);
      if (o.signal.aborted) {
        resolve({ ok: false, aborted: true, error: 'the probe deadline passed while fping ran' });
        return;
      }
      // 0: all answered, 1: some did not, 2: some address unknown; 3/4: usage or system error.
      if (code !== 0 && code !== 1 && code !== 2) {
        resolve({
          ok: false,
          aborted: false,
          error: `fping failed (exit ${code}): ${output.trim().split('\n').slice(-3).join(' ').slice(0, 500)}`,
        });
        return;
      }
      const results = parseFping(output, o.count, o.timeoutMs);
      resolve({ ok: true, results });
    });
  });
}
