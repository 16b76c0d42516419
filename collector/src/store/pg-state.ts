/**
 * The state store on PostgreSQL (`state.kind: postgres`), which several collectors share. Same tables and
 * answers as the embedded SQLite store (sqlite-state.ts): timestamps are TEXT ISO strings, compared and
 * ordered bytewise (every text column is `COLLATE "C"`, SQLite's BINARY), so both stores answer alike
 * whatever collation the database was created with.
 *
 * Concurrency between collectors: every change of several rows is one transaction on one pooled client;
 * a report completes once (the journal row's `writing → done` update is the gate, its row lock makes a
 * concurrent second completion apply nothing); a code is spent once (its row is locked while spending);
 * a day's digest is claimed once (one upsert). One collector at a time is the alert leader: it holds a
 * session advisory lock on a connection of its own (`alertLeadership`).
 */

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { Client, DatabaseError, Pool, type PoolClient, type QueryResultRow } from 'pg';
import type { Logger } from 'pino';
import type { ProbeResult } from '../../../protocol/report.js';
import type { School } from '../../../protocol/school.js';
import type { BudgetRefusal } from '../budgets.js';
import type { Acceptance, FindingRecord } from '../evaluate/findings.js';
import { ACCESS_SCHEMA, PgAccess } from './pg-access.js';
import { PgSnapshots, SNAPSHOT_SCHEMA } from './pg-snapshots.js';
import {
  type AgentRecord,
  type AlertRow,
  ArchivedSchoolError,
  type BeginIngest,
  type CompleteIngest,
  type ComplianceRow,
  type DesiredAlert,
  describedSchool,
  ENROLL_CODE_ALPHABET,
  findingOfRow,
  HISTORY_DEPTH,
  HISTORY_PROBES,
  type IngestRecord,
  type MaintenanceWindow,
  maintenanceOfRow,
  oldPrefixEnd,
  parseToken,
  type RoomDown,
  resultKey,
  type SchoolRecord,
  type Silence,
  type StateStore,
  samplesPerDay,
  samplesPerDeviceDay,
  schoolOfRow,
  sha256,
  shiftedResult,
  UnknownSchoolError,
} from './state-store.js';

/** Advisory lock keys (bigint), per database: one serialises schema creation, one elects the alert leader. */
export const SCHEMA_LOCK_KEY = '7163412017040101';
export const LEADER_LOCK_KEY = '7163412017040102';

/** Transactions that lost a deadlock or a serialisation race are run again (everything was rolled back). */
const RETRIED_SQLSTATES = new Set(['40P01', '40001']);
const TX_ATTEMPTS = 3;

const CONNECT_TIMEOUT_MS = 10_000;
const LEADER_QUERY_TIMEOUT_MS = 10_000;

