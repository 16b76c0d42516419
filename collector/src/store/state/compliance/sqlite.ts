import type { SqliteDb } from '../sqlite-db.js';
import { type ComplianceRow, statesFromSummary } from './index.js';

export const COMPLIANCE_SQLITE_SCHEMA = `
  CREATE TABLE IF NOT EXISTS compliance (
    school_id TEXT NOT NULL, target TEXT NOT NULL, state TEXT NOT NULL,
    value REAL, goal REAL, reason TEXT NOT NULL, updated_at TEXT NOT NULL,
    evidence_at TEXT, expires_at TEXT, since TEXT,
    PRIMARY KEY (school_id, target)
  );
`;

/**
 * The summary's row of school `id` (an SQL expression) as its rows are now: written again, or gone with
 * them (delete and insert: an OR REPLACE inside a trigger would yield to the outer statement's policy).
 */
const summarise = (id: string) => `
    DELETE FROM compliance_summary WHERE school_id = ${id};
    INSERT INTO compliance_summary (school_id, states)
      SELECT school_id, json_group_object(target, state) FROM compliance WHERE school_id = ${id} GROUP BY school_id;`;

/**
 * One short row per school, its state per target as a JSON object (complianceStates reads it instead of
 * every row: 10,000 rows instead of 130,000 wide ones). Triggers keep it in the transaction of every
 * write of `compliance` rows, whatever statement or connection makes it; an update that leaves the state
 * (and key) as it was does not touch it.
 */
const SUMMARY_SCHEMA = `
  CREATE TABLE IF NOT EXISTS compliance_summary (
    school_id TEXT PRIMARY KEY, states TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE TRIGGER IF NOT EXISTS compliance_summary_i AFTER INSERT ON compliance BEGIN${summarise('NEW.school_id')}
  END;
  CREATE TRIGGER IF NOT EXISTS compliance_summary_u AFTER UPDATE OF school_id, target, state ON compliance
    WHEN OLD.state IS NOT NEW.state OR OLD.school_id IS NOT NEW.school_id OR OLD.target IS NOT NEW.target
  BEGIN${summarise('OLD.school_id')}${summarise('NEW.school_id')}
  END;
  CREATE TRIGGER IF NOT EXISTS compliance_summary_d AFTER DELETE ON compliance BEGIN${summarise('OLD.school_id')}
  END;
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
    // a database of an earlier version gets the summary filled from its rows, with its triggers at once
    this.s.transaction(() => {
      const fill = !this.s.hasTable('compliance_summary');
      this.s.db.exec(SUMMARY_SCHEMA);
      if (fill)
        this.s.db.exec(`INSERT INTO compliance_summary (school_id, states)
          SELECT school_id, json_group_object(target, state) FROM compliance GROUP BY school_id`);
    });
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

  /**
   * The summary as last read, with the database's version then: PRAGMA data_version (moves when another
   * connection commits) and this connection's total_changes() (moves with each row it writes, even one
   * rolled back later). The summary is read again only when either moved.
   */
  private cached:
    | { version: string; rows: (readonly [string, Readonly<Record<string, string>>])[] }
    | undefined;

  private summaryRows(): (readonly [string, Readonly<Record<string, string>>])[] {
    const version = `${this.s.q('PRAGMA data_version').pluck().get()}:${this.s.q('SELECT total_changes()').pluck().get()}`;
    if (this.cached?.version === version) return this.cached.rows;
    const rows = (
      this.s.q('SELECT school_id, states FROM compliance_summary ORDER BY school_id').raw(true).all() as [
        string,
        string,
      ][]
    ).map(([id, states]) => [id, JSON.parse(states) as Record<string, string>] as const);
    // inside a transaction what was read may yet be rolled back (and total_changes() would not move back)
    this.cached = this.s.db.inTransaction ? undefined : { version, rows };
    return rows;
  }

  /** See ComplianceStore.complianceStates: one short row per school, from the summary (as last read while unchanged). */
  complianceStates(targets: readonly string[]): Map<string, ComplianceRow['state'][]> {
    if (targets.length === 0) return new Map();
    return statesFromSummary(targets, this.summaryRows());
  }
}
