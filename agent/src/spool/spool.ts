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
  /** Reports waiting: in the spool file and held in memory. */
  depth: number;
  dropped: number;
  /** Dead letters kept now (reports the collector refused for good). */
  rejected: number;
  delivered: number;
  /** Dead letters dropped, oldest first, to keep at most `spool.maxDeadLetters`. */
  deadDropped: number;
  /** Cycles whose report could not be written to the spool (disk full): kept in memory and sent from there. */
  unstored: number;
  /** Reports held in memory now because the spool could not store them. */
  held: number;
  /**
   * Delivered reports whose removal from the spool could not be written yet: not sent again while the agent
   * runs; if it stops first they are sent once more and the collector answers "duplicate" (it de-duplicates
   * by report id), so nothing is stored twice.
   */
  unremoved: number;
  /** Set while the spool cannot write (its filesystem full, an I/O error); null when it stores normally. */
  failure: StoreFailure | null;
}

/** The spool could not write: since when, and SQLite's words. */
export interface StoreFailure {
  since: string;
  message: string;
}

/** A report the collector refused for good, as `spool list --dead` shows it. */
export interface DeadLetter {
  reportId: string;
  status: number;
  reason: string;
  rejectedAt: string;
  bytes: number;
}

/** A report waiting in the queue, as `spool list` shows it. */
export interface QueuedReport {
  reportId: string;
  attempts: number;
  createdAt: string;
  bytes: number;
  /** Held in memory only: the spool could not store it. */
  held: boolean;
}

export interface SpoolOptions {
  /** Dead letters kept at most (`spool.maxDeadLetters`); beyond it the oldest go, counted. */
  maxDeadLetters?: number;
  /** Told when writes start failing (once until a report is stored again). */
  onStoreError?: (operation: string, err: Error) => void;
  /** Told when a report was stored again after a failure, with how many reports were held meanwhile. */
  onRecovered?: (failure: StoreFailure, held: number) => void;
}

export const DEFAULT_MAX_DEAD_LETTERS = 100;
/** Reports held in memory at most while the spool cannot store (the oldest go beyond it, counted as dropped). */
const HELD_MAX_REPORTS = 16;
const HELD_MAX_BYTES = 32 * 1024 * 1024;

/**
 * Whether an error is the store failing to write (disk full, I/O, read-only, locked) rather than a bug:
 * any SQLite error but a constraint violation.
 */
export function isStoreError(err: unknown): err is Error {
  return err instanceof Database.SqliteError && !err.code.startsWith('SQLITE_CONSTRAINT');
}

