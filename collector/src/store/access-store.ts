/**
 * Accounts, API tokens, sessions and the audit trail, beside the state store and in the same
 * database (SQLite file or PostgreSQL), so that every collector sharing it sees a revocation at once.
 */
import { randomBytes } from 'node:crypto';
import type { Role, Scope } from '../access/model.js';

export interface AccountRecord {
  id: string;
  name: string;
  role: Role;
  scope: Scope;
  disabled: boolean;
  createdAt: string;
  /** Failed logins in a row (reset by a good one). */
  failedLogins: number;
  lockedUntil: string | null;
}

export interface TokenRecord {
  id: string;
  name: string;
  /** The account it acts for (its role and scope at most), or null for a machine token. */
  accountId: string | null;
  role: Role;
  scope: Scope;
  createdAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

export interface SessionRecord {
  accountId: string;
  csrf: string;
  createdAt: string;
  lastSeenAt: string;
}

export interface AuditEntry {
  seq: number;
  at: string;
  /** `account:<name>`, `token:<name>`, `cli:<os user>`, `anonymous`. */
  actor: string;
  address: string;
  action: string;
  target: string;
  /** A short text; never a secret. */
  detail: string;
}

export interface AccessStore {
  addAccount(
    a: { name: string; role: Role; scope: Scope; passwordHash: string },
    now: Date,
  ): Promise<AccountRecord>;
  accountByName(name: string): Promise<(AccountRecord & { passwordHash: string }) | undefined>;
  account(id: string): Promise<AccountRecord | undefined>;
  listAccounts(): Promise<AccountRecord[]>;
  updateAccount(
    id: string,
    patch: Partial<Pick<AccountRecord, 'disabled' | 'failedLogins' | 'lockedUntil' | 'role' | 'scope'>> & {
      passwordHash?: string;
    },
  ): Promise<boolean>;

  /** A new token; the secret is in `token` (shown once), only its hash is kept. */
  addToken(
    t: { name: string; accountId: string | null; role: Role; scope: Scope },
    now: Date,
  ): Promise<{ record: TokenRecord; token: string }>;
  /** The live token a bearer value belongs to (constant-time compare), noting its use. */
  authenticateToken(token: string, now: Date): Promise<TokenRecord | undefined>;
  listTokens(): Promise<TokenRecord[]>;
  revokeToken(id: string, now: Date): Promise<boolean>;

  /** A new session of an account: the cookie value (shown once) and its CSRF token. */
  createSession(accountId: string, now: Date): Promise<{ cookie: string; csrf: string }>;
  /** The session a cookie value belongs to. */
  session(cookie: string): Promise<SessionRecord | undefined>;
  touchSession(cookie: string, now: Date): Promise<void>;
  deleteSession(cookie: string): Promise<void>;
  /** Ends every session of an account (disabled, password changed). */
  deleteSessionsOf(accountId: string): Promise<void>;

  appendAudit(e: Omit<AuditEntry, 'seq'>): Promise<void>;
  /** Oldest first, from `since`, of one actor, at most `limit`. */
  audit(filter: { since?: string; actor?: string; limit?: number }): Promise<AuditEntry[]>;
}

/** An `accounts` row as both stores read it (SQLite gives `disabled` as 0/1, PostgreSQL as a boolean). */
export interface AccountRow {
  id: string;
  name: string;
  role: Role;
  scope: string;
  password_hash: string;
  disabled: boolean | number;
  created_at: string;
  failed_logins: number;
  locked_until: string | null;
}
export const accountOfRow = (r: AccountRow): AccountRecord & { passwordHash: string } => ({
  id: r.id,
  name: r.name,
  role: r.role,
  scope: JSON.parse(r.scope) as Scope,
  disabled: r.disabled === true || r.disabled === 1,
  createdAt: r.created_at,
  failedLogins: r.failed_logins,
  lockedUntil: r.locked_until,
  passwordHash: r.password_hash,
});
export const withoutHash = ({
  passwordHash: _h,
  ...a
}: AccountRecord & { passwordHash: string }): AccountRecord => a;

/** An `api_tokens` row as both stores read it. */
export interface TokenRow {
  id: string;
  name: string;
  account_id: string | null;
  role: Role;
  scope: string;
  secret_hash: Buffer;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}
export const tokenOfRow = (r: TokenRow): TokenRecord => ({
  id: r.id,
  name: r.name,
  accountId: r.account_id,
  role: r.role,
  scope: JSON.parse(r.scope) as Scope,
  createdAt: r.created_at,
  lastUsedAt: r.last_used_at,
  revokedAt: r.revoked_at,
});

/** The columns an account update may set, as (column, value) pairs in a fixed order. */
export function accountUpdates(
  patch: Partial<Pick<AccountRecord, 'disabled' | 'failedLogins' | 'lockedUntil' | 'role' | 'scope'>> & {
    passwordHash?: string;
  },
  disabledValue: (b: boolean) => unknown,
): [string, unknown][] {
  const sets: [string, unknown][] = [];
  if (patch.disabled !== undefined) sets.push(['disabled', disabledValue(patch.disabled)]);
  if (patch.failedLogins !== undefined) sets.push(['failed_logins', patch.failedLogins]);
  if (patch.lockedUntil !== undefined) sets.push(['locked_until', patch.lockedUntil]);
  if (patch.role !== undefined) sets.push(['role', patch.role]);
  if (patch.scope !== undefined) sets.push(['scope', JSON.stringify(patch.scope)]);
  if (patch.passwordHash !== undefined) sets.push(['password_hash', patch.passwordHash]);
  return sets;
}

/** API tokens are `cwt1.<id>.<256-bit secret, base64url>`; session cookies a bare 256-bit secret. */
export function parseApiToken(token: string): { id: string; secret: string } | undefined {
  const m = /^cwt1\.([A-Za-z0-9_-]{1,64})\.([A-Za-z0-9_-]{43})$/.exec(token);
  return m ? { id: m[1]!, secret: m[2]! } : undefined;
}

export const newSecret = () => randomBytes(32).toString('base64url');
export const newId = (prefix: string) => `${prefix}_${randomBytes(9).toString('base64url')}`;

export class DuplicateAccountError extends Error {
  override readonly name = 'DuplicateAccountError';
  constructor(readonly account: string) {
    super(`an account named ${JSON.stringify(account)} exists already`);
  }
}
