import type { ProbeResult } from '../../../../../protocol/report.js';
import type { CompleteIngest } from '../journal/index.js';
import type { SqliteDb } from '../sqlite-db.js';
import { LatestCache } from './cache.js';
import { HISTORY_DEPTH, HISTORY_PROBES, storedResult } from './index.js';

export const LATEST_SQLITE_SCHEMA = `
  CREATE TABLE IF NOT EXISTS latest (
    school_id TEXT NOT NULL, key TEXT NOT NULL, probe TEXT NOT NULL, at TEXT NOT NULL, json TEXT NOT NULL,
    PRIMARY KEY (school_id, key)
  );
  CREATE TABLE IF NOT EXISTS history (
    school_id TEXT NOT NULL, key TEXT NOT NULL, at TEXT NOT NULL, json TEXT NOT NULL,
    PRIMARY KEY (school_id, key, at)
  );
`;

type LatestWrite = { key: string; at: string; result: ProbeResult };

/** Rows per latest upsert statement (one statement prepared per row count up to it). */
const LATEST_ROWS_PER_STATEMENT = 64;

/**
 * Latest results cached by default (state.latestCacheResults): every school of 10,000 agents at ~45
 * results each. A cached result is ≈ 340 B of live heap; in bench/ingest the collector's RSS was ≈ 900 MB
 * with all 450,000 cached (≈ 670 MB with 200,000, when half the schools were read and parsed from SQLite
 * on every report: 3.9 against 3.1-3.3 ms of CPU per report). Smaller deployments never fill it.
 */
export const DEFAULT_LATEST_CACHE_RESULTS = 500_000;

/** Latest and past results in the embedded store, with the parsed latest results of recent schools cached. */
export class SqliteLatest {
  /** Parsed latest results of recently active schools (see LatestCache). */
  readonly cache: LatestCache;
  /** Latest rows written inside a caller's transaction: cached once that transaction commits. */
  private pending: { schoolId: string; written: LatestWrite[]; future: string; dropped: boolean }[] = [];

  constructor(
    private readonly s: SqliteDb,
    cacheResults: number,
  ) {
    this.cache = new LatestCache(cacheResults);
  }

  /**
   * A report's results (inside completeIngest's transaction): the latest rows (newer or same-time wins,
   * any wins over one stamped after `future`), the history of the probes judged over several runs, and
   * the leaving keys deleted. Returns what to cache once committed (`cached`).
   */
  apply(args: CompleteIngest, future: string): LatestWrite[] {
    const schoolId = args.agent.schoolId;
    const written: LatestWrite[] = [];
    const keep = this.s.q('INSERT OR REPLACE INTO history (school_id, key, at, json) VALUES (?, ?, ?, ?)');
    const trim = this.s.q(
      `DELETE FROM history WHERE school_id = ? AND key = ? AND at NOT IN
         (SELECT at FROM history WHERE school_id = ? AND key = ? ORDER BY at DESC LIMIT ?)`,
    );
    const rows: unknown[] = [];
    for (const r of args.results) {
      const { key, result, json } = storedResult(r, args.shiftMs);
      rows.push(schoolId, key, r.probe, result.at, json);
      written.push({ key, at: result.at, result });
      if (HISTORY_PROBES.has(r.probe)) {
        keep.run(schoolId, key, result.at, json);
        trim.run(schoolId, key, schoolId, key, HISTORY_DEPTH);
      }
    }
    this.upsert(rows, future);
    if (args.leaving) {
      const gone = this.s.q('DELETE FROM latest WHERE school_id = ? AND key = ? AND at < ?');
      for (const key of args.leaving.keys) gone.run(schoolId, key, args.leaving.before);
    }
    return written;
  }

  /**
   * Latest rows (school_id, key, probe, at, json flattened), a newer or same-time result replacing the
   * stored one: up to LATEST_ROWS_PER_STATEMENT rows in one statement (a statement per row cost 15% more).
   * A key twice in one report: the later row is compared with the earlier, as one statement each would.
   * A stored result stamped after `future` is from the future: any result replaces it.
   */
  private upsert(values: readonly unknown[], future: string): void {
    for (let i = 0; i < values.length; i += 5 * LATEST_ROWS_PER_STATEMENT) {
      const chunk =
        values.length <= 5 * LATEST_ROWS_PER_STATEMENT
          ? values
          : values.slice(i, i + 5 * LATEST_ROWS_PER_STATEMENT);
      const n = chunk.length / 5;
      this.s
        .q(
          `INSERT INTO latest (school_id, key, probe, at, json) VALUES ${'(?, ?, ?, ?, ?), '.repeat(n - 1)}(?, ?, ?, ?, ?)
           ON CONFLICT(school_id, key) DO UPDATE SET probe = excluded.probe, at = excluded.at, json = excluded.json
           WHERE excluded.at >= latest.at OR latest.at > ?`,
        )
        .run(...chunk, future);
    }
  }

  /**
   * A report's latest rows were applied: the cache follows what is committed (inside a caller's
   * transaction, only once that one commits); a school whose devices left the state is read again from
   * the table.
   */
  cached(args: CompleteIngest, written: LatestWrite[], future: string): void {
    const schoolId = args.agent.schoolId;
    const dropped = (args.leaving?.keys.length ?? 0) > 0;
    if (this.s.db.inTransaction) this.pending.push({ schoolId, written, future, dropped });
    else if (dropped) this.cache.drop(schoolId);
    else this.cache.apply(schoolId, written, future);
  }

  /** The caller's transaction around completeIngest calls committed: their latest rows join the cache. */
  committed(): void {
    for (const p of this.pending)
      if (p.dropped) this.cache.drop(p.schoolId);
      else this.cache.apply(p.schoolId, p.written, p.future);
    this.pending = [];
  }

  /** It rolled back: forget those schools' cached rows (read again from the table next time). */
  rolledBack(): void {
    for (const p of this.pending) this.cache.drop(p.schoolId);
    this.pending = [];
  }

  /** Latest result per key, ordered by key; from the cache when the school is in it (shared objects: read-only). */
  latestResults(schoolId: string): ProbeResult[] {
    const cached = this.cache.get(schoolId);
    if (cached) return cached;
    const rows = (
      this.s.q('SELECT key, at, json FROM latest WHERE school_id = ? ORDER BY key').all(schoolId) as {
        key: string;
        at: string;
        json: string;
      }[]
    ).map((r) => ({ key: r.key, at: r.at, result: JSON.parse(r.json) as ProbeResult }));
    // not while a caller's transaction may still roll back what it read
    if (!this.s.db.inTransaction) this.cache.fill(schoolId, rows);
    return rows.map((r) => r.result);
  }

  /** Past results of the probes judged over several runs (speed tests), newest first. */
  history(schoolId: string, probe: ProbeResult['probe']): ProbeResult[] {
    // the keys `probe|…` as a range: with `key LIKE ?` SQLite prepared the statement again on every call
    // (the LIKE optimisation depends on the bound pattern), 60 µs per report
    return (
      this.s
        .q('SELECT json FROM history WHERE school_id = ? AND key >= ? AND key < ? ORDER BY at DESC')
        .all(schoolId, `${probe}|`, `${probe}}`) as { json: string }[]
    ) // '}' follows '|'
      .map((r) => JSON.parse(r.json) as ProbeResult);
  }
}
