import type { ProbeResult } from '../../../protocol/report.js';
import type { School } from '../../../protocol/school.js';
import { type TargetsConfig, targetsFor } from '../targets.js';
import { type TARGET_NAMES, TARGETS } from './targets/registry.js';
import { roomsOf } from './targets/rooms.js';
import type { ComplianceRow, SchoolEvidence } from './targets/target.js';

export { TARGET_NAMES, TARGETS } from './targets/registry.js';
export type { ComplianceRow, ComplianceState, SchoolEvidence, TargetModule } from './targets/target.js';
export { type Tier, tierOf } from './targets/tier.js';

export type TargetName = (typeof TARGET_NAMES)[number];

/** A school's evidence before any report: registered, nothing measured. */
export function noEvidence(school: School, agents: SchoolEvidence['agents'] = []): SchoolEvidence {
  return {
    school,
    latest: [],
    speedtests: [],
    availability: { up: 0, total: 0 },
    findings: [],
    answeredRooms: new Set(),
    agents,
  };
}

/**
 * The school's compliance with every target of the registry at `now` (pure: no I/O), under its district's
 * targets. A target without fresh evidence is `no_data`, never counted as passing; a school without the
 * room a target asks for is `not_met` (未建).
 */
export function evaluateCompliance(
  evidence: SchoolEvidence,
  targets: TargetsConfig,
  now: Date,
): ComplianceRow[] {
  const t = targetsFor(targets, evidence.school.district);
  return TARGETS.map((m) => m.evaluate(evidence, t, now));
}

/** Rooms of one type from reachability results: a device is up when all its checks pass; a room when all its critical devices are. */
export function roomStates(results: readonly ProbeResult[], roomType: string) {
  return roomsOf(results).filter((r) => r.type === roomType);
}

/**
 * The earliest time one of these rows must be evaluated again because evidence it rests on ages out;
 * null when none will.
 */
export function recheckAt(rows: readonly ComplianceRow[]): string | null {
  return rows.reduce<string | null>(
    (m, r) => (r.expiresAt !== null && (m === null || r.expiresAt < m) ? r.expiresAt : m),
    null,
  );
}
