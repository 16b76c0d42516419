import { v7 as uuidv7 } from 'uuid';
import type { ReachabilityResult, Report } from '../../protocol/report.js';

export interface DeviceSpec {
  name: string;
  type?: string;
  up: boolean;
  critical?: boolean;
}
export interface RoomSpec {
  name: string;
  type: string;
  devices: DeviceSpec[];
}

/** A report of one ICMP check per device of these rooms, taken at `at`, as an agent sends it. */
export function roomsReport(opts: {
  agentId: string;
  schoolId: string;
  at: Date;
  rooms: RoomSpec[];
}): Report {
  const iso = opts.at.toISOString();
  const results: ReachabilityResult[] = opts.rooms.flatMap((room) =>
    room.devices.map(
      (d): ReachabilityResult => ({
        probe: 'reachability',
        target: d.name,
        outcome: d.up ? 'ok' : 'timeout',
        durationMs: 1,
        at: iso,
        device: {
          name: d.name,
          address: '127.0.0.1',
          ...(d.type ? { type: d.type } : {}),
          room: room.name,
          roomType: room.type,
          critical: d.critical ?? true,
        },
        check: 'icmp',
        up: d.up,
        sent: 1,
        received: d.up ? 1 : 0,
        family: 4,
      }),
    ),
  );
  return {
    schema: 1,
    reportId: uuidv7(),
    agentId: opts.agentId,
    schoolId: opts.schoolId,
    agentVersion: '0.1.0',
    startedAt: iso,
    finishedAt: iso,
    health: { spoolDepth: 0, spoolDropped: 0, spoolRejected: 0, cycleMs: 1, rssMb: 50 },
    results,
  };
}

/** `n` rooms named `prefix 1..n` of a type, each with one device of `deviceType`, the first `up` of them answering. */
export function manyRooms(
  prefix: string,
  type: string,
  n: number,
  up: number,
  deviceType: string,
): RoomSpec[] {
  return Array.from({ length: n }, (_, i) => ({
    name: `${prefix} ${i + 1}`,
    type,
    devices: [{ name: `${prefix} ${i + 1} ${deviceType}`, type: deviceType, up: i < up }],
  }));
}
