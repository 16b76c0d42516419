import { noNul, type PgDb, type Queryable, T } from '../pg-db.js';
import { type ComplianceRow, type ComplianceStore, noStates, stateOf } from './index.js';

export const COMPLIANCE_PG_SCHEMA = `
  -- seq is SQLite's rowid: an upsert keeps it, so rows come back in the order their targets were first stored
  CREATE TABLE IF NOT EXISTS compliance (
    seq bigint GENERATED ALWAYS AS IDENTITY,
    school_id ${T} NOT NULL, target ${T} NOT NULL, state ${T} NOT NULL,
    value double precision, goal double precision, reason ${T} NOT NULL, updated_at ${T} NOT NULL,
    evidence_at ${T}, expires_at ${T}, since ${T},
    PRIMARY KEY (school_id, target)
  );
  -- a schema of an earlier version had no evidence times
  ALTER TABLE compliance ADD COLUMN IF NOT EXISTS evidence_at ${T};
  ALTER TABLE compliance ADD COLUMN IF NOT EXISTS expires_at ${T};
  ALTER TABLE compliance ADD COLUMN IF NOT EXISTS since ${T};
  CREATE INDEX IF NOT EXISTS compliance_expires ON compliance(expires_at);
`;

/** Stored compliance in PostgreSQL. */
export class PgCompliance implements ComplianceStore {
  constructor(private readonly p: PgDb) {}

  async compliance(schoolId: string): Promise<ComplianceRow[]> {
    const { rows } = await this.p.query<ComplianceRow>(
      `SELECT target, state, value, goal, reason, evidence_at AS "evidenceAt", expires_at AS "expiresAt", since
       FROM compliance WHERE school_id = $1 ORDER BY seq`,
      [schoolId],
    );
    return rows;
  }

  async schoolsToRecheck(now: Date, limit: number): Promise<string[]> {
    const { rows } = await this.p.query<{ id: string }>(
      `SELECT DISTINCT school_id AS id FROM compliance
       WHERE expires_at <= $1 AND school_id NOT IN (SELECT id FROM schools WHERE archived_at IS NOT NULL)
       ORDER BY school_id LIMIT $2`,
      [now.toISOString(), limit],
    );
    return rows.map((r) => r.id);
  }

  async replaceCompliance(
    schoolId: string,
    rows: readonly ComplianceRow[],
    at = new Date().toISOString(),
  ): Promise<void> {
    await this.p.tx((c) => this.upsert(c, schoolId, rows, at));
  }

  /** In the given order: a target's first insert fixes its place (seq). Also inside completeIngest's transaction. */
  async upsert(c: Queryable, schoolId: string, rows: readonly ComplianceRow[], at: string): Promise<void> {
    if (rows.length === 0) return;
    // one statement (a round trip per row was a third of completeIngest's); a target named twice is
    // stored once, at its first place with its last values, as row-by-row upserts would leave it
    const last = new Map<string, ComplianceRow>();
    for (const r of rows) last.set(r.target, r);
    const targets = [...last.keys()];
    const unique = targets.map((t) => last.get(t)!);
    await c.query(
      `INSERT INTO compliance (school_id, target, state, value, goal, reason, updated_at, evidence_at, expires_at, since)
       SELECT $1, u.target, u.state, u.value, u.goal, u.reason, $7, u.evidence_at, u.expires_at, coalesce(u.since, $7)
       FROM unnest($2::text[], $3::text[], $4::float8[], $5::float8[], $6::text[], $8::text[], $9::text[], $10::text[])
         WITH ORDINALITY AS u(target, state, value, goal, reason, evidence_at, expires_at, since, ord)
       ORDER BY u.ord
       ON CONFLICT (school_id, target) DO UPDATE SET
         since = CASE WHEN compliance.state = excluded.state THEN compliance.since ELSE excluded.since END,
         state = excluded.state, value = excluded.value,
         goal = excluded.goal, reason = excluded.reason, updated_at = excluded.updated_at,
         evidence_at = excluded.evidence_at, expires_at = excluded.expires_at
       -- an unchanged row is left as it is (updated_at: when it last changed), as in the SQLite store
       WHERE (compliance.state, compliance.value, compliance.goal, compliance.reason, compliance.evidence_at, compliance.expires_at)
         IS DISTINCT FROM (excluded.state, excluded.value, excluded.goal, excluded.reason, excluded.evidence_at, excluded.expires_at)`,
      [
        schoolId,
        targets,
        unique.map((r) => r.state),
        unique.map((r) => r.value),
        unique.map((r) => r.goal),
        unique.map((r) => noNul(r.reason)),
        at,
        unique.map((r) => r.evidenceAt),
        unique.map((r) => r.expiresAt),
        unique.map((r) => r.since ?? null),
      ],
    );
  }

  async complianceStates(targets: readonly string[]): Promise<Map<string, ComplianceRow['state'][]>> {
    // a target named twice gets its state at its first place only (as a CASE over the names would)
    const index = new Map<string, number>();
    targets.forEach((t, i) => {
      if (!index.has(t)) index.set(t, i);
    });
    const { rows } = await this.p.query<{ school_id: string; targets: string[]; states: string[] }>(
      `SELECT school_id, array_agg(target ORDER BY target) AS targets, array_agg(state ORDER BY target) AS states
       FROM compliance WHERE target = ANY($1::text[]) GROUP BY school_id ORDER BY school_id`,
      [[...index.keys()]],
    );
    const out = new Map<string, ComplianceRow['state'][]>();
    for (const r of rows) {
      const states = noStates(targets);
      r.targets.forEach((t, i) => {
        states[index.get(t)!] = stateOf(r.states[i]);
      });
      out.set(r.school_id, states);
    }
    return out;
  }
}
