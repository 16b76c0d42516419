/** `influx`: the InfluxDB the series go to, their retention, the write batching and the per-district databases. */
import { type Static, Type } from 'typebox';
import type { Problem } from '../../../protocol/validate.js';

/** influx.batchLingerMs by default (bench/ingest's raw reference coalesces with it too). */
export const BATCH_LINGER_MS = 50;

/** A read-only InfluxDB user's password: give it as `${env:NAME}` or `${file:/path}`. */
const ReaderPassword = Type.String({ minLength: 8, maxLength: 200 });

/** A district database's name starts with this (letters, digits, `_`); its hex slug follows. */
export const DATABASE_PREFIX_PATTERN = '^[A-Za-z_][A-Za-z0-9_]{0,31}$';

/**
 * Grafana in the access scopes (deploy/grafana-organisations.md): every point
 * of a school in district D is written to the main database and also to D's own database
 * `<databasePrefix><hex of D's UTF-8 name>` (store/district-databases.ts), which the collector creates with
 * the main database's retention and rollups; `readers` gives each district a read-only user
 * `<that database>_reader` (READ on its database only) for its Grafana organisation's data source.
 */
export const PerDistrictConfig = Type.Object(
  {
    enabled: Type.Boolean({ default: false }),
    databasePrefix: Type.String({ default: 'campuswatch_d_', pattern: DATABASE_PREFIX_PATTERN }),
    /** By district name as the schools carry it, e.g. `苏州工业园区: { password: ${env:…} }`. */
    readers: Type.Record(
      Type.String({ minLength: 1, maxLength: 200 }),
      Type.Object({ password: ReaderPassword }, { additionalProperties: false }),
      { default: {} },
    ),
    /** The city organisation's read-only user of the main database (optional: it may be made by hand). */
    cityReader: Type.Optional(
      Type.Object(
        {
          username: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_.-]{0,63}$' }),
          password: ReaderPassword,
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false, default: {} },
);
export type PerDistrictConfig = Static<typeof PerDistrictConfig>;

export const InfluxConfig = Type.Object(
  {
    url: Type.String({ pattern: '^https?://[^\\s/]+/?$', description: 'http(s)://host:port' }),
    database: Type.String({ default: 'campuswatch', pattern: '^[A-Za-z0-9_-]{1,64}$' }),
    username: Type.Optional(Type.String({ minLength: 1 })),
    password: Type.Optional(Type.String({ minLength: 1 })),
    timeoutMs: Type.Integer({ default: 10_000, minimum: 100, maximum: 300_000 }),
    /**
     * How long a report's points may wait for other reports' to share one `/write` when InfluxDB has a
     * free slot: fewer, larger requests (each is a WAL append and fsync in InfluxDB) for a little latency.
     */
    batchLingerMs: Type.Integer({ default: BATCH_LINGER_MS, minimum: 0, maximum: 10_000 }),
    /**
     * Answer a report once its series are committed to a queue on the collector's disk (dataDir/outbox.sqlite)
     * instead of once InfluxDB took them: InfluxDB's pauses stop reaching the agents, and the queued series go
     * in large writes. Bounded by maxPendingPoints: beyond it a report waits up to timeoutMs for room, then
     * gets 503 and stays in the agent's spool.
     */
    outbox: Type.Object(
      {
        enabled: Type.Boolean({ default: false }),
        maxPendingPoints: Type.Integer({ default: 100_000, minimum: 1, maximum: 100_000_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** Raw points are kept this long; hourly and daily rollups (continuous queries) much longer. */
    rawRetentionDays: Type.Integer({ default: 90, minimum: 1, maximum: 3650 }),
    rollupRetentionDays: Type.Integer({ default: 1096, minimum: 1, maximum: 36500 }),
    perDistrict: PerDistrictConfig,
  },
  { additionalProperties: false },
);
export type InfluxConfig = Static<typeof InfluxConfig>;

/**
 * Username and password go together; perDistrict needs an admin to create databases and users; its readers
 * are unused while it is off.
 */
export function checkInflux(influx: InfluxConfig | undefined): Problem[] {
  if (!influx) return [];
  const problems: Problem[] = [];
  if ((influx.username === undefined) !== (influx.password === undefined)) {
    problems.push({ path: 'influx/password', message: 'username and password go together' });
  }
  const pd = influx.perDistrict;
  if (pd.enabled && influx.username === undefined) {
    problems.push({
      path: 'influx/perDistrict/enabled',
      message:
        "needs influx.username and password of an InfluxDB admin (it creates the districts' databases, users and grants; without authentication on InfluxDB a grant limits nothing)",
    });
  }
  if (!pd.enabled) {
    if (Object.keys(pd.readers).length > 0)
      problems.push({ path: 'influx/perDistrict/readers', message: 'only used with enabled: true' });
    if (pd.cityReader)
      problems.push({ path: 'influx/perDistrict/cityReader', message: 'only used with enabled: true' });
  }
  if (pd.cityReader && pd.cityReader.username === influx.username)
    problems.push({
      path: 'influx/perDistrict/cityReader/username',
      message: "must not be the collector's own (admin) user: it is made read-only",
    });
  return problems;
}
