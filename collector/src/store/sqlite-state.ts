import { randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { ProbeResult } from '../../../protocol/report.js';
import type { School } from '../../../protocol/school.js';
import type { BudgetRefusal } from '../budgets.js';
import type { Acceptance, FindingRecord } from '../evaluate/findings.js';
import { LatestCache } from './latest-cache.js';
import { SqliteAccess } from './sqlite-access.js';
import { SqliteSnapshots } from './sqlite-snapshots.js';
import {
  type AgentRecord,
  type AlertRow,
  ArchivedSchoolError,
  type BeginIngest,
  type CompleteIngest,
  type ComplianceRow,
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

/**
 * The collector's embedded state (docs/architecture.md, "State store tables"), SQLite in WAL mode.
 * It also journals each ingested report so a retried report is recognised and replayed idempotently.
 */
export class SqliteState {
  readonly db: Database.Database;
  /** Statements prepared once: preparing on every call was 8.7% of ingest CPU (bench/ingest profile). */
  private readonly statements = new Map<string, Database.Statement>();

  /** Runs fn in a transaction whose commit is synced to disk before it returns (synchronous = FULL). */
  private durably<T>(fn: () => T): T {
    // inside a caller's transaction (bulk set-up) its commit decides; the level can't change there
    if (this.db.inTransaction) return this.db.transaction(fn)();
    this.db.pragma('synchronous = FULL');
    try {
      return this.db.transaction(fn)();
    } finally {
      this.db.pragma('synchronous = NORMAL');
    }
  }

  private q(sql: string): Database.Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  /** Parsed latest results of recently active schools (see LatestCache). */
  readonly latestCache: LatestCache;
  /** Latest rows written inside a caller's transaction: cached once that transaction commits. */
  private latestPending: { schoolId: string; written: LatestWrite[]; future: string; dropped: boolean }[] =
    [];

  constructor(dataDir: string, options: { latestCacheResults?: number } = {}) {
    this.latestCache = new LatestCache(options.latestCacheResults ?? DEFAULT_LATEST_CACHE_RESULTS);
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    this.db = new Database(join(dataDir, 'state.sqlite'));
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode: a commit survives the collector being killed, and a power cut can lose only the
    // last commits before a checkpoint (the series are in InfluxDB; a lost journal row makes a retried
    // report idempotent again, a lost latest row is replaced by the next report). Registrations, which
    // nothing re-sends, are committed with FULL (`durably`). FULL cost two fsyncs per report: 31.8% of
    // ingest CPU in bench/ingest.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('foreign_keys = ON');
    this.db.exec(`
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
      CREATE TABLE IF NOT EXISTS ingests (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        report_id TEXT NOT NULL UNIQUE, agent_id TEXT NOT NULL, school_id TEXT NOT NULL,
        state TEXT NOT NULL, shift_ms REAL NOT NULL, received_at TEXT NOT NULL, finished_at TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS latest (
        school_id TEXT NOT NULL, key TEXT NOT NULL, probe TEXT NOT NULL, at TEXT NOT NULL, json TEXT NOT NULL,
        PRIMARY KEY (school_id, key)
      );
      CREATE TABLE IF NOT EXISTS history (
        school_id TEXT NOT NULL, key TEXT NOT NULL, at TEXT NOT NULL, json TEXT NOT NULL,
        PRIMARY KEY (school_id, key, at)
      );
      -- critical-device samples in teaching hours, summed per school and local day: the window's sum reads
      -- at most windowDays rows (the first version kept a row per device and day and scanned them all)
      CREATE TABLE IF NOT EXISTS availability_days (
        school_id TEXT NOT NULL, day TEXT NOT NULL, up INTEGER NOT NULL, total INTEGER NOT NULL,
        PRIMARY KEY (school_id, day)
      );
      -- the same samples per device and day, for the school page's availability of each device; only the
      -- window's days are kept (each report forgets the days before it)
      CREATE TABLE IF NOT EXISTS device_availability_days (
        school_id TEXT NOT NULL, day TEXT NOT NULL, device TEXT NOT NULL, up INTEGER NOT NULL,
        total INTEGER NOT NULL, PRIMARY KEY (school_id, day, device)
      );
      CREATE TABLE IF NOT EXISTS room_down (
        school_id TEXT NOT NULL, room TEXT NOT NULL, room_type TEXT NOT NULL, since TEXT NOT NULL, detail TEXT NOT NULL,
        PRIMARY KEY (school_id, room)
      );
      CREATE TABLE IF NOT EXISTS findings (
        school_id TEXT NOT NULL, rule TEXT NOT NULL, target TEXT NOT NULL, port INTEGER NOT NULL,
        json TEXT NOT NULL, PRIMARY KEY (school_id, rule, target, port)
      );
      CREATE TABLE IF NOT EXISTS compliance (
        school_id TEXT NOT NULL, target TEXT NOT NULL, state TEXT NOT NULL,
        value REAL, goal REAL, reason TEXT NOT NULL, updated_at TEXT NOT NULL,
        evidence_at TEXT, expires_at TEXT, since TEXT,
        PRIMARY KEY (school_id, target)
      );
      -- rooms (type|name) whose devices have answered at least once: 建有 survives a device that is down now
      CREATE TABLE IF NOT EXISTS rooms_answered (
        school_id TEXT NOT NULL, room TEXT NOT NULL, first_at TEXT NOT NULL, PRIMARY KEY (school_id, room)
      );
      CREATE TABLE IF NOT EXISTS alert_digests (school_id TEXT PRIMARY KEY, day TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS budget_refusals (
        school_id TEXT NOT NULL, budget TEXT NOT NULL, agent_id TEXT NOT NULL, at TEXT NOT NULL,
        budget_limit INTEGER NOT NULL, count INTEGER NOT NULL, times INTEGER NOT NULL,
        PRIMARY KEY (school_id, budget)
      );
      CREATE TABLE IF NOT EXISTS alerts (
        fingerprint TEXT PRIMARY KEY, school_id TEXT NOT NULL, state TEXT NOT NULL, since TEXT NOT NULL,
        fired_at TEXT, last_notified_at TEXT, resolved_at TEXT, item TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS silences (
        id INTEGER PRIMARY KEY AUTOINCREMENT, school_id TEXT, rule TEXT, fingerprint TEXT,
        starts_at TEXT NOT NULL, ends_at TEXT NOT NULL, reason TEXT NOT NULL, created_by TEXT NOT NULL
      );
      -- planned work (evaluate/maintenance.ts): room and device NULL = the whole school; ends_at NULL = a
      -- weekly window without an end; weekly = its recurrence as JSON (NULL: once)
      CREATE TABLE IF NOT EXISTS maintenance_windows (
        id INTEGER PRIMARY KEY AUTOINCREMENT, school_id TEXT NOT NULL REFERENCES schools(id),
        room TEXT, device TEXT, reason TEXT NOT NULL, starts_at TEXT NOT NULL, ends_at TEXT, weekly TEXT,
        created_by TEXT NOT NULL, created_at TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS maintenance_windows_school ON maintenance_windows(school_id);
    `);
    this.migrate();
  }

  /** Brings a state file of an earlier version to this schema (idempotent; one transaction). */
  private migrate(): void {
    const has = (table: string) =>
      this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) !==
      undefined;
    const columns = new Set(
      (this.db.prepare('PRAGMA table_info(compliance)').all() as { name: string }[]).map((c) => c.name),
    );
    if (!columns.has('expires_at')) {
      this.db.transaction(() => {
        this.db.exec(`
          ALTER TABLE compliance ADD COLUMN evidence_at TEXT;
          ALTER TABLE compliance ADD COLUMN expires_at TEXT;
          ALTER TABLE compliance ADD COLUMN since TEXT;
          UPDATE compliance SET since = updated_at;
        `);
      })();
    }
    this.db.exec('CREATE INDEX IF NOT EXISTS compliance_expires ON compliance(expires_at)');
    // lifecycle (issue 24): archived schools, named and revoked agents
    const columnsOf = (table: string) =>
      new Set(
        (this.db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name),
      );
    const schoolColumns = columnsOf('schools');
    const agentColumns = columnsOf('agents');
    this.db.transaction(() => {
      if (!schoolColumns.has('archived_at')) this.db.exec('ALTER TABLE schools ADD COLUMN archived_at TEXT');
      if (!agentColumns.has('name')) this.db.exec('ALTER TABLE agents ADD COLUMN name TEXT');
      if (!agentColumns.has('revoked_at')) this.db.exec('ALTER TABLE agents ADD COLUMN revoked_at TEXT');
      // the spool depth of the agent's last report (console school page)
      if (!agentColumns.has('spool_depth')) this.db.exec('ALTER TABLE agents ADD COLUMN spool_depth INTEGER');
      // … and whether its spool could write (issue 27: a full disk is a state the collector shows)
      if (!agentColumns.has('spool_unstored'))
        this.db.exec('ALTER TABLE agents ADD COLUMN spool_unstored INTEGER');
      if (!agentColumns.has('spool_failing_since'))
        this.db.exec('ALTER TABLE agents ADD COLUMN spool_failing_since TEXT');
      // a risk accepted by a person (JSON of an Acceptance), beside the finding a report writes
      if (!columnsOf('findings').has('acceptance'))
        this.db.exec('ALTER TABLE findings ADD COLUMN acceptance TEXT');
    })();
    if (has('availability')) {
      this.db.transaction(() => {
        this.db.exec(`
          INSERT INTO availability_days (school_id, day, up, total)
            -- (WHERE true: SQLite's parser needs it to read ON CONFLICT after a SELECT as an upsert)
            SELECT school_id, day, sum(up), sum(total) FROM availability WHERE true GROUP BY school_id, day
            ON CONFLICT(school_id, day) DO UPDATE SET up = up + excluded.up, total = total + excluded.total;
          DROP TABLE availability;
        `);
      })();
    }
  }

  // ---- schools -------------------------------------------------------------------------------
  upsertSchool(school: School): void {
    this.durably(() =>
      this.q(
        `INSERT INTO schools (id, json, created_at) VALUES (?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET json = excluded.json`,
      ).run(school.id, JSON.stringify(describedSchool(school)), new Date().toISOString()),
    );
  }

  getSchool(id: string): SchoolRecord | undefined {
    const row = this.q('SELECT json, archived_at FROM schools WHERE id = ?').get(id) as SchoolRow | undefined;
    return row ? schoolOfRow(row) : undefined;
  }

  listSchools(filter: { includeArchived?: boolean } = {}): SchoolRecord[] {
    return (
      this.q(
        `SELECT json, archived_at FROM schools ${filter.includeArchived ? '' : 'WHERE archived_at IS NULL'} ORDER BY id`,
      ).all() as SchoolRow[]
    ).map(schoolOfRow);
  }

  /** See StateStore.archiveSchool. */
  archiveSchool(id: string, at: Date): { school: SchoolRecord; revoked: string[] } | undefined {
    const t = at.toISOString();
    return this.durably(() => {
      if (!this.getSchool(id)) return undefined;
      this.q('UPDATE schools SET archived_at = ? WHERE id = ? AND archived_at IS NULL').run(t, id);
      this.q(
        'UPDATE enroll_codes SET expires_at = min(expires_at, ?) WHERE school_id = ? AND used_at IS NULL',
      ).run(at.getTime() - 1, id);
      const revoked = (
        this.q(
          'UPDATE agents SET revoked_at = ? WHERE school_id = ? AND revoked_at IS NULL RETURNING id',
        ).all(t, id) as { id: string }[]
      )
        .map((r) => r.id)
        .sort();
      return { school: this.getSchool(id)!, revoked };
    });
  }

  // ---- enrolment -----------------------------------------------------------------------------
  /** A one-time code, shown once; only its hash is kept. */
  createEnrollCode(schoolId: string, ttlMs: number, now = Date.now()): { code: string; expiresAt: Date } {
    const school = this.getSchool(schoolId);
    if (!school) throw new UnknownSchoolError(schoolId);
    if (school.archivedAt) throw new ArchivedSchoolError(schoolId, school.archivedAt);
    const alphabet = ENROLL_CODE_ALPHABET;
    const bytes = randomBytes(15);
    let code = '';
    for (let i = 0; i < 15; i++) {
      code += alphabet[bytes[i]! % alphabet.length];
      if (i % 5 === 4 && i < 14) code += '-';
    }
    const expiresAt = now + ttlMs;
    this.durably(() =>
      this.q('INSERT INTO enroll_codes (code_hash, school_id, expires_at) VALUES (?, ?, ?)').run(
        sha256(code),
        schoolId,
        expiresAt,
      ),
    );
    return { code, expiresAt: new Date(expiresAt) };
  }

  /** Spends a code and creates an agent with a fresh token; undefined when the code is unknown, used or expired. */
  enroll(
    code: string,
    info: { hostname: string; version: string },
    now = Date.now(),
  ): { agent: AgentRecord; token: string } | { error: 'unknown' | 'used' | 'expired' } {
    const normalised = code.trim().toUpperCase();
    return this.durably(() => {
      const row = this.q(
        'SELECT school_id AS schoolId, expires_at AS expiresAt, used_at AS usedAt FROM enroll_codes WHERE code_hash = ?',
      ).get(sha256(normalised)) as { schoolId: string; expiresAt: number; usedAt: number | null } | undefined;
      if (!row) return { error: 'unknown' as const };
      if (row.usedAt !== null) return { error: 'used' as const };
      if (row.expiresAt < now) return { error: 'expired' as const };
      const agentId = `ag_${randomBytes(9).toString('base64url')}`;
      const secret = randomBytes(32).toString('base64url');
      const enrolledAt = new Date(now).toISOString();
      this.q(
        'INSERT INTO agents (id, school_id, token_hash, hostname, version, enrolled_at) VALUES (?, ?, ?, ?, ?, ?)',
      ).run(agentId, row.schoolId, sha256(secret), info.hostname, info.version, enrolledAt);
      this.q('UPDATE enroll_codes SET used_at = ?, agent_id = ? WHERE code_hash = ?').run(
        now,
        agentId,
        sha256(normalised),
      );
      return { agent: this.getAgent(agentId)!, token: `cw1.${agentId}.${secret}` };
    });
  }

  /** The agent a bearer token belongs to, compared in constant time; undefined when it matches none. */
  authenticate(token: string): AgentRecord | undefined {
    const parsed = parseToken(token);
    if (!parsed) return undefined;
    const row = this.q('SELECT token_hash AS hash FROM agents WHERE id = ?').get(parsed.agentId) as
      | { hash: Buffer }
      | undefined;
    const presented = sha256(parsed.secret);
    // compare against a dummy when the agent is unknown, so both paths take the same time
    const stored = row?.hash ?? Buffer.alloc(presented.length);
    const equal = timingSafeEqual(stored, presented);
    return row && equal ? this.getAgent(parsed.agentId) : undefined;
  }

  getAgent(id: string): AgentRecord | undefined {
    return this.q(`SELECT ${AGENT_COLUMNS} FROM agents WHERE id = ?`).get(id) as AgentRecord | undefined;
  }

  listAgents(schoolId?: string, filter: { includeRevoked?: boolean } = {}): AgentRecord[] {
    const where = [
      ...(schoolId !== undefined ? ['school_id = ?'] : []),
      ...(filter.includeRevoked ? [] : ['revoked_at IS NULL']),
    ];
    const sql = `SELECT ${AGENT_COLUMNS} FROM agents ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id`;
    return (schoolId !== undefined ? this.q(sql).all(schoolId) : this.q(sql).all()) as AgentRecord[];
  }

  revokeAgent(id: string, at: Date): AgentRecord | undefined {
    this.durably(() =>
      this.q('UPDATE agents SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(
        at.toISOString(),
        id,
      ),
    );
    return this.getAgent(id);
  }

  renameAgent(id: string, name: string | null): AgentRecord | undefined {
    this.durably(() => this.q('UPDATE agents SET name = ? WHERE id = ?').run(name, id));
    return this.getAgent(id);
  }

  counts(): { schools: number; agents: number } {
    return this.q(
      `SELECT (SELECT count(*) FROM schools WHERE archived_at IS NULL) AS schools,
              (SELECT count(*) FROM agents WHERE revoked_at IS NULL) AS agents`,
    ).get() as { schools: number; agents: number };
  }

  // ---- ingest journal ------------------------------------------------------------------------
  getIngest(reportId: string): IngestRecord | undefined {
    return this.q(
      'SELECT report_id AS reportId, agent_id AS agentId, state, shift_ms AS shiftMs FROM ingests WHERE report_id = ?',
    ).get(reportId) as IngestRecord | undefined;
  }

  /** Notes that a report's points are being written, with the time shift chosen for it (reused on a retry). */
  beginIngest(r: BeginIngest): void {
    this.q(
      `INSERT INTO ingests (report_id, agent_id, school_id, state, shift_ms, received_at, finished_at)
         VALUES (?, ?, ?, 'writing', ?, ?, ?) ON CONFLICT(report_id) DO NOTHING`,
    ).run(r.reportId, r.agentId, r.schoolId, r.shiftMs, new Date().toISOString(), r.finishedAt);
  }

  /**
   * After the series are stored: mark the report done and keep the latest results and compliance,
   * atomically. False (and nothing applied) when the report was already done.
   */
  completeIngest(args: CompleteIngest): boolean {
    const at = args.receivedAt.toISOString();
    const future = args.futureAfter?.toISOString() ?? FAR_FUTURE;
    const written: LatestWrite[] = [];
    const applied = this.db.transaction((): boolean => {
      if (args.begin) this.beginIngest(args.begin);
      // only the first completion counts: a concurrent delivery of the same report applies nothing twice
      const marked = this.q(
        `UPDATE ingests SET state = 'done', received_at = ? WHERE report_id = ? AND state = 'writing'`,
      ).run(at, args.reportId);
      if (marked.changes === 0) return false;
      this.q(
        `UPDATE agents SET last_seen_at = ?, clock_offset_ms = ?, last_report_id = ?, version = coalesce(?, version),
           spool_depth = coalesce(?, spool_depth), spool_unstored = coalesce(?, spool_unstored),
           spool_failing_since = CASE WHEN ? THEN ? ELSE spool_failing_since END
         WHERE id = ?`,
      ).run(
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
      const keep = this.q('INSERT OR REPLACE INTO history (school_id, key, at, json) VALUES (?, ?, ?, ?)');
      const trim = this.q(
        `DELETE FROM history WHERE school_id = ? AND key = ? AND at NOT IN
           (SELECT at FROM history WHERE school_id = ? AND key = ? ORDER BY at DESC LIMIT ?)`,
      );
      const rows: unknown[] = [];
      for (const r of args.results) {
        const stored = shiftedResult(r, args.shiftMs);
        const shiftedAt = stored.at;
        const json = JSON.stringify(stored);
        const key = resultKey(r);
        rows.push(args.agent.schoolId, key, r.probe, shiftedAt, json);
        written.push({ key, at: shiftedAt, result: stored });
        if (HISTORY_PROBES.has(r.probe)) {
          keep.run(args.agent.schoolId, key, shiftedAt, json);
          trim.run(args.agent.schoolId, key, args.agent.schoolId, key, HISTORY_DEPTH);
        }
      }
      this.upsertLatest(rows, future);
      if (args.leaving) {
        const gone = this.q('DELETE FROM latest WHERE school_id = ? AND key = ? AND at < ?');
        for (const key of args.leaving.keys) gone.run(args.agent.schoolId, key, args.leaving.before);
      }
      const sample = this.q(
        `INSERT INTO availability_days (school_id, day, up, total) VALUES (?, ?, ?, ?)
         ON CONFLICT(school_id, day) DO UPDATE SET up = up + excluded.up, total = total + excluded.total`,
      );
      for (const d of samplesPerDay(args.availability)) sample.run(args.agent.schoolId, d.day, d.up, d.total);
      const deviceRows = samplesPerDeviceDay(args.availability);
      if (deviceRows.length > 0) {
        const deviceSample = this.q(
          `INSERT INTO device_availability_days (school_id, day, device, up, total) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT(school_id, day, device) DO UPDATE SET up = up + excluded.up, total = total + excluded.total`,
        );
        const since = args.availabilitySinceDay ?? '';
        // a sample of a day before the window (a late report) is not kept: only the window is read
        for (const d of deviceRows)
          if (d.day >= since) deviceSample.run(args.agent.schoolId, d.day, d.device, d.up, d.total);
        if (since !== '')
          this.q('DELETE FROM device_availability_days WHERE school_id = ? AND day < ?').run(
            args.agent.schoolId,
            since,
          );
      }
      const opened = this.q(
        `INSERT INTO room_down (school_id, room, room_type, since, detail) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(school_id, room) DO UPDATE SET detail = excluded.detail`,
      );
      const closed = this.q('DELETE FROM room_down WHERE school_id = ? AND room = ?');
      for (const r of args.rooms ?? []) {
        if (r.up) closed.run(args.agent.schoolId, r.room);
        else opened.run(args.agent.schoolId, r.room, r.roomType, r.at, r.detail);
      }
      const finding = this.q(
        `INSERT INTO findings (school_id, rule, target, port, json) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(school_id, rule, target, port) DO UPDATE SET json = excluded.json`,
      );
      for (const f of args.findings ?? [])
        finding.run(f.schoolId, f.rule, f.target, f.port, JSON.stringify(f));
      const answered = this.q(
        'INSERT OR IGNORE INTO rooms_answered (school_id, room, first_at) VALUES (?, ?, ?)',
      );
      for (const room of args.answeredRooms ?? []) answered.run(args.agent.schoolId, room, at);
      this.replaceCompliance(args.agent.schoolId, args.compliance, at);
      return true;
    })();
    if (applied) {
      // the cache follows what is committed: inside a caller's transaction, only once that one commits;
      // a school whose devices left the state is read again from the table
      const dropped = (args.leaving?.keys.length ?? 0) > 0;
      if (this.db.inTransaction)
        this.latestPending.push({ schoolId: args.agent.schoolId, written, future, dropped });
      else if (dropped) this.latestCache.drop(args.agent.schoolId);
      else this.latestCache.apply(args.agent.schoolId, written, future);
    }
    return applied;
  }

  /**
   * Latest rows (school_id, key, probe, at, json flattened), a newer or same-time result replacing the
   * stored one: up to LATEST_ROWS_PER_STATEMENT rows in one statement (a statement per row cost 15% more).
   * A key twice in one report: the later row is compared with the earlier, as one statement each would.
   * A stored result stamped after `future` is from the future: any result replaces it.
   */
  private upsertLatest(values: readonly unknown[], future: string): void {
    for (let i = 0; i < values.length; i += 5 * LATEST_ROWS_PER_STATEMENT) {
      const chunk =
        values.length <= 5 * LATEST_ROWS_PER_STATEMENT
          ? values
          : values.slice(i, i + 5 * LATEST_ROWS_PER_STATEMENT);
      const n = chunk.length / 5;
      this.q(
        `INSERT INTO latest (school_id, key, probe, at, json) VALUES ${'(?, ?, ?, ?, ?), '.repeat(n - 1)}(?, ?, ?, ?, ?)
         ON CONFLICT(school_id, key) DO UPDATE SET probe = excluded.probe, at = excluded.at, json = excluded.json
         WHERE excluded.at >= latest.at OR latest.at > ?`,
      ).run(...chunk, future);
    }
  }

  /** The caller's transaction around completeIngest calls committed: their latest rows join the cache. */
  latestCommitted(): void {
    for (const p of this.latestPending)
      if (p.dropped) this.latestCache.drop(p.schoolId);
      else this.latestCache.apply(p.schoolId, p.written, p.future);
    this.latestPending = [];
  }

  /** It rolled back: forget those schools' cached rows (read again from the table next time). */
  latestRolledBack(): void {
    for (const p of this.latestPending) this.latestCache.drop(p.schoolId);
    this.latestPending = [];
  }

  /** Security findings, all schools or one, with their acceptances. */
  findings(schoolId?: string): FindingRecord[] {
    const rows = (
      schoolId
        ? this.q('SELECT json, acceptance FROM findings WHERE school_id = ? ORDER BY rule, target, port').all(
            schoolId,
          )
        : this.q('SELECT json, acceptance FROM findings ORDER BY school_id, rule, target, port').all()
    ) as { json: string; acceptance: string | null }[];
    return rows.map(findingOfRow);
  }

  /** See StateStore.setAcceptance. */
  setAcceptance(
    schoolId: string,
    f: { rule: string; target: string; port: number },
    acceptance: Acceptance | null,
  ): FindingRecord | undefined {
    const row = this.durably(
      () =>
        this.q(
          `UPDATE findings SET acceptance = ? WHERE school_id = ? AND rule = ? AND target = ? AND port = ?
           RETURNING json, acceptance`,
        ).get(acceptance === null ? null : JSON.stringify(acceptance), schoolId, f.rule, f.target, f.port) as
          | { json: string; acceptance: string | null }
          | undefined,
    );
    return row ? findingOfRow(row) : undefined;
  }

  /** Critical-device samples in teaching hours since a local day (inclusive). */
  availability(schoolId: string, sinceDay: string): { up: number; total: number } {
    const row = this.q(
      'SELECT coalesce(sum(up), 0) AS up, coalesce(sum(total), 0) AS total FROM availability_days WHERE school_id = ? AND day >= ?',
    ).get(schoolId, sinceDay) as { up: number; total: number };
    return row;
  }

  /** The same samples per device since a local day (inclusive), ordered by device. */
  deviceAvailability(schoolId: string, sinceDay: string): { device: string; up: number; total: number }[] {
    return this.q(
      `SELECT device, sum(up) AS up, sum(total) AS total FROM device_availability_days
       WHERE school_id = ? AND day >= ? GROUP BY device ORDER BY device`,
    ).all(schoolId, sinceDay) as { device: string; up: number; total: number }[];
  }

  /** Rooms down in teaching hours, with the time they were first seen down. */
  roomsDown(schoolId: string): { room: string; roomType: string; since: string; detail: string }[] {
    return this.q(
      'SELECT room, room_type AS roomType, since, detail FROM room_down WHERE school_id = ? ORDER BY since, rowid',
    ).all(schoolId) as { room: string; roomType: string; since: string; detail: string }[];
  }

  /** Past results of the probes judged over several runs (speed tests), newest first. */
  history(schoolId: string, probe: ProbeResult['probe']): ProbeResult[] {
    // the keys `probe|…` as a range: with `key LIKE ?` SQLite prepared the statement again on every call
    // (the LIKE optimisation depends on the bound pattern), 60 µs per report
    return (
      this.q(`SELECT json FROM history WHERE school_id = ? AND key >= ? AND key < ? ORDER BY at DESC`).all(
        schoolId,
        `${probe}|`,
        `${probe}}`, // '}' follows '|'
      ) as { json: string }[]
    ).map((r) => JSON.parse(r.json) as ProbeResult);
  }

  /** See StateStore.pruneIngests: the oldest journal rows, a prefix in journal order, at most `limit`. */
  pruneIngests(receivedBefore: Date, limit: number): number {
    const rows = this.q('SELECT seq, received_at AS receivedAt FROM ingests ORDER BY seq LIMIT ?').all(
      limit,
    ) as { seq: number; receivedAt: string }[];
    const last = oldPrefixEnd(rows, receivedBefore);
    if (last === undefined) return 0;
    return this.q('DELETE FROM ingests WHERE seq <= ?').run(last).changes;
  }

  ingestOrder(agentId: string): { reportId: string; finishedAt: string }[] {
    return this.q(
      `SELECT report_id AS reportId, finished_at AS finishedAt FROM ingests WHERE agent_id = ? AND state = 'done' ORDER BY seq`,
    ).all(agentId) as { reportId: string; finishedAt: string }[];
  }

  /** Latest result per key, ordered by key; from the cache when the school is in it (shared objects: read-only). */
  latestResults(schoolId: string): ProbeResult[] {
    const cached = this.latestCache.get(schoolId);
    if (cached) return cached;
    const rows = (
      this.q('SELECT key, at, json FROM latest WHERE school_id = ? ORDER BY key').all(schoolId) as {
        key: string;
        at: string;
        json: string;
      }[]
    ).map((r) => ({ key: r.key, at: r.at, result: JSON.parse(r.json) as ProbeResult }));
    // not while a caller's transaction may still roll back what it read
    if (!this.db.inTransaction) this.latestCache.fill(schoolId, rows);
    return rows.map((r) => r.result);
  }

  /**
   * Stores a school's compliance rows. A row whose state, value, goal and reason are already stored is
   * left as it is (its `updated_at` is when it last changed): most reports change one target of seven
   * (device availability), and an unchanged row then costs a lookup instead of a rewrite. The school's
   * rows share a page, so that page is still written whenever one of them changes.
   */
  replaceCompliance(schoolId: string, rows: readonly ComplianceRow[], at = new Date().toISOString()): void {
    // since: when the state last changed (kept while only the value, reason or evidence moves)
    const upsert = this.q(
      `INSERT INTO compliance (school_id, target, state, value, goal, reason, updated_at, evidence_at, expires_at, since)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(school_id, target) DO UPDATE SET
         since = CASE WHEN compliance.state IS excluded.state THEN compliance.since ELSE excluded.since END,
         state = excluded.state, value = excluded.value, goal = excluded.goal,
         reason = excluded.reason, updated_at = excluded.updated_at, evidence_at = excluded.evidence_at,
         expires_at = excluded.expires_at
       WHERE compliance.state IS NOT excluded.state OR compliance.value IS NOT excluded.value
         OR compliance.goal IS NOT excluded.goal OR compliance.reason IS NOT excluded.reason
         OR compliance.evidence_at IS NOT excluded.evidence_at OR compliance.expires_at IS NOT excluded.expires_at`,
    );
    for (const c of rows)
      upsert.run(
        schoolId,
        c.target,
        c.state,
        c.value,
        c.goal,
        c.reason,
        at,
        c.evidenceAt,
        c.expiresAt,
        c.since ?? at,
      );
  }

  compliance(schoolId: string): ComplianceRow[] {
    return this.q(
      `SELECT target, state, value, goal, reason, evidence_at AS evidenceAt, expires_at AS expiresAt, since
       FROM compliance WHERE school_id = ? ORDER BY rowid`,
    ).all(schoolId) as ComplianceRow[];
  }

  /** See StateStore.schoolsToRecheck. */
  schoolsToRecheck(now: Date, limit: number): string[] {
    return (
      this.q(
        `SELECT DISTINCT school_id AS id FROM compliance
         WHERE expires_at <= ? AND school_id NOT IN (SELECT id FROM schools WHERE archived_at IS NOT NULL)
         ORDER BY school_id LIMIT ?`,
      ).all(now.toISOString(), limit) as { id: string }[]
    ).map((r) => r.id);
  }

  /** See StateStore.answeredRooms. */
  answeredRooms(schoolId: string): Set<string> {
    return new Set(
      (this.q('SELECT room FROM rooms_answered WHERE school_id = ?').all(schoolId) as { room: string }[]).map(
        (r) => r.room,
      ),
    );
  }

  /** See StateStore.complianceStates: one query, one short row per school (a letter per stored row). */
  complianceStates(targets: readonly string[]): Map<string, ComplianceRow['state'][]> {
    if (targets.length === 0) return new Map();
    // 'A' + 3 × target index + state index; the primary key allows one row per target, so order is free
    const sql = `SELECT school_id, group_concat(char(65 + 3 * t + s), '') FROM (
      SELECT school_id,
        CASE target ${targets.map((_, i) => `WHEN ? THEN ${i}`).join(' ')} END AS t,
        CASE state WHEN 'met' THEN 1 WHEN 'not_met' THEN 2 ELSE 0 END AS s
      FROM compliance) WHERE t IS NOT NULL GROUP BY school_id`;
    const rows = this.q(sql)
      .raw(true)
      .all(...targets) as [string, string][];
    const out = new Map<string, ComplianceRow['state'][]>();
    for (const [schoolId, codes] of rows) {
      const states = targets.map((): ComplianceRow['state'] => 'no_data');
      for (let i = 0; i < codes.length; i++) {
        const code = codes.charCodeAt(i) - 65;
        states[Math.floor(code / 3)] = STATES[code % 3]!;
      }
      out.set(schoolId, states);
    }
    return out;
  }

  // ---- alerts ----------------------------------------------------------------------------------
  alerts(): AlertRow[] {
    const rows = this.q('SELECT * FROM alerts ORDER BY since, rowid').all() as Record<
      string,
      string | null
    >[];
    return rows.map((r) => ({
      fingerprint: r.fingerprint!,
      schoolId: r.school_id!,
      state: r.state as AlertRow['state'],
      since: r.since!,
      firedAt: r.fired_at ?? null,
      lastNotifiedAt: r.last_notified_at ?? null,
      resolvedAt: r.resolved_at ?? null,
      item: JSON.parse(r.item!) as AlertRow['item'],
    }));
  }

  saveAlerts(rows: readonly AlertRow[], deleted: readonly string[]): void {
    const upsert = this.q(
      `INSERT INTO alerts (fingerprint, school_id, state, since, fired_at, last_notified_at, resolved_at, item)
       VALUES (@fingerprint, @schoolId, @state, @since, @firedAt, @lastNotifiedAt, @resolvedAt, @item)
       ON CONFLICT(fingerprint) DO UPDATE SET state = excluded.state, since = excluded.since, fired_at = excluded.fired_at,
         last_notified_at = excluded.last_notified_at, resolved_at = excluded.resolved_at, item = excluded.item`,
    );
    const remove = this.q('DELETE FROM alerts WHERE fingerprint = ?');
    this.db.transaction(() => {
      for (const r of rows) upsert.run({ ...r, item: JSON.stringify(r.item) });
      for (const fp of deleted) remove.run(fp);
    })();
  }

  markNotified(fingerprints: readonly string[], at: string): void {
    const notified = this.q('UPDATE alerts SET last_notified_at = ? WHERE fingerprint = ?');
    this.db.transaction(() => {
      for (const fp of fingerprints) notified.run(at, fp);
    })();
  }

  claimDigest(schoolId: string, day: string): boolean {
    return (
      this.q(
        `INSERT INTO alert_digests (school_id, day) VALUES (?, ?)
         ON CONFLICT(school_id) DO UPDATE SET day = excluded.day WHERE alert_digests.day <> excluded.day`,
      ).run(schoolId, day).changes > 0
    );
  }

  noteBudgetRefusal(r: Omit<BudgetRefusal, 'times'>, holdMs: number): void {
    this.q(
      `INSERT INTO budget_refusals (school_id, budget, agent_id, at, budget_limit, count, times)
       VALUES (?, ?, ?, ?, ?, ?, 1)
       ON CONFLICT(school_id, budget) DO UPDATE SET agent_id = excluded.agent_id, at = excluded.at,
         budget_limit = excluded.budget_limit, count = excluded.count,
         times = CASE WHEN budget_refusals.at >= ? THEN budget_refusals.times + 1 ELSE 1 END`,
    ).run(
      r.schoolId,
      r.budget,
      r.agentId,
      r.at,
      r.limit,
      r.count,
      new Date(Date.parse(r.at) - holdMs).toISOString(),
    );
  }

  budgetRefusals(since: Date): BudgetRefusal[] {
    return this.q(
      `SELECT school_id AS schoolId, budget, agent_id AS agentId, at, budget_limit AS "limit", count, times
       FROM budget_refusals WHERE at >= ? ORDER BY school_id, budget`,
    ).all(since.toISOString()) as BudgetRefusal[];
  }

  // ---- silences --------------------------------------------------------------------------------
  addSilence(s: Omit<Silence, 'id'>): Silence {
    const info = this.q(
      'INSERT INTO silences (school_id, rule, fingerprint, starts_at, ends_at, reason, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ).run(s.schoolId, s.rule, s.fingerprint, s.startsAt, s.endsAt, s.reason, s.createdBy);
    return { ...s, id: Number(info.lastInsertRowid) };
  }

  silences(now?: Date): Silence[] {
    const rows = this.q('SELECT * FROM silences ORDER BY id').all() as Record<
      string,
      string | number | null
    >[];
    return rows
      .map((r) => ({
        id: Number(r.id),
        schoolId: (r.school_id as string | null) ?? null,
        rule: (r.rule as string | null) ?? null,
        fingerprint: (r.fingerprint as string | null) ?? null,
        startsAt: String(r.starts_at),
        endsAt: String(r.ends_at),
        reason: String(r.reason),
        createdBy: String(r.created_by),
      }))
      .filter((s) => now === undefined || (s.startsAt <= now.toISOString() && now.toISOString() < s.endsAt));
  }

  expireSilence(id: number, now: Date): boolean {
    return (
      this.q('UPDATE silences SET ends_at = ? WHERE id = ? AND ends_at > ?').run(
        now.toISOString(),
        id,
        now.toISOString(),
      ).changes > 0
    );
  }

  // ---- maintenance windows -------------------------------------------------------------------
  addMaintenance(w: Omit<MaintenanceWindow, 'id'>): MaintenanceWindow {
    const info = this.durably(() =>
      this.q(
        `INSERT INTO maintenance_windows
           (school_id, room, device, reason, starts_at, ends_at, weekly, created_by, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        w.schoolId,
        w.room ?? null,
        w.device ?? null,
        w.reason,
        w.startsAt,
        w.endsAt,
        w.weekly ? JSON.stringify(w.weekly) : null,
        w.createdBy,
        w.createdAt,
      ),
    );
    return { ...w, id: Number(info.lastInsertRowid) };
  }

  maintenanceWindows(filter: { schoolId?: string; endingAfter?: Date } = {}): MaintenanceWindow[] {
    const where: string[] = [];
    const args: string[] = [];
    if (filter.schoolId !== undefined) {
      where.push('school_id = ?');
      args.push(filter.schoolId);
    }
    if (filter.endingAfter !== undefined) {
      where.push('(ends_at IS NULL OR ends_at > ?)');
      args.push(filter.endingAfter.toISOString());
    }
    const rows = this.q(
      `SELECT id, school_id, room, device, reason, starts_at, ends_at, weekly, created_by, created_at
       FROM maintenance_windows ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY id`,
    ).all(...args) as MaintenanceDbRow[];
    return rows.map(maintenanceOfRow);
  }

  endMaintenance(id: number, now: Date): boolean {
    const t = now.toISOString();
    return (
      this.durably(() =>
        this.q(
          `UPDATE maintenance_windows SET ends_at = ?, starts_at = min(starts_at, ?)
           WHERE id = ? AND (ends_at IS NULL OR ends_at > ?)`,
        ).run(t, t, id, t),
      ).changes > 0
    );
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

type MaintenanceDbRow = Parameters<typeof maintenanceOfRow>[0];

type SchoolRow = Parameters<typeof schoolOfRow>[0];

const AGENT_COLUMNS = `id, school_id AS schoolId, hostname, version, enrolled_at AS enrolledAt,
  last_seen_at AS lastSeenAt, clock_offset_ms AS clockOffsetMs, last_report_id AS lastReportId, name,
  revoked_at AS revokedAt, spool_depth AS spoolDepth,
  spool_unstored AS spoolUnstored, spool_failing_since AS spoolFailingSince`;

const STATES: readonly ComplianceRow['state'][] = ['no_data', 'met', 'not_met'];

type LatestWrite = { key: string; at: string; result: ProbeResult };

/** Later than any stored time: without `futureAfter` only newer results replace the latest ones. */
const FAR_FUTURE = '9999-12-31T23:59:59.999Z';

/** Rows per latest upsert statement (one statement prepared per row count up to it). */
const LATEST_ROWS_PER_STATEMENT = 64;

/**
 * Latest results cached by default (state.latestCacheResults): every school of 10,000 agents at ~45
 * results each. A cached result is ≈ 340 B of live heap; in bench/ingest the collector's RSS was ≈ 900 MB
 * with all 450,000 cached (≈ 670 MB with 200,000, when half the schools were read and parsed from SQLite
 * on every report: 3.9 against 3.1-3.3 ms of CPU per report). Smaller deployments never fill it.
 */
export const DEFAULT_LATEST_CACHE_RESULTS = 500_000;

/**
 * The embedded store (the default): SQLite in the collector's data directory, answered synchronously by
 * `sync` (which set-up code such as the benches may use directly, e.g. inside one transaction).
 */
export class SqliteStateStore implements StateStore {
  readonly kind = 'sqlite' as const;
  readonly sync: SqliteState;
  readonly access: SqliteAccess;
  readonly snapshots: SqliteSnapshots;

  constructor(dataDir: string, options: { latestCacheResults?: number } = {}) {
    this.sync = new SqliteState(dataDir, options);
    this.access = new SqliteAccess(this.sync.db);
    this.snapshots = new SqliteSnapshots(this.sync.db);
  }

  /** The SQLite connection (tests and benches that inspect the tables). */
  get db(): Database.Database {
    return this.sync.db;
  }

  async upsertSchool(school: School): Promise<void> {
    this.sync.upsertSchool(school);
  }
  async getSchool(id: string): Promise<SchoolRecord | undefined> {
    return this.sync.getSchool(id);
  }
  async listSchools(filter?: { includeArchived?: boolean }): Promise<SchoolRecord[]> {
    return this.sync.listSchools(filter);
  }
  async archiveSchool(
    id: string,
    at: Date,
  ): Promise<{ school: SchoolRecord; revoked: string[] } | undefined> {
    return this.sync.archiveSchool(id, at);
  }
  async createEnrollCode(
    schoolId: string,
    ttlMs: number,
    now?: number,
  ): Promise<{ code: string; expiresAt: Date }> {
    return this.sync.createEnrollCode(schoolId, ttlMs, now);
  }
  async enroll(
    code: string,
    info: { hostname: string; version: string },
    now?: number,
  ): Promise<{ agent: AgentRecord; token: string } | { error: 'unknown' | 'used' | 'expired' }> {
    return this.sync.enroll(code, info, now);
  }
  async authenticate(token: string): Promise<AgentRecord | undefined> {
    return this.sync.authenticate(token);
  }
  async getAgent(id: string): Promise<AgentRecord | undefined> {
    return this.sync.getAgent(id);
  }
  async listAgents(schoolId?: string, filter?: { includeRevoked?: boolean }): Promise<AgentRecord[]> {
    return this.sync.listAgents(schoolId, filter);
  }
  async revokeAgent(id: string, at: Date): Promise<AgentRecord | undefined> {
    return this.sync.revokeAgent(id, at);
  }
  async renameAgent(id: string, name: string | null): Promise<AgentRecord | undefined> {
    return this.sync.renameAgent(id, name);
  }
  async counts(): Promise<{ schools: number; agents: number }> {
    return this.sync.counts();
  }
  async getIngest(reportId: string): Promise<IngestRecord | undefined> {
    return this.sync.getIngest(reportId);
  }
  beginIngest(r: BeginIngest): Promise<void> {
    return this.coalesced(() => this.sync.beginIngest(r));
  }
  completeIngest(args: CompleteIngest): Promise<boolean> {
    return this.coalesced(() => this.sync.completeIngest(args));
  }

  private pending: { fn: () => unknown; resolve: (v: unknown) => void; reject: (e: unknown) => void }[] = [];

  /**
   * Group commit: the ingest writes asked for in one turn of the event loop run in ONE transaction at the
   * end of that turn, each in a savepoint of its own (better-sqlite3 nests transactions that way), so one
   * that fails rolls back alone. Under load, reports finish their InfluxDB writes together (WriteBatcher)
   * and share a commit instead of paying one each.
   */
  private coalesced<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.pending.length === 0) setImmediate(() => this.flush());
      this.pending.push({ fn, resolve: resolve as (v: unknown) => void, reject });
    });
  }

  private flush(): void {
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    const outcomes: ({ ok: true; value: unknown } | { ok: false; err: unknown })[] = [];
    try {
      this.sync.db.transaction(() => {
        for (const p of batch) {
          try {
            outcomes.push({ ok: true, value: this.sync.db.transaction(p.fn)() });
          } catch (err) {
            outcomes.push({ ok: false, err });
          }
        }
      })();
    } catch (err) {
      // the commit itself failed (disk full, I/O error): nothing of the batch is stored
      this.sync.latestRolledBack();
      for (const p of batch) p.reject(err);
      return;
    }
    this.sync.latestCommitted();
    batch.forEach((p, i) => {
      const o = outcomes[i]!;
      if (o.ok) p.resolve(o.value);
      else p.reject(o.err);
    });
  }
  async ingestOrder(agentId: string): Promise<{ reportId: string; finishedAt: string }[]> {
    return this.sync.ingestOrder(agentId);
  }
  async pruneIngests(receivedBefore: Date, limit: number): Promise<number> {
    return this.sync.pruneIngests(receivedBefore, limit);
  }
  async latestResults(schoolId: string): Promise<ProbeResult[]> {
    return this.sync.latestResults(schoolId);
  }
  async history(schoolId: string, probe: ProbeResult['probe']): Promise<ProbeResult[]> {
    return this.sync.history(schoolId, probe);
  }
  async findings(schoolId?: string): Promise<FindingRecord[]> {
    return this.sync.findings(schoolId);
  }
  async setAcceptance(
    schoolId: string,
    f: { rule: string; target: string; port: number },
    acceptance: Acceptance | null,
  ): Promise<FindingRecord | undefined> {
    return this.sync.setAcceptance(schoolId, f, acceptance);
  }
  async availability(schoolId: string, sinceDay: string): Promise<{ up: number; total: number }> {
    return this.sync.availability(schoolId, sinceDay);
  }

  async deviceAvailability(
    schoolId: string,
    sinceDay: string,
  ): Promise<{ device: string; up: number; total: number }[]> {
    return this.sync.deviceAvailability(schoolId, sinceDay);
  }
  async roomsDown(schoolId: string): Promise<RoomDown[]> {
    return this.sync.roomsDown(schoolId);
  }
  async compliance(schoolId: string): Promise<ComplianceRow[]> {
    return this.sync.compliance(schoolId);
  }

  async schoolsToRecheck(now: Date, limit: number): Promise<string[]> {
    return this.sync.schoolsToRecheck(now, limit);
  }

  async answeredRooms(schoolId: string): Promise<Set<string>> {
    return this.sync.answeredRooms(schoolId);
  }
  async replaceCompliance(schoolId: string, rows: readonly ComplianceRow[], at?: string): Promise<void> {
    this.sync.replaceCompliance(schoolId, rows, at);
  }
  async complianceStates(targets: readonly string[]): Promise<Map<string, ComplianceRow['state'][]>> {
    return this.sync.complianceStates(targets);
  }
  async alerts(): Promise<AlertRow[]> {
    return this.sync.alerts();
  }
  async saveAlerts(rows: readonly AlertRow[], deleted: readonly string[]): Promise<void> {
    this.sync.saveAlerts(rows, deleted);
  }
  async markNotified(fingerprints: readonly string[], at: string): Promise<void> {
    this.sync.markNotified(fingerprints, at);
  }
  async claimDigest(schoolId: string, day: string): Promise<boolean> {
    return this.sync.claimDigest(schoolId, day);
  }
  async noteBudgetRefusal(r: Omit<BudgetRefusal, 'times'>, holdMs: number): Promise<void> {
    this.sync.noteBudgetRefusal(r, holdMs);
  }
  async budgetRefusals(since: Date): Promise<BudgetRefusal[]> {
    return this.sync.budgetRefusals(since);
  }
  async addSilence(s: Omit<Silence, 'id'>): Promise<Silence> {
    return this.sync.addSilence(s);
  }
  async silences(now?: Date): Promise<Silence[]> {
    return this.sync.silences(now);
  }
  async expireSilence(id: number, now: Date): Promise<boolean> {
    return this.sync.expireSilence(id, now);
  }
  async addMaintenance(w: Omit<MaintenanceWindow, 'id'>): Promise<MaintenanceWindow> {
    return this.sync.addMaintenance(w);
  }
  async maintenanceWindows(
    filter: { schoolId?: string; endingAfter?: Date } = {},
  ): Promise<MaintenanceWindow[]> {
    return this.sync.maintenanceWindows(filter);
  }
  async endMaintenance(id: number, now: Date): Promise<boolean> {
    return this.sync.endMaintenance(id, now);
  }
  /** One collector per embedded store: it always leads. */
  async alertLeadership(): Promise<boolean> {
    return true;
  }
  async close(): Promise<void> {
    if (this.pending.length > 0) this.flush();
    this.sync.close();
  }
}
