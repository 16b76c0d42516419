import type { ProbeResult, SecurityResult } from '../../../protocol/report.js';
import type { ProtectionLevel, School } from '../../../protocol/school.js';
import { type BaselineConfig, protectionLevelOf, SEVERITY_RANK, type Severity } from '../baseline.js';
import type { TargetsConfig } from '../targets.js';
import type { Verdict } from './targets/target.js';
import { localTime } from './teaching-hours.js';

export type FindingState = 'open' | 'resolved' | 'accepted';

/** A security finding's lifecycle record (open → resolved; accepted while an exception holds). */
export interface FindingRecord {
  schoolId: string;
  rule: string;
  target: string;
  /** 0 when the rule has no port. */
  port: number;
  severity: Severity;
  /** The GB/T 22239-2019 clause the finding cites: the one of the school's protection level. */
  mlps: string;
  /**
   * The school's protection level when the finding was last seen, which chose `mlps`. Absent on findings
   * stored before levels existed (they cite chapter 8, level 3).
   */
  protectionLevel?: ProtectionLevel;
  state: FindingState;
  evidence: string;
  value: number | null;
  firstSeen: string;
  lastSeen: string;
  count: number;
  resolvedAt: string | null;
  acceptedUntil: string | null;
  acceptedReason: string | null;
}

export const findingKey = (f: { rule: string; target: string; port?: number }) =>
  `${f.rule}|${f.target}|${f.port ?? 0}`;

/**
 * The findings this report changes (pure). A present problem opens (or re-opens) its finding, or marks
 * it accepted while a matching, unexpired exception of config/baseline.yaml holds, citing the clause of
 * the school's protection level; a passing check resolves an open or accepted one (which keeps the clause
 * it was open under). Checks that could not run (outcome ≠ ok) change nothing; disabled or unknown rules
 * are ignored.
 */
export function nextFindings(
  previous: ReadonlyMap<string, FindingRecord>,
  results: readonly ProbeResult[],
  baseline: BaselineConfig,
  school: School,
): FindingRecord[] {
  const changed = new Map<string, FindingRecord>();
  const level = protectionLevelOf(school, baseline);
  for (const r of results) {
    if (r.probe !== 'security' || r.outcome !== 'ok') continue;
    const rule = baseline.rules[r.rule];
    if (!rule || rule.enabled === false) continue;
    const key = findingKey(r);
    const prev = changed.get(key) ?? previous.get(key);
    if (r.finding) {
      const exception = activeException(baseline, school, r);
      changed.set(key, {
        schoolId: school.id,
        rule: r.rule,
        target: r.target,
        port: r.port ?? 0,
        severity: rule.severity,
        mlps: rule.mlps[level],
        protectionLevel: level,
        state: exception ? 'accepted' : 'open',
        evidence: r.evidence,
        value: r.value ?? null,
        firstSeen: prev?.firstSeen ?? r.at,
        lastSeen: r.at,
        count: (prev?.count ?? 0) + 1,
        resolvedAt: null,
        acceptedUntil: exception?.expires ?? null,
        acceptedReason: exception?.reason ?? null,
      });
    } else if (prev && prev.state !== 'resolved') {
      changed.set(key, {
        ...prev,
        state: 'resolved',
        resolvedAt: r.at,
        lastSeen: r.at,
        evidence: r.evidence,
      });
    }
  }
  return [...changed.values()];
}

/**
 * The previous records of findings that `changed` re-opens under another clause (the school's protection
 * level or the baseline's wording changed), marked resolved at that time: written as time-series points
 * they close the series of the old clause (`mlps` is a tag), which would otherwise stay open for ever
 * next to the new one. Pure; `previous` as before `changed` was applied.
 */
export function supersededClauses(
  previous: ReadonlyMap<string, FindingRecord>,
  changed: readonly FindingRecord[],
): FindingRecord[] {
  return changed.flatMap((f) => {
    const prev = previous.get(findingKey(f));
    if (!prev || prev.state === 'resolved' || prev.mlps === f.mlps) return [];
    return [
      {
        ...prev,
        state: 'resolved' as const,
        resolvedAt: f.lastSeen,
        lastSeen: f.lastSeen,
        acceptedUntil: null,
      },
    ];
  });
}

function activeException(baseline: BaselineConfig, school: School, r: SecurityResult) {
  const day = localTime(new Date(r.at), school.timezone).date;
  return baseline.exceptions.find(
    (e) =>
      e.rule === r.rule &&
      e.school === school.id &&
      (e.target === undefined || e.target === r.target) &&
      (e.port === undefined || e.port === r.port) &&
      day <= e.expires,
  );
}

/** An accepted risk whose date has passed counts as open again, also between scans. */
export function effectiveState(f: FindingRecord, now: Date, timeZone: string): FindingState {
  if (f.state === 'accepted' && f.acceptedUntil !== null && localTime(now, timeZone).date > f.acceptedUntil)
    return 'open';
  return f.state;
}

/** Security target (DESIGN §5): no open finding above the allowed severity (default: no critical/high). */
export function evaluateSecurity(
  findings: readonly FindingRecord[],
  latest: readonly ProbeResult[],
  targets: TargetsConfig,
  now: Date,
  timeZone: string,
): Verdict {
  const allowed =
    targets.security.maxOpenSeverity === 'none' ? -1 : SEVERITY_RANK[targets.security.maxOpenSeverity];
  const scanned = latest.some((r) => r.probe === 'security');
  if (!scanned && findings.length === 0) {
    return {
      target: 'security',
      state: 'no_data',
      value: null,
      goal: 0,
      reason: 'no security baseline scan reported yet',
    };
  }
  const open = findings.filter((f) => effectiveState(f, now, timeZone) === 'open');
  const serious = open
    .filter((f) => SEVERITY_RANK[f.severity] > allowed)
    .sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity]);
  const describe = (f: FindingRecord) =>
    `${f.severity} ${f.rule} on ${f.target}${f.port ? `:${f.port}` : ''}`;
  if (serious.length === 0) {
    return {
      target: 'security',
      state: 'met',
      value: 0,
      goal: 0,
      reason:
        open.length > 0
          ? `no serious open finding (${open.length} lower: ${open.map(describe).join(', ')})`
          : 'no open finding',
    };
  }
  return {
    target: 'security',
    state: 'not_met',
    value: serious.length,
    goal: 0,
    reason: `${serious.length} open finding(s) above ${targets.security.maxOpenSeverity}: ${serious.slice(0, 10).map(describe).join(', ')}`,
  };
}
