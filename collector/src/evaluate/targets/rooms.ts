/** Rooms and their devices as the agents' reachability results describe them (shared by the room targets). */
import type { ProbeResult, ReachabilityResult } from '../../../../protocol/report.js';

export interface DeviceState {
  name: string;
  type: string | undefined;
  critical: boolean;
  /** All its checks passed (a device refusing our SNMPv3 keys answers: it is up). */
  up: boolean;
  /** Its failing checks, e.g. `icmp timeout, tcp/554 refused`. */
  failed: string;
  at: string;
}

export interface RoomState {
  name: string;
  type: string;
  devices: DeviceState[];
  /** All its critical devices are up. */
  up: boolean;
  /** `device (checks)` of each critical device down. */
  down: string[];
  /** The newest and oldest check times of its results. */
  at: string;
  oldestAt: string;
  /** Other room types the same room name was reported with (two agents disagreeing). */
  conflictingTypes: string[];
}

export const roomKey = (type: string, name: string) => `${type}|${name}`;

/**
 * The rooms of reachability results, merged by name (several agents may report devices of one room). A
 * room name reported with two room types is reported as a conflict and kept under the type most of its
 * results carry.
 */
export function roomsOf(results: readonly ProbeResult[]): RoomState[] {
  const byRoom = new Map<string, ReachabilityResult[]>();
  for (const r of results) {
    if (r.probe !== 'reachability' || !r.device.room || !r.device.roomType) continue;
    const list = byRoom.get(r.device.room);
    if (list) list.push(r);
    else byRoom.set(r.device.room, [r]);
  }
  const rooms: RoomState[] = [];
  for (const [name, checks] of byRoom) {
    const typeCounts = new Map<string, number>();
    for (const c of checks) typeCounts.set(c.device.roomType!, (typeCounts.get(c.device.roomType!) ?? 0) + 1);
    const [type] = [...typeCounts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]!;
    const byDevice = new Map<string, ReachabilityResult[]>();
    for (const c of checks) {
      const list = byDevice.get(c.device.name);
      if (list) list.push(c);
      else byDevice.set(c.device.name, [c]);
    }
    const devices = [...byDevice.entries()].map(([device, cs]): DeviceState => {
      const failed = cs.filter((c) => !c.up && !c.authFailure);
      return {
        name: device,
        type: cs.find((c) => c.device.type !== undefined)?.device.type,
        critical: cs.some((c) => c.device.critical !== false),
        up: failed.length === 0,
        failed: failed.map((c) => `${c.port ? `${c.check}/${c.port}` : c.check} ${c.outcome}`).join(', '),
        at: cs.reduce((m, c) => (c.at > m ? c.at : m), ''),
      };
    });
    const down = devices.filter((d) => d.critical && !d.up).map((d) => `${d.name} (${d.failed})`);
    const ats = checks.map((c) => c.at);
    rooms.push({
      name,
      type,
      devices,
      up: down.length === 0,
      down,
      at: ats.reduce((m, a) => (a > m ? a : m)),
      oldestAt: ats.reduce((m, a) => (a < m ? a : m)),
      conflictingTypes: [...typeCounts.keys()].filter((t) => t !== type),
    });
  }
  return rooms;
}

/** Any of the room's devices answers now. */
export const answersNow = (room: RoomState) => room.devices.some((d) => d.up);

/** Rooms whose types disagree between agents, for a reason text: `录播室 1 (recording / smart)`. */
export function conflictText(rooms: readonly RoomState[]): string {
  const c = rooms.filter((r) => r.conflictingTypes.length > 0);
  return c.length === 0
    ? ''
    : `; conflict: ${c.map((r) => `${r.name} reported as ${[r.type, ...r.conflictingTypes].join(' and ')}`).join(', ')}`;
}
