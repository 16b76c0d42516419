/**
 * Many device addresses for the lab: the `centre` namespace answers for every address of
 * 10.203.252.0/22 (a `local` route on its loopback, Linux "AnyIP": ICMP echo and any listener bound to
 * 0.0.0.0 or to one of those addresses), and the router forwards that prefix and 10.203.0.0/24 to it.
 * 10.203.0.0/24 has nothing behind it: the centre drops those packets (no address, no forwarding).
 * No lab slot uses 10.203.0.x or 10.203.252-255.x. Everything disappears with the lab's namespaces.
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Lab } from './lab.js';

export const LIVE_PREFIX = '10.203.252.0/22';
export const DEAD_PREFIX = '10.203.0.0/24';

/** The k-th live address (k from 0 to 1021): 10.203.252.1, …, 10.203.255.254. */
export function liveAddress(k: number): string {
  const n = k + 1;
  return `10.203.${252 + Math.floor(n / 256)}.${n % 256}`;
}

export function deadAddress(k: number): string {
  return `10.203.0.${k + 1}`;
}

export async function addDeviceNet(lab: Lab): Promise<void> {
  await lab.exec('centre', ['ip', 'route', 'add', 'local', LIVE_PREFIX, 'dev', 'lo'], { check: true });
  for (const prefix of [LIVE_PREFIX, DEAD_PREFIX]) {
    await lab.exec('router', ['ip', 'route', 'add', prefix, 'via', lab.centreV4], { check: true });
  }
}

/** Starts `tests/helpers/device-peers.ts <kind> <host> <port> [status]` in the centre; resolves when it listens. */
export function startPeerIn(
  lab: Lab,
  kind: 'rtsp' | 'http' | 'tcp',
  host: string,
  port: number,
  status?: number,
): Promise<ChildProcess> {
  const child = lab.nodeIn('centre', 'tests/helpers/device-peers.ts', [
    kind,
    host,
    String(port),
    ...(status !== undefined ? [String(status)] : []),
  ]);
  return new Promise((resolve, reject) => {
    if (!child.stdout) {
      reject(new Error('peer has no stdout'));
      return;
    }
    let err = '';
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      err += d;
    });
    const rl = createInterface({ input: child.stdout });
    rl.once('line', (line) => {
      if (line.startsWith('listening')) resolve(child);
      else reject(new Error(`peer said ${line}`));
    });
    child.once('exit', (code) =>
      reject(new Error(`${kind} peer on ${host}:${port} exited (${code}): ${err.trim()}`)),
    );
  });
}
