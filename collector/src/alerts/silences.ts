import type Database from 'better-sqlite3';

export interface Silence {
  id: number;
  schoolId: string | null;
  rule: string | null;
  fingerprint: string | null;
  startsAt: string;
  endsAt: string;
  reason: string;
  createdBy: string;
}

/** Silences (Alertmanager semantics: they mute notifications, the lifecycle goes on), in the state store. */
export class SilenceStore {
  constructor(private readonly db: Database.Database) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS silences (
        id INTEGER PRIMARY KEY AUTOINCREMENT, school_id TEXT, rule TEXT, fingerprint TEXT,
        starts_at TEXT NOT NULL, ends_at TEXT NOT NULL, reason TEXT NOT NULL, created_by TEXT NOT NULL
      );
    `);
  }

  add(s: Omit<Silence, 'id'>): Silence {
    const info = this.db
      .prepare(
        'INSERT INTO silences (school_id, rule, fingerprint, starts_at, ends_at, reason, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)',
      )
      .run(s.schoolId, s.rule, s.fingerprint, s.startsAt, s.endsAt, s.reason, s.createdBy);
    return { ...s, id: Number(info.lastInsertRowid) };
  }

  /** All silences, or those active at `now`. */
  list(now?: Date): Silence[] {
    const rows = this.db.prepare('SELECT * FROM silences ORDER BY id').all() as Record<
      string,
      string | number | null
    >[];
    return rows
      .map((r) => ({
        id: Number(r.id),
        schoolId: (r.school_id as string | null) ?? null,
        rule: (r.rule as string | null) ?? null,
        fingerprint: (r.fingerprint as string | null) ?? null,
        startsAt: String(r.starts_at),
        endsAt: String(r.ends_at),
        reason: String(r.reason),
        createdBy: String(r.created_by),
      }))
      .filter((s) => now === undefined || (s.startsAt <= now.toISOString() && now.toISOString() < s.endsAt));
  }

  /** Ends a silence now; false when there is no such active silence. */
  expire(id: number, now: Date): boolean {
    return (
      this.db
        .prepare('UPDATE silences SET ends_at = ? WHERE id = ? AND ends_at > ?')
        .run(now.toISOString(), id, now.toISOString()).changes > 0
    );
  }
}
