import type { School } from '../../../../../protocol/school.js';
import type { CompleteIngest } from '../journal/index.js';
import type { SqliteDb } from '../sqlite-db.js';
import {
  type AgentRecord,
  assertEnrollable,
  codeHash,
  describedSchool,
  type EnrollOutcome,
  newAgentCredentials,
  newEnrollCode,
  parseToken,
  type SchoolRecord,
  schoolOfRow,
  secretMatches,
} from './index.js';

export const REGISTRY_SQLITE_SCHEMA = `
  CREATE TABLE IF NOT EXISTS schools (
    id TEXT PRIMARY KEY, json TEXT NOT NULL, created_at TEXT NOT NULL, archived_at TEXT
  );
  CREATE TABLE IF NOT EXISTS agents (
    id TEXT PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    token_hash BLOB NOT NULL,
    hostname TEXT NOT NULL, version TEXT NOT NULL, enrolled_at TEXT NOT NULL,
    last_seen_at TEXT, clock_offset_ms REAL, last_report_id TEXT, name TEXT, revoked_at TEXT,
    spool_depth INTEGER
  );
  -- the alert pass looks up each school's agents: without it every lookup scans all agents
  CREATE INDEX IF NOT EXISTS agents_school ON agents(school_id);
  CREATE TABLE IF NOT EXISTS enroll_codes (
    code_hash BLOB PRIMARY KEY,
    school_id TEXT NOT NULL REFERENCES schools(id),
    expires_at INTEGER NOT NULL, used_at INTEGER, agent_id TEXT
  );
`;

const AGENT_COLUMNS = `id, school_id AS schoolId, hostname, version, enrolled_at AS enrolledAt,
  last_seen_at AS lastSeenAt, clock_offset_ms AS clockOffsetMs, last_report_id AS lastReportId, name,
  revoked_at AS revokedAt, spool_depth AS spoolDepth,
  spool_unstored AS spoolUnstored, spool_failing_since AS spoolFailingSince`;

type SchoolRow = Parameters<typeof schoolOfRow>[0];

/** Schools, enrolment and agents in the embedded store (synchronous; see RegistryStore). */
export class SqliteRegistry {
  constructor(private readonly s: SqliteDb) {}

  /** Brings the tables of an earlier version to this schema (idempotent; one transaction). */
  migrate(): void {
    // lifecycle (issue 24): archived schools, named and revoked agents
    const schoolColumns = this.s.columns('schools');
    const agentColumns = this.s.columns('agents');
    const add = (table: string, column: string, type: string, has: Set<string>) => {
      if (!has.has(column)) this.s.db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
    };
    this.s.transaction(() => {
      add('schools', 'archived_at', 'TEXT', schoolColumns);
      add('agents', 'name', 'TEXT', agentColumns);
      add('agents', 'revoked_at', 'TEXT', agentColumns);
      // the spool depth of the agent's last report (console school page)
      add('agents', 'spool_depth', 'INTEGER', agentColumns);
      // … and whether its spool could write (issue 27: a full disk is a state the collector shows)
      add('agents', 'spool_unstored', 'INTEGER', agentColumns);
      add('agents', 'spool_failing_since', 'TEXT', agentColumns);
    });
  }

  // ---- schools -------------------------------------------------------------------------------
  upsertSchool(school: School): void {
    this.s.durably(() =>
      this.s
        .q(
          `INSERT INTO schools (id, json, created_at) VALUES (?, ?, ?)
           ON CONFLICT(id) DO UPDATE SET json = excluded.json`,
        )
        .run(school.id, JSON.stringify(describedSchool(school)), new Date().toISOString()),
    );
  }

  getSchool(id: string): SchoolRecord | undefined {
    const row = this.s.q('SELECT json, archived_at FROM schools WHERE id = ?').get(id) as
      | SchoolRow
      | undefined;
    return row ? schoolOfRow(row) : undefined;
  }

  listSchools(filter: { includeArchived?: boolean } = {}): SchoolRecord[] {
    return (
      this.s
        .q(
          `SELECT json, archived_at FROM schools ${filter.includeArchived ? '' : 'WHERE archived_at IS NULL'} ORDER BY id`,
        )
        .all() as SchoolRow[]
    ).map(schoolOfRow);
  }

  /** See RegistryStore.archiveSchool. */
  archiveSchool(id: string, at: Date): { school: SchoolRecord; revoked: string[] } | undefined {
    const t = at.toISOString();
    return this.s.durably(() => {
      if (!this.getSchool(id)) return undefined;
      this.s.q('UPDATE schools SET archived_at = ? WHERE id = ? AND archived_at IS NULL').run(t, id);
      this.s
        .q('UPDATE enroll_codes SET expires_at = min(expires_at, ?) WHERE school_id = ? AND used_at IS NULL')
        .run(at.getTime() - 1, id);
      const revoked = (
        this.s
          .q('UPDATE agents SET revoked_at = ? WHERE school_id = ? AND revoked_at IS NULL RETURNING id')
          .all(t, id) as { id: string }[]
      )
        .map((r) => r.id)
        .sort();
      return { school: this.getSchool(id)!, revoked };
    });
  }