const T = 'text COLLATE "C"';
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS schools (
    id ${T} PRIMARY KEY, json ${T} NOT NULL, created_at ${T} NOT NULL, archived_at ${T}
  );
  CREATE TABLE IF NOT EXISTS agents (
    id ${T} PRIMARY KEY,
    school_id ${T} NOT NULL REFERENCES schools(id),
    token_hash bytea NOT NULL,
    hostname ${T} NOT NULL, version ${T} NOT NULL, enrolled_at ${T} NOT NULL,
    last_seen_at ${T}, clock_offset_ms double precision, last_report_id ${T}, name ${T}, revoked_at ${T},
    spool_depth bigint
  );
  -- a schema of an earlier version had no lifecycle (archived schools, named and revoked agents)
  ALTER TABLE schools ADD COLUMN IF NOT EXISTS archived_at ${T};
  ALTER TABLE agents ADD COLUMN IF NOT EXISTS name ${T};
  ALTER TABLE agents ADD COLUMN IF NOT EXISTS revoked_at ${T};
  -- … nor the spool depth of an agent's last report (console school page)
  ALTER TABLE agents ADD COLUMN IF NOT EXISTS spool_depth bigint;
  -- … nor whether its spool could write (a full disk)
  ALTER TABLE agents ADD COLUMN IF NOT EXISTS spool_unstored bigint;
  ALTER TABLE agents ADD COLUMN IF NOT EXISTS spool_failing_since ${T};
  CREATE INDEX IF NOT EXISTS agents_school ON agents(school_id);
  CREATE TABLE IF NOT EXISTS enroll_codes (
    code_hash bytea PRIMARY KEY,
    school_id ${T} NOT NULL REFERENCES schools(id),
    expires_at bigint NOT NULL, used_at bigint, agent_id ${T}
  );
  CREATE TABLE IF NOT EXISTS ingests (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    report_id ${T} NOT NULL UNIQUE, agent_id ${T} NOT NULL, school_id ${T} NOT NULL,
    state ${T} NOT NULL, shift_ms double precision NOT NULL, received_at ${T} NOT NULL, finished_at ${T} NOT NULL
  );
  CREATE TABLE IF NOT EXISTS latest (
    school_id ${T} NOT NULL, key ${T} NOT NULL, probe ${T} NOT NULL, at ${T} NOT NULL, json ${T} NOT NULL,
    PRIMARY KEY (school_id, key)
  );
  CREATE TABLE IF NOT EXISTS history (
    school_id ${T} NOT NULL, key ${T} NOT NULL, at ${T} NOT NULL, json ${T} NOT NULL,
    PRIMARY KEY (school_id, key, at)
  );
  CREATE TABLE IF NOT EXISTS availability_days (
    school_id ${T} NOT NULL, day ${T} NOT NULL, up integer NOT NULL, total integer NOT NULL,
    PRIMARY KEY (school_id, day)
  );
  -- the same samples per device and day (see sqlite-state.ts): only the window's days are kept
  CREATE TABLE IF NOT EXISTS device_availability_days (
    school_id ${T} NOT NULL, day ${T} NOT NULL, device ${T} NOT NULL, up integer NOT NULL, total integer NOT NULL,
    PRIMARY KEY (school_id, day, device)
  );
  CREATE TABLE IF NOT EXISTS room_down (
    seq bigint GENERATED ALWAYS AS IDENTITY,
    school_id ${T} NOT NULL, room ${T} NOT NULL, room_type ${T} NOT NULL, since ${T} NOT NULL, detail ${T} NOT NULL,
    PRIMARY KEY (school_id, room)
  );
  CREATE TABLE IF NOT EXISTS findings (
    school_id ${T} NOT NULL, rule ${T} NOT NULL, target ${T} NOT NULL, port integer NOT NULL,
    json ${T} NOT NULL, PRIMARY KEY (school_id, rule, target, port)
  );
  -- a risk accepted by a person (JSON of an Acceptance), beside the finding a report writes
  ALTER TABLE findings ADD COLUMN IF NOT EXISTS acceptance ${T};
  -- seq is SQLite's rowid: an upsert keeps it, so rows come back in the order their targets were first stored
  CREATE TABLE IF NOT EXISTS compliance (
    seq bigint GENERATED ALWAYS AS IDENTITY,
    school_id ${T} NOT NULL, target ${T} NOT NULL, state ${T} NOT NULL,
    value double precision, goal double precision, reason ${T} NOT NULL, updated_at ${T} NOT NULL,
    evidence_at ${T}, expires_at ${T}, since ${T},
    PRIMARY KEY (school_id, target)
  );
  -- a schema of an earlier version had no evidence times
  ALTER TABLE compliance ADD COLUMN IF NOT EXISTS evidence_at ${T};
  ALTER TABLE compliance ADD COLUMN IF NOT EXISTS expires_at ${T};
  ALTER TABLE compliance ADD COLUMN IF NOT EXISTS since ${T};
  CREATE INDEX IF NOT EXISTS compliance_expires ON compliance(expires_at);
  CREATE TABLE IF NOT EXISTS rooms_answered (
    school_id ${T} NOT NULL, room ${T} NOT NULL, first_at ${T} NOT NULL, PRIMARY KEY (school_id, room)
  );
  CREATE TABLE IF NOT EXISTS alert_digests (school_id ${T} PRIMARY KEY, day ${T} NOT NULL);
  CREATE TABLE IF NOT EXISTS budget_refusals (
    school_id ${T} NOT NULL, budget ${T} NOT NULL, agent_id ${T} NOT NULL, at ${T} NOT NULL,
    budget_limit bigint NOT NULL, count bigint NOT NULL, times bigint NOT NULL,
    PRIMARY KEY (school_id, budget)
  );
  CREATE TABLE IF NOT EXISTS alerts (
    seq bigint GENERATED ALWAYS AS IDENTITY,
    fingerprint ${T} PRIMARY KEY, school_id ${T} NOT NULL, state ${T} NOT NULL, since ${T} NOT NULL,
    fired_at ${T}, last_notified_at ${T}, resolved_at ${T}, item ${T} NOT NULL
  );
  CREATE TABLE IF NOT EXISTS silences (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, school_id ${T}, rule ${T}, fingerprint ${T},
    starts_at ${T} NOT NULL, ends_at ${T} NOT NULL, reason ${T} NOT NULL, created_by ${T} NOT NULL
  );
  CREATE TABLE IF NOT EXISTS maintenance_windows (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, school_id ${T} NOT NULL REFERENCES schools(id),
    room ${T}, device ${T}, reason ${T} NOT NULL, starts_at ${T} NOT NULL, ends_at ${T}, weekly ${T},
    created_by ${T} NOT NULL, created_at ${T} NOT NULL
  );
  CREATE INDEX IF NOT EXISTS maintenance_windows_school ON maintenance_windows(school_id);
  -- a schema of an earlier version: availability was kept per device and day (see sqlite-state.ts)
  DO $$ BEGIN
    IF to_regclass('availability') IS NOT NULL THEN
      INSERT INTO availability_days (school_id, day, up, total)
        SELECT school_id, day, sum(up), sum(total) FROM availability GROUP BY school_id, day
        ON CONFLICT (school_id, day) DO UPDATE
          SET up = availability_days.up + excluded.up, total = availability_days.total + excluded.total;
      DROP TABLE availability;
    END IF;
  END $$;
`;

const AGENT_COLUMNS = `id, school_id AS "schoolId", hostname, version, enrolled_at AS "enrolledAt",
  last_seen_at AS "lastSeenAt", clock_offset_ms AS "clockOffsetMs", last_report_id AS "lastReportId", name,
  revoked_at AS "revokedAt", spool_depth::float8 AS "spoolDepth",
  spool_unstored::float8 AS "spoolUnstored", spool_failing_since AS "spoolFailingSince"`;

type SchoolRow = Parameters<typeof schoolOfRow>[0];

type FindingRow = Parameters<typeof findingOfRow>[0];

interface JsonRow {
  json: string;
}

interface AlertDbRow {
  fingerprint: string;
  school_id: string;
  state: AlertRow['state'];
  since: string;
  fired_at: string | null;
  last_notified_at: string | null;
  resolved_at: string | null;
  item: string;
}

interface SilenceDbRow {
  id: string;
  school_id: string | null;
  rule: string | null;
  fingerprint: string | null;
  starts_at: string;
  ends_at: string;
  reason: string;
  created_by: string;
}

const BEGIN_INGEST = `INSERT INTO ingests (report_id, agent_id, school_id, state, shift_ms, received_at, finished_at)
  VALUES ($1, $2, $3, 'writing', $4, $5, $6) ON CONFLICT (report_id) DO NOTHING`;
const beginIngestValues = (r: BeginIngest) => [
  r.reportId,
  r.agentId,
  r.schoolId,
  r.shiftMs,
  new Date().toISOString(),
  r.finishedAt,
];

/** Anything that runs a query: the pool or a client inside a transaction. */
interface Queryable {
  query<R extends QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<{ rows: R[]; rowCount: number | null }>;
}

const toSilence = (r: SilenceDbRow): Silence => ({
  id: Number(r.id),
  schoolId: r.school_id,
  rule: r.rule,
  fingerprint: r.fingerprint,
  startsAt: r.starts_at,
  endsAt: r.ends_at,
  reason: r.reason,
  createdBy: r.created_by,
});

const errorMessage = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export interface PgStateStoreOptions {
  /** `postgres://user[:password]@host[:port]/database` (libpq URL; `?sslmode=...` as `pg` understands it). */
  url: string;
  /** Connections of the pool (default 10); the leader lock takes one more of its own. */
  poolMax?: number;
  log?: Logger;
}

