/** Term snapshots in the shared PostgreSQL state (see term-snapshots.ts). */
import type { Pool } from 'pg';
import type { TermSnapshot } from '../term-report/snapshot-model.js';
import {
  districtKey,
  headOfRow,
  rowValues,
  type TermSnapshotHead,
  type TermSnapshotStore,
} from './term-snapshots.js';

const T = 'text COLLATE "C"';

/** Run by PgStateStore.open under its schema lock (idempotent: an earlier schema gets the tables). */
export const SNAPSHOT_SCHEMA = `
  CREATE TABLE IF NOT EXISTS term_snapshots (
    term ${T} NOT NULL, district ${T} NOT NULL, from_day ${T} NOT NULL, to_day ${T} NOT NULL,
    taken_at ${T} NOT NULL, taken_by ${T} NOT NULL, trigger ${T} NOT NULL, schools integer NOT NULL,
    body text NOT NULL, PRIMARY KEY (term, district)
  );
  CREATE OR REPLACE FUNCTION campuswatch_term_snapshot_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'a term snapshot is immutable'; END $$;
  DROP TRIGGER IF EXISTS term_snapshots_immutable ON term_snapshots;
  CREATE TRIGGER term_snapshots_immutable BEFORE UPDATE OR DELETE ON term_snapshots
    FOR EACH ROW EXECUTE FUNCTION campuswatch_term_snapshot_immutable();
  CREATE TABLE IF NOT EXISTS term_mails (
    term ${T} NOT NULL, mail ${T} NOT NULL, claimed_at ${T} NOT NULL, PRIMARY KEY (term, mail)
  );
`;

const HEAD = 'term, district, from_day, to_day, taken_at, taken_by, trigger, schools';

export class PgSnapshots implements TermSnapshotStore {
  constructor(private readonly pool: Pool) {}

  async saveSnapshot(s: TermSnapshot): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `INSERT INTO term_snapshots (${HEAD}, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (term, district) DO NOTHING`,
      rowValues(s),
    );
    return rowCount === 1;
  }

  async snapshot(term: string, district: string | null): Promise<TermSnapshot | undefined> {
    const { rows } = await this.pool.query<{ body: string }>(
      'SELECT body FROM term_snapshots WHERE term = $1 AND district = $2',
      [term, districtKey(district)],
    );
    return rows[0] ? (JSON.parse(rows[0].body) as TermSnapshot) : undefined;
  }

  async snapshotsOfTerm(term: string): Promise<TermSnapshot[]> {
    const { rows } = await this.pool.query<{ body: string }>(
      'SELECT body FROM term_snapshots WHERE term = $1 ORDER BY district',
      [term],
    );
    return rows.map((r) => JSON.parse(r.body) as TermSnapshot);
  }

  async listSnapshots(): Promise<TermSnapshotHead[]> {
    const { rows } = await this.pool.query<Parameters<typeof headOfRow>[0]>(
      `SELECT ${HEAD} FROM term_snapshots ORDER BY from_day, term, district`,
    );
    return rows.map(headOfRow);
  }

  async claimTermMail(term: string, mail: string, at: Date): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `INSERT INTO term_mails (term, mail, claimed_at) VALUES ($1, $2, $3)
       ON CONFLICT (term, mail) DO NOTHING`,
      [term, mail, at.toISOString()],
    );
    return rowCount === 1;
  }
}
