/**
 * The state store on PostgreSQL (`state.kind: postgres`), which several collectors share. Same tables and
 * answers as the embedded SQLite store (sqlite-state.ts), one module per concern beside its SQLite twin
 * (state/<concern>/pg.ts): timestamps are TEXT ISO strings, compared and ordered bytewise (every text
 * column is `COLLATE "C"`, SQLite's BINARY), so both stores answer alike whatever collation the database
 * was created with.
 *
 * Concurrency between collectors: every change of several rows is one transaction on one pooled client;
 * a report completes once (the journal row's `writing → done` update is the gate, its row lock makes a
 * concurrent second completion apply nothing); a code is spent once (its row is locked while spending);
 * a day's digest is claimed once (one upsert). One collector at a time is the alert leader: it holds a
 * session advisory lock on a connection of its own (`alertLeadership`, state/alerts/pg-leader.ts).
 */

import { Pool } from 'pg';
import type { Logger } from 'pino';
import { ACCESS_SCHEMA, PgAccess } from './pg-access.js';
import { PgSnapshots, SNAPSHOT_SCHEMA } from './pg-snapshots.js';
import { ALERTS_PG_SCHEMA, PgAlerts } from './state/alerts/pg.js';
import { PgAlertLeader } from './state/alerts/pg-leader.js';
import { COMPLIANCE_PG_SCHEMA, PgCompliance } from './state/compliance/pg.js';
import { EVIDENCE_PG_SCHEMA, PgEvidence } from './state/evidence/pg.js';
import { JOURNAL_PG_SCHEMA, PgJournal } from './state/journal/pg.js';
import { LATEST_PG_SCHEMA, PgLatest } from './state/latest/pg.js';
import { MAINTENANCE_PG_SCHEMA, PgMaintenance } from './state/maintenance/pg.js';
import { PgDb } from './state/pg-db.js';
import { PgRegistry, REGISTRY_PG_SCHEMA } from './state/registry/pg.js';
import type { StateStore } from './state-store.js';

export { LEADER_LOCK_KEY } from './state/alerts/pg-leader.js';

/** Advisory lock key (bigint, per database) that serialises schema creation. */
export const SCHEMA_LOCK_KEY = '7163412017040101';

const CONNECT_TIMEOUT_MS = 10_000;

/** Every concern's tables, in the order their references need. */
const SCHEMA =
  REGISTRY_PG_SCHEMA +
  JOURNAL_PG_SCHEMA +
  LATEST_PG_SCHEMA +
  EVIDENCE_PG_SCHEMA +
  COMPLIANCE_PG_SCHEMA +
  ALERTS_PG_SCHEMA +
  MAINTENANCE_PG_SCHEMA;

export interface PgStateStoreOptions {
  /** `postgres://user[:password]@host[:port]/database` (libpq URL; `?sslmode=...` as `pg` understands it). */
  url: string;
  /** Connections of the pool (default 10); the leader lock takes one more of its own. */
  poolMax?: number;
  log?: Logger;
}

export class PgStateStore implements StateStore {
  readonly kind = 'postgres' as const;

  readonly access: PgAccess;
  readonly snapshots: PgSnapshots;

  private readonly db: PgDb;
  private readonly registry: PgRegistry;
  private readonly journal: PgJournal;
  private readonly latest: PgLatest;
  private readonly evidence: PgEvidence;
  private readonly complianceState: PgCompliance;
  private readonly alertState: PgAlerts;
  private readonly maintenance: PgMaintenance;
  private readonly leader: PgAlertLeader;

