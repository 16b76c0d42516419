/** The term report's shape (model.ts builds it; the renderers lay it out). */
import type { TargetKpi } from '../evaluate/district.js';
import type { ComplianceState } from '../evaluate/targets/target.js';
import type { SnapshotFinding, SnapshotTarget } from './snapshot.js';

export interface ReportFilter {
  district?: string | undefined;
  group?: string | undefined;
}

/** One target's KPI over a scope, counted as GET /api/v1/compliance counts it, and its change since the compared term. */
export interface KpiLine extends Omit<TargetKpi, 'goalSource'> {
  target: string;
  /** The compared term's pct over the same scope, null without one. */
  previousPct: number | null;
  /** pct − previousPct in percentage points (0.1), null when either is missing. */
  changePts: number | null;
}

export interface Summary {
  /** null: the sum of several districts (judged against the city's goals). */
  district: string | null;
  /** Set when the scope is one education group. */
  group: string | null;
  schools: number;
  kpis: KpiLine[];
}

export interface UnmetTarget {
  target: string;
  state: Exclude<ComplianceState, 'met'>;
  value: number | null;
  goal: number | null;
  reason: string;
}

export interface RankedSchool {
  rank: number;
  id: string;
  name: string;
  district: string | null;
  group: string | null;
  area: 'urban' | 'rural' | null;
  /** Targets not shown met: not met + unmonitored (the console's overview ranks by the same). */
  gap: number;
  met: number;
  notMet: number;
  noData: number;
  /** The targets not met and not monitored, in the plan's order, with value, goal and reason. */
  unmet: UnmetTarget[];
  /** Over the term: availability in teaching hours (%) and the speed tests' medians (Mbit/s). */
  term: { availabilityPct: number | null; downMbps: number | null; upMbps: number | null };
}

export type Direction = 'declined' | 'improved' | 'other';

export interface Change {
  id: string;
  name: string;
  district: string | null;
  group: string | null;
  target: string;
  from: ComplianceState;
  to: ComplianceState;
  /** declined: was met, is not; improved: was not, is met; other: between not met and unmonitored. */
  direction: Direction;
  fromValue: number | null;
  toValue: number | null;
}

export interface AreaGap {
  /** null: over several districts. */
  district: string | null;
  target: string;
  urbanSchools: number;
  urbanPct: number | null;
  ruralSchools: number;
  ruralPct: number | null;
  /** urbanPct − ruralPct in points (0.1): the 数字差距; null without urban or rural schools. */
  gapPts: number | null;
}

export type Grade = 'A' | 'B' | 'C' | 'D';

export interface GroupGrade {
  district: string | null;
  group: string;
  schools: number;
  /** pct per target (the group's KPI). */
  pct: Record<string, number | null>;
  /** 0–100 (0.1): see `groupScore`. */
  score: number;
  grade: Grade;
  previousScore: number | null;
  previousGrade: Grade | null;
  changePts: number | null;
}

export interface SecurityRow {
  id: string;
  name: string;
  district: string | null;
  group: string | null;
  critical: number;
  high: number;
  medium: number;
  low: number;
  info: number;
  /** Days the oldest open finding has been open. */
  oldestDays: number;
  overdue: number;
  accepted: number;
  findings: SnapshotFinding[];
}

export interface AppliedTarget extends SnapshotTarget {
  district: string | null;
  /** What a school had to show, in words (from the targets as they applied). */
  criterion: { zh: string; en: string };
}

export interface TermReport {
  term: string;
  compare: string | null;
  /** What the report covers. */
  scope: { district: string | null; group: string | null; level: 'city' | 'district' | 'group' | 'school' };
  generatedAt: string;
  /** The time zone dates are shown in: its schools' (the first school's; Asia/Shanghai without one). */
  timezone: string;
  /** The snapshots it is built from (the term's), with their periods. */
  snapshots: {
    district: string | null;
    from: string;
    to: string;
    takenAt: string;
    takenBy: string;
    trigger: string;
  }[];
  /** Districts in scope without a snapshot of the compared term (their changes are not shown). */
  missingCompare: (string | null)[];
  targets: { name: string; label: { zh: string; en: string } }[];
  /** One per district, and the sum of them first when there are several. */
  summaries: Summary[];
  ranking: RankedSchool[];
  changes: Change[];
  areaGaps: AreaGap[];
  groups: GroupGrade[];
  security: SecurityRow[];
  applied: AppliedTarget[];
}
