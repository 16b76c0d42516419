/**
 * What a term snapshot holds (snapshot.ts takes it; store/term-snapshots.ts keeps it; model.ts reports it).
 * Types only, in their own module, so that the store can keep snapshots without importing the code that
 * reads the store to take them.
 */
import type { Severity } from '../baseline.js';
import type { ComplianceRow, ComplianceState } from '../evaluate/compliance-row.js';
import type { KpiGroup } from '../evaluate/district.js';
import type { SchoolCard } from '../school-card.js';
import type { TargetsConfig } from '../targets.js';

export const SNAPSHOT_VERSION = 1;

/** A target as it applied in the district when the snapshot was taken. */
export interface SnapshotTarget {
  name: string;
  label: { zh: string; en: string };
  source: string;
  /** The district's goal (% of schools), null where none is set. */
  goalPct: number | null;
  goalSource: 'default' | 'district' | null;
  /** The city's goal: a report over several districts judges their sum against it. */
  cityGoalPct: number | null;
}

/** A school's row of one target at the snapshot. */
export type SnapshotRow = Pick<
  ComplianceRow,
  'target' | 'state' | 'value' | 'goal' | 'reason' | 'evidenceAt'
> & {
  since: string | null;
};

export interface SnapshotFinding {
  rule: string;
  target: string;
  port: number;
  severity: Severity;
  title: { zh: string; en: string } | null;
  /** The GB/T 22239-2019 clause cited. */
  mlps: string;
  firstSeen: string;
  /** Whole days from first seen to the snapshot. */
  daysOpen: number;
  /** Days its severity may stay open (targets.yaml security.remediationDays); null: no deadline (info). */
  dueDays: number | null;
  overdue: boolean;
}

/** A school's figures over the term (see the module comment). */
export interface TermFigures {
  /** Critical-device samples in teaching hours over the term's days. */
  availability: { up: number; total: number; pct: number | null; minPct: number; state: ComplianceState };
  /** Speed tests taken in the term: the median per direction against the tier's target × tolerance. */
  uplink: {
    down: { tests: number; medianMbps: number | null };
    up: { tests: number; medianMbps: number | null };
    goalMbps: number;
    thresholdMbps: number;
    state: ComplianceState;
  };
  findings: { opened: number; resolved: number };
}

export interface SnapshotSchool extends SchoolCard {
  tier: string;
  pupils: number | null;
  timezone: string;
  /** One row per target of the registry, in its order. */
  compliance: SnapshotRow[];
  term: TermFigures;
  /** Findings open at the snapshot (accepted risks are counted apart), worst first. */
  openFindings: SnapshotFinding[];
  acceptedFindings: number;
}

export interface TermSnapshot {
  version: typeof SNAPSHOT_VERSION;
  term: string;
  /** null: the schools without a district. */
  district: string | null;
  from: string;
  to: string;
  takenAt: string;
  /** `collector:<host>` (at term end), `cli:<user>`. */
  takenBy: string;
  trigger: 'term-end' | 'on-demand';
  targets: SnapshotTarget[];
  /** The targets configuration as it applied in the district (city values with the district's overrides). */
  applied: Omit<TargetsConfig, 'districts'>;
  /** The district's active schools, by id. */
  schools: SnapshotSchool[];
  /** At the snapshot, from the schools' states: the district, each education group, urban and rural schools. */
  kpis: { district: KpiGroup; groups: KpiGroup[]; urban: KpiGroup; rural: KpiGroup };
}
