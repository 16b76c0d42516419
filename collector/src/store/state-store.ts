/**
 * The collector's state store (docs/architecture.md, "State store tables": schools, agents, the ingest journal, latest results, compliance,
 * findings, alerts and silences) behind one interface with two implementations, chosen by configuration
 * (`state.kind`): SQLite embedded in the collector (the default, `sqlite-state.ts`) and PostgreSQL
 * (`pg-state.ts`), which several collectors share.
 *
 * Every method is asynchronous (PostgreSQL is a network peer); the SQLite store answers synchronously
 * inside. Methods that change several rows do so atomically (one transaction).
 */
import { createHash } from 'node:crypto';
import type { ProbeResult } from '../../../protocol/report.js';
import type { School } from '../../../protocol/school.js';
import type { BudgetRefusal } from '../budgets.js';
import { type Acceptance, type FindingRecord, withAcceptance } from '../evaluate/findings.js';
import type { MaintenanceWindow } from '../evaluate/maintenance.js';
import type { ComplianceRow } from '../evaluate/targets/target.js';
import type { AlertItem } from '../notifiers/notifier.js';
import type { AccessStore } from './access-store.js';
import type { TermSnapshotStore } from './term-snapshots.js';

export interface AgentRecord {
  id: string;
  schoolId: string;
  hostname: string;
  version: string;
  enrolledAt: string;
  lastSeenAt: string | null;
  clockOffsetMs: number | null;
  lastReportId: string | null;
  /** A name given at the collector (`agent rename`, e.g. 东校区机房); null: shown by its hostname. */
  name: string | null;
  /**
   * When the agent was revoked (`agent revoke`, or its school archived): from then on its token is refused
   * (401) by every collector of the state store. Null while it is active.
   */
  revokedAt: string | null;
  /**
   * Reports waiting in the agent's spool when it sent its last report (its `health.spoolDepth`): a
   * growing number means the school's box cannot deliver; null before its first report.
   */
  spoolDepth: number | null;
  /** Cycles the agent could not write to its spool (disk full), as its last report says; null: none said. */
  spoolUnstored?: number | null;
  /** Since when the agent's spool cannot write, as its last report says; null while it writes. */
  spoolFailingSince?: string | null;
}

/** A school as the registry keeps it: as described, and when it was archived (absent while active). */
export type SchoolRecord = School & {
  /** Archived (`school archive`): its history is kept, it leaves the KPIs and alerts, its agents are revoked. */
  archivedAt?: string;
};

/** A schools row of either store as the school it holds. */
export function schoolOfRow(r: { json: string; archived_at: string | null }): SchoolRecord {
  const school = JSON.parse(r.json) as School;
  return r.archived_at === null ? school : { ...school, archivedAt: r.archived_at };
}

/** The description of a school without its registry state (what `upsertSchool` stores). */
export function describedSchool(school: School | SchoolRecord): School {
  const { archivedAt: _archivedAt, ...described } = school as SchoolRecord;
  return described;
}

export type { ComplianceRow, MaintenanceWindow };

export interface IngestRecord {
  reportId: string;
  agentId: string;
  state: 'writing' | 'done';
  shiftMs: number;
}

/** A report whose points are about to be written, and the time shift chosen for it. */
export interface BeginIngest {
  reportId: string;
  agentId: string;
  schoolId: string;
  shiftMs: number;
  finishedAt: string;
}

