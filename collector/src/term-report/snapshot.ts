/**
 * A term snapshot (issue 26 item 2): at the end of a term, every school of a district with its compliance,
 * its figures over the term and its open findings, the district's KPIs and the targets that applied,
 * frozen into the state store once (store/term-snapshots.ts).
 *
 * What is the state at the snapshot and what is aggregated over the term:
 * - at the snapshot (`takenAt`, the term's end when the collector takes it itself): every school's
 *   compliance row per target (state, value, goal, reason, `since` = when that state began), the KPIs
 *   computed from those states (the same figures as GET /api/v1/compliance at that moment), the open
 *   and accepted findings and how long each has been open;
 * - over the term (its first to its last day, school-local): device availability in teaching hours (the
 *   store keeps each school's teaching-hours samples summed per day, for good), the median download and
 *   upload of the speed tests taken in the term (of the last 100 per direction the store keeps: a nightly
 *   test fills ~100 days, a term is ~140, so a long term's first weeks may be missing: `tests` says how
 *   many were counted), and the findings first seen and resolved in the term.
 * The store keeps no history of compliance states, so a target's term verdict exists only for those two
 * figures (availability and uplink); the others are the state at the end.
 */

import type { BandwidthResult } from '../../../protocol/report.js';
import type { School } from '../../../protocol/school.js';
import type { BaselineConfig, Severity } from '../baseline.js';
import { evaluateCompliance, noEvidence, TARGETS, tierOf } from '../evaluate/compliance.js';
import { aggregateStates, districtGoals, type KpiGroup, statesOf } from '../evaluate/district.js';
import { effectiveState, type FindingRecord } from '../evaluate/findings.js';
import type { ComplianceRow, ComplianceState } from '../evaluate/targets/target.js';
import { localTime } from '../evaluate/teaching-hours.js';
import { schoolCard } from '../school-card.js';
import type { AgentRecord, StateStore } from '../store/state.js';
import { type TargetsConfig, type Term, targetsFor, termOf, termsOf } from '../targets.js';
import {
  SNAPSHOT_VERSION,
  type SnapshotFinding,
  type SnapshotRow,
  type SnapshotSchool,
  type TermFigures,
  type TermSnapshot,
} from './snapshot-model.js';

export {
  SNAPSHOT_VERSION,
  type SnapshotFinding,
  type SnapshotRow,
  type SnapshotSchool,
  type SnapshotTarget,
  type TermFigures,
  type TermSnapshot,
} from './snapshot-model.js';

export type SnapshotContext = {
  state: StateStore;
  targets: TargetsConfig;
  baseline: BaselineConfig;
};

const DAY_MS = 86_400_000;
const SEVERITY_ORDER: Record<Severity, number> = { critical: 0, high: 1, medium: 2, low: 3, info: 4 };

/** The day after a YYYY-MM-DD day. */
export function dayAfter(day: string): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + DAY_MS).toISOString().slice(0, 10);
}

function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  const v = s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
  return Math.round(v * 100) / 100;
}

const within = (day: string, term: Term) => day >= term.from && day <= term.to;

/** A district's KPIs over some of its schools (a group with no school has every count 0 and no pct). */
function districtKpis(
  rows: readonly { school: School; states: ReturnType<typeof statesOf> }[],
  targets: TargetsConfig,
  district: string | null,
): KpiGroup {
  const found = aggregateStates(rows, targets).districts[0];
  if (found) return found;
  const goals = districtGoals(targets, district);
  return {
    district,
    group: null,
    schools: 0,
    targets: Object.fromEntries(
      TARGETS.map((t) => [
        t.name,
        {
          schools: 0,
          met: 0,
          notMet: 0,
          noData: 0,
          pct: null,
          goalPct: goals[t.name]!.pct,
          goalSource: goals[t.name]!.source,
          goalMet: null,
        },
      ]),
    ),
  };
}

/** A school's rows per target: as stored, or evaluated without evidence before any (as GET /api/v1/compliance counts it). */
function rowsOf(
  stored: readonly ComplianceRow[],
  school: School,
  agents: readonly AgentRecord[],
  targets: TargetsConfig,
  now: Date,
): SnapshotRow[] {
  const rows = stored.length > 0 ? stored : evaluateCompliance(noEvidence(school, agents), targets, now);
  return TARGETS.map((t) => {
    const r = rows.find((x) => x.target === t.name);
    if (!r)
      return {
        target: t.name,
        state: 'no_data',
        value: null,
        goal: null,
        reason: 'not evaluated yet',
        evidenceAt: null,
        since: null,
      };
    return {
      target: r.target,
      state: r.state,
      value: r.value,
      goal: r.goal,
      reason: r.reason,
      evidenceAt: r.evidenceAt,
      since: r.since ?? null,
    };
  });
}

