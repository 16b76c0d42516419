import type { ProbeResult, SecurityResult } from '../../../protocol/report.js';
import type { ProtectionLevel, School } from '../../../protocol/school.js';
import { type BaselineConfig, protectionLevelOf, SEVERITY_RANK, type Severity } from '../baseline.js';
import type { Verdict } from './compliance-row.js';
import type { TargetsConfig } from './targets/config.js';
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
  /**
   * When the finding was last re-opened (seen again after it was resolved); absent or null while it never
   * was (and on findings stored before this was kept).
   */
  reopenedAt?: string | null;
  /** The last local day (school time zone, inclusive) the risk is accepted; null when not accepted. */
  acceptedUntil: string | null;
  acceptedReason: string | null;
  /**
   * Who accepted the risk (the audit trail's name: `account:…`, `token:…`) and when, for a risk accepted
   * through the API; absent or null for an exception of config/baseline.yaml.
   */
  acceptedBy?: string | null;
  acceptedAt?: string | null;
}

/**
 * A risk accepted by a person (POST /api/v1/findings/accept): kept by the state store beside its finding,
 * never overwritten by a report, and laid over the finding whenever it is read (`withAcceptance`).
 */
export interface Acceptance {
  /** The last local day (YYYY-MM-DD, school time zone) it holds. */
  until: string;
  reason: string;
  /** The principal's name as the audit trail writes it. */
  by: string;
  /** When it was accepted (ISO). */
  at: string;
}

export const findingKey = (f: { rule: string; target: string; port?: number }) =>
  `${f.rule}|${f.target}|${f.port ?? 0}`;

/**
 * The findings this report changes (pure). A present problem opens (or re-opens) its finding, or marks
 * it accepted while a matching, unexpired exception of config/baseline.yaml or a risk accepted by a person
 * (carried by the previous record: `acceptedBy`) holds on the result's local day — the one that lasts
 * longer when both do —, citing the clause of the school's protection level; a passing check resolves an
 * open or accepted one (which keeps the clause it was open under). Checks that could not run (outcome ≠ ok)
 * change nothing; disabled or unknown rules are ignored.
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
      const day = localTime(new Date(r.at), school.timezone).date;
      const acceptance = holdingAcceptance(activeException(baseline, school, r, day), prev, day);
      changed.set(key, {
        schoolId: school.id,
        rule: r.rule,
        target: r.target,
        port: r.port ?? 0,
        severity: rule.severity,
        mlps: rule.mlps[level],
        protectionLevel: level,
        state: acceptance ? 'accepted' : 'open',
        evidence: r.evidence,
        value: r.value ?? null,
        firstSeen: prev?.firstSeen ?? r.at,
        lastSeen: r.at,
        count: (prev?.count ?? 0) + 1,
        resolvedAt: null,
        reopenedAt: prev?.state === 'resolved' ? r.at : (prev?.reopenedAt ?? null),
        acceptedUntil: acceptance?.until ?? null,
        acceptedReason: acceptance?.reason ?? null,
        acceptedBy: acceptance?.by ?? null,
        acceptedAt: acceptance?.at ?? null,
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

function activeException(baseline: BaselineConfig, school: School, r: SecurityResult, day: string) {
  return baseline.exceptions.find(
    (e) =>
      e.rule === r.rule &&
      e.school === school.id &&
      (e.target === undefined || e.target === r.target) &&
      (e.port === undefined || e.port === r.port) &&
      day <= e.expires,
  );
}

/**
 * The acceptance that holds on a local day: a baseline exception or the person's acceptance the previous
 * record carries, the longer of the two; undefined when neither holds.
 */
function holdingAcceptance(
  exception: { expires: string; reason: string } | undefined,
  prev: FindingRecord | undefined,
  day: string,
): { until: string; reason: string; by: string | null; at: string | null } | undefined {
  const person =
    prev?.acceptedBy && prev.acceptedUntil !== null && day <= prev.acceptedUntil
      ? {
          until: prev.acceptedUntil,
          reason: prev.acceptedReason ?? '',
          by: prev.acceptedBy,
          at: prev.acceptedAt ?? null,
        }
      : undefined;
  const config = exception
    ? { until: exception.expires, reason: exception.reason, by: null, at: null }
    : undefined;
  if (person && config) return person.until > config.until ? person : config;
  return person ?? config;
}

/**
 * A stored finding as it is read: the risk a person accepted (kept beside it, `null` when none) laid over
 * the record a report wrote. Pure. The person's acceptance fields of the record itself are never trusted
 * (the acceptance may have been withdrawn since): they are taken from `a` alone. A resolved finding stays
 * resolved but carries the acceptance, which holds again if the problem comes back before its date; an
 * exception of config/baseline.yaml that lasts longer is kept. Expiry is `effectiveState`'s.
 */
export function withAcceptance(f: FindingRecord, a: Acceptance | null): FindingRecord {
  let base = f;
  if (f.acceptedBy) {
    const { acceptedBy: _by, acceptedAt: _at, ...rest } = f;
    base = {
      ...rest,
      state: f.state === 'accepted' ? 'open' : f.state,
      acceptedUntil: null,
      acceptedReason: null,
    };
  }
  if (a === null) return base;
  if (base.state === 'accepted' && base.acceptedUntil !== null && base.acceptedUntil >= a.until) return base;
  return {
    ...base,
    state: base.state === 'resolved' ? 'resolved' : 'accepted',
    acceptedUntil: a.until,
    acceptedReason: a.reason,
    acceptedBy: a.by,
    acceptedAt: a.at,
  };
}

/** The first instant of the local day after `day` in a time zone (ISO): when an acceptance until `day` ends. */
export function dayEnd(day: string, timeZone: string): string {
  const next = new Date(Date.parse(`${day}T00:00:00Z`) + 86_400_000);
  const nextDay = next.toISOString().slice(0, 10);
  // local midnight is the UTC midnight moved back by the zone's offset; twice for a change of offset
  let t = next.getTime();
  for (let i = 0; i < 2; i++) {
    const { date, minutes } = localTime(new Date(t), timeZone);
    const localAsUtc = Date.parse(`${date}T00:00:00Z`) + minutes * 60_000;
    t -= localAsUtc - next.getTime();
  }
  // a zone that skips its midnight (a DST change at 00:00): the first minute of that day
  while (localTime(new Date(t), timeZone).date < nextDay) t += 15 * 60_000;
  return new Date(t).toISOString();
}

/**
 * When the earliest risk accepted at `now` stops holding (the findings count as open again), or null when
 * none is accepted with a date: a compliance row resting on the acceptance must be evaluated again then.
 */
export function nextAcceptanceEnd(
  findings: readonly FindingRecord[],
  now: Date,
  timeZone: string,
): string | null {
  let first: string | null = null;
  for (const f of findings) {
    if (f.acceptedUntil === null || effectiveState(f, now, timeZone) !== 'accepted') continue;
    const end = dayEnd(f.acceptedUntil, timeZone);
    if (first === null || end < first) first = end;
  }
  return first;
}

/** An accepted risk whose date has passed counts as open again, also between scans. */
export function effectiveState(f: FindingRecord, now: Date, timeZone: string): FindingState {
  if (f.state === 'accepted' && f.acceptedUntil !== null && localTime(now, timeZone).date > f.acceptedUntil)
    return 'open';
  return f.state;
}

/** Security target (README "Compliance"): no open finding above the allowed severity (default: no critical/high). */
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
