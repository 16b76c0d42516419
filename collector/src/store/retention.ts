/**
 * Retention policies and rollups (InfluxDB 1.x, InfluxQL).
 *
 * - `raw` (the DEFAULT policy, `rawDays`): every point the collector writes without naming a policy.
 * - `rollup_1h` and `rollup_1d` (`rollupDays`, 3 years by default: bureaus compare school years): continuous
 *   queries write `<field>_mean`, `<field>_min`, `<field>_max` of the main series, per hour and per day,
 *   into a measurement of the same name, keeping every tag (`GROUP BY time(…), *`).
 *
 * Idempotent: policies are created when absent and altered when present (1.6.7 refuses a CREATE that
 * differs from an existing policy); continuous queries cannot be altered in 1.x, so they are created only
 * when absent (SHOW CONTINUOUS QUERIES first). A changed rollup definition therefore needs a new CQ name.
 * Points written to `autogen` before `raw` became the default stay there (InfluxQL reads the default policy).
 */
import { RESULT_ROLLUPS } from '../results/registry.js';
import type { RollupMeasurement } from '../results/result-kind.js';

export const RAW_RP = 'raw';
export const ROLLUP_RPS = { '1h': 'rollup_1h', '1d': 'rollup_1d' } as const;
export type RollupInterval = keyof typeof ROLLUP_RPS;

export type { RollupMeasurement } from '../results/result-kind.js';

/**
 * The series rolled up (the main series of docs/architecture.md, "InfluxDB measurements"): each probe kind's
 * (its module in collector/src/results/), then the collector's own.
 */
export const ROLLUP_MEASUREMENTS: readonly RollupMeasurement[] = [
  ...RESULT_ROLLUPS,
  // written by store/points.ts for every school and every report
  { measurement: 'compliance', fields: ['met', 'value', 'gap'] },
  { measurement: 'agent', fields: ['spool_depth', 'spool_dropped', 'cycle_ms'] },
];

export const ROLLUP_AGGREGATES = ['mean', 'min', 'max'] as const;

export interface RetentionOptions {
  database: string;
  /** Days raw points are kept (default policy). */
  rawDays: number;
  /** Days hourly and daily rollups are kept. */
  rollupDays: number;
}

/** Runs one InfluxQL statement (CREATE/ALTER must go as POST) and returns its result. */
export type InfluxQLRunner = (influxql: string) => Promise<unknown>;