/** Opens the spool file (WAL, synchronous FULL) and creates its tables when new. */
function openSpool(file: string, exclusive: boolean): Database.Database {
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

/**
 * Durable store-and-forward queue (docs/architecture.md, "Spool before send"): SQLite in WAL mode with synchronous=FULL, so a report
 * that `enqueue` returned for survives a crash or power loss. Reports leave only by `ack` (the collector
 * answered 2xx), by `reject` (the collector refused it for good: kept in a dead-letter table), or by the
 * size cap, which drops the oldest and counts every drop.
 *
 * A full disk is a state, not a crash: when a report cannot be written it is held in memory (a few, the
 * newest) and sent from there, counted as `unstored`; bookkeeping that cannot be written (attempts, the
 * removal of a delivered report, a refusal, counters) is kept in memory and written at the next chance.
 * A delivered report whose removal failed is never offered again while the agent runs. Everything held is
 * written to the spool as soon as a write succeeds again.
 */
export class Spool {
  private readonly db: Database.Database;
  private readonly stmts;
  readonly maxDeadLetters: number;
  /** Reports not stored (the spool could not write), oldest first. */
  private held: { reportId: string; body: string; attempts: number; createdAt: number }[] = [];
  /** Delivered reports whose removal is not written yet, with when they were delivered. */
  private readonly unremoved = new Map<string, Date>();
  /** Refusals not written yet. */
  private readonly unrejected = new Map<string, { status: number; reason: string; at: number }>();
  /** Counter increments not written yet. */
  private readonly unbumped = new Map<string, number>();
  private failure: StoreFailure | null = null;
  /** Opened in exclusive locking mode (the disk was full at start): other processes cannot read it meanwhile. */
  readonly exclusive: boolean = false;

  constructor(
    readonly file: string,
    readonly maxReports: number,
    private readonly options: SpoolOptions = {},
  ) {
    this.maxDeadLetters = options.maxDeadLetters ?? DEFAULT_MAX_DEAD_LETTERS;
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    try {
      this.db = openSpool(file, false);
    } catch (err) {
      // On a full disk SQLite cannot create the WAL's shared-memory index (-shm): the agent would die at
      // start, with reports in its spool it could still send. In exclusive locking mode no -shm is needed
      // (the index lives in the heap); the price is that `status` and `spool …` cannot read the spool
      // while this process runs. Counted as a failure from the start.
      // (another process holding it — a daemon that opened it exclusively — is not a full disk)
      if (!isStoreError(err) || /^SQLITE_(BUSY|LOCKED)/.test(String((err as { code?: unknown }).code)))
        throw err;
      this.db = openSpool(file, true);
      this.exclusive = true;
      this.failure = {
        since: new Date().toISOString(),
        message: `open the spool: ${err.message} (opened in exclusive mode: the disk is full?)`.slice(0, 300),
      };
      options.onStoreError?.('open the spool (opened in exclusive mode)', err);
    }
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
      dropOldestDead: this.db.prepare(
        'DELETE FROM rejected WHERE report_id IN (SELECT report_id FROM rejected ORDER BY rejected_at, rowid LIMIT ?)',
      ),
    };
  }

  /** A write failed: the spool keeps going in memory and says so. */
  private failed(operation: string, err: unknown): void {
    if (!isStoreError(err)) throw err;
    if (this.failure) return;
    this.failure = { since: new Date().toISOString(), message: `${operation}: ${err.message}`.slice(0, 300) };
    try {
      // for `status` in another process; a full disk may still take this small write (or not)
      this.stmts.setMeta.run('storeFailure', JSON.stringify(this.failure));
    } catch {
      // it says so in the reports and the log instead
    }
    this.options.onStoreError?.(operation, err);
  }

  /** Writes `fn` in a transaction; false (counted as a failure) when the store cannot write. */
  private tryWrite(operation: string, fn: () => void): boolean {
    try {
      this.db.transaction(fn)();
      return true;
    } catch (err) {
      this.failed(operation, err);
      return false;
    }
  }

  private bumpLater(key: string, by: number): void {
    this.unbumped.set(key, (this.unbumped.get(key) ?? 0) + by);
  }

  /** Inside a transaction: the counter increments kept in memory (cleared by the caller once committed). */
  private writeBumps(): void {
    for (const [key, by] of this.unbumped) this.stmts.bump.run(key, by);
  }

  /** Inside a transaction: a refusal moved to the dead-letter table, which keeps at most maxDeadLetters. */
  private writeReject(reportId: string, body: string, status: number, reason: string, at: number): void {
    this.stmts.reject.run(reportId, body, status, reason.slice(0, 2000), at);
    this.stmts.del.run(reportId);
    const excess = (this.stmts.rejectedCount.get() as { n: number }).n - this.maxDeadLetters;
    if (excess > 0) this.stmts.bump.run('deadDropped', this.stmts.dropOldestDead.run(excess).changes);
  }

  /** Inside a transaction: a report into the queue, dropping (and counting) the oldest beyond the cap. */
  private writeReport(reportId: string, body: string, createdAt: number, attempts = 0): number {
    this.stmts.insert.run(reportId, body, createdAt);
    if (attempts > 0)
      this.db.prepare('UPDATE reports SET attempts = ? WHERE report_id = ?').run(attempts, reportId);
    const depth = (this.stmts.count.get() as { n: number }).n;
    const excess = depth - this.maxReports;
    if (excess <= 0) return 0;
    this.stmts.dropOldest.run(excess);
    this.stmts.bump.run('dropped', excess);
    return excess;
  }

  /**
   * Writes what was kept in memory while the store could not write: removals, refusals, counters, then the
   * held reports (oldest first, before any newer report). True when nothing is left in memory.
   */
  private catchUp(): boolean {
    if (
      this.unremoved.size === 0 &&
      this.unrejected.size === 0 &&
      this.unbumped.size === 0 &&
      this.held.length === 0
    )
      return true;
    const held = this.held;
    const ok = this.tryWrite('catch up', () => {
      for (const [id, at] of this.unremoved) {
        if (this.stmts.del.run(id).changes > 0) this.stmts.bump.run('delivered', 1);
        this.stmts.setMeta.run('lastDeliveryAt', at.toISOString());
      }
      for (const [id, r] of this.unrejected) {
        const row = this.db.prepare('SELECT body FROM reports WHERE report_id = ?').get(id) as
          | { body: string }
          | undefined;
        if (row) this.writeReject(id, row.body, r.status, r.reason, r.at);
      }
      this.writeBumps();
      for (const h of held) this.writeReport(h.reportId, h.body, h.createdAt, h.attempts);
    });
    if (!ok) return false;
    this.unremoved.clear();
    this.unrejected.clear();
    this.unbumped.clear();
    this.held = [];
    if (held.length > 0) this.recovered(held.length);
    return true;
  }

  /** A report was stored again: the failure is over. */
  private recovered(held = 0): void {
    // (also one an earlier run wrote and did not live to clear)
    const failure = this.failure ?? this.persistedFailure();
    if (!failure) return;
    this.failure = null;
    this.options.onRecovered?.(failure, held);
    this.tryWrite('note recovery', () => {
      this.stmts.setMeta.run('storeFailure', '');
      this.stmts.setMeta.run('storeRecoveredAt', new Date().toISOString());
    });
  }

  /**
   * Stores a report durably; when over the cap, drops the oldest reports and counts them. When the store
   * cannot write (disk full), the report is held in memory and sent from there (`held: true`), counted as
   * unstored; its health says so.
   */
  enqueue(report: Report): EnqueueOutcome & { held?: boolean } {
    this.catchUp();
    const body = JSON.stringify(report);
    const now = Date.now();
    let dropped = 0;
    const stored =
      this.held.length === 0 &&
      this.tryWrite('store a report', () => {
        dropped = this.writeReport(report.reportId, body, now);
      });
    if (stored) {
      this.recovered();
      return { dropped, depth: (this.stmts.count.get() as { n: number }).n };
    }
    this.bumpLater('unstored', 1);
    const c = this.counters();
    // the report that could not be stored says so: the collector learns of the condition from it
    const told: Report = {
      ...report,
      health: {
        ...report.health,
        spoolUnstored: c.unstored,
        ...(this.failure ? { spoolFailure: this.failure } : {}),
      },
    };
    this.held.push({ reportId: report.reportId, body: JSON.stringify(told), attempts: 0, createdAt: now });
    let bytes = this.held.reduce((n, h) => n + h.body.length, 0);
    while (this.held.length > 1 && (this.held.length > HELD_MAX_REPORTS || bytes > HELD_MAX_BYTES)) {
      bytes -= this.held.shift()!.body.length;
      this.bumpLater('dropped', 1);
      dropped++;
    }
    return { dropped, depth: c.depth + 1 - dropped, held: true };
  }

  /** The oldest reports, in the order they were spooled (then those held in memory). */
  oldest(limit = 1): SpooledReport[] {
    this.catchUp();
    const skip = this.unremoved.size + this.unrejected.size;
    const rows = (this.stmts.oldest.all(limit + skip) as SpooledReport[])
      .filter((r) => !this.unremoved.has(r.reportId) && !this.unrejected.has(r.reportId))
      .slice(0, limit);
    for (const h of this.held) {
      if (rows.length >= limit) break;
      rows.push({ seq: 0, reportId: h.reportId, body: h.body, attempts: h.attempts });
    }
    return rows;
  }

  /** Counts a try; bookkeeping only: when it cannot be written nothing else changes. */
  noteAttempt(reportId: string): void {
    const h = this.held.find((x) => x.reportId === reportId);
    if (h) {
      h.attempts++;
      return;
    }
    try {
      this.stmts.attempt.run(reportId);
    } catch (err) {
      this.failed('count an attempt', err);
    }
  }

  /**
   * The collector acknowledged the report (2xx): it may go. When its removal cannot be written, it is
   * remembered (never offered again by `oldest`) and removed at the next chance.
   */
  ack(reportId: string, at = new Date()): void {
    const i = this.held.findIndex((x) => x.reportId === reportId);
    if (i >= 0) {
      this.held.splice(i, 1);
      this.bumpLater('delivered', 1);
      if (this.tryWrite('note a delivery', () => this.stmts.setMeta.run('lastDeliveryAt', at.toISOString())))
        this.catchUp();
      return;
    }
    const ok = this.tryWrite('remove a delivered report', () => {
      if (this.stmts.del.run(reportId).changes > 0) this.stmts.bump.run('delivered', 1);
      this.stmts.setMeta.run('lastDeliveryAt', at.toISOString());
    });
    if (!ok) this.unremoved.set(reportId, at);
  }

  /**
   * The collector refused the report for good (4xx other than auth/rate limits): keep it aside, counted;
   * the dead-letter table keeps the newest maxDeadLetters.
   */
  reject(reportId: string, status: number, reason: string): void {
    const at = Date.now();
    const i = this.held.findIndex((x) => x.reportId === reportId);
    if (i >= 0) {
      const [h] = this.held.splice(i, 1);
      if (
        !this.tryWrite('keep a refused report', () => this.writeReject(reportId, h!.body, status, reason, at))
      )
        this.bumpLater('deadDropped', 1); // it cannot be kept: counted as a dead letter dropped
      return;
    }
    const ok = this.tryWrite('keep a refused report', () => {
      const row = this.db.prepare('SELECT body FROM reports WHERE report_id = ?').get(reportId) as
        | { body: string }
        | undefined;
      if (row) this.writeReject(reportId, row.body, status, reason, at);
    });
    if (!ok) this.unrejected.set(reportId, { status, reason, at });
  }

  counters(): SpoolCounters {
    const num = (key: string) =>
      Number((this.stmts.getMeta.get(key) as { value: string } | undefined)?.value ?? 0) +
      (this.unbumped.get(key) ?? 0);
    const stored = (this.stmts.count.get() as { n: number }).n;

    return {
      depth: stored - this.unremoved.size - this.unrejected.size + this.held.length,
      dropped: num('dropped'),
      rejected: (this.stmts.rejectedCount.get() as { n: number }).n + this.unrejected.size,
      delivered: num('delivered') + this.unremoved.size,
      deadDropped: num('deadDropped'),
      unstored: num('unstored'),
      held: this.held.length,
      unremoved: this.unremoved.size,
      failure: this.failure ?? this.persistedFailure(),
    };
  }

  /** The failure a running agent wrote for `status` (when its disk took that much), or null. */
  private persistedFailure(): StoreFailure | null {
    const raw = this.getMeta('storeFailure');
    if (!raw) return null;
    try {
      return JSON.parse(raw) as StoreFailure;
    } catch {
      return null;
    }
  }

  /** The reports waiting, oldest first. */
  queued(limit = 1000): QueuedReport[] {
    const rows = this.db
      .prepare(
        'SELECT report_id AS reportId, attempts, created_at AS createdAt, length(body) AS bytes FROM reports ORDER BY seq LIMIT ?',
      )
      .all(limit) as { reportId: string; attempts: number; createdAt: number; bytes: number }[];
    return [
      ...rows
        .filter((r) => !this.unremoved.has(r.reportId) && !this.unrejected.has(r.reportId))
        .map((r) => ({ ...r, createdAt: new Date(r.createdAt).toISOString(), held: false })),
      ...this.held.map((h) => ({
        reportId: h.reportId,
        attempts: h.attempts,
        createdAt: new Date(h.createdAt).toISOString(),
        bytes: h.body.length,
        held: true,
      })),
    ].slice(0, limit);
  }

  /** The dead letters, oldest first. */
  deadLetters(limit = 1000): DeadLetter[] {
    return (
      this.db
        .prepare(
          `SELECT report_id AS reportId, status, reason, rejected_at AS rejectedAt, length(body) AS bytes
           FROM rejected ORDER BY rejected_at, rowid LIMIT ?`,
        )
        .all(limit) as (Omit<DeadLetter, 'rejectedAt'> & { rejectedAt: number })[]
    ).map((d) => ({ ...d, rejectedAt: new Date(d.rejectedAt).toISOString() }));
  }

  /**
   * Moves dead letters (the ids given, or all) back to the end of the queue, to be sent again. Returns the
   * ids moved; ids that are not dead letters are left out.
   */
  replay(ids: readonly string[] | 'all'): string[] {
    const moved: string[] = [];
    this.db.transaction(() => {
      const rows = (
        ids === 'all'
          ? this.db
              .prepare('SELECT report_id AS reportId, body FROM rejected ORDER BY rejected_at, rowid')
              .all()
          : ids.map((id) =>
              this.db.prepare('SELECT report_id AS reportId, body FROM rejected WHERE report_id = ?').get(id),
            )
      ).filter(Boolean) as { reportId: string; body: string }[];
      for (const r of rows) {
        this.db.prepare('DELETE FROM rejected WHERE report_id = ?').run(r.reportId);
        this.writeReport(r.reportId, r.body, Date.now());
        moved.push(r.reportId);
      }
    })();
    return moved;
  }

  /** Deletes dead letters (the ids given, or all). Returns the ids deleted. */
  dropDead(ids: readonly string[] | 'all'): string[] {
    return this.db.transaction(() => {
      const all = this.deadLetters(Number.MAX_SAFE_INTEGER).map((d) => d.reportId);
      const gone = ids === 'all' ? all : all.filter((id) => ids.includes(id));
      const del = this.db.prepare('DELETE FROM rejected WHERE report_id = ?');
      for (const id of gone) del.run(id);
      return gone;
    })();
  }

  getMeta(key: string): string | undefined {
    return (this.stmts.getMeta.get(key) as { value: string } | undefined)?.value;
  }

  /** Bookkeeping: when it cannot be written (disk full) it is skipped. False then. */
  setMeta(key: string, value: string): boolean {
    try {
      this.stmts.setMeta.run(key, value);
      return true;
    } catch (err) {
      this.failed(`write ${key}`, err);
      return false;
    }
  }

  integrityCheck(): string {
    return this.db.pragma('integrity_check', { simple: true }) as string;
  }

  /**
   * Writes what it can of what is held in memory, and closes. Returns the reports still held (lost: the
   * store could not take them before the agent stopped).
   */
  close(): { lost: number } {
    if (!this.db.open) return { lost: 0 };
    this.catchUp();
    const lost = this.held.length;
    try {
      this.db.close();
    } catch {
      // a checkpoint that cannot be written at close: the WAL keeps it, SQLite replays it at the next open
    }
    return { lost };
  }
}