async function termFigures(
  state: StateStore,
  school: School,
  applied: TargetsConfig,
  term: Term,
  findings: readonly FindingRecord[],
): Promise<TermFigures> {
  const [since, after, history] = await Promise.all([
    state.availability(school.id, term.from),
    state.availability(school.id, dayAfter(term.to)),
    state.history(school.id, 'bandwidth'),
  ]);
  const up = since.up - after.up;
  const total = since.total - after.total;
  const minPct = applied.deviceAvailability.minPct;
  const pct = total > 0 ? Math.round((up / total) * 10_000) / 100 : null;
  const localDay = (at: string) => localTime(new Date(at), school.timezone).date;
  const tests = history.filter(
    (t): t is BandwidthResult =>
      t.probe === 'bandwidth' && t.outcome === 'ok' && within(localDay(t.at), term),
  );
  const goalMbps = applied.uplink.tiers[tierOf(school, applied)].mbps;
  const thresholdMbps = Math.round(goalMbps * applied.uplink.tolerance * 100) / 100;
  const direction = (d: 'down' | 'up') => {
    const xs = tests.filter((t) => t.direction === d).map((t) => t.mbps);
    return { tests: xs.length, medianMbps: median(xs) };
  };
  const down = direction('down');
  const upload = direction('up');
  const medians = [down.medianMbps, upload.medianMbps];
  const uplinkState: ComplianceState = medians.some((m) => m !== null && m < thresholdMbps)
    ? 'not_met'
    : medians.every((m) => m !== null)
      ? 'met'
      : 'no_data';
  return {
    availability: {
      up,
      total,
      pct,
      minPct,
      state: pct === null ? 'no_data' : pct >= minPct ? 'met' : 'not_met',
    },
    uplink: { down, up: upload, goalMbps, thresholdMbps, state: uplinkState },
    findings: {
      opened: findings.filter((f) => within(localDay(f.firstSeen), term)).length,
      resolved: findings.filter((f) => f.resolvedAt !== null && within(localDay(f.resolvedAt), term)).length,
    },
  };
}

/** A district's snapshot of a term at `now` (reads the store; writes nothing). */
export async function buildSnapshot(
  ctx: SnapshotContext,
  term: Term,
  district: string | null,
  now: Date,
  by: { takenBy: string; trigger: TermSnapshot['trigger'] },
): Promise<TermSnapshot> {
  const applied = targetsFor(ctx.targets, district);
  const [schools, agents, findings] = await Promise.all([
    ctx.state.listSchools(),
    ctx.state.listAgents(),
    ctx.state.findings(),
  ]);
  const mine = schools.filter((s) => (s.district ?? null) === district);
  const agentsOf = new Map<string, AgentRecord[]>();
  for (const a of agents) agentsOf.set(a.schoolId, [...(agentsOf.get(a.schoolId) ?? []), a]);
  const findingsOf = new Map<string, FindingRecord[]>();
  for (const f of findings) findingsOf.set(f.schoolId, [...(findingsOf.get(f.schoolId) ?? []), f]);
  const due = applied.security.remediationDays;
  const out: SnapshotSchool[] = [];
  for (const school of mine) {
    const own = findingsOf.get(school.id) ?? [];
    const [stored, term_] = await Promise.all([
      ctx.state.compliance(school.id),
      termFigures(ctx.state, school, applied, term, own),
    ]);
    const open: SnapshotFinding[] = [];
    let accepted = 0;
    for (const f of own) {
      const st = effectiveState(f, now, school.timezone);
      if (st === 'accepted') accepted++;
      if (st !== 'open') continue;
      const ms = now.getTime() - Date.parse(f.firstSeen);
      const dueDays = f.severity === 'info' ? null : due[f.severity];
      const rule = ctx.baseline.rules[f.rule];
      open.push({
        rule: f.rule,
        target: f.target,
        port: f.port,
        severity: f.severity,
        title: rule ? { zh: rule.title.zh, en: rule.title.en } : null,
        mlps: f.mlps,
        firstSeen: f.firstSeen,
        daysOpen: Math.max(0, Math.floor(ms / DAY_MS)),
        dueDays,
        overdue: dueDays !== null && ms > dueDays * DAY_MS,
      });
    }
    open.sort(
      (a, b) =>
        SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
        (a.firstSeen < b.firstSeen ? -1 : a.firstSeen > b.firstSeen ? 1 : 0),
    );
    out.push({
      ...schoolCard(school),
      tier: tierOf(school, applied),
      pupils: school.pupils ?? null,
      timezone: school.timezone,
      compliance: rowsOf(stored, school, agentsOf.get(school.id) ?? [], ctx.targets, now),
      term: term_,
      openFindings: open,
      acceptedFindings: accepted,
    });
  }
  const rows = mine.map((school, i) => ({ school, states: statesOf(out[i]!.compliance) }));
  const all = aggregateStates(rows, ctx.targets);
  const goals = districtGoals(ctx.targets, district);
  const cityGoals = districtGoals(ctx.targets, null);
  const { districts: _districts, ...appliedValues } = applied;
  return {
    version: SNAPSHOT_VERSION,
    term: term.name,
    district,
    from: term.from,
    to: term.to,
    takenAt: now.toISOString(),
    takenBy: by.takenBy,
    trigger: by.trigger,
    targets: TARGETS.map((t) => ({
      name: t.name,
      label: { zh: t.label.zh, en: t.label.en },
      source: t.source,
      goalPct: goals[t.name]!.pct,
      goalSource: goals[t.name]!.source,
      cityGoalPct: cityGoals[t.name]!.pct,
    })),
    applied: appliedValues,
    schools: out,
    kpis: {
      district: districtKpis(rows, ctx.targets, district),
      groups: all.groups,
      urban: districtKpis(
        rows.filter((r) => r.school.area === 'urban'),
        ctx.targets,
        district,
      ),
      rural: districtKpis(
        rows.filter((r) => r.school.area === 'rural'),
        ctx.targets,
        district,
      ),
    },
  };
}

