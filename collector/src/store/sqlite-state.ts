import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { ProbeResult } from '../../../protocol/report.js';
import type { School } from '../../../protocol/school.js';
import type { BudgetRefusal } from '../budgets.js';
import type { Acceptance, FindingRecord } from '../evaluate/findings.js';
import { SqliteAccess } from './sqlite-access.js';
import { SqliteSnapshots } from './sqlite-snapshots.js';
import type { AlertRow, Silence } from './state/alerts/index.js';
import { ALERTS_SQLITE_SCHEMA, SqliteAlerts } from './state/alerts/sqlite.js';
import type { ComplianceRow } from './state/compliance/index.js';
import { COMPLIANCE_SQLITE_SCHEMA, SqliteCompliance } from './state/compliance/sqlite.js';
import type { FindingKey, RoomDown } from './state/evidence/index.js';
import { EVIDENCE_SQLITE_SCHEMA, SqliteEvidence } from './state/evidence/sqlite.js';
import type { BeginIngest, CompleteIngest, IngestRecord } from './state/journal/index.js';
import { JOURNAL_SQLITE_SCHEMA, SqliteJournal } from './state/journal/sqlite.js';
import type { LatestCache } from './state/latest/cache.js';
import { DEFAULT_LATEST_CACHE_RESULTS, LATEST_SQLITE_SCHEMA, SqliteLatest } from './state/latest/sqlite.js';
import type { MaintenanceFilter, MaintenanceWindow } from './state/maintenance/index.js';
import { MAINTENANCE_SQLITE_SCHEMA, SqliteMaintenance } from './state/maintenance/sqlite.js';
import type { AgentRecord, EnrollOutcome, SchoolRecord } from './state/registry/index.js';
import { REGISTRY_SQLITE_SCHEMA, SqliteRegistry } from './state/registry/sqlite.js';
import { SqliteDb } from './state/sqlite-db.js';
import type { StateStore } from './state-store.js';

export { DEFAULT_LATEST_CACHE_RESULTS };

/** Methods of StateStore that the SQLite store answers from SqliteState's synchronous twins. */
type Forwarded = Exclude<keyof StateStore, 'kind' | 'access' | 'snapshots' | 'close' | 'alertLeadership'>;

/** A method of StateStore as SqliteState answers it: the same arguments, the answer without the promise. */
type Synchronous<F> = F extends (...args: infer A) => Promise<infer R> ? (...args: A) => R : never;

/** What SqliteState answers synchronously: every forwarded method of StateStore. */
export type SyncStateStore = { [K in Forwarded]: Synchronous<StateStore[K]> };

/**
 * The collector's embedded state (docs/architecture.md, "State store tables"), SQLite in WAL mode,
 * answered synchronously: one module per concern (state/<concern>/sqlite.ts) on one connection. It also
 * journals each ingested report so a retried report is recognised and replayed idempotently.
 */
export class SqliteState implements SyncStateStore {
  readonly db: Database.Database;
  readonly registry: SqliteRegistry;
  readonly journal: SqliteJournal;
  readonly latest: SqliteLatest;
  readonly evidence: SqliteEvidence;
  readonly complianceState: SqliteCompliance;
  readonly alertState: SqliteAlerts;
  readonly maintenance: SqliteMaintenance;

  constructor(dataDir: string, options: { latestCacheResults?: number } = {}) {
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
    this.db.exec(
      REGISTRY_SQLITE_SCHEMA +
        JOURNAL_SQLITE_SCHEMA +
        LATEST_SQLITE_SCHEMA +
        EVIDENCE_SQLITE_SCHEMA +
        COMPLIANCE_SQLITE_SCHEMA +
        ALERTS_SQLITE_SCHEMA +
        MAINTENANCE_SQLITE_SCHEMA,
    );
    const s = new SqliteDb(this.db);
    this.registry = new SqliteRegistry(s);
    this.latest = new SqliteLatest(s, options.latestCacheResults ?? DEFAULT_LATEST_CACHE_RESULTS);
    this.evidence = new SqliteEvidence(s);
    this.complianceState = new SqliteCompliance(s);
    this.alertState = new SqliteAlerts(s);
    this.maintenance = new SqliteMaintenance(s);
    this.journal = new SqliteJournal(s, {
      registry: this.registry,
      latest: this.latest,
      evidence: this.evidence,
      compliance: this.complianceState,
    });
    // a state file of an earlier version is brought to this schema (idempotent)
    this.complianceState.migrate();
    this.registry.migrate();
    this.evidence.migrate();
  }