const quote = (name: string): string => `"${name.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;

export function cqName(measurement: string, interval: RollupInterval): string {
  return `cq_${measurement}_${interval}`;
}

/** The `SELECT … INTO …` of one rollup; `where` (e.g. a time range) is for backfilling by hand. */
export function rollupSelect(
  database: string,
  m: RollupMeasurement,
  interval: RollupInterval,
  where?: string,
): string {
  const fields = m.fields.flatMap((f) =>
    ROLLUP_AGGREGATES.map((agg) => `${agg}(${quote(f)}) AS ${quote(`${f}_${agg}`)}`),
  );
  const into = `${quote(database)}.${quote(ROLLUP_RPS[interval])}.${quote(m.measurement)}`;
  const from = `${quote(database)}.${quote(RAW_RP)}.${quote(m.measurement)}`;
  return `SELECT ${fields.join(', ')} INTO ${into} FROM ${from}${where ? ` WHERE ${where}` : ''} GROUP BY time(${interval}), *`;
}

/**
 * `CREATE CONTINUOUS QUERY`. The collector's CQs run at the end of each interval; `resample` (`RESAMPLE EVERY
 * … FOR …`) and another `name` exist for tests and backfills that need a copy of the same rollup running sooner.
 */
export function continuousQuery(
  database: string,
  m: RollupMeasurement,
  interval: RollupInterval,
  opts: { name?: string; resample?: { every: string; for: string } } = {},
): string {
  const name = opts.name ?? cqName(m.measurement, interval);
  const resample = opts.resample ? ` RESAMPLE EVERY ${opts.resample.every} FOR ${opts.resample.for}` : '';
  return `CREATE CONTINUOUS QUERY ${quote(name)} ON ${quote(database)}${resample} BEGIN ${rollupSelect(database, m, interval)} END`;
}

type Row = Record<string, unknown>;

/**
 * Rows from either a raw `/query` JSON body (`{ results: [{ series: [{ name, columns, values }] }] }`) or an
 * already-flattened array of row objects (node-influx `IResults`, the test helper's rows). Raw bodies add
 * the series name as `__series` (SHOW CONTINUOUS QUERIES names the database that way).
 */
export function rowsOf(result: unknown): Row[] {
  if (Array.isArray(result)) return result.filter((r): r is Row => typeof r === 'object' && r !== null);
  if (typeof result !== 'object' || result === null) return [];
  const results = (result as { results?: unknown }).results;
  if (!Array.isArray(results)) return [];
  const rows: Row[] = [];
  for (const res of results) {
    const series = (res as { series?: unknown } | null)?.series;
    if (!Array.isArray(series)) continue;
    for (const s of series as { name?: unknown; columns?: unknown; values?: unknown }[]) {
      if (!Array.isArray(s.columns) || !Array.isArray(s.values)) continue;
      const columns = s.columns as unknown[];
      for (const v of s.values as unknown[]) {
        if (!Array.isArray(v)) continue;
        const row: Row = { __series: s.name };
        columns.forEach((c, i) => {
          row[String(c)] = v[i];
        });
        rows.push(row);
      }
    }
  }
  return rows;
}

function checkDays(what: string, days: number): void {
  if (!Number.isInteger(days) || days < 1) throw new RangeError(`${what} must be a whole number of days ≥ 1`);
}

async function ensurePolicy(
  query: InfluxQLRunner,
  existing: ReadonlySet<string>,
  database: string,
  name: string,
  days: number,
  isDefault: boolean,
): Promise<void> {
  const verb = existing.has(name) ? 'ALTER' : 'CREATE';
  await query(
    `${verb} RETENTION POLICY ${quote(name)} ON ${quote(database)} DURATION ${days}d REPLICATION 1${isDefault ? ' DEFAULT' : ''}`,
  );
}

/** Creates or updates the retention policies, and creates the rollup continuous queries that are absent. */
export async function ensureRetention(
  query: InfluxQLRunner,
  opts: { database: string; rawDays: number; rollupDays: number },
): Promise<void> {
  checkDays('rawDays', opts.rawDays);
  checkDays('rollupDays', opts.rollupDays);
  const { database } = opts;
  const policies = new Set(
    rowsOf(await query(`SHOW RETENTION POLICIES ON ${quote(database)}`))
      .map((r) => r.name)
      .filter((n): n is string => typeof n === 'string'),
  );
  await ensurePolicy(query, policies, database, RAW_RP, opts.rawDays, true);
  await ensurePolicy(query, policies, database, ROLLUP_RPS['1h'], opts.rollupDays, false);
  await ensurePolicy(query, policies, database, ROLLUP_RPS['1d'], opts.rollupDays, false);

  const cqs = new Set<string>();
  for (const row of rowsOf(await query('SHOW CONTINUOUS QUERIES'))) {
    if (typeof row.name !== 'string') continue;
    // Raw bodies name the database per series; flattened rows only carry the query text.
    const onThisDb =
      row.__series === database ||
      (typeof row.query === 'string' &&
        (row.query.includes(` ON ${database} `) || row.query.includes(` ON ${quote(database)} `)));
    if (onThisDb) cqs.add(row.name);
  }
  for (const m of ROLLUP_MEASUREMENTS) {
    for (const interval of Object.keys(ROLLUP_RPS) as RollupInterval[]) {
      if (!cqs.has(cqName(m.measurement, interval))) await query(continuousQuery(database, m, interval));
    }
  }
}