export interface CompleteIngest {
  reportId: string;
  agent: AgentRecord;
  results: readonly ProbeResult[];
  shiftMs: number;
  clockOffsetMs: number;
  /** The version the agent reports running (an upgraded agent's new version replaces the enrolled one). */
  agentVersion?: string;
  receivedAt: Date;
  /**
   * A stored latest result stamped after this is from the future (ingest.futureToleranceS past the
   * report's arrival): any result of this report replaces it, older or not. Without it, only newer ones do.
   */
  futureAfter?: Date;
  compliance: readonly ComplianceRow[];
  /** Critical-device samples of this report taken in teaching hours (local day). */
  availability?: readonly { device: string; day: string; up: boolean }[];
  /**
   * The first local day of the availability window: the per-device samples of days before it are
   * forgotten (only the window is ever read; the school's daily sums are kept).
   */
  availabilitySinceDay?: string;
  /** The agent's spool depth as its report says (`health.spoolDepth`). */
  spoolDepth?: number;
  /** Its `health.spoolUnstored` and `health.spoolFailure.since` (absent: none, null: it writes). */
  spoolUnstored?: number;
  spoolFailingSince?: string | null;
  /** Findings this report opened, re-opened, accepted or resolved. */
  findings?: readonly FindingRecord[];
  /** Rooms of this report as seen in teaching hours: down ones open (or keep) a down-since, up ones close it. */
  rooms?: readonly { room: string; roomType: string; up: boolean; at: string; detail: string }[];
  /** Rooms (`type|name`) of this report whose devices answered: remembered for good (建有). */
  answeredRooms?: readonly string[];
  /**
   * Latest results that leave the school's state (devices gone from the inventory, budgets.ts
   * `staleKeys`): deleted by key when still stamped before `before` (a concurrent report that refreshed
   * one keeps it). Their history (InfluxDB, availability, findings) stays.
   */
  leaving?: { keys: readonly string[]; before: string };
  /**
   * A report not begun (`beginIngest`) before its series were written: its journal row, written first in
   * the same transaction (a no-op when the report is known). The collector begins a report ahead only
   * when its time shift must survive a crash: see routes/reports.ts.
   */
  begin?: BeginIngest;
}

export interface RoomDown {
  room: string;
  roomType: string;
  since: string;
  detail: string;
}

/** An alert as the rules describe it, before the lifecycle adds status and times. */
export type DesiredAlert = Omit<AlertItem, 'status' | 'startsAt' | 'endsAt'>;

export interface AlertRow {
  fingerprint: string;
  schoolId: string;
  state: 'pending' | 'firing' | 'resolved';
  since: string;
  firedAt: string | null;
  lastNotifiedAt: string | null;
  resolvedAt: string | null;
  item: DesiredAlert;
}

export interface Silence {
  id: number;
  schoolId: string | null;
  rule: string | null;
  fingerprint: string | null;
  startsAt: string;
  endsAt: string;
  reason: string;
  createdBy: string;
}

export interface StateStore {
  readonly kind: 'sqlite' | 'postgres';
  /** Accounts, API tokens, sessions and the audit trail, in the same database. */
  readonly access: AccessStore;
  /** Term snapshots of the inspection report (immutable, one per term and district), in the same database. */
  readonly snapshots: TermSnapshotStore;

  // ---- schools
  /** Adds or describes a school again; an archived school stays archived. */
  upsertSchool(school: School): Promise<void>;
  /** A school, archived or not (an archived school's history stays readable). */
  getSchool(id: string): Promise<SchoolRecord | undefined>;
  /**
   * Ordered by id: the active schools, which the KPIs, compliance and alerts count; with
   * `includeArchived`, the archived ones too (`archivedAt` set).
   */
  listSchools(filter?: { includeArchived?: boolean }): Promise<SchoolRecord[]>;
  /**
   * Archives a school at `at`, atomically: it leaves the active schools, every active agent of it is
   * revoked and its unused enrolment codes expire; nothing of its history is deleted. Undefined for an
   * unknown school; a school archived already keeps its time (`revoked` is then empty).
   */
  archiveSchool(id: string, at: Date): Promise<{ school: SchoolRecord; revoked: string[] } | undefined>;

