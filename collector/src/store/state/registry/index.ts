/**
 * The registry: schools, enrolment codes, agents and their tokens (tables `schools`, `enroll_codes`,
 * `agents`). What both dialects share: the records, the token and code formats, the errors.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { School } from '../../../../../protocol/school.js';

export interface AgentRecord {
  id: string;
  schoolId: string;
  hostname: string;
  version: string;
  enrolledAt: string;
  lastSeenAt: string | null;
  clockOffsetMs: number | null;
  lastReportId: string | null;
  /** A name given at the collector (`agent rename`, e.g. 东校区机房); null: shown by its hostname. */
  name: string | null;
  /**
   * When the agent was revoked (`agent revoke`, or its school archived): from then on its token is refused
   * (401) by every collector of the state store. Null while it is active.
   */
  revokedAt: string | null;
  /**
   * Reports waiting in the agent's spool when it sent its last report (its `health.spoolDepth`): a
   * growing number means the school's box cannot deliver; null before its first report.
   */
  spoolDepth: number | null;
  /** Cycles the agent could not write to its spool (disk full), as its last report says; null: none said. */
  spoolUnstored?: number | null;
  /** Since when the agent's spool cannot write, as its last report says; null while it writes. */
  spoolFailingSince?: string | null;
}

/** A school as the registry keeps it: as described, and when it was archived (absent while active). */
export type SchoolRecord = School & {
  /** Archived (`school archive`): its history is kept, it leaves the KPIs and alerts, its agents are revoked. */
  archivedAt?: string;
};

export type EnrollOutcome = { agent: AgentRecord; token: string } | { error: 'unknown' | 'used' | 'expired' };

/** Schools, enrolment and agents. */
export interface RegistryStore {
  // ---- schools
  /** Adds or describes a school again; an archived school stays archived. */
  upsertSchool(school: School): Promise<void>;
  /** A school, archived or not (an archived school's history stays readable). */
  getSchool(id: string): Promise<SchoolRecord | undefined>;
  /**
   * Ordered by id: the active schools, which the KPIs, compliance and alerts count; with
   * `includeArchived`, the archived ones too (`archivedAt` set).
   */
  listSchools(filter?: { includeArchived?: boolean }): Promise<SchoolRecord[]>;
  /**
   * Archives a school at `at`, atomically: it leaves the active schools, every active agent of it is
   * revoked and its unused enrolment codes expire; nothing of its history is deleted. Undefined for an
   * unknown school; a school archived already keeps its time (`revoked` is then empty).
   */
  archiveSchool(id: string, at: Date): Promise<{ school: SchoolRecord; revoked: string[] } | undefined>;

  // ---- enrolment and agents
  /** A one-time code, shown once; only its hash is kept. Throws UnknownSchoolError, ArchivedSchoolError. */
  createEnrollCode(schoolId: string, ttlMs: number, now?: number): Promise<{ code: string; expiresAt: Date }>;
  /** Spends a code (trimmed, case-insensitive) and creates an agent with a fresh token. */
  enroll(code: string, info: { hostname: string; version: string }, now?: number): Promise<EnrollOutcome>;
  /**
   * The agent a bearer token belongs to, compared in constant time; undefined when it matches none. A
   * revoked agent is answered too, with its `revokedAt`: the caller refuses it (and can say why). Read
   * from the database on every call, so a revocation by any collector counts at the next request.
   */
  authenticate(token: string): Promise<AgentRecord | undefined>;
  /** An agent, revoked or not. */
  getAgent(id: string): Promise<AgentRecord | undefined>;
  /**
   * Ordered by id; one school's or all: the active agents, which compliance, alerts and the fleet series
   * look at; with `includeRevoked`, the revoked ones too.
   */
  listAgents(schoolId?: string, filter?: { includeRevoked?: boolean }): Promise<AgentRecord[]>;
  /** Revokes an agent at `at` (one revoked already keeps its time); undefined for an unknown agent. */
  revokeAgent(id: string, at: Date): Promise<AgentRecord | undefined>;
  /** Names an agent (null: no name, shown by its hostname); undefined for an unknown agent. */
  renameAgent(id: string, name: string | null): Promise<AgentRecord | undefined>;
  /**
   * How many active schools and agents are registered, counted by the store (for /metrics, without
   * listing them).
   */
  counts(): Promise<{ schools: number; agents: number }>;
}

