import type { PgCompliance } from '../compliance/pg.js';
import type { PgEvidence } from '../evidence/pg.js';
import type { PgLatest } from '../latest/pg.js';
import { type PgDb, T } from '../pg-db.js';
import type { PgRegistry } from '../registry/pg.js';
import {
  type BeginIngest,
  type CompleteIngest,
  futureOf,
  type IngestRecord,
  type JournalStore,
  oldPrefixEnd,
} from './index.js';

export const JOURNAL_PG_SCHEMA = `
  CREATE TABLE IF NOT EXISTS ingests (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    report_id ${T} NOT NULL UNIQUE, agent_id ${T} NOT NULL, school_id ${T} NOT NULL,
    state ${T} NOT NULL, shift_ms double precision NOT NULL, received_at ${T} NOT NULL, finished_at ${T} NOT NULL
  );
`;

const BEGIN_INGEST = `INSERT INTO ingests (report_id, agent_id, school_id, state, shift_ms, received_at, finished_at)
  VALUES ($1, $2, $3, 'writing', $4, $5, $6) ON CONFLICT (report_id) DO NOTHING`;
const beginIngestValues = (r: BeginIngest) => [
  r.reportId,
  r.agentId,
  r.schoolId,
  r.shiftMs,
  new Date().toISOString(),
  r.finishedAt,
];

/** The concerns a completed report is applied to, in its transaction. */
export interface PgReportParts {
  registry: PgRegistry;
  latest: PgLatest;
  evidence: PgEvidence;
  compliance: PgCompliance;
}

/** The ingest journal in PostgreSQL. */
export class PgJournal implements JournalStore {
  constructor(
    private readonly p: PgDb,
    private readonly parts: PgReportParts,
  ) {}

  async getIngest(reportId: string): Promise<IngestRecord | undefined> {
    return this.p.one<IngestRecord>(
      `SELECT report_id AS "reportId", agent_id AS "agentId", state, shift_ms AS "shiftMs"
       FROM ingests WHERE report_id = $1`,
      [reportId],
    );
  }

  async beginIngest(r: BeginIngest): Promise<void> {
    await this.p.query(BEGIN_INGEST, beginIngestValues(r));
  }

  async completeIngest(args: CompleteIngest): Promise<boolean> {
    const at = args.receivedAt.toISOString();
    // no row is stamped after year 9999: without futureAfter only newer results replace stored ones
    const future = futureOf(args);
    const { registry, latest, evidence, compliance } = this.parts;
    const plan = latest.plan(args);
    return this.p.tx(async (c) => {
      if (args.begin) await c.query(BEGIN_INGEST, beginIngestValues(args.begin));
      // only the first completion counts: the row lock makes a concurrent one wait, then change nothing
      const marked = await c.query(
        `UPDATE ingests SET state = 'done', received_at = $1 WHERE report_id = $2 AND state = 'writing'`,
        [at, args.reportId],
      );
      if (marked.rowCount !== 1) return false;
      await registry.noteReport(c, args, at);
      await latest.apply(c, args, plan, future);
      await evidence.apply(c, args, at);
      await compliance.upsert(c, args.agent.schoolId, args.compliance, at);
      return true;
    });
  }

  async ingestOrder(agentId: string): Promise<{ reportId: string; finishedAt: string }[]> {
    const { rows } = await this.p.query<{ reportId: string; finishedAt: string }>(
      `SELECT report_id AS "reportId", finished_at AS "finishedAt" FROM ingests
       WHERE agent_id = $1 AND state = 'done' ORDER BY seq`,
      [agentId],
    );
    return rows;
  }

  async pruneIngests(receivedBefore: Date, limit: number): Promise<number> {
    // bigint comes back as a string: compared and bound as text, never as a JS number
    const { rows } = await this.p.query<{ seq: string; receivedAt: string }>(
      'SELECT seq, received_at AS "receivedAt" FROM ingests ORDER BY seq LIMIT $1',
      [limit],
    );
    const last = oldPrefixEnd(rows, receivedBefore);
    if (last === undefined) return 0;
    const { rowCount } = await this.p.query('DELETE FROM ingests WHERE seq <= $1::bigint', [last]);
    return rowCount ?? 0;
  }
}
