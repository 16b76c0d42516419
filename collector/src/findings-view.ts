/**
 * Security findings as people read them, for a caller's scope and filters: one model for GET
 * /api/v1/findings and the console's findings page, so both show one set of figures. Also what changed
 * in the last 24 hours, and the checks of a risk acceptance's input.
 */
import type { Scope } from './access/model.js';
import { covers } from './access/model.js';
import { SEVERITY_RANK, type Severity } from './baseline.js';
import type { CollectorContext } from './context.js';
import { dayEnd, effectiveState, type FindingRecord, type FindingState } from './evaluate/findings.js';
import { localTime } from './evaluate/teaching-hours.js';
import type { SchoolRecord } from './store/state-store.js';

export const SEVERITIES = [
  'critical',
  'high',
  'medium',
  'low',
  'info',
] as const satisfies readonly Severity[];
export const FINDING_STATES = ['open', 'accepted', 'resolved'] as const satisfies readonly FindingState[];

export interface FindingsFilter {
  school?: string | undefined;
  district?: string | undefined;
  rule?: string | undefined;
  severity?: Severity | undefined;
  state?: FindingState | undefined;
}

/** A finding with its state as of now (an acceptance past its date is open) and what explains it. */
export type FindingView = FindingRecord & {
  schoolName: string | null;
  district: string | null;
  /** The school's time zone: its days (acceptedUntil) and the times shown are local to it. */
  timezone: string;
  title: { zh: string; en: string } | null;
  remediation: string | null;
};

/** Something that happened to a finding in the window: opened, re-opened, resolved, accepted, or its acceptance ended. */
export interface FindingChange {
  kind: 'opened' | 'reopened' | 'resolved' | 'accepted' | 'expired';
  at: string;
  finding: FindingView;
}

export interface FindingsList {
  /** Most severe first, then longest open (oldest first seen), then school, rule, target, port. */
  findings: FindingView[];
  /** Per severity, the findings of every filter but the severity (what choosing a severity would show). */
  counts: Record<Severity, number>;
  /**
   * What changed in the 24 hours before now, newest first, under every filter but the state. Read from each
   * finding's record, which keeps its last transitions (first seen, last re-opened, resolved, accepted, and
   * the date its acceptance ends), not a full history: an earlier transition of the same kind in the window,
   * or a resolution followed by a re-opening, shows as the last one only; an exception of
   * config/baseline.yaml has no time of acceptance (it shows when its date ends).
   */
  changes: FindingChange[];
  /** The filter values the scope offers. */
  options: { districts: string[]; rules: string[] };
}

export const CHANGES_WINDOW_MS = 86_400_000;

const zh = new Intl.Collator('zh-CN');

/** The findings of the caller's scope (archived schools keep their history) under a filter. */
export async function listFindings(
  ctx: Pick<CollectorContext, 'state' | 'baseline'>,
  scope: Scope,
  filter: FindingsFilter,
  now: Date,
): Promise<FindingsList> {
  const schools = new Map<string, SchoolRecord>(
    (await ctx.state.listSchools({ includeArchived: true }))
      .filter((s) => covers(scope, s))
      .map((s) => [s.id, s]),
  );
  const all = (await ctx.state.findings(filter.school))
    .filter((f) => schools.has(f.schoolId))
    .map((f): FindingView => {
      const school = schools.get(f.schoolId)!;
      const rule = ctx.baseline.rules[f.rule];
      const timezone = school.timezone ?? 'Asia/Shanghai';
      return {
        ...f,
        state: effectiveState(f, now, timezone),
        schoolName: school.name,
        district: school.district ?? null,
        timezone,
        title: rule ? { zh: rule.title.zh, en: rule.title.en } : null,
        remediation: rule?.remediation ?? null,
      };
    });
  const options = {
    districts: [...new Set([...schools.values()].flatMap((s) => (s.district ? [s.district] : [])))].sort(
      zh.compare,
    ),
    rules: [...new Set([...Object.keys(ctx.baseline.rules), ...all.map((f) => f.rule)])].sort(),
  };
  const placed = all.filter(
    (f) =>
      (filter.district === undefined || f.district === filter.district) &&
      (filter.rule === undefined || f.rule === filter.rule),
  );
  const counts: Record<Severity, number> = { critical: 0, high: 0, medium: 0, low: 0, info: 0 };
  for (const f of placed) if (filter.state === undefined || f.state === filter.state) counts[f.severity]++;
  const findings = placed
    .filter(
      (f) =>
        (filter.severity === undefined || f.severity === filter.severity) &&
        (filter.state === undefined || f.state === filter.state),
    )
    .sort(bySeverityThenAge);
  const changes = findingChanges(
    placed.filter((f) => filter.severity === undefined || f.severity === filter.severity),
    now,
  );
  return { findings, counts, changes, options };
}

