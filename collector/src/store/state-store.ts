/**
 * The collector's state store (docs/architecture.md, "State store tables": schools, agents, the ingest journal, latest results, compliance,
 * findings, alerts and silences) behind one interface with two implementations, chosen by configuration
 * (`state.kind`): SQLite embedded in the collector (the default, `sqlite-state.ts`) and PostgreSQL
 * (`pg-state.ts`), which several collectors share.
 *
 * The interface is the intersection of one interface per concern, each in `state/<concern>/index.ts`
 * with what both dialects share, beside its SQL for each dialect (`state/<concern>/sqlite.ts`, `pg.ts`):
 * - registry: schools, enrolment codes, agents and their tokens;
 * - journal: the ingest journal (each report begun and done), whose completion applies a report to the others;
 * - latest: each school's latest result per key and the speed tests' history;
 * - evidence: availability samples, rooms down and answered, security findings and their acceptances;
 * - compliance: each school's stored verdict per target;
 * - alerts: alert rows, digests, budget refusals, silences, and the alert leader;
 * - maintenance: planned work windows.
 *
 * Every method is asynchronous (PostgreSQL is a network peer); the SQLite store answers synchronously
 * inside. Methods that change several rows do so atomically (one transaction).
 */
import type { AccessStore } from './access-store.js';
import type { AlertStore } from './state/alerts/index.js';
import type { ComplianceStore } from './state/compliance/index.js';
import type { EvidenceStore } from './state/evidence/index.js';
import type { JournalStore } from './state/journal/index.js';
import type { LatestStore } from './state/latest/index.js';
import type { MaintenanceStore } from './state/maintenance/index.js';
import type { RegistryStore } from './state/registry/index.js';
import type { TermSnapshotStore } from './term-snapshots.js';

export { resultKey } from './result-key.js';
export type {
  AlertRow,
  AlertStore,
  DesiredAlert,
  Silence,
} from './state/alerts/index.js';
export type { ComplianceRow, ComplianceStore } from './state/compliance/index.js';
export type { EvidenceStore, RoomDown } from './state/evidence/index.js';
export type {
  BeginIngest,
  CompleteIngest,
  IngestRecord,
  JournalStore,
} from './state/journal/index.js';
export { HISTORY_DEPTH, type LatestStore, shiftedResult } from './state/latest/index.js';
export type { MaintenanceStore, MaintenanceWindow } from './state/maintenance/index.js';
export {
  type AgentRecord,
  ArchivedSchoolError,
  ENROLL_CODE_ALPHABET,
  parseToken,
  type RegistryStore,
  type SchoolRecord,
  sha256,
  UnknownSchoolError,
} from './state/registry/index.js';

export interface StateStore
  extends RegistryStore,
    JournalStore,
    LatestStore,
    EvidenceStore,
    ComplianceStore,
    AlertStore,
    MaintenanceStore {
  readonly kind: 'sqlite' | 'postgres';
  /** Accounts, API tokens, sessions and the audit trail, in the same database. */
  readonly access: AccessStore;
  /** Term snapshots of the inspection report (immutable, one per term and district), in the same database. */
  readonly snapshots: TermSnapshotStore;

  close(): Promise<void>;
}
