/**
 * The alert lifecycle's state (alerts/manager.ts): alerts as last evaluated (table `alerts`), daily
 * digests sent (`alert_digests`), reports refused for a school budget (`budget_refusals`), silences
 * (`silences`), and which collector leads (sends alerts) when several share the store.
 */
import type { BudgetRefusal } from '../../../budgets.js';
import type { AlertItem } from '../../../notifiers/notifier.js';

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

/** Alerts, digests, budget refusals, silences and the alert leader. */
export interface AlertStore {
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

  // ---- several collectors
  /**
   * True while this collector is the one that evaluates and sends alerts. The embedded store has one
   * collector: always true. PostgreSQL: a session advisory lock held on a connection of its own; asked
   * again, it tries to take the lock when another collector held it (take-over after that one died), and
   * answers false while another holds it.
   */
  alertLeadership(): Promise<boolean>;
}

/** An alerts row of either store (columns ALERT_COLUMNS). */
export interface AlertDbRow {
  fingerprint: string;
  school_id: string;
  state: AlertRow['state'];
  since: string;
  fired_at: string | null;
  last_notified_at: string | null;
  resolved_at: string | null;
  item: string;
}

export const ALERT_COLUMNS =
  'fingerprint, school_id, state, since, fired_at, last_notified_at, resolved_at, item';

export const alertOfRow = (r: AlertDbRow): AlertRow => ({
  fingerprint: r.fingerprint,
  schoolId: r.school_id,
  state: r.state,
  since: r.since,
  firedAt: r.fired_at,
  lastNotifiedAt: r.last_notified_at,
  resolvedAt: r.resolved_at,
  item: JSON.parse(r.item) as DesiredAlert,
});

/** A silences row of either store (columns SILENCE_COLUMNS; PostgreSQL's bigint id comes as text). */
export interface SilenceDbRow {
  id: number | string;
  school_id: string | null;
  rule: string | null;
  fingerprint: string | null;
  starts_at: string;
  ends_at: string;
  reason: string;
  created_by: string;
}

export const SILENCE_COLUMNS = 'id, school_id, rule, fingerprint, starts_at, ends_at, reason, created_by';

export const silenceOfRow = (r: SilenceDbRow): Silence => ({
  id: Number(r.id),
  schoolId: r.school_id,
  rule: r.rule,
  fingerprint: r.fingerprint,
  startsAt: r.starts_at,
  endsAt: r.ends_at,
  reason: r.reason,
  createdBy: r.created_by,
});

/** Refusals at or after this time count towards a refusal's `times` (the `holdMs` before it). */
export const refusalHoldStart = (r: Omit<BudgetRefusal, 'times'>, holdMs: number): string =>
  new Date(Date.parse(r.at) - holdMs).toISOString();