  // ---- enrolment and agents
  /** A one-time code, shown once; only its hash is kept. Throws UnknownSchoolError, ArchivedSchoolError. */
  createEnrollCode(schoolId: string, ttlMs: number, now?: number): Promise<{ code: string; expiresAt: Date }>;
  /** Spends a code (trimmed, case-insensitive) and creates an agent with a fresh token. */
  enroll(
    code: string,
    info: { hostname: string; version: string },
    now?: number,
  ): Promise<{ agent: AgentRecord; token: string } | { error: 'unknown' | 'used' | 'expired' }>;
  /**
   * The agent a bearer token belongs to, compared in constant time; undefined when it matches none. A
   * revoked agent is answered too, with its `revokedAt`: the caller refuses it (and can say why). Read
   * from the database on every call, so a revocation by any collector counts at the next request.
   */
  authenticate(token: string): Promise<AgentRecord | undefined>;
  /** An agent, revoked or not. */
  getAgent(id: string): Promise<AgentRecord | undefined>;
  /**
   * Ordered by id; one school's or all: the active agents, which compliance, alerts and the fleet series
   * look at; with `includeRevoked`, the revoked ones too.
   */
  listAgents(schoolId?: string, filter?: { includeRevoked?: boolean }): Promise<AgentRecord[]>;
  /** Revokes an agent at `at` (one revoked already keeps its time); undefined for an unknown agent. */
  revokeAgent(id: string, at: Date): Promise<AgentRecord | undefined>;
  /** Names an agent (null: no name, shown by its hostname); undefined for an unknown agent. */
  renameAgent(id: string, name: string | null): Promise<AgentRecord | undefined>;
  /**
   * How many active schools and agents are registered, counted by the store (for /metrics, without
   * listing them).
   */
  counts(): Promise<{ schools: number; agents: number }>;

  // ---- ingest journal
  getIngest(reportId: string): Promise<IngestRecord | undefined>;
  /** Notes that a report's points are being written, with its time shift (reused on a retry); no-op if known. */
  beginIngest(r: BeginIngest): Promise<void>;
  /**
   * After the series are stored: mark the report done and keep the latest results (newer wins), speed-test
   * history, availability samples, rooms down, findings and compliance, atomically. False (and nothing
   * applied) when the report is not in state 'writing' (already done by a concurrent delivery).
   */
  completeIngest(args: CompleteIngest): Promise<boolean>;
  /** Reports done for an agent, in the order they were begun. */
  ingestOrder(agentId: string): Promise<{ reportId: string; finishedAt: string }[]>;
  /**
   * Forgets the oldest journal rows received before a time: the longest prefix (in the order reports were
   * begun, at most `limit` rows) received before it. Returns how many went. The collector keeps the journal
   * as long as it accepts a report's times (ingest.maxAgeDays, and a day more), so a replay of a forgotten
   * report is refused as too old, never applied twice.
   */
  pruneIngests(receivedBefore: Date, limit: number): Promise<number>;

  // ---- per-school state
  /** Latest result per result key, ordered by key. */
  latestResults(schoolId: string): Promise<ProbeResult[]>;
  /** Past results of the probes judged over several runs (speed tests), newest first. */
  history(schoolId: string, probe: ProbeResult['probe']): Promise<ProbeResult[]>;
  /**
   * Security findings, all schools (ordered by school, rule, target, port) or one (by rule, target, port),
   * each with the risk a person accepted laid over it (`withAcceptance`).
   */
  findings(schoolId?: string): Promise<FindingRecord[]>;
  /**
   * Keeps a risk accepted by a person beside a finding, or withdraws it (null), in one statement: reports
   * write the finding but never this, so an acceptance made while a report is being stored is not lost.
   * Returns the finding as it reads from now on; undefined when the school has no such finding.
   */
  setAcceptance(
    schoolId: string,
    finding: { rule: string; target: string; port: number },
    acceptance: Acceptance | null,
  ): Promise<FindingRecord | undefined>;
  /** Critical-device samples in teaching hours since a local day (inclusive). */
  availability(schoolId: string, sinceDay: string): Promise<{ up: number; total: number }>;
  /** The same samples per device since a local day (inclusive), ordered by device. */
  deviceAvailability(
    schoolId: string,
    sinceDay: string,
  ): Promise<{ device: string; up: number; total: number }[]>;
  /** Rooms down in teaching hours, ordered by since. */
  roomsDown(schoolId: string): Promise<RoomDown[]>;
  /** One school's stored compliance rows, in the order their targets were first stored. */
  compliance(schoolId: string): Promise<ComplianceRow[]>;
  /** Upserts rows; a row's `since` moves only when its state changes (to `since` given, else `at`). */
  replaceCompliance(schoolId: string, rows: readonly ComplianceRow[], at?: string): Promise<void>;
  /**
   * Active schools with a compliance row whose evidence ages out at or before `now` (to evaluate again),
   * by id.
   */
  schoolsToRecheck(now: Date, limit: number): Promise<string[]>;
  /** Rooms (`type|name`) of a school whose devices have answered at least once. */
  answeredRooms(schoolId: string): Promise<Set<string>>;
  /**
   * Every school's stored state per target, in one query: `targets` names the targets in order, the
   * answer has one array per school with a state per target ('no_data' where no row is stored; rows of
   * other targets are left out). Schools without any row are absent.
   */
  complianceStates(targets: readonly string[]): Promise<Map<string, ComplianceRow['state'][]>>;

