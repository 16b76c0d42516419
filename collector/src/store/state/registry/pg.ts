import type { PoolClient } from 'pg';
import type { School } from '../../../../../protocol/school.js';
import type { CompleteIngest } from '../journal/index.js';
import { noNul, type PgDb, T } from '../pg-db.js';
import {
  type AgentRecord,
  assertEnrollable,
  codeHash,
  describedSchool,
  type EnrollOutcome,
  newAgentCredentials,
  newEnrollCode,
  parseToken,
  type RegistryStore,
  type SchoolRecord,
  schoolOfRow,
  secretMatches,
} from './index.js';

export const REGISTRY_PG_SCHEMA = `
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
`;

const AGENT_COLUMNS = `id, school_id AS "schoolId", hostname, version, enrolled_at AS "enrolledAt",
  last_seen_at AS "lastSeenAt", clock_offset_ms AS "clockOffsetMs", last_report_id AS "lastReportId", name,
  revoked_at AS "revokedAt", spool_depth::float8 AS "spoolDepth",
  spool_unstored::float8 AS "spoolUnstored", spool_failing_since AS "spoolFailingSince"`;

type SchoolRow = Parameters<typeof schoolOfRow>[0];

/** Schools, enrolment and agents in PostgreSQL. */
export class PgRegistry implements RegistryStore {
  constructor(private readonly p: PgDb) {}

  // ---- schools -------------------------------------------------------------------------------
  async upsertSchool(school: School): Promise<void> {
    await this.p.query(
      `INSERT INTO schools (id, json, created_at) VALUES ($1, $2, $3)
       ON CONFLICT (id) DO UPDATE SET json = excluded.json`,
      [school.id, JSON.stringify(describedSchool(school)), new Date().toISOString()],
    );
  }

  async getSchool(id: string): Promise<SchoolRecord | undefined> {
    const row = await this.p.one<SchoolRow>('SELECT json, archived_at FROM schools WHERE id = $1', [id]);
    return row ? schoolOfRow(row) : undefined;
  }

  async listSchools(filter: { includeArchived?: boolean } = {}): Promise<SchoolRecord[]> {
    const { rows } = await this.p.query<SchoolRow>(
      `SELECT json, archived_at FROM schools ${filter.includeArchived ? '' : 'WHERE archived_at IS NULL'} ORDER BY id`,
    );
    return rows.map(schoolOfRow);
  }

  async archiveSchool(
    id: string,
    at: Date,
  ): Promise<{ school: SchoolRecord; revoked: string[] } | undefined> {
    const t = at.toISOString();
    return this.p.tx(async (c) => {
      // (a non-key update: an enrolment's foreign-key check of the school row does not wait for it)
      const school = await this.p.one<SchoolRow>(
        'UPDATE schools SET archived_at = coalesce(archived_at, $1) WHERE id = $2 RETURNING json, archived_at',
        [t, id],
        c,
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
    assertEnrollable(schoolId, await this.getSchool(schoolId));
    const code = newEnrollCode();
    const expiresAt = now + ttlMs;
    await this.p.query('INSERT INTO enroll_codes (code_hash, school_id, expires_at) VALUES ($1, $2, $3)', [
      codeHash(code),
      schoolId,
      expiresAt,
    ]);
    return { code, expiresAt: new Date(expiresAt) };
  }

  async enroll(
    code: string,
    info: { hostname: string; version: string },
    now = Date.now(),
  ): Promise<EnrollOutcome> {
    const hash = codeHash(code);
    return this.p.tx(async (c) => {
      // the row lock makes a second collector spending the same code wait, then see it used
      const row = await this.p.one<{ school_id: string; expires_at: string; used_at: string | null }>(
        'SELECT school_id, expires_at, used_at FROM enroll_codes WHERE code_hash = $1 FOR UPDATE',
        [hash],
        c,
      );
      if (!row) return { error: 'unknown' as const };
      if (row.used_at !== null) return { error: 'used' as const };
      if (Number(row.expires_at) < now) return { error: 'expired' as const };
      const { agentId, secretHash, token } = newAgentCredentials();
      const agent = await this.p.one<AgentRecord>(
        `INSERT INTO agents (id, school_id, token_hash, hostname, version, enrolled_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING ${AGENT_COLUMNS}`,
        [
          agentId,
          row.school_id,
          secretHash,
          noNul(info.hostname),
          noNul(info.version),
          new Date(now).toISOString(),
        ],
        c,
      );
      await c.query('UPDATE enroll_codes SET used_at = $1, agent_id = $2 WHERE code_hash = $3', [
        now,
        agentId,
        hash,
      ]);
      return { agent: agent!, token };
    });
  }

  async authenticate(token: string): Promise<AgentRecord | undefined> {
    const parsed = parseToken(token);
    if (!parsed) return undefined;
    const row = await this.p.one<AgentRecord & { hash: Buffer }>(
      `SELECT token_hash AS hash, ${AGENT_COLUMNS} FROM agents WHERE id = $1`,
      [parsed.agentId],
    );
    if (!secretMatches(row?.hash, parsed.secret) || !row) return undefined;
    const { hash: _hash, ...agent } = row;
    return agent;
  }

  async getAgent(id: string): Promise<AgentRecord | undefined> {
    return this.p.one<AgentRecord>(`SELECT ${AGENT_COLUMNS} FROM agents WHERE id = $1`, [id]);
  }

  async listAgents(schoolId?: string, filter: { includeRevoked?: boolean } = {}): Promise<AgentRecord[]> {
    const where = [
      ...(schoolId !== undefined ? ['school_id = $1'] : []),
      ...(filter.includeRevoked ? [] : ['revoked_at IS NULL']),
    ];
    const { rows } = await this.p.query<AgentRecord>(
      `SELECT ${AGENT_COLUMNS} FROM agents ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id`,
      schoolId !== undefined ? [schoolId] : [],
    );
    return rows;
  }

  async revokeAgent(id: string, at: Date): Promise<AgentRecord | undefined> {
    // one statement: the agent as it is after it (revoked now, or earlier)
    return this.p.one<AgentRecord>(
      `UPDATE agents SET revoked_at = coalesce(revoked_at, $1) WHERE id = $2 RETURNING ${AGENT_COLUMNS}`,
      [at.toISOString(), id],
    );
  }

  async renameAgent(id: string, name: string | null): Promise<AgentRecord | undefined> {
    return this.p.one<AgentRecord>(`UPDATE agents SET name = $1 WHERE id = $2 RETURNING ${AGENT_COLUMNS}`, [
      name === null ? null : noNul(name),
      id,
    ]);
  }

  async counts(): Promise<{ schools: number; agents: number }> {
    const { rows } = await this.p.query<{ schools: string; agents: string }>(
      `SELECT (SELECT count(*) FROM schools WHERE archived_at IS NULL) AS schools,
              (SELECT count(*) FROM agents WHERE revoked_at IS NULL) AS agents`,
    );
    return { schools: Number(rows[0]?.schools ?? 0), agents: Number(rows[0]?.agents ?? 0) };
  }

  /** A report of the agent was stored (inside completeIngest's transaction): when, its clock, its spool. */
  async noteReport(c: PoolClient, args: CompleteIngest, at: string): Promise<void> {
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
  }
}
