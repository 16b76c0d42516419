/**
 * The term report (督导通报, issue 26 item 3) as data: built from the term's snapshots (and the compared
 * term's) over a scope, pure. The renderers (xlsx.ts, pdf.ts, csv.ts, JSON as it is) only lay it out.
 *
 * Every KPI is counted from the snapshot's school states the way evaluate/district.ts counts them for
 * GET /api/v1/compliance (every school in the denominator, unmonitored counted apart, pct to 0.1), against
 * the goals frozen in the snapshot: a district's own, the city's for a sum over several districts.
 */
import { covers, type Scope } from '../access/model.js';
import { criterionOf } from './criteria.js';
import type {
  AreaGap,
  Change,
  Direction,
  Grade,
  GroupGrade,
  KpiLine,
  RankedSchool,
  ReportFilter,
  SecurityRow,
  Summary,
  TermReport,
  UnmetTarget,
} from './report-types.js';
import type { SnapshotFinding, SnapshotRow, SnapshotSchool, TermSnapshot } from './snapshot.js';

/** Schools' names compare as the console's overview compares them (its ranking's last tie-break). */
const zh = new Intl.Collator('zh-CN');
/** Districts and groups: 第2区 before 第10区. */
const zhNumeric = new Intl.Collator('zh-CN', { numeric: true });

/** The report's shape, for the callers that build it. */
export type * from './report-types.js';

/** A report asked for a term no snapshot in scope has. */
export class NoSnapshotError extends Error {
  override readonly name = 'NoSnapshotError';
}

const pctOf = (met: number, n: number) => (n > 0 ? Math.round((met / n) * 1000) / 10 : null);
const pts = (a: number | null, b: number | null) =>
  a === null || b === null ? null : Math.round((a - b) * 10) / 10;

/** One target's KPI over some schools, counted as evaluate/district.ts counts it. */
function kpiOf(
  schools: readonly SnapshotSchool[],
  index: number,
  target: string,
  goalPct: number | null,
): Omit<KpiLine, 'previousPct' | 'changePts'> {
  let met = 0;
  let notMet = 0;
  let noData = 0;
  for (const s of schools) {
    const st = s.compliance[index]?.state ?? 'no_data';
    if (st === 'met') met++;
    else if (st === 'not_met') notMet++;
    else noData++;
  }
  const pct = pctOf(met, schools.length);
  return {
    target,
    schools: schools.length,
    met,
    notMet,
    noData,
    pct,
    goalPct,
    goalMet: pct === null || goalPct === null ? null : pct >= goalPct,
  };
}

/**
 * A group's score: the mean over every target of the share of its goal reached, capped at 100%
 * (min(pct ÷ goal, 1); a target without a district goal is held to 100%, a goal of 0 is reached), × 100.
 * Grades: A ≥ 90, B ≥ 75, C ≥ 60, D below. A group meeting every goal scores 100.
 */
export function groupScore(kpis: readonly { pct: number | null; goalPct: number | null }[]): number {
  const parts = kpis
    .filter((k) => k.pct !== null)
    .map((k) => {
      const goal = k.goalPct ?? 100;
      return goal <= 0 ? 1 : Math.min(1, k.pct! / goal);
    });
  if (parts.length === 0) return 0;
  return Math.round((parts.reduce((a, b) => a + b, 0) / parts.length) * 1000) / 10;
}

export function gradeOf(score: number): Grade {
  return score >= 90 ? 'A' : score >= 75 ? 'B' : score >= 60 ? 'C' : 'D';
}

function inScope(scope: Scope, filter: ReportFilter) {
  return (s: SnapshotSchool) =>
    covers(scope, {
      id: s.id,
      ...(s.district ? { district: s.district } : {}),
      ...(s.group ? { group: s.group } : {}),
    }) &&
    (filter.district === undefined || s.district === filter.district) &&
    (filter.group === undefined || s.group === filter.group);
}

/** The goals of a district's snapshot per target (the district's own where set). */
const goalsOf = (snap: TermSnapshot) => new Map(snap.targets.map((t) => [t.name, t.goalPct]));

const byName = (a: { name: string }, b: { name: string }) => zhNumeric.compare(a.name, b.name);
const districtOrder = (a: string | null, b: string | null) => zhNumeric.compare(a ?? '', b ?? '');