  // ---- alerts (the lifecycle of alerts/manager.ts)
  /** Ordered by since. */
  alerts(): Promise<AlertRow[]>;
  /** Upserts these rows and deletes these fingerprints, atomically. */
  saveAlerts(rows: readonly AlertRow[], deleted: readonly string[]): Promise<void>;
  markNotified(fingerprints: readonly string[], at: string): Promise<void>;
  /** Records that a school's daily digest for `day` is sent; false when it already was (atomic). */
  claimDigest(schoolId: string, day: string): Promise<boolean>;
  /**
   * Notes a report refused for a school budget (the over-budget alert, on whichever collector leads): the
   * latest per school and budget, `times` counting the refusals since the first one within `holdMs` before.
   */
  noteBudgetRefusal(r: Omit<BudgetRefusal, 'times'>, holdMs: number): Promise<void>;
  /** The latest refusal per school and budget noted at or after `since`, by school and budget. */
  budgetRefusals(since: Date): Promise<BudgetRefusal[]>;

  // ---- silences
  addSilence(s: Omit<Silence, 'id'>): Promise<Silence>;
  /** All silences (by id), or those active at `now`. */
  silences(now?: Date): Promise<Silence[]>;
  /** Ends a silence now; false when there is no such active silence. */
  expireSilence(id: number, now: Date): Promise<boolean>;

  // ---- maintenance windows (evaluate/maintenance.ts decides what they cover and when they are on)
  /** Throws for a school that is not registered. */
  addMaintenance(w: Omit<MaintenanceWindow, 'id'>): Promise<MaintenanceWindow>;
  /**
   * Windows by id: all, or one school's; with `endingAfter`, only those not ended by then (no end, or a
   * later one), which includes those that start later.
   */
  maintenanceWindows(filter?: { schoolId?: string; endingAfter?: Date }): Promise<MaintenanceWindow[]>;
  /**
   * Ends a window now (one not started yet ends before it starts: it never runs); false when there is no
   * such window that has not ended.
   */
  endMaintenance(id: number, now: Date): Promise<boolean>;

  // ---- several collectors
  /**
   * True while this collector is the one that evaluates and sends alerts. The embedded store has one
   * collector: always true. PostgreSQL: a session advisory lock held on a connection of its own; asked
   * again, it tries to take the lock when another collector held it (take-over after that one died), and
   * answers false while another holds it.
   */
  alertLeadership(): Promise<boolean>;

  close(): Promise<void>;
}

export const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();

/** A token is `cw1.<agentId>.<256-bit secret, base64url>`; only a SHA-256 of the secret is stored. */
export function parseToken(token: string): { agentId: string; secret: string } | undefined {
  const m = /^cw1\.([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{43})$/.exec(token);
  return m ? { agentId: m[1]!, secret: m[2]! } : undefined;
}

/** The enrolment code alphabet (no 0/O, 1/I): 15 characters in groups of five. */
export const ENROLL_CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

export { resultKey } from './result-key.js';

/**
 * A result with its time moved back by `shiftMs` (the agent's clock correction) in the form the stores
 * keep and compare (toISOString); the result itself when that changes nothing, as for almost every
 * report (the route and the store each copied every result of every report before).
 */
export function shiftedResult(r: ProbeResult, shiftMs: number): ProbeResult {
  // unshifted and already in toISOString's form (a day every month has): itself, without parsing and
  // formatting it (called twice for every result of every report: 2.4% of the ingest CPU in bench/ingest)
  if (shiftMs === 0 && CANONICAL_ISO.test(r.at)) return r;
  const at = new Date(Date.parse(r.at) - shiftMs).toISOString();
  return at === r.at ? r : { ...r, at };
}

/** UTC times toISOString writes as they are, days 01-28 only (a 30 February would be read as 2 March). */
const CANONICAL_ISO =
  /^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|1\d|2[0-8])T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/;

