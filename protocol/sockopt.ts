import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

/**
 * The optional native addon native/sockopt (int socket options on a file descriptor; Linux), built by
 * scripts/build-native.sh. Node has no setsockopt: the speed test uses it for SO_RCVLOWAT on the receiving
 * sockets (the agent's downloads, the collector's uploads). Without it (not built, another platform)
 * everything works as before, with more wake-ups. Shared by agent and collector; each looks for the addon
 * where its own build puts it.
 */
export interface SockoptAddon {
  setInt(fd: number, level: number, name: number, value: number): void;
  getInt(fd: number, level: number, name: number): number;
  readonly SOL_SOCKET: number;
  readonly SO_RCVLOWAT: number;
}

export type SockoptLoad = { addon: SockoptAddon; path: string } | { addon?: undefined; reason: string };

/** The first of `candidates` that exists, loaded; when none does or it does not load, why. */
export function findSockopt(candidates: readonly URL[]): SockoptLoad {
  if (process.platform !== 'linux') return { reason: `not on Linux (${process.platform})` };
  const require = createRequire(import.meta.url);
  for (const url of candidates) {
    const path = fileURLToPath(url);
    if (!existsSync(path)) continue;
    try {
      const addon = require(path) as SockoptAddon;
      if (typeof addon.setInt !== 'function' || typeof addon.SO_RCVLOWAT !== 'number')
        return { reason: `${path} is not the sockopt addon` };
      return { addon, path };
    } catch (err) {
      return { reason: `${path} does not load: ${(err as Error).message}` };
    }
  }
  return { reason: 'native/sockopt is not built (scripts/build-native.sh)' };
}

/** The socket's file descriptor (undocumented `_handle.fd`; Unix), or undefined. */
export function socketFd(socket: Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/**
 * SO_RCVLOWAT: the kernel reports the socket readable only once `bytes` are queued (or at FIN or an
 * error), so a steady stream wakes the event loop once per `bytes` instead of per few packets. Returns
 * false when it could not be set (no addon, no file descriptor): reads then go on as before.
 */
export function setLowWater(load: SockoptLoad, socket: Socket, bytes: number): boolean {
  if (!(bytes > 0)) return false;
  const fd = socketFd(socket);
  if (!load.addon || fd === undefined) return false;
  try {
    load.addon.setInt(fd, load.addon.SOL_SOCKET, load.addon.SO_RCVLOWAT, Math.floor(bytes));
    return true;
  } catch {
    return false;
  }
}

const DEFAULT_RCVLOWAT = 128 * 1024;

/** SO_RCVLOWAT for speed-test streams: CAMPUSWATCH_RCVLOWAT (bytes, 0 = off; for comparisons) or 128 KiB. */
export function receiveLowWater(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.CAMPUSWATCH_RCVLOWAT;
  if (v === undefined || v === '') return DEFAULT_RCVLOWAT;
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 && n <= 16 * 1024 * 1024 ? n : DEFAULT_RCVLOWAT;
}
