import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Report } from '../../../protocol/report.js';

export interface SpooledReport {
  seq: number;
  reportId: string;
  body: string;
  attempts: number;
}

export interface EnqueueOutcome {
  /** Reports dropped (oldest first) to stay under the cap by this enqueue. */
  dropped: number;
  depth: number;
}

export interface SpoolCounters {
  depth: number;
  dropped: number;
  rejected: number;
  delivered: number;
}

/**
 * Durable store-and-forward queue (DESIGN §3.3): SQLite in WAL mode with synchronous=FULL, so a report
 * that `enqueue` returned for survives a crash or power loss. Reports leave only by `ack` (the collector
 * answered 2xx), by `reject` (the collector refused it for good: kept in a dead-letter table), or by the
 * size cap, which drops the oldest and counts every drop.
 */
export class Spool {
  private readonly db: Database.Database;
  private readonly stmts;

  constructor(
    readonly file: string,
    readonly maxReports: number,
  ) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(`
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
    this.stmts = {
      insert: this.db.prepare('INSERT INTO reports (report_id, body, created_at) VALUES (?, ?, ?)'),
      count: this.db.prepare('SELECT count(*) AS n FROM reports'),
      dropOldest: this.db.prepare(
        'DELETE FROM reports WHERE seq IN (SELECT seq FROM reports ORDER BY seq LIMIT ?)',
      ),
      oldest: this.db.prepare(
        'SELECT seq, report_id AS reportId, body, attempts FROM reports ORDER BY seq LIMIT ?',
      ),
      del: this.db.prepare('DELETE FROM reports WHERE report_id = ?'),
      attempt: this.db.prepare('UPDATE reports SET attempts = attempts + 1 WHERE report_id = ?'),
      reject: this.db.prepare(
        'INSERT OR REPLACE INTO rejected (report_id, body, status, reason, rejected_at) VALUES (?, ?, ?, ?, ?)',
      ),
      getMeta: this.db.prepare('SELECT value FROM meta WHERE key = ?'),
      setMeta: this.db.prepare(
        'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value',
      ),
      bump: this.db.prepare(
        `INSERT INTO meta (key, value) VALUES (?, CAST(? AS TEXT))
         ON CONFLICT(key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + CAST(excluded.value AS INTEGER) AS TEXT)`,
      ),
      rejectedCount: this.db.prepare('SELECT count(*) AS n FROM rejected'),
    };
  }

  /** Stores a report durably; when over the cap, drops the oldest reports and counts them. */
  enqueue(report: Report): EnqueueOutcome {
    const tx = this.db.transaction((r: Report): EnqueueOutcome => {
      this.stmts.insert.run(r.reportId, JSON.stringify(r), Date.now());
      const depth = (this.stmts.count.get() as { n: number }).n;
      const excess = depth - this.maxReports;
      if (excess > 0) {
        this.stmts.dropOldest.run(excess);
        this.stmts.bump.run('dropped', excess);
        return { dropped: excess, depth: this.maxReports };
      }
      return { dropped: 0, depth };
    });
    return tx(report);
  }

  /** The oldest reports, in the order they were spooled. */
  oldest(limit = 1): SpooledReport[] {
    return this.stmts.oldest.all(limit) as SpooledReport[];
  }

  noteAttempt(reportId: string): void {
    this.stmts.attempt.run(reportId);
  }

  /** The collector acknowledged the report (2xx): it may go. */
  ack(reportId: string, at = new Date()): void {
    this.db.transaction(() => {
      if (this.stmts.del.run(reportId).changes > 0) this.stmts.bump.run('delivered', 1);
      this.stmts.setMeta.run('lastDeliveryAt', at.toISOString());
    })();
  }

  /** The collector refused the report for good (4xx other than auth/rate limits): keep it aside, counted. */
  reject(reportId: string, status: number, reason: string): void {
    this.db.transaction(() => {
      const row = this.db.prepare('SELECT body FROM reports WHERE report_id = ?').get(reportId) as
        | { body: string }
        | undefined;
      if (!row) return;
      this.stmts.reject.run(reportId, row.body, status, reason.slice(0, 2000), Date.now());
      this.stmts.del.run(reportId);
    })();
  }

  counters(): SpoolCounters {
    const num = (key: string) =>
      Number((this.stmts.getMeta.get(key) as { value: string } | undefined)?.value ?? 0);
    return {
      depth: (this.stmts.count.get() as { n: number }).n,
      dropped: num('dropped'),
      rejected: (this.stmts.rejectedCount.get() as { n: number }).n,
      delivered: num('delivered'),
    };
  }

  getMeta(key: string): string | undefined {
    return (this.stmts.getMeta.get(key) as { value: string } | undefined)?.value;
  }

  setMeta(key: string, value: string): void {
    this.stmts.setMeta.run(key, value);
  }

  integrityCheck(): string {
    return this.db.pragma('integrity_check', { simple: true }) as string;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