  private constructor(
    private readonly pool: Pool,
    options: PgStateStoreOptions,
  ) {
    this.db = new PgDb(pool, options.log);
    this.access = new PgAccess(pool);
    this.snapshots = new PgSnapshots(pool);
    this.registry = new PgRegistry(this.db);
    this.latest = new PgLatest(this.db);
    this.evidence = new PgEvidence(this.db);
    this.complianceState = new PgCompliance(this.db);
    this.alertState = new PgAlerts(this.db);
    this.maintenance = new PgMaintenance(this.db);
    this.journal = new PgJournal(this.db, {
      registry: this.registry,
      latest: this.latest,
      evidence: this.evidence,
      compliance: this.complianceState,
    });
    this.leader = new PgAlertLeader(options.url, options.log);
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
      await store.db.tx(async (c) => {
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

  // ---- registry
  upsertSchool: StateStore['upsertSchool'] = (school) => this.registry.upsertSchool(school);
  getSchool: StateStore['getSchool'] = (id) => this.registry.getSchool(id);
  listSchools: StateStore['listSchools'] = (filter) => this.registry.listSchools(filter);
  archiveSchool: StateStore['archiveSchool'] = (id, at) => this.registry.archiveSchool(id, at);
  createEnrollCode: StateStore['createEnrollCode'] = (schoolId, ttlMs, now) =>
    this.registry.createEnrollCode(schoolId, ttlMs, now);
  enroll: StateStore['enroll'] = (code, info, now) => this.registry.enroll(code, info, now);
  authenticate: StateStore['authenticate'] = (token) => this.registry.authenticate(token);
  getAgent: StateStore['getAgent'] = (id) => this.registry.getAgent(id);
  listAgents: StateStore['listAgents'] = (schoolId, filter) => this.registry.listAgents(schoolId, filter);
  revokeAgent: StateStore['revokeAgent'] = (id, at) => this.registry.revokeAgent(id, at);
  renameAgent: StateStore['renameAgent'] = (id, name) => this.registry.renameAgent(id, name);
  counts: StateStore['counts'] = () => this.registry.counts();

  // ---- journal
  getIngest: StateStore['getIngest'] = (reportId) => this.journal.getIngest(reportId);
  beginIngest: StateStore['beginIngest'] = (r) => this.journal.beginIngest(r);
  completeIngest: StateStore['completeIngest'] = (args) => this.journal.completeIngest(args);
  ingestOrder: StateStore['ingestOrder'] = (agentId) => this.journal.ingestOrder(agentId);
  pruneIngests: StateStore['pruneIngests'] = (before, limit) => this.journal.pruneIngests(before, limit);

  // ---- latest
  latestResults: StateStore['latestResults'] = (schoolId) => this.latest.latestResults(schoolId);
  history: StateStore['history'] = (schoolId, probe) => this.latest.history(schoolId, probe);

  // ---- evidence
  findings: StateStore['findings'] = (schoolId) => this.evidence.findings(schoolId);
  setAcceptance: StateStore['setAcceptance'] = (schoolId, f, acceptance) =>
    this.evidence.setAcceptance(schoolId, f, acceptance);
  availability: StateStore['availability'] = (schoolId, sinceDay) =>
    this.evidence.availability(schoolId, sinceDay);
  deviceAvailability: StateStore['deviceAvailability'] = (schoolId, sinceDay) =>
    this.evidence.deviceAvailability(schoolId, sinceDay);
  roomsDown: StateStore['roomsDown'] = (schoolId) => this.evidence.roomsDown(schoolId);
  answeredRooms: StateStore['answeredRooms'] = (schoolId) => this.evidence.answeredRooms(schoolId);

  // ---- compliance
  compliance: StateStore['compliance'] = (schoolId) => this.complianceState.compliance(schoolId);
  replaceCompliance: StateStore['replaceCompliance'] = (schoolId, rows, at) =>
    this.complianceState.replaceCompliance(schoolId, rows, at);
  schoolsToRecheck: StateStore['schoolsToRecheck'] = (now, limit) =>
    this.complianceState.schoolsToRecheck(now, limit);
  complianceStates: StateStore['complianceStates'] = (targets) =>
    this.complianceState.complianceStates(targets);

  // ---- alerts
  alerts: StateStore['alerts'] = () => this.alertState.alerts();
  saveAlerts: StateStore['saveAlerts'] = (rows, deleted) => this.alertState.saveAlerts(rows, deleted);
  markNotified: StateStore['markNotified'] = (fingerprints, at) =>
    this.alertState.markNotified(fingerprints, at);
  claimDigest: StateStore['claimDigest'] = (schoolId, day) => this.alertState.claimDigest(schoolId, day);
  noteBudgetRefusal: StateStore['noteBudgetRefusal'] = (r, holdMs) =>
    this.alertState.noteBudgetRefusal(r, holdMs);
  budgetRefusals: StateStore['budgetRefusals'] = (since) => this.alertState.budgetRefusals(since);
  addSilence: StateStore['addSilence'] = (s) => this.alertState.addSilence(s);
  silences: StateStore['silences'] = (now) => this.alertState.silences(now);
  expireSilence: StateStore['expireSilence'] = (id, now) => this.alertState.expireSilence(id, now);
  alertLeadership: StateStore['alertLeadership'] = () => this.leader.alertLeadership();

  // ---- maintenance
  addMaintenance: StateStore['addMaintenance'] = (w) => this.maintenance.addMaintenance(w);
  maintenanceWindows: StateStore['maintenanceWindows'] = (filter) =>
    this.maintenance.maintenanceWindows(filter);
  endMaintenance: StateStore['endMaintenance'] = (id, now) => this.maintenance.endMaintenance(id, now);

  private closed = false;

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // ending the leader's session releases the advisory lock at once
    await this.leader.close();
    await this.pool.end();
  }
}
