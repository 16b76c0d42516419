import type { ProbeResult, ReachabilityResult } from '../../../protocol/report.js';
import type { School } from '../../../protocol/school.js';
import { type TargetsConfig, targetsFor } from '../targets.js';
import { roomStates } from './compliance.js';
import { inMaintenance, type MaintenanceWindow, roomInMaintenance } from './maintenance.js';
import { isTeachingTime, localTime } from './teaching-hours.js';

export interface TeachingSamples {
  /**
   * One sample per critical device seen in teaching hours: up when all its checks passed. A device in a
   * maintenance window then has none: it counts neither for nor against availability.
   */
  availability: { device: string; day: string; up: boolean }[];
  /**
   * Each room of this report: down only when seen down in teaching hours, with a critical device down
   * outside any maintenance window.
   */
  rooms: { room: string; roomType: string; up: boolean; at: string; detail: string }[];
}

/**
 * What one report contributes to teaching-hours availability and to the room-down tracking, given the
 * school's maintenance windows (those not ended by the report's oldest result). Pure.
 */
export function teachingSamples(
  results: readonly ProbeResult[],
  school: School,
  targets: TargetsConfig,
  maintenance: readonly MaintenanceWindow[] = [],
): TeachingSamples {
  const timetable = targetsFor(targets, school.district).deviceAvailability.teachingHours;
  const inTeaching = (at: string) => isTeachingTime(new Date(at), school.timezone, timetable);
  const byDevice = new Map<string, ReachabilityResult[]>();
  for (const r of results) {
    if (r.probe !== 'reachability' || r.device.critical === false) continue;
    byDevice.set(r.device.name, [...(byDevice.get(r.device.name) ?? []), r]);
  }
  const availability: TeachingSamples['availability'] = [];
  for (const [device, checks] of byDevice) {
    const at = checks.reduce((m, c) => (c.at > m ? c.at : m), '');
    if (!inTeaching(at)) continue;
    const room = checks.find((c) => c.device.room !== undefined)?.device.room;
    if (inMaintenance(maintenance, { room, device }, new Date(at), school.timezone)) continue;
    availability.push({
      device,
      day: localTime(new Date(at), school.timezone).date,
      up: checks.every((c) => c.up || c.authFailure === true),
    });
  }
  const roomTypes = new Set(
    results
      .filter((r): r is ReachabilityResult => r.probe === 'reachability' && r.device.roomType !== undefined)
      .map((r) => r.device.roomType!),
  );
  const rooms = [...roomTypes].flatMap((roomType) =>
    roomStates(results, roomType).map((r) => ({
      room: r.name,
      roomType,
      // planned work is not an outage: no down-since opens (one open before the window closes)
      up: r.up || !inTeaching(r.at) || roomInMaintenance(maintenance, r, school.timezone) !== undefined,
      at: r.at,
      detail: r.down.join('; '),
    })),
  );
  return { availability, rooms };
}

/** The first local day of the rolling availability window. */
export function windowStartDay(now: Date, school: School, targets: TargetsConfig): string {
  return localTime(
    new Date(
      now.getTime() - (targetsFor(targets, school.district).deviceAvailability.windowDays - 1) * 86_400_000,
    ),
    school.timezone,
  ).date;
}

export interface AlertCandidate {
  rule: 'recording_room_down';
  room: string;
  since: string;
  minutes: number;
  detail: string;
}

/**
 * Recording rooms down in teaching hours for longer than the configured minutes (the alerting issue
 * delivers them); a room in a school or room maintenance window now is none (its down-since closes with
 * the next report).
 */
export function roomAlertCandidates(
  down: readonly { room: string; roomType: string; since: string; detail: string }[],
  now: Date,
  targets: TargetsConfig,
  maintenance: { windows: readonly MaintenanceWindow[]; timeZone: string } = { windows: [], timeZone: 'UTC' },
): AlertCandidate[] {
  return down
    .filter((d) => d.roomType === 'recording')
    .filter((d) => !inMaintenance(maintenance.windows, { room: d.room }, now, maintenance.timeZone))
    .map((d) => ({
      rule: 'recording_room_down' as const,
      room: d.room,
      since: d.since,
      detail: d.detail,
      minutes: Math.floor((now.getTime() - Date.parse(d.since)) / 60_000),
    }))
    .filter((c) => c.minutes >= targets.deviceAvailability.roomDownAlertMinutes);
}
