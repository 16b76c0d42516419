import type { PoolClient } from 'pg';
import type { ProbeResult } from '../../../../../protocol/report.js';
import type { CompleteIngest } from '../journal/index.js';
import { type PgDb, T } from '../pg-db.js';
import { HISTORY_DEPTH, HISTORY_PROBES, type LatestStore, storedResult } from './index.js';

export const LATEST_PG_SCHEMA = `
  CREATE TABLE IF NOT EXISTS latest (
    school_id ${T} NOT NULL, key ${T} NOT NULL, probe ${T} NOT NULL, at ${T} NOT NULL, json ${T} NOT NULL,
    PRIMARY KEY (school_id, key)
  );
  CREATE TABLE IF NOT EXISTS history (
    school_id ${T} NOT NULL, key ${T} NOT NULL, at ${T} NOT NULL, json ${T} NOT NULL,
    PRIMARY KEY (school_id, key, at)
  );
`;

interface JsonRow {
  json: string;
}

/** A report's latest and history rows, worked out before its transaction (see PgLatest.plan). */
export interface LatestPlan {
  latest: Map<string, { probe: string; at: string; json: string }>;
  keys: string[];
  history: { key: string; at: string; json: string }[];
}

/** Latest and past results in PostgreSQL. */
export class PgLatest implements LatestStore {
  constructor(private readonly p: PgDb) {}

  /**
   * Rows are written in key order (fewer lock-order deadlocks between collectors completing reports of
   * one school at once). Several results of one key in a report: what applying them one by one leaves,
   * the last of those with the greatest time (`excluded.at >= latest.at` then decides against the stored row).
   */
  plan(args: CompleteIngest): LatestPlan {
    const latest = new Map<string, { probe: string; at: string; json: string }>();
    const history: { key: string; at: string; json: string }[] = [];
    for (const r of args.results) {
      const { key, result, json } = storedResult(r, args.shiftMs);
      const prev = latest.get(key);
      if (prev === undefined || result.at >= prev.at)
        latest.set(key, { probe: r.probe, at: result.at, json });
      if (HISTORY_PROBES.has(r.probe)) history.push({ key, at: result.at, json });
    }
    return { latest, keys: [...latest.keys()].sort(), history };
  }

  /** A report's results (inside completeIngest's transaction): latest rows, leaving keys, history. */
  async apply(c: PoolClient, args: CompleteIngest, plan: LatestPlan, future: string): Promise<void> {
    const schoolId = args.agent.schoolId;
    const { latest, keys } = plan;
    if (keys.length > 0) {
      await c.query(
        `INSERT INTO latest (school_id, key, probe, at, json)
         SELECT $1, u.key, u.probe, u.at, u.json
         FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS u(key, probe, at, json)
         ON CONFLICT (school_id, key) DO UPDATE SET probe = excluded.probe, at = excluded.at, json = excluded.json
         WHERE excluded.at >= latest.at OR latest.at > $6`,
        [
          schoolId,
          keys,
          keys.map((k) => latest.get(k)!.probe),
          keys.map((k) => latest.get(k)!.at),
          keys.map((k) => latest.get(k)!.json),
          // a stored result from the future (past the time this report arrived) yields to any newer report
          future,
        ],
      );
    }
    if (args.leaving && args.leaving.keys.length > 0) {
      await c.query('DELETE FROM latest WHERE school_id = $1 AND key = ANY($2::text[]) AND at < $3', [
        schoolId,
        [...args.leaving.keys].sort(),
        args.leaving.before,
      ]);
    }
    for (const h of plan.history) {
      await c.query(
        `INSERT INTO history (school_id, key, at, json) VALUES ($1, $2, $3, $4)
         ON CONFLICT (school_id, key, at) DO UPDATE SET json = excluded.json`,
        [schoolId, h.key, h.at, h.json],
      );
      await c.query(
        `DELETE FROM history WHERE school_id = $1 AND key = $2 AND at NOT IN
           (SELECT at FROM history WHERE school_id = $1 AND key = $2 ORDER BY at DESC LIMIT $3)`,
        [schoolId, h.key, HISTORY_DEPTH],
      );
    }
  }

  async latestResults(schoolId: string): Promise<ProbeResult[]> {
    const { rows } = await this.p.query<JsonRow>(
      'SELECT json FROM latest WHERE school_id = $1 ORDER BY key',
      [schoolId],
    );
    return rows.map((r) => JSON.parse(r.json) as ProbeResult);
  }

  async history(schoolId: string, probe: ProbeResult['probe']): Promise<ProbeResult[]> {
    const { rows } = await this.p.query<JsonRow>(
      'SELECT json FROM history WHERE school_id = $1 AND key LIKE $2 ORDER BY at DESC',
      [schoolId, `${probe}|%`],
    );
    return rows.map((r) => JSON.parse(r.json) as ProbeResult);
  }
}
