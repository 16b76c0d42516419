import type { Socket } from 'node:net';
import { findSockopt, type SockoptLoad, setLowWater } from '../../../protocol/sockopt.js';

export { receiveLowWater, type SockoptAddon, type SockoptLoad, socketFd } from '../../../protocol/sockopt.js';

/**
 * Where scripts/build-native.sh puts it, relative to this module: dist/collector/sockopt.node (from
 * dist/collector/src/speedtest), or the checkout's native/sockopt/build/ (from collector/src/speedtest
 * under tsx, or from dist/collector/src/speedtest).
 */
const PATHS = [
  '../../sockopt.node',
  '../../../native/sockopt/build/sockopt.node',
  '../../../../native/sockopt/build/sockopt.node',
];
let loaded: SockoptLoad | undefined;

/** The collector's addon (protocol/sockopt.ts), looked for once. */
export function loadSockopt(): SockoptLoad {
  loaded ??= findSockopt(PATHS.map((rel) => new URL(rel, import.meta.url)));
  return loaded;
}

/** SO_RCVLOWAT on an upload socket (see protocol/sockopt.ts setLowWater); false without the addon. */
export function setReceiveLowWater(socket: Socket, bytes: number): boolean {
  return setLowWater(loadSockopt(), socket, bytes);
}