export class PgStateStore implements StateStore {
  readonly kind = 'postgres' as const;

  private closed = false;
  /** The connection holding (or trying for) the leader lock, and whether it holds it. */
  private leader: { client: Client; held: boolean; broken: boolean } | undefined;
  /** Calls of alertLeadership run one after another (one connection, one answer at a time). */
  private leadership: Promise<boolean> = Promise.resolve(false);

  readonly access: PgAccess;
  readonly snapshots: PgSnapshots;

  private constructor(
    private readonly pool: Pool,
    private readonly options: PgStateStoreOptions,
  ) {
    this.access = new PgAccess(pool);
    this.snapshots = new PgSnapshots(pool);
  }

  /** Connects and creates the schema (serialised by an advisory lock: collectors may start together). */
  static async open(options: PgStateStoreOptions): Promise<PgStateStore> {
    const pool = new Pool({
      connectionString: options.url,
      max: options.poolMax ?? 10,
      keepAlive: true,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    });
    // an idle client whose connection breaks (server restart, backend terminated) is reported here; without
    // a listener the pool would throw it out of the event loop
    pool.on('error', (err) => options.log?.warn({ err: err.message }, 'postgres: idle connection failed'));
    const store = new PgStateStore(pool, options);
    try {
      await store.tx(async (c) => {
        await c.query('SELECT pg_advisory_xact_lock($1::bigint)', [SCHEMA_LOCK_KEY]);
        await c.query(SCHEMA);
        await c.query(ACCESS_SCHEMA);
        await c.query(SNAPSHOT_SCHEMA);
      });
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw err;
    }
    return store;
  }

  /**
   * Runs fn in a transaction on one pooled client: COMMIT, or ROLLBACK when fn throws. A deadlock or
   * serialisation failure runs it again (nothing of the failed attempt stayed).
   */
  private async tx<R>(fn: (client: PoolClient) => Promise<R>): Promise<R> {
    for (let attempt = 1; ; attempt += 1) {
      const client = await this.pool.connect();
      let broken: Error | undefined;
      // the pool listens for errors of idle clients only: one of a checked-out client (its backend
      // terminated between two queries) would otherwise be thrown out of the event loop
      const onError = (err: Error) => {
        broken = err;
        this.options.log?.warn({ err: err.message }, 'postgres: connection failed in a transaction');
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
        this.options.log?.warn(
          { code: (err as DatabaseError).code, attempt },
          'postgres: transaction retried',
        );
      } finally {
        // a client whose connection failed or whose ROLLBACK failed is in an unknown state: the pool discards it
        client.removeListener('error', onError);
        client.release(broken);
      }
    }
  }

  private async one<R extends QueryResultRow>(
    q: Queryable,
    text: string,
    values: unknown[],
  ): Promise<R | undefined> {
    return (await q.query<R>(text, values)).rows[0];
  }

  // ---- schools -------------------------------------------------------------------------------
  async upsertSchool(school: School): Promise<void> {
    await this.pool.query(
      `INSERT INTO schools (id, json, created_at) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO UPDATE SET json = excluded.json`,
      [school.id, JSON.stringify(describedSchool(school)), new Date().toISOString()],
    );
  }

  async getSchool(id: string): Promise<SchoolRecord | undefined> {
    const row = await this.one<SchoolRow>(this.pool, 'SELECT json, archived_at FROM schools WHERE id = $1', [
      id,
    ]);
    return row ? schoolOfRow(row) : undefined;
  }

  async listSchools(filter: { includeArchived?: boolean } = {}): Promise<SchoolRecord[]> {
    const { rows } = await this.pool.query<SchoolRow>(
      `SELECT json, archived_at FROM schools ${filter.includeArchived ? '' : 'WHERE archived_at IS NULL'} ORDER BY id`,
    );
    return rows.map(schoolOfRow);
  }

  async archiveSchool(
    id: string,
    at: Date,
  ): Promise<{ school: SchoolRecord; revoked: string[] } | undefined> {
    const t = at.toISOString();
    return this.tx(async (c) => {
      // (a non-key update: an enrolment's foreign-key check of the school row does not wait for it)
      const school = await this.one<SchoolRow>(
        c,
        'UPDATE schools SET archived_at = coalesce(archived_at, $1) WHERE id = $2 RETURNING json, archived_at',
        [t, id],
      );
      if (!school) return undefined;
      // a code being spent now holds its row: this waits for that enrolment, whose agent the next
      // statement (a snapshot taken after it) then revokes; a code spent later finds it expired
      await c.query(
        'UPDATE enroll_codes SET expires_at = least(expires_at, $1) WHERE school_id = $2 AND used_at IS NULL',
        [at.getTime() - 1, id],
      );
      const { rows } = await c.query<{ id: string }>(
        'UPDATE agents SET revoked_at = $1 WHERE school_id = $2 AND revoked_at IS NULL RETURNING id',
        [t, id],
      );
      return { school: schoolOfRow(school), revoked: rows.map((r) => r.id).sort() };
    });
  }

  // ---- enrolment and agents ------------------------------------------------------------------
  async createEnrollCode(
    schoolId: string,
    ttlMs: number,
    now = Date.now(),
  ): Promise<{ code: string; expiresAt: Date }> {
    const school = await this.getSchool(schoolId);
    if (!school) throw new UnknownSchoolError(schoolId);
    if (school.archivedAt) throw new ArchivedSchoolError(schoolId, school.archivedAt);
    const bytes = randomBytes(15);
    let code = '';
    for (let i = 0; i < 15; i++) {
      code += ENROLL_CODE_ALPHABET[bytes[i]! % ENROLL_CODE_ALPHABET.length];
      if (i % 5 === 4 && i < 14) code += '-';
    }
    const expiresAt = now + ttlMs;
    await this.pool.query('INSERT INTO enroll_codes (code_hash, school_id, expires_at) VALUES ($1, $2, $3)', [
      sha256(code),
      schoolId,
      expiresAt,
    ]);
    return { code, expiresAt: new Date(expiresAt) };
  }

