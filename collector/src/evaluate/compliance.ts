import type { ProbeResult, ReachabilityResult } from '../../../protocol/report.js';
import type { School } from '../../../protocol/school.js';
import type { ComplianceRow } from '../store/state.js';
import type { TargetsConfig } from '../targets.js';
import { evaluateSecurity, type FindingRecord } from './findings.js';
import { evaluateIpv6 } from './ipv6.js';
import { isTeachingTime } from './teaching-hours.js';
import { evaluateBackbone, evaluateUplink } from './uplink.js';

/** The targets of DESIGN §5, in the order reports list them. */
export const TARGET_NAMES = [
  'uplink_bandwidth',
  'backbone',
  'ipv6',
  'recording_room',
  'smart_classroom',
  'device_availability',
  'security',
] as const;
export type TargetName = (typeof TARGET_NAMES)[number];

export type Tier = 'small' | 'medium' | 'large';

/** The school's size tier: as configured, else from its pupil count by the targets' thresholds, else the default. */
export function tierOf(school: Pick<School, 'tier' | 'pupils'>, targets: TargetsConfig): Tier {
  if (school.tier) return school.tier;
  if (school.pupils === undefined) return targets.uplink.defaultTier;
  if (school.pupils <= targets.uplink.tiers.small.maxPupils) return 'small';
  if (school.pupils <= targets.uplink.tiers.medium.maxPupils) return 'medium';
  return 'large';
}

interface RoomState {
  name: string;
  up: boolean;
  down: string[];
  /** The latest check time of the room's results. */
  at: string;
}

/** Rooms of one type from reachability results: a device is up when all its checks pass; a room when all its critical devices are. */
export function roomStates(results: readonly ProbeResult[], roomType: string): RoomState[] {
  const rooms = new Map<string, Map<string, ReachabilityResult[]>>();
  for (const r of results) {
    if (r.probe !== 'reachability' || r.device.roomType !== roomType || !r.device.room) continue;
    const devices = rooms.get(r.device.room) ?? new Map<string, ReachabilityResult[]>();
    const checks = devices.get(r.device.name) ?? [];
    checks.push(r);
    devices.set(r.device.name, checks);
    rooms.set(r.device.room, devices);
  }
  return [...rooms.entries()].map(([name, devices]) => {
    const down: string[] = [];
    for (const [device, checks] of devices) {
      const critical = checks.some((c) => c.device.critical !== false);
      // a device that answers but refuses our SNMPv3 credentials is up: that is a configuration problem
      const failed = checks.filter((c) => !c.up && !c.authFailure);
      if (critical && failed.length > 0) {
        down.push(
          `${device} (${failed.map((c) => `${c.port ? `${c.check}/${c.port}` : c.check} ${c.outcome}`).join(', ')})`,
        );
      }
    }
    const at = [...devices.values()].flat().reduce((m, c) => (c.at > m ? c.at : m), '');
    return { name, up: down.length === 0, down, at };
  });
}

function roomTarget(
  target: TargetName,
  label: string,
  results: readonly ProbeResult[],
  roomType: string,
  minPerSchool: number,
  inTeaching: (at: string) => boolean,
): ComplianceRow {
  // outside teaching hours a switched-off device is not an outage: such a room still counts as working
  const rooms = roomStates(results, roomType).map((r) =>
    r.up || inTeaching(r.at) ? r : { ...r, up: true, name: `${r.name} (off outside teaching hours)` },
  );
  if (rooms.length === 0) {
    return {
      target,
      state: 'no_data',
      value: null,
      goal: minPerSchool,
      reason: `no ${label} reported by the agent`,
    };
  }
  const up = rooms.filter((r) => r.up);
  if (up.length >= minPerSchool) {
    return {
      target,
      state: 'met',
      value: up.length,
      goal: minPerSchool,
      reason: `${up.length} of ${rooms.length} ${label}(s) up: ${up.map((r) => r.name).join(', ')}`,
    };
  }
  const downList = rooms.filter((r) => !r.up).map((r) => `${r.name}: ${r.down.join('; ')}`);
  return {
    target,
    state: 'not_met',
    value: up.length,
    goal: minPerSchool,
    reason: `${up.length} of ${rooms.length} ${label}(s) up, ${minPerSchool} needed; down: ${downList.join(' | ')}`,
  };
}

/**
 * The school's compliance with each target from its latest results. Pure: no I/O. A target without
 * data is `no_data`, never counted as passing or failing. Targets whose probes arrive with later
 * issues (speed test, SNMP, IPv6, security, availability windows) say which data they wait for.
 */
export function evaluateCompliance(
  school: School,
  latest: readonly ProbeResult[],
  targets: TargetsConfig,
  /** Past speed tests, any order (the store keeps the last ones). */
  speedtests: readonly ProbeResult[] = [],
  /** Critical-device samples taken in teaching hours over the rolling window. */
  availability: { up: number; total: number } = { up: 0, total: 0 },
  /** The school's security findings after this report. */
  findings: readonly FindingRecord[] = [],
  now: Date = new Date(),
): ComplianceRow[] {
  const tier = tierOf(school, targets);
  const timetable = targets.deviceAvailability.teachingHours;
  const inTeaching = (at: string) => isTeachingTime(new Date(at), school.timezone, timetable);
  const minPct = targets.deviceAvailability.minPct;
  const pct =
    availability.total > 0 ? Math.round((availability.up / availability.total) * 10000) / 100 : null;
  return [
    evaluateUplink(speedtests, targets.uplink.tiers[tier].mbps, targets),
    evaluateBackbone(latest, targets),
    evaluateIpv6(latest, targets),
    roomTarget(
      'recording_room',
      'recording room',
      latest,
      'recording',
      targets.recordingRoom.minPerSchool,
      inTeaching,
    ),
    roomTarget(
      'smart_classroom',
      'smart classroom',
      latest,
      'smart',
      targets.smartClassroom.minPerSchool,
      inTeaching,
    ),
    pct === null
      ? {
          target: 'device_availability',
          state: 'no_data',
          value: null,
          goal: minPct,
          reason: `no critical-device checks in teaching hours in the last ${targets.deviceAvailability.windowDays} days`,
        }
      : {
          target: 'device_availability',
          state: pct >= minPct ? 'met' : 'not_met',
          value: pct,
          goal: minPct,
          reason: `${pct}% of ${availability.total} critical-device checks up in teaching hours over the last ${targets.deviceAvailability.windowDays} days`,
        },
    evaluateSecurity(findings, latest, targets, now, school.timezone),
  ];
}