/** The term report over a scope (and filter) from the snapshots of the term and of the compared one. */
export function buildTermReport(args: {
  term: string;
  snapshots: readonly TermSnapshot[];
  compare?: { term: string; snapshots: readonly TermSnapshot[] } | undefined;
  scope: Scope;
  filter?: ReportFilter;
  generatedAt: Date;
}): TermReport {
  const filter = args.filter ?? {};
  const keep = inScope(args.scope, filter);
  // districts in scope: those with at least one school in scope
  const current = args.snapshots
    .map((snap) => ({ snap, schools: snap.schools.filter(keep) }))
    .filter((x) => x.schools.length > 0)
    .sort((a, b) => districtOrder(a.snap.district, b.snap.district));
  if (current.length === 0)
    throw new NoSnapshotError(
      `no snapshot of the term ${JSON.stringify(args.term)} covers a school in this scope (take one with 'campuswatch-collector snapshot take --term NAME')`,
    );
  const previousOf = new Map(
    (args.compare?.snapshots ?? []).map((snap) => [snap.district ?? '', snap.schools.filter(keep)] as const),
  );
  const names = current[0]!.snap.targets.map((t) => t.name);
  const targets = current[0]!.snap.targets.map((t) => ({ name: t.name, label: t.label }));
  const groupScope = args.scope.level === 'group' || filter.group !== undefined;
  const groupName = args.scope.level === 'group' ? (args.scope.group ?? null) : (filter.group ?? null);

  // ---- part 1: summary per district (and their sum)
  const summaryOf = (
    district: string | null,
    schools: readonly SnapshotSchool[],
    previous: readonly SnapshotSchool[] | undefined,
    goals: (target: string) => number | null,
  ): Summary => ({
    district,
    group: groupScope ? groupName : null,
    schools: schools.length,
    kpis: names.map((t, i) => {
      const k = kpiOf(schools, i, t, goals(t));
      const previousPct = previous && previous.length > 0 ? kpiOf(previous, i, t, null).pct : null;
      return { ...k, previousPct, changePts: pts(k.pct, previousPct) };
    }),
  });
  const perDistrict = current.map(({ snap, schools }) => {
    const goals = goalsOf(snap);
    return summaryOf(
      snap.district,
      schools,
      previousOf.get(snap.district ?? ''),
      (t) => goals.get(t) ?? null,
    );
  });
  const summaries =
    perDistrict.length > 1
      ? [
          summaryOf(
            null,
            current.flatMap((c) => c.schools),
            args.compare ? current.flatMap((c) => previousOf.get(c.snap.district ?? '') ?? []) : undefined,
            (t) => current[0]!.snap.targets.find((x) => x.name === t)?.cityGoalPct ?? null,
          ),
          ...perDistrict,
        ]
      : perDistrict;

  // ---- part 2: every school by gap, worst first
  const all = current.flatMap((c) => c.schools);
  const ranking: RankedSchool[] = all
    .map((s) => {
      const unmet: UnmetTarget[] = [];
      let met = 0;
      let notMet = 0;
      let noData = 0;
      for (const r of s.compliance) {
        if (r.state === 'met') met++;
        else {
          if (r.state === 'not_met') notMet++;
          else noData++;
          unmet.push({ target: r.target, state: r.state, value: r.value, goal: r.goal, reason: r.reason });
        }
      }
      return {
        rank: 0,
        id: s.id,
        name: s.name,
        district: s.district,
        group: s.group,
        area: s.area,
        gap: notMet + noData,
        met,
        notMet,
        noData,
        unmet,
        term: {
          availabilityPct: s.term.availability.pct,
          downMbps: s.term.uplink.down.medianMbps,
          upMbps: s.term.uplink.up.medianMbps,
        },
      };
    })
    .sort((a, b) => b.gap - a.gap || b.notMet - a.notMet || zh.compare(a.name, b.name));
  ranking.forEach((r, i) => {
    r.rank = i + 1;
  });

  // ---- part 3: changes since the compared term (schools in both)
  const changes: Change[] = [];
  if (args.compare) {
    for (const { snap, schools } of current) {
      const before = new Map((previousOf.get(snap.district ?? '') ?? []).map((s) => [s.id, s]));
      for (const s of schools) {
        const p = before.get(s.id);
        if (!p) continue;
        const prevRows = new Map<string, SnapshotRow>(p.compliance.map((r) => [r.target, r]));
        for (const r of s.compliance) {
          const q = prevRows.get(r.target);
          if (!q || q.state === r.state) continue;
          changes.push({
            id: s.id,
            name: s.name,
            district: s.district,
            group: s.group,
            target: r.target,
            from: q.state,
            to: r.state,
            direction: q.state === 'met' ? 'declined' : r.state === 'met' ? 'improved' : 'other',
            fromValue: q.value,
            toValue: r.value,
          });
        }
      }
    }
    const order: Record<Direction, number> = { declined: 0, improved: 1, other: 2 };
    changes.sort(
      (a, b) =>
        order[a.direction] - order[b.direction] ||
        zhNumeric.compare(a.name, b.name) ||
        names.indexOf(a.target) - names.indexOf(b.target),
    );
  }

  // ---- part 4: urban vs rural per target, per district (and over all of them)
  const gapsOf = (district: string | null, schools: readonly SnapshotSchool[]): AreaGap[] => {
    const urban = schools.filter((s) => s.area === 'urban');
    const rural = schools.filter((s) => s.area === 'rural');
    return names.map((t, i) => {
      const u = kpiOf(urban, i, t, null).pct;
      const r = kpiOf(rural, i, t, null).pct;
      return {
        district,
        target: t,
        urbanSchools: urban.length,
        urbanPct: u,
        ruralSchools: rural.length,
        ruralPct: r,
        gapPts: pts(u, r),
      };
    });
  };
  const areaGaps = [
    ...(current.length > 1 ? gapsOf(null, all) : []),
    ...current.flatMap(({ snap, schools }) => gapsOf(snap.district, schools)),
  ];

  // ---- part 4b: education groups, scored and graded
  const groups: GroupGrade[] = [];
  for (const { snap, schools } of current) {
    const goals = goalsOf(snap);
    const byGroup = new Map<string, SnapshotSchool[]>();
    for (const s of schools) if (s.group) byGroup.set(s.group, [...(byGroup.get(s.group) ?? []), s]);
    const previous = previousOf.get(snap.district ?? '');
    for (const [group, members] of [...byGroup.entries()].sort(([a], [b]) => zhNumeric.compare(a, b))) {
      const kpis = names.map((t, i) => kpiOf(members, i, t, goals.get(t) ?? null));
      const score = groupScore(kpis);
      const before = previous?.filter((s) => s.group === group) ?? [];
      const previousScore =
        before.length > 0 ? groupScore(names.map((t, i) => kpiOf(before, i, t, goals.get(t) ?? null))) : null;
      groups.push({
        district: snap.district,
        group,
        schools: members.length,
        pct: Object.fromEntries(kpis.map((k) => [k.target, k.pct])),
        score,
        grade: gradeOf(score),
        previousScore,
        previousGrade: previousScore === null ? null : gradeOf(previousScore),
        changePts: pts(score, previousScore),
      });
    }
  }

  // ---- part 5: security
  const security: SecurityRow[] = all
    .filter((s) => s.openFindings.length > 0 || s.acceptedFindings > 0)
    .map((s) => {
      const count = (sev: SnapshotFinding['severity']) =>
        s.openFindings.filter((f) => f.severity === sev).length;
      return {
        id: s.id,
        name: s.name,
        district: s.district,
        group: s.group,
        critical: count('critical'),
        high: count('high'),
        medium: count('medium'),
        low: count('low'),
        info: count('info'),
        oldestDays: s.openFindings.reduce((m, f) => Math.max(m, f.daysOpen), 0),
        overdue: s.openFindings.filter((f) => f.overdue).length,
        accepted: s.acceptedFindings,
        findings: s.openFindings,
      };
    })
    .sort(
      (a, b) =>
        b.critical - a.critical ||
        b.high - a.high ||
        b.overdue - a.overdue ||
        b.medium - a.medium ||
        byName(a, b),
    );

  const missingCompare = args.compare
    ? current.filter((c) => !previousOf.has(c.snap.district ?? '')).map((c) => c.snap.district)
    : [];
  const level = groupScope
    ? 'group'
    : args.scope.level === 'school'
      ? 'school'
      : current.length > 1
        ? 'city'
        : 'district';
  return {
    term: args.term,
    compare: args.compare?.term ?? null,
    scope: {
      level,
      district: current.length === 1 ? current[0]!.snap.district : null,
      group: groupScope ? groupName : null,
    },
    generatedAt: args.generatedAt.toISOString(),
    timezone: current[0]!.schools[0]?.timezone ?? 'Asia/Shanghai',
    snapshots: current.map(({ snap }) => ({
      district: snap.district,
      from: snap.from,
      to: snap.to,
      takenAt: snap.takenAt,
      takenBy: snap.takenBy,
      trigger: snap.trigger,
    })),
    missingCompare,
    targets,
    summaries,
    ranking,
    changes,
    areaGaps,
    groups,
    security,
    applied: current.flatMap(({ snap }) =>
      snap.targets.map((t) => ({
        ...t,
        district: snap.district,
        criterion: {
          zh: criterionOf(t.name, snap.applied, 'zh'),
          en: criterionOf(t.name, snap.applied, 'en'),
        },
      })),
    ),
  };
}
