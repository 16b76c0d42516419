import { DatabaseError, type Pool, type PoolClient, type QueryResultRow } from 'pg';
import type { Logger } from 'pino';

/** Transactions that lost a deadlock or a serialisation race are run again (everything was rolled back). */
const RETRIED_SQLSTATES = new Set(['40P01', '40001']);
const TX_ATTEMPTS = 3;

/** Anything that runs a query: the pool or a client inside a transaction. */
export interface Queryable {
  query<R extends QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }>;
}

/** Every text column is `COLLATE "C"` (SQLite's BINARY): both stores compare and order alike. */
export const T = 'text COLLATE "C"';

/**
 * The PostgreSQL store's pool as its concern modules (state/<concern>/pg.ts) share it: queries, the first
 * row of one, and transactions on one pooled client that a deadlock runs again.
 */
export class PgDb {
  constructor(
    readonly pool: Pool,
    private readonly log?: Logger,
  ) {}

  query<R extends QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }> {
    return this.pool.query<R>(text, values);
  }

  /** The first row a statement answers (of the pool, or of `q`: a client inside a transaction). */
  async one<R extends QueryResultRow>(
    text: string,
    values: unknown[],
    q: Queryable = this.pool,
  ): Promise<R | undefined> {
    return (await q.query<R>(text, values)).rows[0];
  }

  /**
   * Runs fn in a transaction on one pooled client: COMMIT, or ROLLBACK when fn throws. A deadlock or
   * serialisation failure runs it again (nothing of the failed attempt stayed).
   */
  async tx<R>(fn: (client: PoolClient) => Promise<R>): Promise<R> {
    for (let attempt = 1; ; attempt += 1) {
      const client = await this.pool.connect();
      let broken: Error | undefined;
      // the pool listens for errors of idle clients only: one of a checked-out client (its backend
      // terminated between two queries) would otherwise be thrown out of the event loop
      const onError = (err: Error) => {
        broken = err;
        this.log?.warn({ err: err.message }, 'postgres: connection failed in a transaction');
      };
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch (rollbackErr) {
          broken = rollbackErr instanceof Error ? rollbackErr : new Error(String(rollbackErr));
        }
        const retry =
          err instanceof DatabaseError && RETRIED_SQLSTATES.has(err.code ?? '') && attempt < TX_ATTEMPTS;
        if (!retry) throw err;
        this.log?.warn({ code: (err as DatabaseError).code, attempt }, 'postgres: transaction retried');
      } finally {
        // a client whose connection failed or whose ROLLBACK failed is in an unknown state: the pool discards it
        client.removeListener('error', onError);
        client.release(broken);
      }
    }
  }
}

/**
 * PostgreSQL text cannot hold U+0000 (SQLite can): free text that comes from agents or people (hostnames,
 * room names and details, reasons) has it replaced by U+FFFD, so one such character never fails a whole
 * transaction (a report the collector could never store, retried by its agent forever).
 */
export function noNul(s: string): string {
  return s.includes('\u0000') ? s.replaceAll('\u0000', '\uFFFD') : s;
}
