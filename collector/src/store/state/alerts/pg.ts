import type { BudgetRefusal } from '../../../budgets.js';
import { noNul, type PgDb, T } from '../pg-db.js';
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

export const ALERTS_PG_SCHEMA = `
  CREATE TABLE IF NOT EXISTS alert_digests (school_id ${T} PRIMARY KEY, day ${T} NOT NULL);
  CREATE TABLE IF NOT EXISTS budget_refusals (
    school_id ${T} NOT NULL, budget ${T} NOT NULL, agent_id ${T} NOT NULL, at ${T} NOT NULL,
    budget_limit bigint NOT NULL, count bigint NOT NULL, times bigint NOT NULL,
    PRIMARY KEY (school_id, budget)
  );
  CREATE TABLE IF NOT EXISTS alerts (
    seq bigint GENERATED ALWAYS AS IDENTITY,
    fingerprint ${T} PRIMARY KEY, school_id ${T} NOT NULL, state ${T} NOT NULL, since ${T} NOT NULL,
    fired_at ${T}, last_notified_at ${T}, resolved_at ${T}, item ${T} NOT NULL
  );
  CREATE TABLE IF NOT EXISTS silences (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, school_id ${T}, rule ${T}, fingerprint ${T},
    starts_at ${T} NOT NULL, ends_at ${T} NOT NULL, reason ${T} NOT NULL, created_by ${T} NOT NULL
  );
`;

/** Alerts, digests, budget refusals and silences in PostgreSQL (the leader lock: pg-leader.ts). */
export class PgAlerts {
  constructor(private readonly p: PgDb) {}

  async alerts(): Promise<AlertRow[]> {
    // ties (one evaluation's alerts share `since`) in the order the alerts were first stored, as SQLite's rowid
    const { rows } = await this.p.query<AlertDbRow>(
      `SELECT ${ALERT_COLUMNS} FROM alerts ORDER BY since, seq`,
    );
    return rows.map(alertOfRow);
  }

  async saveAlerts(rows: readonly AlertRow[], deleted: readonly string[]): Promise<void> {
    if (rows.length === 0 && deleted.length === 0) return;
    await this.p.tx(async (c) => {
      for (const r of rows) {
        await c.query(
          `INSERT INTO alerts (fingerprint, school_id, state, since, fired_at, last_notified_at, resolved_at, item)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (fingerprint) DO UPDATE SET state = excluded.state, since = excluded.since,
             fired_at = excluded.fired_at, last_notified_at = excluded.last_notified_at,
             resolved_at = excluded.resolved_at, item = excluded.item`,
          [
            r.fingerprint,
            r.schoolId,
            r.state,
            r.since,
            r.firedAt,
            r.lastNotifiedAt,
            r.resolvedAt,
            JSON.stringify(r.item),
          ],
        );
      }
      if (deleted.length > 0) {
        await c.query('DELETE FROM alerts WHERE fingerprint = ANY($1::text[])', [[...deleted]]);
      }
    });
  }

  async markNotified(fingerprints: readonly string[], at: string): Promise<void> {
    if (fingerprints.length === 0) return;
    await this.p.query('UPDATE alerts SET last_notified_at = $1 WHERE fingerprint = ANY($2::text[])', [
      at,
      [...fingerprints],
    ]);
  }

  async claimDigest(schoolId: string, day: string): Promise<boolean> {
    const { rowCount } = await this.p.query(
      `INSERT INTO alert_digests (school_id, day) VALUES ($1, $2)
       ON CONFLICT (school_id) DO UPDATE SET day = excluded.day WHERE alert_digests.day <> excluded.day
       RETURNING school_id`,
      [schoolId, day],
    );
    return rowCount === 1;
  }

  async noteBudgetRefusal(r: Omit<BudgetRefusal, 'times'>, holdMs: number): Promise<void> {
    await this.p.query(
      `INSERT INTO budget_refusals (school_id, budget, agent_id, at, budget_limit, count, times)
       VALUES ($1, $2, $3, $4, $5, $6, 1)
       ON CONFLICT (school_id, budget) DO UPDATE SET agent_id = excluded.agent_id, at = excluded.at,
         budget_limit = excluded.budget_limit, count = excluded.count,
         times = CASE WHEN budget_refusals.at >= $7 THEN budget_refusals.times + 1 ELSE 1 END`,
      [r.schoolId, r.budget, r.agentId, r.at, r.limit, r.count, refusalHoldStart(r, holdMs)],
    );
  }

  async budgetRefusals(since: Date): Promise<BudgetRefusal[]> {
    const { rows } = await this.p.query<BudgetRefusal>(
      `SELECT school_id AS "schoolId", budget, agent_id AS "agentId", at, budget_limit::float8 AS "limit",
         count::float8 AS count, times::float8 AS times
       FROM budget_refusals WHERE at >= $1 ORDER BY school_id, budget`,
      [since.toISOString()],
    );
    return rows;
  }

  // ---- silences ------------------------------------------------------------------------------
  async addSilence(s: Omit<Silence, 'id'>): Promise<Silence> {
    const row = await this.p.one<{ id: string }>(
      `INSERT INTO silences (school_id, rule, fingerprint, starts_at, ends_at, reason, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
      [s.schoolId, s.rule, s.fingerprint, s.startsAt, s.endsAt, noNul(s.reason), noNul(s.createdBy)],
    );
    return { ...s, id: Number(row!.id) };
  }

  async silences(now?: Date): Promise<Silence[]> {
    const { rows } =
      now === undefined
        ? await this.p.query<SilenceDbRow>(`SELECT ${SILENCE_COLUMNS} FROM silences ORDER BY id`)
        : await this.p.query<SilenceDbRow>(
            `SELECT ${SILENCE_COLUMNS} FROM silences WHERE starts_at <= $1 AND $1 < ends_at ORDER BY id`,
            [now.toISOString()],
          );
    return rows.map(silenceOfRow);
  }

  async expireSilence(id: number, now: Date): Promise<boolean> {
    if (!Number.isSafeInteger(id)) return false;
    const { rowCount } = await this.p.query(
      'UPDATE silences SET ends_at = $1 WHERE id = $2 AND ends_at > $1',
      [now.toISOString(), id],
    );
    return rowCount === 1;
  }
}