/** A report's critical-device samples summed per local day (the stores keep one row per school and day). */
export function samplesPerDay(
  samples: CompleteIngest['availability'],
): { day: string; up: number; total: number }[] {
  const days = new Map<string, { day: string; up: number; total: number }>();
  for (const s of samples ?? []) {
    let d = days.get(s.day);
    if (!d) {
      d = { day: s.day, up: 0, total: 0 };
      days.set(s.day, d);
    }
    if (s.up) d.up++;
    d.total++;
  }
  return [...days.values()].sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
}

/** A report's critical-device samples summed per device and local day, ordered by day and device. */
export function samplesPerDeviceDay(
  samples: CompleteIngest['availability'],
): { day: string; device: string; up: number; total: number }[] {
  const rows = new Map<string, { day: string; device: string; up: number; total: number }>();
  for (const s of samples ?? []) {
    const key = `${s.day}\u0000${s.device}`;
    let r = rows.get(key);
    if (!r) {
      r = { day: s.day, device: s.device, up: 0, total: 0 };
      rows.set(key, r);
    }
    if (s.up) r.up++;
    r.total++;
  }
  const order = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...rows.values()].sort((a, b) => order(a.day, b.day) || order(a.device, b.device));
}

/**
 * The last journal sequence number of the prefix of `rows` (in journal order) received before a time, or
 * undefined when the first row is not: a row received later stops the prefix, so the journal is cut in
 * order without scanning it all.
 */
export function oldPrefixEnd<S>(
  rows: readonly { seq: S; receivedAt: string }[],
  receivedBefore: Date,
): S | undefined {
  const cutoff = receivedBefore.toISOString();
  let last: S | undefined;
  for (const r of rows) {
    if (!(r.receivedAt < cutoff)) break;
    last = r.seq;
  }
  return last;
}

/** A findings row of either store as the finding it reads as (its acceptance laid over it). */
export function findingOfRow(r: { json: string; acceptance: string | null }): FindingRecord {
  const f = JSON.parse(r.json) as FindingRecord;
  return withAcceptance(f, r.acceptance === null ? null : (JSON.parse(r.acceptance) as Acceptance));
}

/** A maintenance_windows row of either store as the window it holds (NULL columns: absent scope, no end). */
export function maintenanceOfRow(r: {
  id: number | string;
  school_id: string;
  room: string | null;
  device: string | null;
  reason: string;
  starts_at: string;
  ends_at: string | null;
  weekly: string | null;
  created_by: string;
  created_at: string;
}): MaintenanceWindow {
  return {
    id: Number(r.id),
    schoolId: r.school_id,
    ...(r.room !== null ? { room: r.room } : {}),
    ...(r.device !== null ? { device: r.device } : {}),
    reason: r.reason,
    startsAt: r.starts_at,
    endsAt: r.ends_at,
    ...(r.weekly !== null ? { weekly: JSON.parse(r.weekly) as MaintenanceWindow['weekly'] } : {}),
    createdBy: r.created_by,
    createdAt: r.created_at,
  };
}

/** Probes whose verdict looks at several past runs (a target missed only after the last K tests). */
export const HISTORY_PROBES: ReadonlySet<ProbeResult['probe']> = new Set<ProbeResult['probe']>(['bandwidth']);
/** Past results kept per school and key for those probes. */
export const HISTORY_DEPTH = 100;

/** An archived school takes no new agents. */
export class ArchivedSchoolError extends Error {
  override readonly name = 'ArchivedSchoolError';
  constructor(
    readonly schoolId: string,
    readonly archivedAt: string,
  ) {
    super(`school ${JSON.stringify(schoolId)} was archived at ${archivedAt}: it takes no new agents`);
  }
}

export class UnknownSchoolError extends Error {
  override readonly name = 'UnknownSchoolError';
  constructor(readonly schoolId: string) {
    super(`unknown school ${JSON.stringify(schoolId)}; add it first with 'campuswatch-collector school add'`);
  }
}
