import { noNul, type PgDb, type Queryable, T } from '../pg-db.js';
import { type ComplianceRow, type ComplianceStore, statesFromSummary } from './index.js';

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
  -- one short row per school, its state per target (complianceStates reads it instead of every row). The
  -- triggers below change it by the changed target alone (jsonb || / -), which an upsert applies to the row
  -- as committed by then: collectors writing other targets of the same school at once keep each other's.
  -- A database of an earlier version gets it filled from its rows, the rows' table locked against writes
  -- until this transaction (which creates the triggers) commits.
  DO $$ BEGIN
    IF to_regclass('compliance_summary') IS NULL THEN
      CREATE TABLE compliance_summary (school_id ${T} PRIMARY KEY, states jsonb NOT NULL);
      LOCK TABLE compliance IN SHARE ROW EXCLUSIVE MODE;
      INSERT INTO compliance_summary (school_id, states)
        SELECT school_id, jsonb_object_agg(target, state) FROM compliance GROUP BY school_id;
    END IF;
  END $$;
  CREATE OR REPLACE FUNCTION campuswatch_compliance_summary() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE'
        AND (OLD.school_id IS DISTINCT FROM NEW.school_id OR OLD.target IS DISTINCT FROM NEW.target)) THEN
      UPDATE compliance_summary SET states = states - OLD.target WHERE school_id = OLD.school_id;
      DELETE FROM compliance_summary WHERE school_id = OLD.school_id AND states = '{}'::jsonb;
    END IF;
    IF TG_OP <> 'DELETE' THEN
      INSERT INTO compliance_summary AS s (school_id, states)
        VALUES (NEW.school_id, jsonb_build_object(NEW.target, NEW.state))
        ON CONFLICT (school_id) DO UPDATE SET states = s.states || excluded.states;
    END IF;
    RETURN NULL;
  END $$;
  DROP TRIGGER IF EXISTS compliance_summary_id ON compliance;
  CREATE TRIGGER compliance_summary_id AFTER INSERT OR DELETE ON compliance
    FOR EACH ROW EXECUTE FUNCTION campuswatch_compliance_summary();
  DROP TRIGGER IF EXISTS compliance_summary_u ON compliance;
  CREATE TRIGGER compliance_summary_u AFTER UPDATE OF school_id, target, state ON compliance
    FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state OR OLD.school_id IS DISTINCT FROM NEW.school_id
      OR OLD.target IS DISTINCT FROM NEW.target)
    EXECUTE FUNCTION campuswatch_compliance_summary();
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

  /** From the summary: one short row per school. */
  async complianceStates(targets: readonly string[]): Promise<Map<string, ComplianceRow['state'][]>> {
    if (targets.length === 0) return new Map();
    const { rows } = await this.p.query<{ school_id: string; states: Record<string, string> }>(
      'SELECT school_id, states FROM compliance_summary ORDER BY school_id',
    );
    return statesFromSummary(
      targets,
      rows.map((r) => [r.school_id, r.states] as const),
    );
  }
}