  // ---- enrolment -----------------------------------------------------------------------------
  /** A one-time code, shown once; only its hash is kept. */
  createEnrollCode(schoolId: string, ttlMs: number, now = Date.now()): { code: string; expiresAt: Date } {
    assertEnrollable(schoolId, this.getSchool(schoolId));
    const code = newEnrollCode();
    const expiresAt = now + ttlMs;
    this.s.durably(() =>
      this.s
        .q('INSERT INTO enroll_codes (code_hash, school_id, expires_at) VALUES (?, ?, ?)')
        .run(codeHash(code), schoolId, expiresAt),
    );
    return { code, expiresAt: new Date(expiresAt) };
  }

  /** Spends a code and creates an agent with a fresh token. */
  enroll(code: string, info: { hostname: string; version: string }, now = Date.now()): EnrollOutcome {
    const hash = codeHash(code);
    return this.s.durably(() => {
      const row = this.s
        .q(
          'SELECT school_id AS schoolId, expires_at AS expiresAt, used_at AS usedAt FROM enroll_codes WHERE code_hash = ?',
        )
        .get(hash) as { schoolId: string; expiresAt: number; usedAt: number | null } | undefined;
      if (!row) return { error: 'unknown' as const };
      if (row.usedAt !== null) return { error: 'used' as const };
      if (row.expiresAt < now) return { error: 'expired' as const };
      const { agentId, secretHash, token } = newAgentCredentials();
      this.s
        .q(
          'INSERT INTO agents (id, school_id, token_hash, hostname, version, enrolled_at) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run(agentId, row.schoolId, secretHash, info.hostname, info.version, new Date(now).toISOString());
      this.s
        .q('UPDATE enroll_codes SET used_at = ?, agent_id = ? WHERE code_hash = ?')
        .run(now, agentId, hash);
      return { agent: this.getAgent(agentId)!, token };
    });
  }

  /** The agent a bearer token belongs to, compared in constant time; undefined when it matches none. */
  authenticate(token: string): AgentRecord | undefined {
    const parsed = parseToken(token);
    if (!parsed) return undefined;
    const row = this.s.q('SELECT token_hash AS hash FROM agents WHERE id = ?').get(parsed.agentId) as
      | { hash: Buffer }
      | undefined;
    return secretMatches(row?.hash, parsed.secret) ? this.getAgent(parsed.agentId) : undefined;
  }

  getAgent(id: string): AgentRecord | undefined {
    return this.s.q(`SELECT ${AGENT_COLUMNS} FROM agents WHERE id = ?`).get(id) as AgentRecord | undefined;
  }

  listAgents(schoolId?: string, filter: { includeRevoked?: boolean } = {}): AgentRecord[] {
    const where = [
      ...(schoolId !== undefined ? ['school_id = ?'] : []),
      ...(filter.includeRevoked ? [] : ['revoked_at IS NULL']),
    ];
    const sql = `SELECT ${AGENT_COLUMNS} FROM agents ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id`;
    return (schoolId !== undefined ? this.s.q(sql).all(schoolId) : this.s.q(sql).all()) as AgentRecord[];
  }

  revokeAgent(id: string, at: Date): AgentRecord | undefined {
    this.s.durably(() =>
      this.s
        .q('UPDATE agents SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL')
        .run(at.toISOString(), id),
    );
    return this.getAgent(id);
  }

  renameAgent(id: string, name: string | null): AgentRecord | undefined {
    this.s.durably(() => this.s.q('UPDATE agents SET name = ? WHERE id = ?').run(name, id));
    return this.getAgent(id);
  }

  counts(): { schools: number; agents: number } {
    return this.s
      .q(
        `SELECT (SELECT count(*) FROM schools WHERE archived_at IS NULL) AS schools,
                (SELECT count(*) FROM agents WHERE revoked_at IS NULL) AS agents`,
      )
      .get() as { schools: number; agents: number };
  }

  /** A report of the agent was stored (inside completeIngest's transaction): when, its clock, its spool. */
  noteReport(args: CompleteIngest, at: string): void {
    this.s
      .q(
        `UPDATE agents SET last_seen_at = ?, clock_offset_ms = ?, last_report_id = ?, version = coalesce(?, version),
           spool_depth = coalesce(?, spool_depth), spool_unstored = coalesce(?, spool_unstored),
           spool_failing_since = CASE WHEN ? THEN ? ELSE spool_failing_since END
         WHERE id = ?`,
      )
      .run(
        at,
        args.clockOffsetMs,
        args.reportId,
        args.agentVersion ?? null,
        args.spoolDepth ?? null,
        args.spoolUnstored ?? null,
        args.spoolFailingSince === undefined ? 0 : 1,
        args.spoolFailingSince ?? null,
        args.agent.id,
      );
  }
}
