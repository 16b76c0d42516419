/**
 * What every target module of the compliance evaluation shares: the record it produces, the
 * evidence it reads and its interface. Pure data and functions; nothing here reads a store.
 */

import type { TSchema } from 'typebox';
import type { ProbeResult } from '../../../../protocol/report.js';
import type { School } from '../../../../protocol/school.js';
import type { ComplianceRow } from '../compliance-row.js';
import type { FindingRecord } from '../findings.js';
import type { MaintenanceWindow } from '../maintenance.js';
import type { TargetSections, TargetsConfig } from './config.js';
import { durationMs } from './schema-parts.js';

export type { ComplianceRow, ComplianceState, Verdict } from '../compliance-row.js';
export type { DistrictOverride, TargetSections, TargetsConfig } from './config.js';

/** Everything a school's targets are judged on, gathered from all its active agents. */
export interface SchoolEvidence {
  school: School;
  /** The union of the latest results of all the school's agents (rooms merged by name). */
  latest: readonly ProbeResult[];
  /** Past speed tests, any order. */
  speedtests: readonly ProbeResult[];
  /** Critical-device samples taken in teaching hours over the rolling window. */
  availability: { up: number; total: number };
  /** The school's security findings. */
  findings: readonly FindingRecord[];
  /** Rooms (`type|name`) whose devices have answered at least once. */
  answeredRooms: ReadonlySet<string>;
  /** The school's agents: when each last reported (null: never). */
  agents: readonly { id: string; hostname: string; enrolledAt: string; lastSeenAt: string | null }[];
  /**
   * The school's maintenance windows (at least those not ended by its oldest latest result): a device
   * checked inside one counts neither for nor against a target that asks it to work.
   */
  maintenance?: readonly MaintenanceWindow[];
}

/** A text in both languages of the reports and the console. */
export interface Words {
  readonly zh: string;
  readonly en: string;
}

/** The targets as they applied (a term snapshot's): every section, without the districts' overrides. */
export type AppliedTargets = Omit<TargetsConfig, 'districts'>;

/**
 * One target of the plan: its name, labels, source, district goal, unit, criterion and pure evaluation.
 * Whatever shows a target (the term report, the console) reads it from here, never from a list of names.
 */
export interface TargetModule {
  readonly name: string;
  readonly label: { readonly zh: string; readonly en: string };
  /** A column heading for terminal tables: a few letters. */
  readonly short: string;
  /** The policy sentence (or standard) the target comes from. */
  readonly source: string;
  /** Its section of config/targets.yaml (where its maxAge and district goal live). */
  readonly section: keyof TargetSections;
  /** That section's schema (the targets of one room type give the same one): targets.ts parses the file with it. */
  readonly sectionSchema: TSchema;
  /** The key of that section holding the district goal (% of schools). */
  readonly goalKey: 'districtGoalPct' | 'workingDistrictGoalPct';
  /** The unit of its value and goal (the console's school page): `%` and `/10` are written without a space. */
  readonly unit: Words;
  /** What a school has to show to meet it under these targets, in words (the term report's criterion). */
  criterion(targets: AppliedTargets): Words;
  /** The school's row at `now`; evidence older than the section's maxAge does not count. */
  evaluate(evidence: SchoolEvidence, targets: TargetsConfig, now: Date): ComplianceRow;
}

/** The district goal of a target under these targets, null where none is set. */
export function districtGoal(m: TargetModule, targets: TargetsConfig): number | null {
  const section = targets[m.section] as Record<string, unknown>;
  const v = section[m.goalKey];
  return typeof v === 'number' ? v : null;
}

/** The maximum evidence age of a target's section, in ms. */
export function maxAgeMs(m: Pick<TargetModule, 'section'>, targets: TargetsConfig): number {
  return durationMs((targets[m.section] as { maxAge: string }).maxAge);
}

/** Results taken within `maxAge` of now. */
export function fresh<T extends { at: string }>(results: readonly T[], maxAge: number, now: Date): T[] {
  const oldest = now.getTime() - maxAge;
  return results.filter((r) => Date.parse(r.at) >= oldest);
}

const newest = (ats: readonly string[]) =>
  ats.reduce<string | null>((m, a) => (m === null || a > m ? a : m), null);
const oldest = (ats: readonly string[]) =>
  ats.reduce<string | null>((m, a) => (m === null || a < m ? a : m), null);

/**
 * The evidence times of a row built on results taken at `ats`: the newest, and when the oldest of them
 * ages out (the row may change then).
 */
export function evidenceTimes(
  ats: readonly string[],
  maxAge: number,
): Pick<ComplianceRow, 'evidenceAt' | 'expiresAt'> {
  const first = oldest(ats);
  return {
    evidenceAt: newest(ats),
    expiresAt: first === null ? null : new Date(Date.parse(first) + maxAge).toISOString(),
  };
}

/** `15m`, `3d` as people read them: 15 min, 3 days. */
export function ageText(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000} day${ms === 86_400_000 ? '' : 's'}`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${ms / 1000} s`;
}

/**
 * The `no_data` row of a target whose evidence is missing or too old: the reason says which, and when the
 * last evidence was taken.
 */
export function noData(
  target: string,
  goal: number | null,
  what: string,
  all: readonly { at: string }[],
  maxAge: number,
): ComplianceRow {
  const last = newest(all.map((r) => r.at));
  return {
    target,
    state: 'no_data',
    value: null,
    goal,
    reason:
      last === null
        ? `no ${what} reported yet`
        : `no ${what} in the last ${ageText(maxAge)} (last at ${last}): evidence too old to count`,
    evidenceAt: last,
    expiresAt: null,
  };
}

export const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;
