import type { BudgetRefusal } from '../../../budgets.js';
import type { SqliteDb } from '../sqlite-db.js';
import {
  ALERT_COLUMNS,
  type AlertDbRow,
  type AlertRow,
  alertOfRow,
  refusalHoldStart,
  SILENCE_COLUMNS,
  type Silence,
  type SilenceDbRow,
  silenceOfRow,
} from './index.js';

export const ALERTS_SQLITE_SCHEMA = `
  CREATE TABLE IF NOT EXISTS alert_digests (school_id TEXT PRIMARY KEY, day TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS budget_refusals (
    school_id TEXT NOT NULL, budget TEXT NOT NULL, agent_id TEXT NOT NULL, at TEXT NOT NULL,
    budget_limit INTEGER NOT NULL, count INTEGER NOT NULL, times INTEGER NOT NULL,
    PRIMARY KEY (school_id, budget)
  );
  CREATE TABLE IF NOT EXISTS alerts (
    fingerprint TEXT PRIMARY KEY, school_id TEXT NOT NULL, state TEXT NOT NULL, since TEXT NOT NULL,
    fired_at TEXT, last_notified_at TEXT, resolved_at TEXT, item TEXT NOT NULL
  );
  CREATE TABLE IF NOT EXISTS silences (
    id INTEGER PRIMARY KEY AUTOINCREMENT, school_id TEXT, rule TEXT, fingerprint TEXT,
    starts_at TEXT NOT NULL, ends_at TEXT NOT NULL, reason TEXT NOT NULL, created_by TEXT NOT NULL
  );
`;

/** Alerts, digests, budget refusals and silences in the embedded store (synchronous; see AlertStore). */
export class SqliteAlerts {
  constructor(private readonly s: SqliteDb) {}

  alerts(): AlertRow[] {
    return (this.s.q(`SELECT ${ALERT_COLUMNS} FROM alerts ORDER BY since, rowid`).all() as AlertDbRow[]).map(
      alertOfRow,
    );
  }

  saveAlerts(rows: readonly AlertRow[], deleted: readonly string[]): void {
    const upsert = this.s.q(
      `INSERT INTO alerts (fingerprint, school_id, state, since, fired_at, last_notified_at, resolved_at, item)
       VALUES (@fingerprint, @schoolId, @state, @since, @firedAt, @lastNotifiedAt, @resolvedAt, @item)
       ON CONFLICT(fingerprint) DO UPDATE SET state = excluded.state, since = excluded.since, fired_at = excluded.fired_at,
         last_notified_at = excluded.last_notified_at, resolved_at = excluded.resolved_at, item = excluded.item`,
    );
    const remove = this.s.q('DELETE FROM alerts WHERE fingerprint = ?');
    this.s.transaction(() => {
      for (const r of rows) upsert.run({ ...r, item: JSON.stringify(r.item) });
      for (const fp of deleted) remove.run(fp);
    });
  }

  markNotified(fingerprints: readonly string[], at: string): void {
    const notified = this.s.q('UPDATE alerts SET last_notified_at = ? WHERE fingerprint = ?');
    this.s.transaction(() => {
      for (const fp of fingerprints) notified.run(at, fp);
    });
  }

  claimDigest(schoolId: string, day: string): boolean {
    return (
      this.s
        .q(
          `INSERT INTO alert_digests (school_id, day) VALUES (?, ?)
           ON CONFLICT(school_id) DO UPDATE SET day = excluded.day WHERE alert_digests.day <> excluded.day`,
        )
        .run(schoolId, day).changes > 0
    );
  }

  noteBudgetRefusal(r: Omit<BudgetRefusal, 'times'>, holdMs: number): void {
    this.s
      .q(
        `INSERT INTO budget_refusals (school_id, budget, agent_id, at, budget_limit, count, times)
         VALUES (?, ?, ?, ?, ?, ?, 1)
         ON CONFLICT(school_id, budget) DO UPDATE SET agent_id = excluded.agent_id, at = excluded.at,
           budget_limit = excluded.budget_limit, count = excluded.count,
           times = CASE WHEN budget_refusals.at >= ? THEN budget_refusals.times + 1 ELSE 1 END`,
      )
      .run(r.schoolId, r.budget, r.agentId, r.at, r.limit, r.count, refusalHoldStart(r, holdMs));
  }

  budgetRefusals(since: Date): BudgetRefusal[] {
    return this.s
      .q(
        `SELECT school_id AS schoolId, budget, agent_id AS agentId, at, budget_limit AS "limit", count, times
         FROM budget_refusals WHERE at >= ? ORDER BY school_id, budget`,
      )
      .all(since.toISOString()) as BudgetRefusal[];
  }

  // ---- silences --------------------------------------------------------------------------------
  addSilence(s: Omit<Silence, 'id'>): Silence {
    const info = this.s
      .q(
        'INSERT INTO silences (school_id, rule, fingerprint, starts_at, ends_at, reason, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)',
      )
      .run(s.schoolId, s.rule, s.fingerprint, s.startsAt, s.endsAt, s.reason, s.createdBy);
    return { ...s, id: Number(info.lastInsertRowid) };
  }

  silences(now?: Date): Silence[] {
    const rows =
      now === undefined
        ? this.s.q(`SELECT ${SILENCE_COLUMNS} FROM silences ORDER BY id`).all()
        : this.s
            .q(`SELECT ${SILENCE_COLUMNS} FROM silences WHERE starts_at <= ? AND ? < ends_at ORDER BY id`)
            .all(now.toISOString(), now.toISOString());
    return (rows as SilenceDbRow[]).map(silenceOfRow);
  }

  expireSilence(id: number, now: Date): boolean {
    const t = now.toISOString();
    return this.s.q('UPDATE silences SET ends_at = ? WHERE id = ? AND ends_at > ?').run(t, id, t).changes > 0;
  }
}
