import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { ProbeResult } from '../../../protocol/report.js';
import type { School } from '../../../protocol/school.js';
import type { FindingRecord } from '../evaluate/findings.js';

export interface AgentRecord {
  id: string;
  schoolId: string;
  hostname: string;
  version: string;
  enrolledAt: string;
  lastSeenAt: string | null;
  clockOffsetMs: number | null;
  lastReportId: string | null;
}

export interface ComplianceRow {
  target: string;
  state: 'met' | 'not_met' | 'no_data';
  value: number | null;
  goal: number | null;
  reason: string;
}

export interface IngestRecord {
  reportId: string;
  agentId: string;
  state: 'writing' | 'done';
  shiftMs: number;
}

/** Probes whose verdict looks at several past runs (a target missed only after the last K tests). */
const HISTORY_PROBES = new Set<ProbeResult['probe']>(['bandwidth']);
const HISTORY_DEPTH = 100;

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/** A token is `cw1.<agentId>.<256-bit secret, base64url>`; only a SHA-256 of the secret is stored. */
export function parseToken(token: string): { agentId: string; secret: string } | undefined {
  const m = /^cw1\.([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{43})$/.exec(token);
  return m ? { agentId: m[1]!, secret: m[2]! } : undefined;
}

/** Result identity inside a school: the latest result per probe, target and check. */
export function resultKey(r: ProbeResult): string {
  if (r.probe === 'reachability') return `reachability|${r.target}|${r.check}|${r.port ?? ''}`;
  if (r.probe === 'bandwidth') return `bandwidth|${r.direction}`;
  if (r.probe === 'uplink-snmp') return `uplink-snmp|${r.device.name}|${r.ifIndex}`;
  if (r.probe === 'ipv6') return `ipv6|${r.check}|${r.service ?? r.target}`;
  if (r.probe === 'security') return `security|${r.rule}|${r.target}|${r.port ?? 0}`;
  return `${r.probe}|${r.target}`;
}

/**
 * The collector's embedded state (DESIGN §2: schools, agents, alerts), SQLite in WAL mode.
 * It also journals each ingested report so a retried report is recognised and replayed idempotently.
 */
export class StateStore {
  readonly db: Database.Database;
  /** Statements prepared once: preparing on every call was 8.7% of ingest CPU (bench/ingest profile). */
  private readonly statements = new Map<string, Database.Statement>();

  /** Runs fn in a transaction whose commit is synced to disk before it returns (synchronous = FULL). */
  private durably<T>(fn: () => T): T {
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

  constructor(dataDir: string) {
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
        id TEXT PRIMARY KEY, json TEXT NOT NULL, created_at TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS agents (
        id TEXT PRIMARY KEY,
        school_id TEXT NOT NULL REFERENCES schools(id),
        token_hash BLOB NOT NULL,
        hostname TEXT NOT NULL, version TEXT NOT NULL, enrolled_at TEXT NOT NULL,
        last_seen_at TEXT, clock_offset_ms REAL, last_report_id TEXT
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
      CREATE TABLE IF NOT EXISTS availability (
        school_id TEXT NOT NULL, device TEXT NOT NULL, day TEXT NOT NULL,
        up INTEGER NOT NULL, total INTEGER NOT NULL,
        PRIMARY KEY (school_id, device, day)
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
        PRIMARY KEY (school_id, target)
      );
    `);
  }

  // ---- schools -------------------------------------------------------------------------------
  upsertSchool(school: School): void {
    this.durably(() =>
      this.q(
        `INSERT INTO schools (id, json, created_at) VALUES (?, ?, ?)
         ON CONFLICT(id) DO UPDATE SET json = excluded.json`,
      ).run(school.id, JSON.stringify(school), new Date().toISOString()),
    );
  }

  getSchool(id: string): School | undefined {
    const row = this.q('SELECT json FROM schools WHERE id = ?').get(id) as { json: string } | undefined;
    return row ? (JSON.parse(row.json) as School) : undefined;
  }

  listSchools(): School[] {
    return (this.q('SELECT json FROM schools ORDER BY id').all() as { json: string }[]).map(
      (r) => JSON.parse(r.json) as School,
    );
  }

  // ---- enrolment -----------------------------------------------------------------------------
  /** A one-time code, shown once; only its hash is kept. */
  createEnrollCode(schoolId: string, ttlMs: number, now = Date.now()): { code: string; expiresAt: Date } {
    if (!this.getSchool(schoolId)) throw new UnknownSchoolError(schoolId);
    const alphabet = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
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
    return this.q(
      `SELECT id, school_id AS schoolId, hostname, version, enrolled_at AS enrolledAt, last_seen_at AS lastSeenAt,
                clock_offset_ms AS clockOffsetMs, last_report_id AS lastReportId FROM agents WHERE id = ?`,
    ).get(id) as AgentRecord | undefined;
  }

  listAgents(schoolId?: string): AgentRecord[] {
    const sql = `SELECT id, school_id AS schoolId, hostname, version, enrolled_at AS enrolledAt, last_seen_at AS lastSeenAt,
                 clock_offset_ms AS clockOffsetMs, last_report_id AS lastReportId FROM agents`;
    return (
      schoolId
        ? this.q(`${sql} WHERE school_id = ? ORDER BY id`).all(schoolId)
        : this.q(`${sql} ORDER BY id`).all()
    ) as AgentRecord[];
  }

  // ---- ingest journal ------------------------------------------------------------------------
  getIngest(reportId: string): IngestRecord | undefined {
    return this.q(
      'SELECT report_id AS reportId, agent_id AS agentId, state, shift_ms AS shiftMs FROM ingests WHERE report_id = ?',
    ).get(reportId) as IngestRecord | undefined;
  }

  /** Notes that a report's points are being written, with the time shift chosen for it (reused on a retry). */
  beginIngest(r: {
    reportId: string;
    agentId: string;
    schoolId: string;
    shiftMs: number;
    finishedAt: string;
  }): void {
    this.q(
      `INSERT INTO ingests (report_id, agent_id, school_id, state, shift_ms, received_at, finished_at)
         VALUES (?, ?, ?, 'writing', ?, ?, ?) ON CONFLICT(report_id) DO NOTHING`,
    ).run(r.reportId, r.agentId, r.schoolId, r.shiftMs, new Date().toISOString(), r.finishedAt);
  }

  /**
   * After the series are stored: mark the report done and keep the latest results and compliance,
   * atomically. False (and nothing applied) when the report was already done.
   */
  completeIngest(args: {
    reportId: string;
    agent: AgentRecord;
    results: readonly ProbeResult[];
    shiftMs: number;
    clockOffsetMs: number;
    receivedAt: Date;
    compliance: readonly ComplianceRow[];
    /** Critical-device samples of this report taken in teaching hours (local day). */
    availability?: readonly { device: string; day: string; up: boolean }[];
    /** Findings this report opened, re-opened, accepted or resolved. */
    findings?: readonly FindingRecord[];
    /** Rooms of this report as seen in teaching hours: down ones open (or keep) a down-since, up ones close it. */
    rooms?: readonly { room: string; roomType: string; up: boolean; at: string; detail: string }[];
  }): boolean {
    const at = args.receivedAt.toISOString();
    return this.db.transaction((): boolean => {
      // only the first completion counts: a concurrent delivery of the same report applies nothing twice
      const marked = this.q(
        `UPDATE ingests SET state = 'done', received_at = ? WHERE report_id = ? AND state = 'writing'`,
      ).run(at, args.reportId);
      if (marked.changes === 0) return false;
      this.q('UPDATE agents SET last_seen_at = ?, clock_offset_ms = ?, last_report_id = ? WHERE id = ?').run(
        at,
        args.clockOffsetMs,
        args.reportId,
        args.agent.id,
      );
      const upsert = this.q(
        `INSERT INTO latest (school_id, key, probe, at, json) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(school_id, key) DO UPDATE SET probe = excluded.probe, at = excluded.at, json = excluded.json
         WHERE excluded.at >= latest.at`,
      );
      const keep = this.q('INSERT OR REPLACE INTO history (school_id, key, at, json) VALUES (?, ?, ?, ?)');
      const trim = this.q(
        `DELETE FROM history WHERE school_id = ? AND key = ? AND at NOT IN
           (SELECT at FROM history WHERE school_id = ? AND key = ? ORDER BY at DESC LIMIT ?)`,
      );
      for (const r of args.results) {
        const shiftedAt = new Date(Date.parse(r.at) - args.shiftMs).toISOString();
        const json = JSON.stringify({ ...r, at: shiftedAt });
        const key = resultKey(r);
        upsert.run(args.agent.schoolId, key, r.probe, shiftedAt, json);
        if (HISTORY_PROBES.has(r.probe)) {
          keep.run(args.agent.schoolId, key, shiftedAt, json);
          trim.run(args.agent.schoolId, key, args.agent.schoolId, key, HISTORY_DEPTH);
        }
      }
      const sample = this.q(
        `INSERT INTO availability (school_id, device, day, up, total) VALUES (?, ?, ?, ?, 1)
         ON CONFLICT(school_id, device, day) DO UPDATE SET up = up + excluded.up, total = total + 1`,
      );
      for (const s of args.availability ?? []) sample.run(args.agent.schoolId, s.device, s.day, s.up ? 1 : 0);
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
      this.replaceCompliance(args.agent.schoolId, args.compliance, at);
      return true;
    })();
  }

  /** Security findings, all schools or one. */
  findings(schoolId?: string): FindingRecord[] {
    const rows = (
      schoolId
        ? this.q('SELECT json FROM findings WHERE school_id = ? ORDER BY rule, target, port').all(schoolId)
        : this.q('SELECT json FROM findings ORDER BY school_id, rule, target, port').all()
    ) as { json: string }[];
    return rows.map((r) => JSON.parse(r.json) as FindingRecord);
  }

  /** Critical-device samples in teaching hours since a local day (inclusive). */
  availability(schoolId: string, sinceDay: string): { up: number; total: number } {
    const row = this.q(
      'SELECT coalesce(sum(up), 0) AS up, coalesce(sum(total), 0) AS total FROM availability WHERE school_id = ? AND day >= ?',
    ).get(schoolId, sinceDay) as { up: number; total: number };
    return row;
  }

  /** Rooms down in teaching hours, with the time they were first seen down. */
  roomsDown(schoolId: string): { room: string; roomType: string; since: string; detail: string }[] {
    return this.q(
      'SELECT room, room_type AS roomType, since, detail FROM room_down WHERE school_id = ? ORDER BY since',
    ).all(schoolId) as { room: string; roomType: string; since: string; detail: string }[];
  }

  /** Past results of the probes judged over several runs (speed tests), newest first. */
  history(schoolId: string, probe: ProbeResult['probe']): ProbeResult[] {
    return (
      this.q(`SELECT json FROM history WHERE school_id = ? AND key LIKE ? ORDER BY at DESC`).all(
        schoolId,
        `${probe}|%`,
      ) as { json: string }[]
    ).map((r) => JSON.parse(r.json) as ProbeResult);
  }

  ingestOrder(agentId: string): { reportId: string; finishedAt: string }[] {
    return this.q(
      `SELECT report_id AS reportId, finished_at AS finishedAt FROM ingests WHERE agent_id = ? AND state = 'done' ORDER BY seq`,
    ).all(agentId) as { reportId: string; finishedAt: string }[];
  }

  latestResults(schoolId: string): ProbeResult[] {
    return (
      this.q('SELECT json FROM latest WHERE school_id = ? ORDER BY key').all(schoolId) as {
        json: string;
      }[]
    ).map((r) => JSON.parse(r.json) as ProbeResult);
  }

  replaceCompliance(schoolId: string, rows: readonly ComplianceRow[], at = new Date().toISOString()): void {
    const upsert = this.q(
      `INSERT INTO compliance (school_id, target, state, value, goal, reason, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT(school_id, target) DO UPDATE SET state = excluded.state, value = excluded.value, goal = excluded.goal,
         reason = excluded.reason, updated_at = excluded.updated_at`,
    );
    for (const c of rows) upsert.run(schoolId, c.target, c.state, c.value, c.goal, c.reason, at);
  }

  compliance(schoolId: string): ComplianceRow[] {
    return this.q(
      'SELECT target, state, value, goal, reason FROM compliance WHERE school_id = ? ORDER BY rowid',
    ).all(schoolId) as ComplianceRow[];
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

export class UnknownSchoolError extends Error {
  override readonly name = 'UnknownSchoolError';
  constructor(readonly schoolId: string) {
    super(`unknown school ${JSON.stringify(schoolId)}; add it first with 'campuswatch-collector school add'`);
  }
}
