import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from 'pino';

export interface OutboxOptions {
  /** The SQLite file (created with its directory). */
  path: string;
  /** Writes one report's lines to the time-series store (InfluxStore.writeCoalesced: they share requests). */
  write: (lines: string[]) => Promise<void>;
  /** True when a failed write is to be retried later (unavailable, auth); false when the points were refused. */
  retryable: (err: unknown) => boolean;
  /** Points queued at most; `add` waits for room beyond it (a report bigger than this still goes in alone). */
  maxPendingPoints: number;
  log: Logger;
  /** Told of every report's points once written, refused (dead-lettered), or of a failed attempt. */
  onWritten?: (points: number) => void;
  onRefused?: (points: number) => void;
  onFailedAttempt?: (err: unknown) => void;
  /** First and longest wait between attempts of one report while the store fails (ms). */
  retryMinMs?: number;
  retryMaxMs?: number;
}

interface Row {
  id: number;
  lines: string;
  points: number;
}

/**
 * The collector's durable queue of series not yet in InfluxDB (`influx.outbox`), so that a report is answered
 * once it is safe on the collector's disk rather than once InfluxDB took it: an InfluxDB pause (a GC, a cache
 * snapshot, a restart) no longer holds every agent's answer, and reports written meanwhile leave in large
 * requests, which cost InfluxDB far less per point. This is Prometheus remote-write's WAL and a Zabbix
 * proxy's buffer; the agent's spool stays the long-term buffer: the outbox is bounded (`maxPendingPoints`),
 * and beyond it a report waits for room, then gets 503 and stays in the agent's spool.
 *
 * A row is committed (SQLite WAL, synchronous NORMAL: it survives the collector being killed) before the
 * report is answered, and deleted once InfluxDB stored its points. After a crash every row left is written
 * again at start; points carry their report's timestamps, so writing one twice stores it once. Points
 * InfluxDB refuses as bad data (HTTP 400, after the report was answered) are moved to `outbox_refused`
 * with the reason, counted and logged: never silently dropped, never retried for ever.
 */
export class Outbox {
  private readonly db: Database.Database;
  private readonly insert: Database.Statement<[string, number]>;
  private readonly deleteRows: (ids: number[]) => void;
  private readonly refuse: Database.Statement<[number, string, number, string, string]>;
  private readonly toDelete: number[] = [];
  private deleteScheduled = false;
  private readonly waiters = new Set<() => void>();
  /** Retry waits in progress: close ends them. */
  private readonly sleeps = new Map<NodeJS.Timeout, () => void>();
  private closed = false;
  private running = 0;
  private idle: (() => void) | undefined;
  /** Points committed and not yet written (or refused). */
  pendingPoints = 0;
  pendingReports = 0;

