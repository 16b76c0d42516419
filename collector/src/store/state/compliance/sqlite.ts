import type { SqliteDb } from '../sqlite-db.js';
import { type ComplianceRow, noStates, STATES } from './index.js';

export const COMPLIANCE_SQLITE_SCHEMA = `
  CREATE TABLE IF NOT EXISTS compliance (
    school_id TEXT NOT NULL, target TEXT NOT NULL, state TEXT NOT NULL,
    value REAL, goal REAL, reason TEXT NOT NULL, updated_at TEXT NOT NULL,
    evidence_at TEXT, expires_at TEXT, since TEXT,
    PRIMARY KEY (school_id, target)
  );
`;

/** Stored compliance in the embedded store (synchronous; see ComplianceStore). */
export class SqliteCompliance {
  constructor(private readonly s: SqliteDb) {}

  /** Brings the table of an earlier version (no evidence times) to this schema (idempotent). */
  migrate(): void {
    if (!this.s.columns('compliance').has('expires_at')) {
      this.s.transaction(() => {
        this.s.db.exec(`
          ALTER TABLE compliance ADD COLUMN evidence_at TEXT;
          ALTER TABLE compliance ADD COLUMN expires_at TEXT;
          ALTER TABLE compliance ADD COLUMN since TEXT;
          UPDATE compliance SET since = updated_at;
        `);
      });
    }
    this.s.db.exec('CREATE INDEX IF NOT EXISTS compliance_expires ON compliance(expires_at)');
  }

  /**
   * Stores a school's compliance rows. A row whose state, value, goal and reason are already stored is
   * left as it is (its `updated_at` is when it last changed): most reports change one target of seven
   * (device availability), and an unchanged row then costs a lookup instead of a rewrite. The school's
   * rows share a page, so that page is still written whenever one of them changes.
   */
  replaceCompliance(schoolId: string, rows: readonly ComplianceRow[], at = new Date().toISOString()): void {
    // since: when the state last changed (kept while only the value, reason or evidence moves)
    const upsert = this.s.q(
      `INSERT INTO compliance (school_id, target, state, value, goal, reason, updated_at, evidence_at, expires_at, since)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(school_id, target) DO UPDATE SET
         since = CASE WHEN compliance.state IS excluded.state THEN compliance.since ELSE excluded.since END,
         state = excluded.state, value = excluded.value, goal = excluded.goal,
         reason = excluded.reason, updated_at = excluded.updated_at, evidence_at = excluded.evidence_at,
         expires_at = excluded.expires_at
       WHERE compliance.state IS NOT excluded.state OR compliance.value IS NOT excluded.value
         OR compliance.goal IS NOT excluded.goal OR compliance.reason IS NOT excluded.reason
         OR compliance.evidence_at IS NOT excluded.evidence_at OR compliance.expires_at IS NOT excluded.expires_at`,
    );
    for (const c of rows)
      upsert.run(
        schoolId,
        c.target,
        c.state,
        c.value,
        c.goal,
        c.reason,
        at,
        c.evidenceAt,
        c.expiresAt,
        c.since ?? at,
      );
  }

  compliance(schoolId: string): ComplianceRow[] {
    return this.s
      .q(
        `SELECT target, state, value, goal, reason, evidence_at AS evidenceAt, expires_at AS expiresAt, since
         FROM compliance WHERE school_id = ? ORDER BY rowid`,
      )
      .all(schoolId) as ComplianceRow[];
  }

  /** See ComplianceStore.schoolsToRecheck. */
  schoolsToRecheck(now: Date, limit: number): string[] {
    return (
      this.s
        .q(
          `SELECT DISTINCT school_id AS id FROM compliance
           WHERE expires_at <= ? AND school_id NOT IN (SELECT id FROM schools WHERE archived_at IS NOT NULL)
           ORDER BY school_id LIMIT ?`,
        )
        .all(now.toISOString(), limit) as { id: string }[]
    ).map((r) => r.id);
  }

  /** See ComplianceStore.complianceStates: one query, one short row per school (a letter per stored row). */
  complianceStates(targets: readonly string[]): Map<string, ComplianceRow['state'][]> {
    if (targets.length === 0) return new Map();
    // 'A' + 3 × target index + state index; the primary key allows one row per target, so order is free
    const sql = `SELECT school_id, group_concat(char(65 + 3 * t + s), '') FROM (
      SELECT school_id,
        CASE target ${targets.map((_, i) => `WHEN ? THEN ${i}`).join(' ')} END AS t,
        CASE state WHEN 'met' THEN 1 WHEN 'not_met' THEN 2 ELSE 0 END AS s
      FROM compliance) WHERE t IS NOT NULL GROUP BY school_id`;
    const rows = this.s
      .q(sql)
      .raw(true)
      .all(...targets) as [string, string][];
    const out = new Map<string, ComplianceRow['state'][]>();
    for (const [schoolId, codes] of rows) {
      const states = noStates(targets);
      for (let i = 0; i < codes.length; i++) {
        const code = codes.charCodeAt(i) - 65;
        states[Math.floor(code / 3)] = STATES[code % 3]!;
      }
      out.set(schoolId, states);
    }
    return out;
  }
}
