/** Term snapshots in the collector's SQLite file (see term-snapshots.ts). */
import type Database from 'better-sqlite3';
import type { TermSnapshot } from '../term-report/snapshot-model.js';
import {
  districtKey,
  headOfRow,
  rowValues,
  type TermSnapshotHead,
  type TermSnapshotStore,
} from './term-snapshots.js';

/** Created when missing (a state file of an earlier version gets them on open: nothing else changes). */
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS term_snapshots (
    term TEXT NOT NULL, district TEXT NOT NULL, from_day TEXT NOT NULL, to_day TEXT NOT NULL,
    taken_at TEXT NOT NULL, taken_by TEXT NOT NULL, trigger TEXT NOT NULL, schools INTEGER NOT NULL,
    body TEXT NOT NULL, PRIMARY KEY (term, district)
  );
  CREATE TRIGGER IF NOT EXISTS term_snapshots_immutable_u BEFORE UPDATE ON term_snapshots
    BEGIN SELECT RAISE(ABORT, 'a term snapshot is immutable'); END;
  CREATE TRIGGER IF NOT EXISTS term_snapshots_immutable_d BEFORE DELETE ON term_snapshots
    BEGIN SELECT RAISE(ABORT, 'a term snapshot is immutable'); END;
  CREATE TABLE IF NOT EXISTS term_mails (
    term TEXT NOT NULL, mail TEXT NOT NULL, claimed_at TEXT NOT NULL, PRIMARY KEY (term, mail)
  );
`;

const HEAD = 'term, district, from_day, to_day, taken_at, taken_by, trigger, schools';

export class SqliteSnapshots implements TermSnapshotStore {
  constructor(private readonly db: Database.Database) {
    db.exec(SCHEMA);
  }

  async saveSnapshot(s: TermSnapshot): Promise<boolean> {
    return (
      this.db
        .prepare(
          `INSERT INTO term_snapshots (${HEAD}, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT (term, district) DO NOTHING`,
        )
        .run(...rowValues(s)).changes === 1
    );
  }

  async snapshot(term: string, district: string | null): Promise<TermSnapshot | undefined> {
    const row = this.db
      .prepare('SELECT body FROM term_snapshots WHERE term = ? AND district = ?')
      .get(term, districtKey(district)) as { body: string } | undefined;
    return row ? (JSON.parse(row.body) as TermSnapshot) : undefined;
  }

  async snapshotsOfTerm(term: string): Promise<TermSnapshot[]> {
    const rows = this.db
      .prepare('SELECT body FROM term_snapshots WHERE term = ? ORDER BY district')
      .all(term) as { body: string }[];
    return rows.map((r) => JSON.parse(r.body) as TermSnapshot);
  }

  async listSnapshots(): Promise<TermSnapshotHead[]> {
    const rows = this.db
      .prepare(`SELECT ${HEAD} FROM term_snapshots ORDER BY from_day, term, district`)
      .all() as Parameters<typeof headOfRow>[0][];
    return rows.map(headOfRow);
  }

  async claimTermMail(term: string, mail: string, at: Date): Promise<boolean> {
    return (
      this.db
        .prepare(
          'INSERT INTO term_mails (term, mail, claimed_at) VALUES (?, ?, ?) ON CONFLICT (term, mail) DO NOTHING',
        )
        .run(term, mail, at.toISOString()).changes === 1
    );
  }
}