  constructor(private readonly options: OutboxOptions) {
    if (!Number.isInteger(options.maxPendingPoints) || options.maxPendingPoints < 1)
      throw new RangeError('maxPendingPoints must be a positive integer');
    mkdirSync(dirname(options.path), { recursive: true });
    this.db = new Database(options.path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY, lines TEXT NOT NULL, points INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS outbox_refused (
        id INTEGER PRIMARY KEY, lines TEXT NOT NULL, points INTEGER NOT NULL, reason TEXT NOT NULL, at TEXT NOT NULL);
    `);
    this.insert = this.db.prepare('INSERT INTO outbox (lines, points) VALUES (?, ?)');
    const del = this.db.prepare<[number]>('DELETE FROM outbox WHERE id = ?');
    this.deleteRows = this.db.transaction((ids: number[]) => {
      for (const id of ids) del.run(id);
    });
    this.refuse = this.db.prepare(
      'INSERT OR REPLACE INTO outbox_refused (id, lines, points, reason, at) VALUES (?, ?, ?, ?, ?)',
    );
  }

  /** Sends what an earlier run left (a crash, or a stop while InfluxDB was away). Returns its report count. */
  resume(): number {
    const rows = this.db.prepare('SELECT id, lines, points FROM outbox ORDER BY id').all() as Row[];
    for (const row of rows) {
      this.pendingPoints += row.points;
      this.track(row.id, row.lines.split('\n'));
    }
    if (rows.length > 0)
      this.options.log.info(
        { reports: rows.length, points: this.pendingPoints },
        'outbox: writing the series left from the last run',
      );
    return rows.length;
  }

  /**
   * Commits one report's lines and starts writing them. Resolves true once they are on disk; false when the
   * outbox stayed full for `waitMs` (the caller answers 503: the agent keeps the report).
   */
  async add(lines: string[], waitMs: number): Promise<boolean> {
    if (lines.length === 0) return true;
    // the room is taken when granted (not when the row is in): waiters woken together cannot overshoot
    if (!(await this.reserve(lines.length, waitMs))) return false;
    let id: number;
    try {
      if (this.closed) throw new Error('the outbox is closed');
      id = Number(this.insert.run(lines.join('\n'), lines.length).lastInsertRowid);
    } catch (err) {
      this.release(lines.length);
      if (this.closed) return false;
      throw err;
    }
    this.track(id, lines);
    return true;
  }

  /** Takes room for `points`, waiting up to waitMs for it; false when none came (or the outbox closed). */
  private reserve(points: number, waitMs: number): Promise<boolean> {
    const take = () => {
      if (this.pendingPoints > 0 && this.pendingPoints + points > this.options.maxPendingPoints) return false;
      this.pendingPoints += points;
      return true;
    };
    if (this.closed) return Promise.resolve(false);
    if (take()) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const wake = () => {
        if (!this.closed && !take()) return;
        this.waiters.delete(wake);
        clearTimeout(timer);
        resolve(!this.closed);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(wake);
        resolve(false);
      }, waitMs);
      this.waiters.add(wake);
    });
  }

  private release(points: number): void {
    this.pendingPoints -= points;
    for (const wake of [...this.waiters]) wake();
  }

  /** Starts writing a committed row; its points are already counted in pendingPoints. */
  private track(id: number, lines: string[]): void {
    this.pendingReports++;
    this.running++;
    void this.deliver(id, lines).finally(() => {
      if (--this.running > 0) return;
      const idle = this.idle;
      this.idle = undefined;
      idle?.();
    });
  }

  private async deliver(id: number, lines: string[]): Promise<void> {
    const { retryMinMs = 1000, retryMaxMs = 30_000 } = this.options;
    for (let waitMs = retryMinMs; !this.closed; waitMs = Math.min(retryMaxMs, waitMs * 2)) {
      try {
        await this.options.write(lines);
        if (this.closed) return;
        this.done(id, lines.length);
        this.options.onWritten?.(lines.length);
        return;
      } catch (err) {
        if (this.closed) return;
        this.options.onFailedAttempt?.(err);
        if (!this.options.retryable(err)) {
          const reason = err instanceof Error ? err.message : String(err);
          this.refuse.run(id, lines.join('\n'), lines.length, reason, new Date().toISOString());
          this.done(id, lines.length);
          this.options.onRefused?.(lines.length);
          this.options.log.error(
            { points: lines.length, err: reason },
            'InfluxDB refused points of a stored report; kept in outbox_refused',
          );
          return;
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(() => {
            this.sleeps.delete(timer);
            resolve();
          }, waitMs);
          this.sleeps.set(timer, resolve);
        });
      }
    }
  }

  private done(id: number, points: number): void {
    this.pendingReports--;
    this.toDelete.push(id);
    if (!this.deleteScheduled) {
      // one transaction for the rows of every write answered in this turn of the event loop
      this.deleteScheduled = true;
      setImmediate(() => {
        this.deleteScheduled = false;
        if (this.closed) return;
        this.deleteRows(this.toDelete.splice(0));
      });
    }
    this.release(points);
  }

  /** Resolves once nothing is pending (tests, bench). */
  drained(): Promise<void> {
    if (this.running === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const previous = this.idle;
      this.idle = () => {
        previous?.();
        resolve();
      };
    });
  }

  /** Rows refused by InfluxDB (newest first) — for an operator, and tests. */
  refused(limit = 100): Array<{ lines: string[]; reason: string; at: string }> {
    return (
      this.db
        .prepare('SELECT lines, reason, at FROM outbox_refused ORDER BY id DESC LIMIT ?')
        .all(limit) as Array<{ lines: string; reason: string; at: string }>
    ).map((r) => ({ ...r, lines: r.lines.split('\n') }));
  }

  /** Stops writing; what is still pending stays in the file for the next start. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const [timer, resolve] of this.sleeps) {
      clearTimeout(timer);
      resolve();
    }
    this.sleeps.clear();
    for (const wake of [...this.waiters]) wake();
    if (this.toDelete.length > 0) this.deleteRows(this.toDelete.splice(0));
    this.db.close();
  }
}
