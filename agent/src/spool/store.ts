// The spool's SQLite file: opening it (WAL, synchronous FULL), its tables, its statements, and the writes that
// run inside a transaction (a report into the queue under the cap, a refusal into the dead letters).
import Database from 'better-sqlite3';

/**
 * Whether an error is the store failing to write (disk full, I/O, read-only, locked) rather than a bug:
 * any SQLite error but a constraint violation.
 */
export function isStoreError(err: unknown): err is Error {
  return err instanceof Database.SqliteError && !err.code.startsWith('SQLITE_CONSTRAINT');
}

/** Opens the spool file (WAL, synchronous FULL) and creates its tables when new. */
export function openSpoolFile(file: string, exclusive: boolean): Database.Database {
  const db = new Database(file);
  try {
    if (exclusive) db.pragma('locking_mode = EXCLUSIVE');
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    db.exec(`
      CREATE TABLE IF NOT EXISTS reports (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        report_id TEXT NOT NULL UNIQUE,
        body TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE IF NOT EXISTS rejected (
        report_id TEXT PRIMARY KEY,
        body TEXT NOT NULL,
        status INTEGER NOT NULL,
        reason TEXT NOT NULL,
        rejected_at INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `);
    // a first read: in WAL mode it opens (or recovers) the WAL and its index, which a full disk may refuse
    db.prepare('SELECT count(*) FROM reports').get();
    return db;
  } catch (err) {
    db.close();
    throw err;
  }
}

/** The statements the queue runs, prepared once. */
export function prepareStatements(db: Database.Database) {
  return {
    insert: db.prepare('INSERT INTO reports (report_id, body, created_at) VALUES (?, ?, ?)'),
    count: db.prepare('SELECT count(*) AS n FROM reports'),
    dropOldest: db.prepare('DELETE FROM reports WHERE seq IN (SELECT seq FROM reports ORDER BY seq LIMIT ?)'),
    oldest: db.prepare('SELECT seq, report_id AS reportId, body, attempts FROM reports ORDER BY seq LIMIT ?'),
    body: db.prepare('SELECT body FROM reports WHERE report_id = ?'),
    del: db.prepare('DELETE FROM reports WHERE report_id = ?'),
    attempt: db.prepare('UPDATE reports SET attempts = attempts + 1 WHERE report_id = ?'),
    setAttempts: db.prepare('UPDATE reports SET attempts = ? WHERE report_id = ?'),
    reject: db.prepare(
      'INSERT OR REPLACE INTO rejected (report_id, body, status, reason, rejected_at) VALUES (?, ?, ?, ?, ?)',
    ),
    getMeta: db.prepare('SELECT value FROM meta WHERE key = ?'),
    setMeta: db.prepare(
      'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
    ),
    bump: db.prepare(
      `INSERT INTO meta (key, value) VALUES (?, CAST(? AS TEXT))
         ON CONFLICT(key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + CAST(excluded.value AS INTEGER) AS TEXT)`,
    ),
    rejectedCount: db.prepare('SELECT count(*) AS n FROM rejected'),
    dropOldestDead: db.prepare(
      'DELETE FROM rejected WHERE report_id IN (SELECT report_id FROM rejected ORDER BY rejected_at, rowid LIMIT ?)',
    ),
  };
}
export type Statements = ReturnType<typeof prepareStatements>;

/** Inside a transaction: a report into the queue, dropping (and counting) the oldest beyond the cap. */
export function writeReport(
  stmts: Statements,
  maxReports: number,
  r: { reportId: string; body: string; createdAt: number; attempts?: number },
): number {
  stmts.insert.run(r.reportId, r.body, r.createdAt);
  if (r.attempts !== undefined && r.attempts > 0) stmts.setAttempts.run(r.attempts, r.reportId);
  const depth = (stmts.count.get() as { n: number }).n;
  const excess = depth - maxReports;
  if (excess <= 0) return 0;
  stmts.dropOldest.run(excess);
  stmts.bump.run('dropped', excess);
  return excess;
}

/** Inside a transaction: a refusal moved to the dead-letter table, which keeps at most maxDeadLetters. */
export function writeReject(
  stmts: Statements,
  maxDeadLetters: number,
  r: { reportId: string; body: string; status: number; reason: string; at: number },
): void {
  stmts.reject.run(r.reportId, r.body, r.status, r.reason.slice(0, 2000), r.at);
  stmts.del.run(r.reportId);
  const excess = (stmts.rejectedCount.get() as { n: number }).n - maxDeadLetters;
  if (excess > 0) stmts.bump.run('deadDropped', stmts.dropOldestDead.run(excess).changes);
}
