import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import type { Report } from '../../../protocol/report.js';
import { deadLetterCount, dropDeadLetters, listDeadLetters, replayDeadLetters } from './dead-letters.js';
import { Pending } from './held.js';
import {
  isStoreError,
  openSpoolFile,
  prepareStatements,
  type Statements,
  writeReject,
  writeReport,
} from './store.js';
import {
  DEFAULT_MAX_DEAD_LETTERS,
  type DeadLetter,
  type EnqueueOutcome,
  type QueuedReport,
  type SpoolCounters,
  type SpooledReport,
  type SpoolOptions,
  type StoreFailure,
} from './types.js';

export { isStoreError } from './store.js';
// everything types.ts declares is part of the spool's interface
export * from './types.js';

/**
 * Durable store-and-forward queue (docs/architecture.md, "Spool before send"): SQLite in WAL mode with synchronous=FULL, so a report
 * that `enqueue` returned for survives a crash or power loss. Reports leave only by `ack` (the collector
 * answered 2xx), by `reject` (the collector refused it for good: kept in a dead-letter table, dead-letters.ts),
 * or by the size cap, which drops the oldest and counts every drop.
 *
 * A full disk is a state, not a crash: when a report cannot be written it is held in memory (a few, the
 * newest; held.ts) and sent from there, counted as `unstored`; bookkeeping that cannot be written (attempts,
 * the removal of a delivered report, a refusal, counters) is kept in memory and written at the next chance.
 * A delivered report whose removal failed is never offered again while the agent runs. Everything held is
 * written to the spool as soon as a write succeeds again.
 */
