// The dead letters: reports the collector refused for good, kept aside for `spool list --dead`, `replay`
// (back to the queue) and `drop`.
import type Database from 'better-sqlite3';
import type { Statements } from './store.js';
import type { DeadLetter } from './types.js';

/** The dead letters, oldest first. */
export function listDeadLetters(db: Database.Database, limit: number): DeadLetter[] {
  return (
    db
      .prepare(
        `SELECT report_id AS reportId, status, reason, rejected_at AS rejectedAt, length(body) AS bytes
         FROM rejected ORDER BY rejected_at, rowid LIMIT ?`,
      )
      .all(limit) as (Omit<DeadLetter, 'rejectedAt'> & { rejectedAt: number })[]
  ).map((d) => ({ ...d, rejectedAt: new Date(d.rejectedAt).toISOString() }));
}

/**
 * Moves dead letters (the ids given, or all) back to the end of the queue with `requeue`, in one
 * transaction. Returns the ids moved; ids that are not dead letters are left out.
 */
export function replayDeadLetters(
  db: Database.Database,
  ids: readonly string[] | 'all',
  requeue: (r: { reportId: string; body: string }) => void,
): string[] {
  const moved: string[] = [];
  db.transaction(() => {
    const rows = (
      ids === 'all'
        ? db.prepare('SELECT report_id AS reportId, body FROM rejected ORDER BY rejected_at, rowid').all()
        : ids.map((id) =>
            db.prepare('SELECT report_id AS reportId, body FROM rejected WHERE report_id = ?').get(id),
          )
    ).filter(Boolean) as { reportId: string; body: string }[];
    for (const r of rows) {
      db.prepare('DELETE FROM rejected WHERE report_id = ?').run(r.reportId);
      requeue(r);
      moved.push(r.reportId);
    }
  })();
  return moved;
}

/** Deletes dead letters (the ids given, or all). Returns the ids deleted. */
export function dropDeadLetters(db: Database.Database, ids: readonly string[] | 'all'): string[] {
  return db.transaction(() => {
    const all = listDeadLetters(db, Number.MAX_SAFE_INTEGER).map((d) => d.reportId);
    const gone = ids === 'all' ? all : all.filter((id) => ids.includes(id));
    const del = db.prepare('DELETE FROM rejected WHERE report_id = ?');
    for (const id of gone) del.run(id);
    return gone;
  })();
}

/** Dead letters kept now (for the counters). */
export function deadLetterCount(stmts: Statements): number {
  return (stmts.rejectedCount.get() as { n: number }).n;
}