function bySeverityThenAge(a: FindingView, b: FindingView): number {
  return (
    SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] ||
    cmp(a.firstSeen, b.firstSeen) ||
    cmp(a.schoolId, b.schoolId) ||
    cmp(a.rule, b.rule) ||
    cmp(a.target, b.target) ||
    a.port - b.port
  );
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The transitions of these findings in the 24 hours before `now` (pure), newest first. */
export function findingChanges(findings: readonly FindingView[], now: Date): FindingChange[] {
  const from = now.getTime() - CHANGES_WINDOW_MS;
  const inWindow = (iso: string | null | undefined): iso is string => {
    if (!iso) return false;
    const t = Date.parse(iso);
    return t > from && t <= now.getTime();
  };
  const out: FindingChange[] = [];
  for (const f of findings) {
    if (inWindow(f.firstSeen)) out.push({ kind: 'opened', at: f.firstSeen, finding: f });
    if (inWindow(f.reopenedAt)) out.push({ kind: 'reopened', at: f.reopenedAt, finding: f });
    if (f.state === 'resolved' && inWindow(f.resolvedAt))
      out.push({ kind: 'resolved', at: f.resolvedAt, finding: f });
    if (inWindow(f.acceptedAt)) out.push({ kind: 'accepted', at: f.acceptedAt, finding: f });
    if (f.state !== 'resolved' && f.acceptedUntil !== null) {
      const end = dayEnd(f.acceptedUntil, f.timezone);
      if (inWindow(end)) out.push({ kind: 'expired', at: end, finding: f });
    }
  }
  return out.sort((a, b) => cmp(b.at, a.at) || cmp(a.finding.schoolId, b.finding.schoolId));
}

/** The longest a risk may be accepted, in days from today. */
export const MAX_ACCEPT_DAYS = 365;

/** The day `days` after a YYYY-MM-DD day. */
export function addDays(day: string, days: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + days * 86_400_000).toISOString().slice(0, 10);
}

/**
 * What is wrong with an acceptance's `until` (a local day, YYYY-MM-DD) at `now` in the school's time
 * zone: it must be a real date after today and at most MAX_ACCEPT_DAYS days ahead. Undefined when fine.
 */
export function untilProblem(until: string, now: Date, timeZone: string): string | undefined {
  const t = Date.parse(`${until}T00:00:00Z`);
  // (Date.parse rolls 2026-02-30 over to 2 March: a real date reads back as itself)
  if (
    !/^\d{4}-\d{2}-\d{2}$/.test(until) ||
    Number.isNaN(t) ||
    new Date(t).toISOString().slice(0, 10) !== until
  )
    return `${JSON.stringify(until)} is not a date (YYYY-MM-DD)`;
  const today = localTime(now, timeZone).date;
  const last = addDays(today, MAX_ACCEPT_DAYS);
  if (until <= today) return `must be after today (${today}, ${timeZone})`;
  if (until > last) return `at most ${MAX_ACCEPT_DAYS} days ahead (${last})`;
  return undefined;
}