  /** Parsed latest results of recently active schools (see LatestCache). */
  get latestCache(): LatestCache {
    return this.latest.cache;
  }

  // ---- registry
  upsertSchool(school: School): void {
    this.registry.upsertSchool(school);
  }
  getSchool(id: string): SchoolRecord | undefined {
    return this.registry.getSchool(id);
  }
  listSchools(filter?: { includeArchived?: boolean }): SchoolRecord[] {
    return this.registry.listSchools(filter);
  }
  archiveSchool(id: string, at: Date): { school: SchoolRecord; revoked: string[] } | undefined {
    return this.registry.archiveSchool(id, at);
  }
  createEnrollCode(schoolId: string, ttlMs: number, now?: number): { code: string; expiresAt: Date } {
    return this.registry.createEnrollCode(schoolId, ttlMs, now);
  }
  enroll(code: string, info: { hostname: string; version: string }, now?: number): EnrollOutcome {
    return this.registry.enroll(code, info, now);
  }
  authenticate(token: string): AgentRecord | undefined {
    return this.registry.authenticate(token);
  }
  getAgent(id: string): AgentRecord | undefined {
    return this.registry.getAgent(id);
  }
  listAgents(schoolId?: string, filter?: { includeRevoked?: boolean }): AgentRecord[] {
    return this.registry.listAgents(schoolId, filter);
  }
  revokeAgent(id: string, at: Date): AgentRecord | undefined {
    return this.registry.revokeAgent(id, at);
  }
  renameAgent(id: string, name: string | null): AgentRecord | undefined {
    return this.registry.renameAgent(id, name);
  }
  counts(): { schools: number; agents: number } {
    return this.registry.counts();
  }

  // ---- journal
  getIngest(reportId: string): IngestRecord | undefined {
    return this.journal.getIngest(reportId);
  }
  beginIngest(r: BeginIngest): void {
    this.journal.beginIngest(r);
  }
  completeIngest(args: CompleteIngest): boolean {
    return this.journal.completeIngest(args);
  }
  ingestOrder(agentId: string): { reportId: string; finishedAt: string }[] {
    return this.journal.ingestOrder(agentId);
  }
  pruneIngests(receivedBefore: Date, limit: number): number {
    return this.journal.pruneIngests(receivedBefore, limit);
  }
  /** The caller's transaction around completeIngest calls committed: their latest rows join the cache. */
  latestCommitted(): void {
    this.latest.committed();
  }
  /** It rolled back: forget those schools' cached rows (read again from the table next time). */
  latestRolledBack(): void {
    this.latest.rolledBack();
  }

  // ---- latest
  latestResults(schoolId: string): ProbeResult[] {
    return this.latest.latestResults(schoolId);
  }
  history(schoolId: string, probe: ProbeResult['probe']): ProbeResult[] {
    return this.latest.history(schoolId, probe);
  }

  // ---- evidence
  findings(schoolId?: string): FindingRecord[] {
    return this.evidence.findings(schoolId);
  }
  setAcceptance(schoolId: string, f: FindingKey, acceptance: Acceptance | null): FindingRecord | undefined {
    return this.evidence.setAcceptance(schoolId, f, acceptance);
  }
  availability(schoolId: string, sinceDay: string): { up: number; total: number } {
    return this.evidence.availability(schoolId, sinceDay);
  }
  deviceAvailability(schoolId: string, sinceDay: string): { device: string; up: number; total: number }[] {
    return this.evidence.deviceAvailability(schoolId, sinceDay);
  }
  roomsDown(schoolId: string): RoomDown[] {
    return this.evidence.roomsDown(schoolId);
  }
  answeredRooms(schoolId: string): Set<string> {
    return this.evidence.answeredRooms(schoolId);
  }

  // ---- compliance
  compliance(schoolId: string): ComplianceRow[] {
    return this.complianceState.compliance(schoolId);
  }
  replaceCompliance(schoolId: string, rows: readonly ComplianceRow[], at?: string): void {
    this.complianceState.replaceCompliance(schoolId, rows, at);
  }
  schoolsToRecheck(now: Date, limit: number): string[] {
    return this.complianceState.schoolsToRecheck(now, limit);
  }
  complianceStates(targets: readonly string[]): Map<string, ComplianceRow['state'][]> {
    return this.complianceState.complianceStates(targets);
  }