export class Spool {
  private readonly db: Database.Database;
  private readonly stmts: Statements;
  readonly maxDeadLetters: number;
  /** What could not be written yet (held.ts). */
  private readonly pending = new Pending();
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
      this.db = openSpoolFile(file, false);
    } catch (err) {
      // On a full disk SQLite cannot create the WAL's shared-memory index (-shm): the agent would die at
      // start, with reports in its spool it could still send. In exclusive locking mode no -shm is needed
      // (the index lives in the heap); the price is that `status` and `spool …` cannot read the spool
      // while this process runs. Counted as a failure from the start.
      // (another process holding it — a daemon that opened it exclusively — is not a full disk)
      if (!isStoreError(err) || /^SQLITE_(BUSY|LOCKED)/.test(String((err as { code?: unknown }).code)))
        throw err;
      this.db = openSpoolFile(file, true);
      this.exclusive = true;
      this.failure = {
        since: new Date().toISOString(),
        message: `open the spool: ${err.message} (opened in exclusive mode: the disk is full?)`.slice(0, 300),
      };
      options.onStoreError?.('open the spool (opened in exclusive mode)', err);
    }
    this.stmts = prepareStatements(this.db);
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

  /** Inside a transaction: the refusal of a stored report (nothing when it is no longer there). */
  private writeStoredReject(reportId: string, status: number, reason: string, at: number): void {
    const row = this.stmts.body.get(reportId) as { body: string } | undefined;
    if (row) writeReject(this.stmts, this.maxDeadLetters, { reportId, body: row.body, status, reason, at });
  }

  /**
   * Writes what was kept in memory while the store could not write: removals, refusals, counters, then the
   * held reports (oldest first, before any newer report). True when nothing is left in memory.
   */
  private catchUp(): boolean {
    const p = this.pending;
    if (p.empty) return true;
    const held = p.reports;
    const ok = this.tryWrite('catch up', () => {
      for (const [id, at] of p.unremoved) {
        if (this.stmts.del.run(id).changes > 0) this.stmts.bump.run('delivered', 1);
        this.stmts.setMeta.run('lastDeliveryAt', at.toISOString());
      }
      for (const [id, r] of p.unrejected) this.writeStoredReject(id, r.status, r.reason, r.at);
      for (const [key, by] of p.unbumped) this.stmts.bump.run(key, by);
      for (const h of held) writeReport(this.stmts, this.maxReports, h);
    });
    if (!ok) return false;
    p.clear();
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
      this.pending.reports.length === 0 &&
      this.tryWrite('store a report', () => {
        dropped = writeReport(this.stmts, this.maxReports, {
          reportId: report.reportId,
          body,
          createdAt: now,
        });
      });
    if (stored) {
      this.recovered();
      return { dropped, depth: (this.stmts.count.get() as { n: number }).n };
    }
    this.pending.bumpLater('unstored', 1);
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
    dropped += this.pending.hold({
      reportId: report.reportId,
      body: JSON.stringify(told),
      attempts: 0,
      createdAt: now,
    });
    return { dropped, depth: c.depth + 1 - dropped, held: true };
  }

  /** The oldest reports, in the order they were spooled (then those held in memory). */
  oldest(limit = 1): SpooledReport[] {
    this.catchUp();
    const p = this.pending;
    const skip = p.unremoved.size + p.unrejected.size;
    const rows = (this.stmts.oldest.all(limit + skip) as SpooledReport[])
      .filter((r) => !p.settled(r.reportId))
      .slice(0, limit);
    for (const h of p.reports) {
      if (rows.length >= limit) break;
      rows.push({ seq: 0, reportId: h.reportId, body: h.body, attempts: h.attempts });
    }
    return rows;
  }

  /** Counts a try; bookkeeping only: when it cannot be written nothing else changes. */
  noteAttempt(reportId: string): void {
    const h = this.pending.find(reportId);
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
    if (this.pending.take(reportId)) {
      this.pending.bumpLater('delivered', 1);
      if (this.tryWrite('note a delivery', () => this.stmts.setMeta.run('lastDeliveryAt', at.toISOString())))
        this.catchUp();
      return;
    }
    const ok = this.tryWrite('remove a delivered report', () => {
      if (this.stmts.del.run(reportId).changes > 0) this.stmts.bump.run('delivered', 1);
      this.stmts.setMeta.run('lastDeliveryAt', at.toISOString());
    });
    if (!ok) this.pending.unremoved.set(reportId, at);
  }

  /**
   * The collector refused the report for good (4xx other than auth/rate limits): keep it aside, counted;
   * the dead-letter table keeps the newest maxDeadLetters.
   */
  reject(reportId: string, status: number, reason: string): void {
    const at = Date.now();
    const h = this.pending.take(reportId);
    if (h) {
      const kept = this.tryWrite('keep a refused report', () =>
        writeReject(this.stmts, this.maxDeadLetters, { reportId, body: h.body, status, reason, at }),
      );
      if (!kept) this.pending.bumpLater('deadDropped', 1); // it cannot be kept: counted as a dead letter dropped
      return;
    }
    const ok = this.tryWrite('keep a refused report', () =>
      this.writeStoredReject(reportId, status, reason, at),
    );
    if (!ok) this.pending.unrejected.set(reportId, { status, reason, at });
  }

  counters(): SpoolCounters {
    const p = this.pending;
    const num = (key: string) =>
      Number((this.stmts.getMeta.get(key) as { value: string } | undefined)?.value ?? 0) +
      (p.unbumped.get(key) ?? 0);
    const stored = (this.stmts.count.get() as { n: number }).n;

    return {
      depth: stored - p.unremoved.size - p.unrejected.size + p.reports.length,
      dropped: num('dropped'),
      rejected: deadLetterCount(this.stmts) + p.unrejected.size,
      delivered: num('delivered') + p.unremoved.size,
      deadDropped: num('deadDropped'),
      unstored: num('unstored'),
      held: p.reports.length,
      unremoved: p.unremoved.size,
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
    const p = this.pending;
    const rows = this.db
      .prepare(
        'SELECT report_id AS reportId, attempts, created_at AS createdAt, length(body) AS bytes FROM reports ORDER BY seq LIMIT ?',
      )
      .all(limit) as { reportId: string; attempts: number; createdAt: number; bytes: number }[];
    return [
      ...rows
        .filter((r) => !p.settled(r.reportId))
        .map((r) => ({ ...r, createdAt: new Date(r.createdAt).toISOString(), held: false })),
      ...p.reports.map((h) => ({
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
    return listDeadLetters(this.db, limit);
  }

  /**
   * Moves dead letters (the ids given, or all) back to the end of the queue, to be sent again. Returns the
   * ids moved; ids that are not dead letters are left out.
   */
  replay(ids: readonly string[] | 'all'): string[] {
    return replayDeadLetters(this.db, ids, (r) =>
      writeReport(this.stmts, this.maxReports, { ...r, createdAt: Date.now() }),
    );
  }

  /** Deletes dead letters (the ids given, or all). Returns the ids deleted. */
  dropDead(ids: readonly string[] | 'all'): string[] {
    return dropDeadLetters(this.db, ids);
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
    const lost = this.pending.reports.length;
    try {
      this.db.close();
    } catch {
      // a checkpoint that cannot be written at close: the WAL keeps it, SQLite replays it at the next open
    }
    return { lost };
  }
}
