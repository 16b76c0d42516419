import type Database from 'better-sqlite3';

/**
 * The embedded store's connection as its concern modules (state/<concern>/sqlite.ts) share it: statements
 * prepared once, and transactions synced to disk for what nothing re-sends.
 */
export class SqliteDb {
  /** Statements prepared once: preparing on every call was 8.7% of ingest CPU (bench/ingest profile). */
  private readonly statements = new Map<string, Database.Statement>();

  constructor(readonly db: Database.Database) {}

  q(sql: string): Database.Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  /** Runs fn in a transaction whose commit is synced to disk before it returns (synchronous = FULL). */
  durably<T>(fn: () => T): T {
    // inside a caller's transaction (bulk set-up) its commit decides; the level can't change there
    if (this.db.inTransaction) return this.db.transaction(fn)();
    this.db.pragma('synchronous = FULL');
    try {
      return this.db.transaction(fn)();
    } finally {
      this.db.pragma('synchronous = NORMAL');
    }
  }

  /** Runs fn in a transaction (a savepoint inside a caller's one). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /** The names of a table's columns (migrations). */
  columns(table: string): Set<string> {
    return new Set(
      (this.db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name),
    );
  }

  hasTable(table: string): boolean {
    return (
      this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) !==
      undefined
    );
  }
}