  async enroll(
    code: string,
    info: { hostname: string; version: string },
    now = Date.now(),
  ): Promise<{ agent: AgentRecord; token: string } | { error: 'unknown' | 'used' | 'expired' }> {
    const hash = sha256(code.trim().toUpperCase());
    return this.tx(async (c) => {
      // the row lock makes a second collector spending the same code wait, then see it used
      const row = await this.one<{ school_id: string; expires_at: string; used_at: string | null }>(
        c,
        'SELECT school_id, expires_at, used_at FROM enroll_codes WHERE code_hash = $1 FOR UPDATE',
        [hash],
      );
      if (!row) return { error: 'unknown' as const };
      if (row.used_at !== null) return { error: 'used' as const };
      if (Number(row.expires_at) < now) return { error: 'expired' as const };
      const agentId = `ag_${randomBytes(9).toString('base64url')}`;
      const secret = randomBytes(32).toString('base64url');
      const agent = await this.one<AgentRecord>(
        c,
        `INSERT INTO agents (id, school_id, token_hash, hostname, version, enrolled_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${AGENT_COLUMNS}`,
        [
          agentId,
          row.school_id,
          sha256(secret),
          noNul(info.hostname),
          noNul(info.version),
          new Date(now).toISOString(),
        ],
      );
      await c.query('UPDATE enroll_codes SET used_at = $1, agent_id = $2 WHERE code_hash = $3', [
        now,
        agentId,
        hash,
      ]);
      return { agent: agent!, token: `cw1.${agentId}.${secret}` };
    });
  }

  async authenticate(token: string): Promise<AgentRecord | undefined> {
    const parsed = parseToken(token);
    if (!parsed) return undefined;
    const row = await this.one<AgentRecord & { hash: Buffer }>(
      this.pool,
      `SELECT token_hash AS hash, ${AGENT_COLUMNS} FROM agents WHERE id = $1`,
      [parsed.agentId],
    );
    const presented = sha256(parsed.secret);
    // compare against a dummy when the agent is unknown, so both paths take the same time
    const stored = row?.hash.length === presented.length ? row.hash : Buffer.alloc(presented.length);
    const equal = timingSafeEqual(stored, presented);
    if (!row || !equal) return undefined;
    const { hash: _hash, ...agent } = row;
    return agent;
  }

  async getAgent(id: string): Promise<AgentRecord | undefined> {
    return this.one<AgentRecord>(this.pool, `SELECT ${AGENT_COLUMNS} FROM agents WHERE id = $1`, [id]);
  }

  async listAgents(schoolId?: string, filter: { includeRevoked?: boolean } = {}): Promise<AgentRecord[]> {
    const where = [
      ...(schoolId !== undefined ? ['school_id = $1'] : []),
      ...(filter.includeRevoked ? [] : ['revoked_at IS NULL']),
    ];
    const { rows } = await this.pool.query<AgentRecord>(
      `SELECT ${AGENT_COLUMNS} FROM agents ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id`,
      schoolId !== undefined ? [schoolId] : [],
    );
    return rows;
  }

  async revokeAgent(id: string, at: Date): Promise<AgentRecord | undefined> {
    // one statement: the agent as it is after it (revoked now, or earlier)
    return this.one<AgentRecord>(
      this.pool,
      `UPDATE agents SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2 RETURNING ${AGENT_COLUMNS}`,
      [at.toISOString(), id],
    );
  }

  async renameAgent(id: string, name: string | null): Promise<AgentRecord | undefined> {
    return this.one<AgentRecord>(
      this.pool,
      `UPDATE agents SET name = $1 WHERE id = $2 RETURNING ${AGENT_COLUMNS}`,
      [name === null ? null : noNul(name), id],
    );
  }

  async counts(): Promise<{ schools: number; agents: number }> {
    const { rows } = await this.pool.query<{ schools: string; agents: string }>(
      `SELECT (SELECT count(*) FROM schools WHERE archived_at IS NULL) AS schools,
              (SELECT count(*) FROM agents WHERE revoked_at IS NULL) AS agents`,
    );
    return { schools: Number(rows[0]?.schools ?? 0), agents: Number(rows[0]?.agents ?? 0) };
  }

  // ---- ingest journal ------------------------------------------------------------------------
  async getIngest(reportId: string): Promise<IngestRecord | undefined> {
    return this.one<IngestRecord>(
      this.pool,
      `SELECT report_id AS "reportId", agent_id AS "agentId", state, shift_ms AS "shiftMs"
       FROM ingests WHERE report_id = $1`,
      [reportId],
    );
  }

  async beginIngest(r: BeginIngest): Promise<void> {
    await this.pool.query(BEGIN_INGEST, beginIngestValues(r));
  }