  // ---- alerts
  alerts(): AlertRow[] {
    return this.alertState.alerts();
  }
  saveAlerts(rows: readonly AlertRow[], deleted: readonly string[]): void {
    this.alertState.saveAlerts(rows, deleted);
  }
  markNotified(fingerprints: readonly string[], at: string): void {
    this.alertState.markNotified(fingerprints, at);
  }
  claimDigest(schoolId: string, day: string): boolean {
    return this.alertState.claimDigest(schoolId, day);
  }
  noteBudgetRefusal(r: Omit<BudgetRefusal, 'times'>, holdMs: number): void {
    this.alertState.noteBudgetRefusal(r, holdMs);
  }
  budgetRefusals(since: Date): BudgetRefusal[] {
    return this.alertState.budgetRefusals(since);
  }
  addSilence(s: Omit<Silence, 'id'>): Silence {
    return this.alertState.addSilence(s);
  }
  silences(now?: Date): Silence[] {
    return this.alertState.silences(now);
  }
  expireSilence(id: number, now: Date): boolean {
    return this.alertState.expireSilence(id, now);
  }

  // ---- maintenance
  addMaintenance(w: Omit<MaintenanceWindow, 'id'>): MaintenanceWindow {
    return this.maintenance.addMaintenance(w);
  }
  maintenanceWindows(filter?: MaintenanceFilter): MaintenanceWindow[] {
    return this.maintenance.maintenanceWindows(filter);
  }
  endMaintenance(id: number, now: Date): boolean {
    return this.maintenance.endMaintenance(id, now);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

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

  /**
   * A synchronous method of `sync` as an asynchronous one (a throw becomes a rejection); SqliteState
   * implements SyncStateStore, so the compiler checks that each answers as its asynchronous twin.
   */
  private forward<K extends Forwarded>(name: K): StateStore[K] {
    // looked up at the call: the fields are initialised before the constructor sets `sync`
    return (async (...args: unknown[]) =>
      (this.sync[name] as (...a: unknown[]) => unknown).apply(this.sync, args)) as unknown as StateStore[K];
  }

  readonly upsertSchool = this.forward('upsertSchool');
  readonly getSchool = this.forward('getSchool');
  readonly listSchools = this.forward('listSchools');
  readonly archiveSchool = this.forward('archiveSchool');
  readonly createEnrollCode = this.forward('createEnrollCode');
  readonly enroll = this.forward('enroll');
  readonly authenticate = this.forward('authenticate');
  readonly getAgent = this.forward('getAgent');
  readonly listAgents = this.forward('listAgents');
  readonly revokeAgent = this.forward('revokeAgent');
  readonly renameAgent = this.forward('renameAgent');
  readonly counts = this.forward('counts');
  readonly getIngest = this.forward('getIngest');
  readonly ingestOrder = this.forward('ingestOrder');
  readonly pruneIngests = this.forward('pruneIngests');
  readonly latestResults = this.forward('latestResults');
  readonly history = this.forward('history');
  readonly findings = this.forward('findings');
  readonly setAcceptance = this.forward('setAcceptance');
  readonly availability = this.forward('availability');
  readonly deviceAvailability = this.forward('deviceAvailability');
  readonly roomsDown = this.forward('roomsDown');
  readonly answeredRooms = this.forward('answeredRooms');
  readonly compliance = this.forward('compliance');
  readonly replaceCompliance = this.forward('replaceCompliance');
  readonly schoolsToRecheck = this.forward('schoolsToRecheck');
  readonly complianceStates = this.forward('complianceStates');
  readonly alerts = this.forward('alerts');
  readonly saveAlerts = this.forward('saveAlerts');
  readonly markNotified = this.forward('markNotified');
  readonly claimDigest = this.forward('claimDigest');
  readonly noteBudgetRefusal = this.forward('noteBudgetRefusal');
  readonly budgetRefusals = this.forward('budgetRefusals');
  readonly addSilence = this.forward('addSilence');
  readonly silences = this.forward('silences');
  readonly expireSilence = this.forward('expireSilence');
  readonly addMaintenance = this.forward('addMaintenance');
  readonly maintenanceWindows = this.forward('maintenanceWindows');
  readonly endMaintenance = this.forward('endMaintenance');

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

  /** One collector per embedded store: it always leads. */
  async alertLeadership(): Promise<boolean> {
    return true;
  }
  async close(): Promise<void> {
    if (this.pending.length > 0) this.flush();
    this.sync.close();
  }
}
