import type { Outcome, ReachabilityResult } from '../../protocol/report.js';

/** Per-device and per-room state from one sweep of the device checks (pure). */

export interface CheckStatus {
  check: ReachabilityResult['check'];
  port?: number;
  up: boolean;
  outcome: Outcome;
  rttMs?: number;
  lossPct?: number;
  status?: number;
  authFailure?: boolean;
  error?: string;
}

export interface DeviceStatus {
  room: string;
  name: string;
  type?: string;
  address: string;
  critical: boolean;
  /** Every check passed. */
  up: boolean;
  /** An SNMP v3 agent answered but rejected the credentials: a configuration problem, not an outage. */
  authFailure: boolean;
  checks: CheckStatus[];
}

export interface RoomStatus {
  name: string;
  type?: string;
  /** Every critical device is up. */
  up: boolean;
  devices: number;
  devicesUp: number;
  /** Critical devices that are down. */
  criticalDown: string[];
}

export function deviceStatuses(results: readonly ReachabilityResult[]): DeviceStatus[] {
  const byDevice = new Map<string, DeviceStatus>();
  for (const r of results) {
    const room = r.device.room ?? '';
    const key = `${room}\u0000${r.device.name}`;
    let d = byDevice.get(key);
    if (!d) {
      d = {
        room,
        name: r.device.name,
        address: r.device.address,
        critical: r.device.critical !== false,
        up: true,
        authFailure: false,
        checks: [],
      };
      if (r.device.type !== undefined) d.type = r.device.type;
      byDevice.set(key, d);
    }
    const c: CheckStatus = { check: r.check, up: r.up, outcome: r.outcome };
    if (r.port !== undefined) c.port = r.port;
    if (r.rttMs !== undefined) c.rttMs = r.rttMs;
    if (r.lossPct !== undefined) c.lossPct = r.lossPct;
    if (r.status !== undefined) c.status = r.status;
    if (r.authFailure) c.authFailure = true;
    if (r.error !== undefined) c.error = r.error;
    d.checks.push(c);
    if (!r.up) d.up = false;
    if (r.authFailure) d.authFailure = true;
  }
  return [...byDevice.values()];
}

export function roomStatuses(results: readonly ReachabilityResult[]): RoomStatus[] {
  const rooms = new Map<string, RoomStatus>();
  const roomTypes = new Map<string, string>();
  for (const r of results) {
    if (r.device.room !== undefined && r.device.roomType !== undefined)
      roomTypes.set(r.device.room, r.device.roomType);
  }
  for (const d of deviceStatuses(results)) {
    let room = rooms.get(d.room);
    if (!room) {
      room = { name: d.room, up: true, devices: 0, devicesUp: 0, criticalDown: [] };
      const type = roomTypes.get(d.room);
      if (type !== undefined) room.type = type;
      rooms.set(d.room, room);
    }
    room.devices++;
    if (d.up) room.devicesUp++;
    else if (d.critical) {
      room.up = false;
      room.criticalDown.push(d.name);
    }
  }
  return [...rooms.values()];
}

/** `icmp ok 0.1ms`, `tcp/80 refused`, `rtsp/554 ok 401`, `snmp error auth-failure`. */
export function checkText(c: CheckStatus): string {
  const label = c.port !== undefined && c.check !== 'snmp' ? `${c.check}/${c.port}` : c.check;
  const parts = [label, c.authFailure ? 'auth-failure' : c.outcome];
  if (c.status !== undefined) parts.push(String(c.status));
  if (c.rttMs !== undefined) parts.push(`${c.rttMs.toFixed(1)}ms`);
  if (c.lossPct !== undefined && c.lossPct > 0) parts.push(`loss ${c.lossPct}%`);
  return parts.join(' ');
}