/** A term name no calendar of the districts asked knows. */
export class UnknownTermError extends Error {
  override readonly name = 'UnknownTermError';
  constructor(
    readonly term: string,
    readonly known: readonly string[],
  ) {
    super(
      `no term ${JSON.stringify(term)} in the teaching calendar (targets.yaml deviceAvailability.teachingHours.terms)${
        known.length > 0 ? `; known terms: ${known.join(', ')}` : '; no named term is configured'
      }`,
    );
  }
}

/** Today's date where the district's schools are (their time zone; Beijing time when none is known). */
export function todayIn(schools: readonly School[], district: string | null, now: Date): string {
  const tz = schools.find((s) => (s.district ?? null) === district)?.timezone ?? 'Asia/Shanghai';
  return localTime(now, tz).date;
}

export type SnapshotOutcome =
  | {
      district: string | null;
      term: Term;
      /** `stored` by this call; `existed`: the one stored before stands (and is `snapshot`). */
      status: 'stored' | 'existed';
      snapshot: TermSnapshot;
    }
  | {
      district: string | null;
      term: Term;
      /** The term's last day has not ended in the district: a snapshot would freeze half a term. */
      status: 'not-ended';
      today: string;
    };

/**
 * Takes a term's snapshot of every district (of the active schools) whose calendar has the term, or of
 * one district: each is built and stored unless it exists (insert-or-ignore: with several collectors the
 * first one's stands), once the term's last day has ended there (school-local). Throws UnknownTermError
 * when no district asked has the term.
 */
export async function takeTermSnapshots(
  ctx: SnapshotContext,
  termName: string,
  options: {
    district?: string | null;
    now: Date;
    takenBy: string;
    trigger: TermSnapshot['trigger'];
  },
): Promise<SnapshotOutcome[]> {
  const schools = await ctx.state.listSchools();
  const districts =
    options.district !== undefined
      ? [options.district]
      : [...new Set(schools.map((s) => s.district ?? null))].sort((a, b) =>
          (a ?? '') < (b ?? '') ? -1 : (a ?? '') > (b ?? '') ? 1 : 0,
        );
  const out: SnapshotOutcome[] = [];
  for (const district of districts) {
    const term = termOf(ctx.targets, district, termName);
    if (!term) continue;
    const existing = await ctx.state.snapshots.snapshot(termName, district);
    if (existing) {
      out.push({ district, term, status: 'existed', snapshot: existing });
      continue;
    }
    const today = todayIn(schools, district, options.now);
    if (today <= term.to) {
      out.push({ district, term, status: 'not-ended', today });
      continue;
    }
    const snapshot = await buildSnapshot(ctx, term, district, options.now, options);
    const stored = await ctx.state.snapshots.saveSnapshot(snapshot);
    // a collector that lost the race reads the one that stands
    const standing = stored ? undefined : await ctx.state.snapshots.snapshot(termName, district);
    out.push({ district, term, status: stored ? 'stored' : 'existed', snapshot: standing ?? snapshot });
  }
  if (out.length === 0) {
    const known = [...new Set(districts.flatMap((d) => termsOf(ctx.targets, d).map((t) => t.name)))];
    throw new UnknownTermError(termName, known);
  }
  return out;
}

/**
 * Terms ended within `graceDays` whose snapshot of a district is missing: what the collector takes by
 * itself (an older term is taken by hand only, `snapshot take`: its state would be today's, not the
 * term's end).
 */
export async function termsDue(
  ctx: SnapshotContext,
  now: Date,
  graceDays: number,
  known: ReadonlySet<string>,
): Promise<{ term: string; district: string | null }[]> {
  const schools = await ctx.state.listSchools();
  const districts = [...new Set(schools.map((s) => s.district ?? null))];
  const due: { term: string; district: string | null }[] = [];
  for (const district of districts) {
    const today = todayIn(schools, district, now);
    const oldest = new Date(Date.parse(`${today}T00:00:00Z`) - graceDays * DAY_MS).toISOString().slice(0, 10);
    for (const t of termsOf(ctx.targets, district)) {
      if (t.to >= today || t.to < oldest) continue;
      if (known.has(snapshotKey(t.name, district))) continue;
      due.push({ term: t.name, district });
    }
  }
  return due;
}

export const snapshotKey = (term: string, district: string | null) => `${term}\u0000${district ?? ''}`;
