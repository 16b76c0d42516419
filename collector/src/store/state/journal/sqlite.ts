import type { SqliteCompliance } from '../compliance/sqlite.js';
import type { SqliteEvidence } from '../evidence/sqlite.js';
import type { SqliteLatest } from '../latest/sqlite.js';
import type { SqliteRegistry } from '../registry/sqlite.js';
import type { SqliteDb } from '../sqlite-db.js';
import { type BeginIngest, type CompleteIngest, futureOf, type IngestRecord, oldPrefixEnd } from './index.js';

export const JOURNAL_SQLITE_SCHEMA = `
  CREATE TABLE IF NOT EXISTS ingests (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    report_id TEXT NOT NULL UNIQUE, agent_id TEXT NOT NULL, school_id TEXT NOT NULL,
    state TEXT NOT NULL, shift_ms REAL NOT NULL, received_at TEXT NOT NULL, finished_at TEXT NOT NULL
  );
`;

/** The concerns a completed report is applied to, in its transaction. */
export interface SqliteReportParts {
  registry: SqliteRegistry;
  latest: SqliteLatest;
  evidence: SqliteEvidence;
  compliance: SqliteCompliance;
}

/** The ingest journal in the embedded store (synchronous; see JournalStore). */
export class SqliteJournal {
  constructor(
    private readonly s: SqliteDb,
    private readonly parts: SqliteReportParts,
  ) {}

  getIngest(reportId: string): IngestRecord | undefined {
    return this.s
      .q(
        'SELECT report_id AS reportId, agent_id AS agentId, state, shift_ms AS shiftMs FROM ingests WHERE report_id = ?',
      )
      .get(reportId) as IngestRecord | undefined;
  }

  /** Notes that a report's points are being written, with the time shift chosen for it (reused on a retry). */
  beginIngest(r: BeginIngest): void {
    this.s
      .q(
        `INSERT INTO ingests (report_id, agent_id, school_id, state, shift_ms, received_at, finished_at)
         VALUES (?, ?, ?, 'writing', ?, ?, ?) ON CONFLICT(report_id) DO NOTHING`,
      )
      .run(r.reportId, r.agentId, r.schoolId, r.shiftMs, new Date().toISOString(), r.finishedAt);
  }

  /**
   * After the series are stored: mark the report done and apply it to every concern (the agent, latest
   * results, evidence, compliance), atomically. False (and nothing applied) when the report was already done.
   */
  completeIngest(args: CompleteIngest): boolean {
    const at = args.receivedAt.toISOString();
    const future = futureOf(args);
    const { registry, latest, evidence, compliance } = this.parts;
    const written = this.s.transaction(() => {
      if (args.begin) this.beginIngest(args.begin);
      // only the first completion counts: a concurrent delivery of the same report applies nothing twice
      const marked = this.s
        .q(`UPDATE ingests SET state = 'done', received_at = ? WHERE report_id = ? AND state = 'writing'`)
        .run(at, args.reportId);
      if (marked.changes === 0) return undefined;
      registry.noteReport(args, at);
      const rows = latest.apply(args, future);
      evidence.apply(args, at);
      compliance.replaceCompliance(args.agent.schoolId, args.compliance, at);
      return rows;
    });
    if (written === undefined) return false;
    latest.cached(args, written, future);
    return true;
  }

  /** See JournalStore.pruneIngests: the oldest journal rows, a prefix in journal order, at most `limit`. */
  pruneIngests(receivedBefore: Date, limit: number): number {
    const rows = this.s
      .q('SELECT seq, received_at AS receivedAt FROM ingests ORDER BY seq LIMIT ?')
      .all(limit) as {
      seq: number;
      receivedAt: string;
    }[];
    const last = oldPrefixEnd(rows, receivedBefore);
    if (last === undefined) return 0;
    return this.s.q('DELETE FROM ingests WHERE seq <= ?').run(last).changes;
  }

  ingestOrder(agentId: string): { reportId: string; finishedAt: string }[] {
    return this.s
      .q(
        `SELECT report_id AS reportId, finished_at AS finishedAt FROM ingests WHERE agent_id = ? AND state = 'done' ORDER BY seq`,
      )
      .all(agentId) as { reportId: string; finishedAt: string }[];
  }
}