/** A schools row of either store as the school it holds. */
export function schoolOfRow(r: { json: string; archived_at: string | null }): SchoolRecord {
  const school = JSON.parse(r.json) as School;
  return r.archived_at === null ? school : { ...school, archivedAt: r.archived_at };
}

/** The description of a school without its registry state (what `upsertSchool` stores). */
export function describedSchool(school: School | SchoolRecord): School {
  const { archivedAt: _archivedAt, ...described } = school as SchoolRecord;
  return described;
}

export const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();

/** A token is `cw1.<agentId>.<256-bit secret, base64url>`; only a SHA-256 of the secret is stored. */
export function parseToken(token: string): { agentId: string; secret: string } | undefined {
  const m = /^cw1\.([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{43})$/.exec(token);
  return m ? { agentId: m[1]!, secret: m[2]! } : undefined;
}

/** The enrolment code alphabet (no 0/O, 1/I): 15 characters in groups of five. */
export const ENROLL_CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';

/** A fresh enrolment code (`XXXXX-XXXXX-XXXXX`), to be stored as `codeHash(code)`. */
export function newEnrollCode(): string {
  const bytes = randomBytes(15);
  let code = '';
  for (let i = 0; i < 15; i++) {
    code += ENROLL_CODE_ALPHABET[bytes[i]! % ENROLL_CODE_ALPHABET.length];
    if (i % 5 === 4 && i < 14) code += '-';
  }
  return code;
}

/** The hash a code is stored and looked up by: as typed, trimmed and case-insensitive. */
export const codeHash = (code: string): Buffer => sha256(code.trim().toUpperCase());

/** A new agent's id, the secret of its token, the hash stored of it and the token shown once. */
export function newAgentCredentials(): { agentId: string; secretHash: Buffer; token: string } {
  const agentId = `ag_${randomBytes(9).toString('base64url')}`;
  const secret = randomBytes(32).toString('base64url');
  return { agentId, secretHash: sha256(secret), token: `cw1.${agentId}.${secret}` };
}

/**
 * Whether a presented secret matches the stored hash, in constant time; compared against a dummy when
 * the agent is unknown (or its hash has another length), so both paths take the same time.
 */
export function secretMatches(stored: Buffer | undefined, secret: string): boolean {
  const presented = sha256(secret);
  const against = stored?.length === presented.length ? stored : Buffer.alloc(presented.length);
  return timingSafeEqual(against, presented) && stored !== undefined;
}

/** An archived school takes no new agents. */
export class ArchivedSchoolError extends Error {
  override readonly name = 'ArchivedSchoolError';
  constructor(
    readonly schoolId: string,
    readonly archivedAt: string,
  ) {
    super(`school ${JSON.stringify(schoolId)} was archived at ${archivedAt}: it takes no new agents`);
  }
}

export class UnknownSchoolError extends Error {
  override readonly name = 'UnknownSchoolError';
  constructor(readonly schoolId: string) {
    super(`unknown school ${JSON.stringify(schoolId)}; add it first with 'campuswatch-collector school add'`);
  }
}

/** Refuses a code for a school that is unknown or archived (both dialects, before storing it). */
export function assertEnrollable(schoolId: string, school: SchoolRecord | undefined): void {
  if (!school) throw new UnknownSchoolError(schoolId);
  if (school.archivedAt) throw new ArchivedSchoolError(schoolId, school.archivedAt);
}