  async completeIngest(args: CompleteIngest): Promise<boolean> {
    const at = args.receivedAt.toISOString();
    // no row is stamped after year 9999: without futureAfter only newer results replace stored ones
    const future = args.futureAfter?.toISOString() ?? '9999-12-31T23:59:59.999Z';
    const schoolId = args.agent.schoolId;
    // Rows are written in key order (fewer lock-order deadlocks between collectors completing reports of
    // one school at once). Several results of one key in a report: what applying them one by one leaves,
    // the last of those with the greatest time (`excluded.at >= latest.at` then decides against the stored row).
    const latest = new Map<string, { probe: string; at: string; json: string }>();
    const history: { key: string; at: string; json: string }[] = [];
    for (const r of args.results) {
      const stored = shiftedResult(r, args.shiftMs);
      const shiftedAt = stored.at;
      const json = JSON.stringify(stored);
      const key = resultKey(r);
      const prev = latest.get(key);
      if (prev === undefined || shiftedAt >= prev.at)
        latest.set(key, { probe: r.probe, at: shiftedAt, json });
      if (HISTORY_PROBES.has(r.probe)) history.push({ key, at: shiftedAt, json });
    }
    const latestKeys = [...latest.keys()].sort();
    const sampleRows = samplesPerDay(args.availability);
    const deviceRows = samplesPerDeviceDay(args.availability);

    return this.tx(async (c) => {
      if (args.begin) await c.query(BEGIN_INGEST, beginIngestValues(args.begin));
      // only the first completion counts: the row lock makes a concurrent one wait, then change nothing
      const marked = await c.query(
        `UPDATE ingests SET state = 'done', received_at = $1 WHERE report_id = $2 AND state = 'writing'`,
        [at, args.reportId],
      );
      if (marked.rowCount !== 1) return false;
      await c.query(
        `UPDATE agents SET last_seen_at = $1, clock_offset_ms = $2, last_report_id = $3,
           version = coalesce($4, version), spool_depth = coalesce($6, spool_depth),
           spool_unstored = coalesce($7, spool_unstored),
           spool_failing_since = CASE WHEN $8::boolean THEN $9 ELSE spool_failing_since END WHERE id = $5`,
        [
          at,
          args.clockOffsetMs,
          args.reportId,
          args.agentVersion === undefined ? null : noNul(args.agentVersion),
          args.agent.id,
          args.spoolDepth ?? null,
          args.spoolUnstored ?? null,
          args.spoolFailingSince !== undefined,
          args.spoolFailingSince ?? null,
        ],
      );
      if (latestKeys.length > 0) {
        await c.query(
          `INSERT INTO latest (school_id, key, probe, at, json)
           SELECT $1, u.key, u.probe, u.at, u.json
           FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) AS u(key, probe, at, json)
           ON CONFLICT (school_id, key) DO UPDATE SET probe = excluded.probe, at = excluded.at, json = excluded.json
           WHERE excluded.at >= latest.at OR latest.at > $6`,
          [
            schoolId,
            latestKeys,
            latestKeys.map((k) => latest.get(k)!.probe),
            latestKeys.map((k) => latest.get(k)!.at),
            latestKeys.map((k) => latest.get(k)!.json),
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
      for (const h of history) {
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
      if (sampleRows.length > 0) {
        await c.query(
          `INSERT INTO availability_days (school_id, day, up, total)
           SELECT $1, u.day, u.up, u.total
           FROM unnest($2::text[], $3::int[], $4::int[]) AS u(day, up, total)
           ON CONFLICT (school_id, day) DO UPDATE
             SET up = availability_days.up + excluded.up, total = availability_days.total + excluded.total`,
          [
            schoolId,
            sampleRows.map((s) => s.day),
            sampleRows.map((s) => s.up),
            sampleRows.map((s) => s.total),
          ],
        );
      }
      if (deviceRows.length > 0) {
        // one round trip: the window's older days go in the same statement (and a sample of a day before
        // the window, from a late report, is not kept: it would be deleted again)
        await c.query(
          `WITH gone AS (DELETE FROM device_availability_days WHERE school_id = $1 AND day < $6)
           INSERT INTO device_availability_days (school_id, day, device, up, total)
           SELECT $1, u.day, u.device, u.up, u.total
           FROM unnest($2::text[], $3::text[], $4::int[], $5::int[]) AS u(day, device, up, total)
           WHERE u.day >= $6
           ON CONFLICT (school_id, day, device) DO UPDATE
             SET up = device_availability_days.up + excluded.up,
                 total = device_availability_days.total + excluded.total`,
          [
            schoolId,
            deviceRows.map((s) => s.day),
            deviceRows.map((s) => noNul(s.device)),
            deviceRows.map((s) => s.up),
            deviceRows.map((s) => s.total),
            args.availabilitySinceDay ?? '',
          ],
        );
      }
      for (const r of args.rooms ?? []) {
        if (r.up) {
          await c.query('DELETE FROM room_down WHERE school_id = $1 AND room = $2', [
            schoolId,
            noNul(r.room),
          ]);
        } else {
          await c.query(
            `INSERT INTO room_down (school_id, room, room_type, since, detail) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (school_id, room) DO UPDATE SET detail = excluded.detail`,
            [schoolId, noNul(r.room), noNul(r.roomType), r.at, noNul(r.detail)],
          );
        }
      }
      for (const f of args.findings ?? []) {
        await c.query(
          `INSERT INTO findings (school_id, rule, target, port, json) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (school_id, rule, target, port) DO UPDATE SET json = excluded.json`,
          [f.schoolId, f.rule, f.target, f.port, JSON.stringify(f)],
        );
      }
      const answered = [...new Set(args.answeredRooms ?? [])].map(noNul).sort();
      if (answered.length > 0) {
        await c.query(
          `INSERT INTO rooms_answered (school_id, room, first_at) SELECT $1, u.room, $3
           FROM unnest($2::text[]) AS u(room) ON CONFLICT (school_id, room) DO NOTHING`,
          [schoolId, answered, at],
        );
      }
      await this.upsertCompliance(c, schoolId, args.compliance, at);
      return true;
    });
  }

  async ingestOrder(agentId: string): Promise<{ reportId: string; finishedAt: string }[]> {
    const { rows } = await this.pool.query<{ reportId: string; finishedAt: string }>(
      `SELECT report_id AS "reportId", finished_at AS "finishedAt" FROM ingests
       WHERE agent_id = $1 AND state = 'done' ORDER BY seq`,
      [agentId],
    );
    return rows;
  }

  async pruneIngests(receivedBefore: Date, limit: number): Promise<number> {
    // bigint comes back as a string: compared and bound as text, never as a JS number
    const { rows } = await this.pool.query<{ seq: string; receivedAt: string }>(
      'SELECT seq, received_at AS "receivedAt" FROM ingests ORDER BY seq LIMIT $1',
      [limit],
    );
    const last = oldPrefixEnd(rows, receivedBefore);
    if (last === undefined) return 0;
    const { rowCount } = await this.pool.query('DELETE FROM ingests WHERE seq <= $1::bigint', [last]);
    return rowCount ?? 0;
  }

  // ---- per-school state ----------------------------------------------------------------------
  async latestResults(schoolId: string): Promise<ProbeResult[]> {
    const { rows } = await this.pool.query<JsonRow>(
      'SELECT json FROM latest WHERE school_id = $1 ORDER BY key',
      [schoolId],
    );
    return rows.map((r) => JSON.parse(r.json) as ProbeResult);
  }

  async history(schoolId: string, probe: ProbeResult['probe']): Promise<ProbeResult[]> {
    const { rows } = await this.pool.query<JsonRow>(
      'SELECT json FROM history WHERE school_id = $1 AND key LIKE $2 ORDER BY at DESC',
      [schoolId, `${probe}|%`],
    );
    return rows.map((r) => JSON.parse(r.json) as ProbeResult);
  }

  async findings(schoolId?: string): Promise<FindingRecord[]> {
    const { rows } =
      schoolId === undefined
        ? await this.pool.query<FindingRow>(
            'SELECT json, acceptance FROM findings ORDER BY school_id, rule, target, port',
          )
        : await this.pool.query<FindingRow>(
            'SELECT json, acceptance FROM findings WHERE school_id = $1 ORDER BY rule, target, port',
            [schoolId],
          );
    return rows.map(findingOfRow);
  }

  async setAcceptance(
    schoolId: string,
    f: { rule: string; target: string; port: number },
    acceptance: Acceptance | null,
  ): Promise<FindingRecord | undefined> {
    const row = await this.one<FindingRow>(
      this.pool,
      `UPDATE findings SET acceptance = $1 WHERE school_id = $2 AND rule = $3 AND target = $4 AND port = $5
       RETURNING json, acceptance`,
      [
        acceptance === null ? null : noNul(JSON.stringify(acceptance)),
        schoolId,
        noNul(f.rule),
        noNul(f.target),
        f.port,
      ],
    );
    return row ? findingOfRow(row) : undefined;
  }

  async availability(schoolId: string, sinceDay: string): Promise<{ up: number; total: number }> {
    // sum(integer) is bigint, which pg hands over as a string
    const row = await this.one<{ up: string; total: string }>(
      this.pool,
      `SELECT coalesce(sum(up), 0) AS up, coalesce(sum(total), 0) AS total
       FROM availability_days WHERE school_id = $1 AND day >= $2`,
      [schoolId, sinceDay],
    );
    return { up: Number(row?.up ?? 0), total: Number(row?.total ?? 0) };
  }

  async deviceAvailability(
    schoolId: string,
    sinceDay: string,
  ): Promise<{ device: string; up: number; total: number }[]> {
    // sum(integer) is bigint, which pg hands over as a string
    const { rows } = await this.pool.query<{ device: string; up: string; total: string }>(
      `SELECT device, sum(up) AS up, sum(total) AS total FROM device_availability_days
       WHERE school_id = $1 AND day >= $2 GROUP BY device ORDER BY device`,
      [schoolId, sinceDay],
    );
    return rows.map((r) => ({ device: r.device, up: Number(r.up), total: Number(r.total) }));
  }

  async roomsDown(schoolId: string): Promise<RoomDown[]> {
    const { rows } = await this.pool.query<RoomDown>(
      `SELECT room, room_type AS "roomType", since, detail FROM room_down WHERE school_id = $1 ORDER BY since, seq`,
      [schoolId],
    );
    return rows;
  }

  async compliance(schoolId: string): Promise<ComplianceRow[]> {
    const { rows } = await this.pool.query<ComplianceRow>(
      `SELECT target, state, value, goal, reason, evidence_at AS "evidenceAt", expires_at AS "expiresAt", since
       FROM compliance WHERE school_id = $1 ORDER BY seq`,
      [schoolId],
    );
    return rows;
  }

  async schoolsToRecheck(now: Date, limit: number): Promise<string[]> {
    const { rows } = await this.pool.query<{ id: string }>(
      `SELECT DISTINCT school_id AS id FROM compliance
       WHERE expires_at <= $1 AND school_id NOT IN (SELECT id FROM schools WHERE archived_at IS NOT NULL)
       ORDER BY school_id LIMIT $2`,
      [now.toISOString(), limit],
    );
    return rows.map((r) => r.id);
  }

  async answeredRooms(schoolId: string): Promise<Set<string>> {
    const { rows } = await this.pool.query<{ room: string }>(
      'SELECT room FROM rooms_answered WHERE school_id = $1',
      [schoolId],
    );
    return new Set(rows.map((r) => r.room));
  }

  async replaceCompliance(
    schoolId: string,
    rows: readonly ComplianceRow[],
    at = new Date().toISOString(),
  ): Promise<void> {
    await this.tx((c) => this.upsertCompliance(c, schoolId, rows, at));
  }

  /** One row at a time, in the given order: a target's first insert fixes its place (seq). */
  private async upsertCompliance(
    c: Queryable,
    schoolId: string,
    rows: readonly ComplianceRow[],
    at: string,
  ): Promise<void> {
    if (rows.length === 0) return;
    // one statement (a round trip per row was a third of completeIngest's); a target named twice is
    // stored once, at its first place with its last values, as row-by-row upserts would leave it
    const last = new Map<string, ComplianceRow>();
    for (const r of rows) last.set(r.target, r);
    const targets = [...last.keys()];
    const unique = targets.map((t) => last.get(t)!);
    await c.query(
      `INSERT INTO compliance (school_id, target, state, value, goal, reason, updated_at, evidence_at, expires_at, since)
       SELECT $1, u.target, u.state, u.value, u.goal, u.reason, $7, u.evidence_at, u.expires_at, coalesce(u.since, $7)
       FROM unnest($2::text[], $3::text[], $4::float8[], $5::float8[], $6::text[], $8::text[], $9::text[], $10::text[])
         WITH ORDINALITY AS u(target, state, value, goal, reason, evidence_at, expires_at, since, ord)
       ORDER BY u.ord
       ON CONFLICT (school_id, target) DO UPDATE SET
         since = CASE WHEN compliance.state = excluded.state THEN compliance.since ELSE excluded.since END,
         state = excluded.state, value = excluded.value,
         goal = excluded.goal, reason = excluded.reason, updated_at = excluded.updated_at,
         evidence_at = excluded.evidence_at, expires_at = excluded.expires_at
       -- an unchanged row is left as it is (updated_at: when it last changed), as in the SQLite store
       WHERE (compliance.state, compliance.value, compliance.goal, compliance.reason, compliance.evidence_at, compliance.expires_at)
         IS DISTINCT FROM (excluded.state, excluded.value, excluded.goal, excluded.reason, excluded.evidence_at, excluded.expires_at)`,
      [
        schoolId,
        targets,
        unique.map((r) => r.state),
        unique.map((r) => r.value),
        unique.map((r) => r.goal),
        unique.map((r) => noNul(r.reason)),
        at,
        unique.map((r) => r.evidenceAt),
        unique.map((r) => r.expiresAt),
        unique.map((r) => r.since ?? null),
      ],
    );
  }

  async complianceStates(targets: readonly string[]): Promise<Map<string, ComplianceRow['state'][]>> {
    // a target named twice gets its state at its first place only (as a CASE over the names would)
    const index = new Map<string, number>();
    targets.forEach((t, i) => {
      if (!index.has(t)) index.set(t, i);
    });
    const { rows } = await this.pool.query<{ school_id: string; targets: string[]; states: string[] }>(
      `SELECT school_id, array_agg(target ORDER BY target) AS targets, array_agg(state ORDER BY target) AS states
       FROM compliance WHERE target = ANY($1::text[]) GROUP BY school_id ORDER BY school_id`,
      [[...index.keys()]],
    );
    const out = new Map<string, ComplianceRow['state'][]>();
    for (const r of rows) {
      const states = targets.map((): ComplianceRow['state'] => 'no_data');
      r.targets.forEach((t, i) => {
        const s = r.states[i];
        states[index.get(t)!] = s === 'met' || s === 'not_met' ? s : 'no_data';
      });
      out.set(r.school_id, states);
    }
    return out;
  }

  // ---- alerts --------------------------------------------------------------------------------
  async alerts(): Promise<AlertRow[]> {
    // ties (one evaluation's alerts share `since`) in the order the alerts were first stored, as SQLite's rowid
    const { rows } = await this.pool.query<AlertDbRow>(
      `SELECT fingerprint, school_id, state, since, fired_at, last_notified_at, resolved_at, item
       FROM alerts ORDER BY since, seq`,
    );
    return rows.map((r) => ({
      fingerprint: r.fingerprint,
      schoolId: r.school_id,
      state: r.state,
      since: r.since,
      firedAt: r.fired_at,
      lastNotifiedAt: r.last_notified_at,
      resolvedAt: r.resolved_at,
      item: JSON.parse(r.item) as DesiredAlert,
    }));
  }

  async saveAlerts(rows: readonly AlertRow[], deleted: readonly string[]): Promise<void> {
    if (rows.length === 0 && deleted.length === 0) return;
    await this.tx(async (c) => {
      for (const r of rows) {
        await c.query(
          `INSERT INTO alerts (fingerprint, school_id, state, since, fired_at, last_notified_at, resolved_at, item)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (fingerprint) DO UPDATE SET state = excluded.state, since = excluded.since,
             fired_at = excluded.fired_at, last_notified_at = excluded.last_notified_at,
             resolved_at = excluded.resolved_at, item = excluded.item`,
          [
            r.fingerprint,
            r.schoolId,
            r.state,
            r.since,
            r.firedAt,
            r.lastNotifiedAt,
            r.resolvedAt,
            JSON.stringify(r.item),
          ],
        );
      }
      if (deleted.length > 0) {
        await c.query('DELETE FROM alerts WHERE fingerprint = ANY($1::text[])', [[...deleted]]);
      }
    });
  }

  async markNotified(fingerprints: readonly string[], at: string): Promise<void> {
    if (fingerprints.length === 0) return;
    await this.pool.query('UPDATE alerts SET last_notified_at = $1 WHERE fingerprint = ANY($2::text[])', [
      at,
      [...fingerprints],
    ]);
  }

  async claimDigest(schoolId: string, day: string): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      `INSERT INTO alert_digests (school_id, day) VALUES ($1, $2)
       ON CONFLICT (school_id) DO UPDATE SET day = excluded.day WHERE alert_digests.day <> excluded.day
       RETURNING school_id`,
      [schoolId, day],
    );
    return rowCount === 1;
  }

  async noteBudgetRefusal(r: Omit<BudgetRefusal, 'times'>, holdMs: number): Promise<void> {
    await this.pool.query(
      `INSERT INTO budget_refusals (school_id, budget, agent_id, at, budget_limit, count, times)
       VALUES ($1, $2, $3, $4, $5, $6, 1)
       ON CONFLICT (school_id, budget) DO UPDATE SET agent_id = excluded.agent_id, at = excluded.at,
         budget_limit = excluded.budget_limit, count = excluded.count,
         times = CASE WHEN budget_refusals.at >= $7 THEN budget_refusals.times + 1 ELSE 1 END`,
      [
        r.schoolId,
        r.budget,
        r.agentId,
        r.at,
        r.limit,
        r.count,
        new Date(Date.parse(r.at) - holdMs).toISOString(),
      ],
    );
  }

  async budgetRefusals(since: Date): Promise<BudgetRefusal[]> {
    const { rows } = await this.pool.query<BudgetRefusal>(
      `SELECT school_id AS "schoolId", budget, agent_id AS "agentId", at, budget_limit::float8 AS "limit",
         count::float8 AS count, times::float8 AS times
       FROM budget_refusals WHERE at >= $1 ORDER BY school_id, budget`,
      [since.toISOString()],
    );
    return rows;
  }

  // ---- silences ------------------------------------------------------------------------------
  async addSilence(s: Omit<Silence, 'id'>): Promise<Silence> {
    const row = await this.one<{ id: string }>(
      this.pool,
      `INSERT INTO silences (school_id, rule, fingerprint, starts_at, ends_at, reason, created_by)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
      [s.schoolId, s.rule, s.fingerprint, s.startsAt, s.endsAt, noNul(s.reason), noNul(s.createdBy)],
    );
    return { ...s, id: Number(row!.id) };
  }

  async silences(now?: Date): Promise<Silence[]> {
    const columns = 'id, school_id, rule, fingerprint, starts_at, ends_at, reason, created_by';
    const { rows } =
      now === undefined
        ? await this.pool.query<SilenceDbRow>(`SELECT ${columns} FROM silences ORDER BY id`)
        : await this.pool.query<SilenceDbRow>(
            `SELECT ${columns} FROM silences WHERE starts_at <= $1 AND $1 < ends_at ORDER BY id`,
            [now.toISOString()],
          );
    return rows.map(toSilence);
  }

  async expireSilence(id: number, now: Date): Promise<boolean> {
    if (!Number.isSafeInteger(id)) return false;
    const { rowCount } = await this.pool.query(
      'UPDATE silences SET ends_at = $1 WHERE id = $2 AND ends_at > $1',
      [now.toISOString(), id],
    );
    return rowCount === 1;
  }

  // ---- maintenance windows -------------------------------------------------------------------
  async addMaintenance(w: Omit<MaintenanceWindow, 'id'>): Promise<MaintenanceWindow> {
    const row = await this.one<{ id: string }>(
      this.pool,
      `INSERT INTO maintenance_windows
         (school_id, room, device, reason, starts_at, ends_at, weekly, created_by, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
      [
        w.schoolId,
        w.room === undefined ? null : noNul(w.room),
        w.device === undefined ? null : noNul(w.device),
        noNul(w.reason),
        w.startsAt,
        w.endsAt,
        w.weekly ? JSON.stringify(w.weekly) : null,
        noNul(w.createdBy),
        w.createdAt,
      ],
    );
    // as stored: text that PostgreSQL cannot hold (U+0000) comes back as it was kept
    return {
      ...w,
      ...(w.room !== undefined ? { room: noNul(w.room) } : {}),
      ...(w.device !== undefined ? { device: noNul(w.device) } : {}),
      reason: noNul(w.reason),
      createdBy: noNul(w.createdBy),
      id: Number(row!.id),
    };
  }

  async maintenanceWindows(
    filter: { schoolId?: string; endingAfter?: Date } = {},
  ): Promise<MaintenanceWindow[]> {
    const where: string[] = [];
    const args: string[] = [];
    if (filter.schoolId !== undefined) {
      args.push(filter.schoolId);
      where.push(`school_id = $${args.length}`);
    }
    if (filter.endingAfter !== undefined) {
      args.push(filter.endingAfter.toISOString());
      where.push(`(ends_at IS NULL OR ends_at > $${args.length})`);
    }
    const { rows } = await this.pool.query<Parameters<typeof maintenanceOfRow>[0]>(
      `SELECT id, school_id, room, device, reason, starts_at, ends_at, weekly, created_by, created_at
       FROM maintenance_windows ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id`,
      args,
    );
    return rows.map(maintenanceOfRow);
  }

  async endMaintenance(id: number, now: Date): Promise<boolean> {
    if (!Number.isSafeInteger(id)) return false;
    const { rowCount } = await this.pool.query(
      `UPDATE maintenance_windows SET ends_at = $1, starts_at = least(starts_at, $1)
       WHERE id = $2 AND (ends_at IS NULL OR ends_at > $1)`,
      [now.toISOString(), id],
    );
    return rowCount === 1;
  }

  // ---- several collectors --------------------------------------------------------------------
  async alertLeadership(): Promise<boolean> {
    const next = this.leadership.catch(() => false).then(() => this.lead());
    this.leadership = next;
    return next;
  }

  private async lead(): Promise<boolean> {
    if (this.closed) return false;
    let leader = this.leader;
    if (leader?.broken) {
      this.leader = undefined;
      await leader.client.end().catch(() => undefined);
      leader = undefined;
    }
    if (leader === undefined) {
      leader = await this.connectLeader();
      if (leader === undefined) return false;
    }
    try {
      if (leader.held) {
        // the lock lives as long as the session: a round trip shows the session (and so the lock) is still there
        await leader.client.query('SELECT 1');
        if (!leader.broken) return true;
      } else {
        const row = await this.one<{ locked: boolean }>(
          leader.client,
          'SELECT pg_try_advisory_lock($1::bigint) AS locked',
          [LEADER_LOCK_KEY],
        );
        leader.held = row?.locked === true;
        if (leader.held) this.options.log?.info('postgres: this collector is now the alert leader');
        return leader.held && !leader.broken;
      }
    } catch (err) {
      this.lostLeader(leader, err);
      // end the session now (not on the next call), so that a lock it might still hold goes to a standby;
      // not awaited: over a broken network the goodbye can take as long as TCP does
      if (this.leader === leader) this.leader = undefined;
      void leader.client.end().catch(() => undefined);
    }
    return false;
  }

  private async connectLeader(): Promise<{ client: Client; held: boolean; broken: boolean } | undefined> {
    const client = new Client({
      connectionString: this.options.url,
      keepAlive: true,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
      query_timeout: LEADER_QUERY_TIMEOUT_MS,
      application_name: 'campuswatch-alert-leader',
    });
    const leader = { client, held: false, broken: false };
    client.on('error', (err) => this.lostLeader(leader, err));
    client.on('end', () => this.lostLeader(leader, new Error('connection ended')));
    try {
      await client.connect();
    } catch (err) {
      leader.broken = true;
      this.options.log?.warn(
        { err: errorMessage(err) },
        'postgres: cannot connect for the alert leader lock',
      );
      await client.end().catch(() => undefined);
      return undefined;
    }
    try {
      // The server frees the lock when it notices the session is gone: at once when the collector's
      // process dies (the kernel closes its socket), but after a host loss or a partition only through TCP
      // keepalive, by default after hours. On this session: probe after 30 s idle, give up ~60 s later.
      await client.query(
        'SET tcp_keepalives_idle = 30; SET tcp_keepalives_interval = 10; SET tcp_keepalives_count = 3; SET tcp_user_timeout = 60000',
      );
    } catch (err) {
      this.lostLeader(leader, err);
      await client.end().catch(() => undefined);
      return undefined;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return undefined;
    }
    this.leader = leader;
    return leader;
  }

  /** The leader connection failed or ended: whatever it held is gone; the next call connects again. */
  private lostLeader(leader: { client: Client; held: boolean; broken: boolean }, err: unknown): void {
    if (leader.broken) return;
    const wasHeld = leader.held;
    leader.broken = true;
    leader.held = false;
    if (this.closed) return;
    this.options.log?.warn(
      { err: errorMessage(err), wasLeader: wasHeld },
      'postgres: alert leader connection lost; trying again on the next evaluation',
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.leadership.catch(() => false);
    const leader = this.leader;
    this.leader = undefined;
    if (leader) {
      leader.broken = true;
      leader.held = false;
      // ending the session releases the advisory lock at once
      await leader.client.end().catch(() => undefined);
    }
    await this.pool.end();
  }
}

/**
 * PostgreSQL text cannot hold U+0000 (SQLite can): free text that comes from agents or people (hostnames,
 * room names and details, reasons) has it replaced by U+FFFD, so one such character never fails a whole
 * transaction (a report the collector could never store, retried by its agent forever).
 */
function noNul(s: string): string {
  return s.includes('\u0000') ? s.replaceAll('\u0000', '\uFFFD') : s;
}
