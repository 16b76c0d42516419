import { timingSafeEqual } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { Role, Scope } from '../access/model.js';
import {
  type AccessStore,
  type AccountRecord,
  type AccountRow,
  type AuditEntry,
  accountOfRow,
  accountUpdates,
  DuplicateAccountError,
  newId,
  newSecret,
  parseApiToken,
  type SessionRecord,
  type TokenRow,
  tokenOfRow,
  withoutHash,
} from './access-store.js';
import { sha256 } from './state-store.js';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS accounts (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, role TEXT NOT NULL, scope TEXT NOT NULL,
    password_hash TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL,
    failed_logins INTEGER NOT NULL DEFAULT 0, locked_until TEXT
  );
  CREATE TABLE IF NOT EXISTS api_tokens (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, account_id TEXT, role TEXT NOT NULL, scope TEXT NOT NULL,
    secret_hash BLOB NOT NULL, created_at TEXT NOT NULL, last_used_at TEXT, revoked_at TEXT
  );
  CREATE TABLE IF NOT EXISTS sessions (
    id_hash BLOB PRIMARY KEY, account_id TEXT NOT NULL, csrf TEXT NOT NULL,
    created_at TEXT NOT NULL, last_seen_at TEXT NOT NULL
  );
  -- append-only: nothing updates or deletes it
  CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT NOT NULL, address TEXT NOT NULL,
    action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL
  );
  CREATE TRIGGER IF NOT EXISTS audit_append_only_u BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
  CREATE TRIGGER IF NOT EXISTS audit_append_only_d BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
`;

/** The access tables in the collector's SQLite file (see access-store.ts). */
export class SqliteAccess implements AccessStore {
  constructor(private readonly db: Database.Database) {
    db.exec(SCHEMA);
  }

  async addAccount(a: { name: string; role: Role; scope: Scope; passwordHash: string }, now: Date) {
    const id = newId('acc');
    try {
      this.db
        .prepare(
          'INSERT INTO accounts (id, name, role, scope, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run(id, a.name, a.role, JSON.stringify(a.scope), a.passwordHash, now.toISOString());
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
        throw new DuplicateAccountError(a.name);
      throw err;
    }
    return withoutHash(
      accountOfRow(this.db.prepare('SELECT * FROM accounts WHERE id = ?').get(id) as AccountRow),
    );
  }

  async accountByName(name: string) {
    const r = this.db.prepare('SELECT * FROM accounts WHERE name = ?').get(name) as AccountRow | undefined;
    return r ? accountOfRow(r) : undefined;
  }

  async account(id: string) {
    const r = this.db.prepare('SELECT * FROM accounts WHERE id = ?').get(id) as AccountRow | undefined;
    return r ? withoutHash(accountOfRow(r)) : undefined;
  }

  async listAccounts() {
    return (this.db.prepare('SELECT * FROM accounts ORDER BY name').all() as AccountRow[]).map((r) =>
      withoutHash(accountOfRow(r)),
    );
  }

  async updateAccount(
    id: string,
    patch: Partial<Pick<AccountRecord, 'disabled' | 'failedLogins' | 'lockedUntil' | 'role' | 'scope'>> & {
      passwordHash?: string;
    },
  ) {
    const updates = accountUpdates(patch, (b) => (b ? 1 : 0));
    const sets = updates.map(([c]) => `${c} = ?`);
    const values = updates.map(([, v]) => v);
    if (sets.length === 0) return (await this.account(id)) !== undefined;
    return (
      this.db.prepare(`UPDATE accounts SET ${sets.join(', ')} WHERE id = ?`).run(...values, id).changes > 0
    );
  }

  async addToken(t: { name: string; accountId: string | null; role: Role; scope: Scope }, now: Date) {
    const id = newId('tok');
    const secret = newSecret();
    this.db
      .prepare(
        'INSERT INTO api_tokens (id, name, account_id, role, scope, secret_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      )
      .run(id, t.name, t.accountId, t.role, JSON.stringify(t.scope), sha256(secret), now.toISOString());
    const record = tokenOfRow(this.db.prepare('SELECT * FROM api_tokens WHERE id = ?').get(id) as TokenRow);
    return { record, token: `cwt1.${id}.${secret}` };
  }

  async authenticateToken(value: string, now: Date) {
    const parsed = parseApiToken(value);
    if (!parsed) return undefined;
    const r = this.db.prepare('SELECT * FROM api_tokens WHERE id = ?').get(parsed.id) as TokenRow | undefined;
    const presented = sha256(parsed.secret);
    // compare against a dummy when the token is unknown, so both paths take the same time
    const equal = timingSafeEqual(r?.secret_hash ?? Buffer.alloc(presented.length), presented);
    if (!r || !equal || r.revoked_at !== null) return undefined;
    this.db.prepare('UPDATE api_tokens SET last_used_at = ? WHERE id = ?').run(now.toISOString(), r.id);
    return tokenOfRow({ ...r, last_used_at: now.toISOString() });
  }

  async listTokens() {
    return (this.db.prepare('SELECT * FROM api_tokens ORDER BY created_at, id').all() as TokenRow[]).map(
      tokenOfRow,
    );
  }

  async revokeToken(id: string, now: Date) {
    return (
      this.db
        .prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL')
        .run(now.toISOString(), id).changes > 0
    );
  }

  async createSession(accountId: string, now: Date) {
    const cookie = newSecret();
    const csrf = newSecret();
    const t = now.toISOString();
    this.db
      .prepare(
        'INSERT INTO sessions (id_hash, account_id, csrf, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?)',
      )
      .run(sha256(cookie), accountId, csrf, t, t);
    return { cookie, csrf };
  }

  async session(cookie: string): Promise<SessionRecord | undefined> {
    return this.db
      .prepare(
        'SELECT account_id AS accountId, csrf, created_at AS createdAt, last_seen_at AS lastSeenAt FROM sessions WHERE id_hash = ?',
      )
      .get(sha256(cookie)) as SessionRecord | undefined;
  }

  async touchSession(cookie: string, now: Date) {
    this.db
      .prepare('UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?')
      .run(now.toISOString(), sha256(cookie));
  }

  async deleteSession(cookie: string) {
    this.db.prepare('DELETE FROM sessions WHERE id_hash = ?').run(sha256(cookie));
  }

  async deleteSessionsOf(accountId: string) {
    this.db.prepare('DELETE FROM sessions WHERE account_id = ?').run(accountId);
  }

  async appendAudit(e: Omit<AuditEntry, 'seq'>) {
    this.db
      .prepare('INSERT INTO audit (at, actor, address, action, target, detail) VALUES (?, ?, ?, ?, ?, ?)')
      .run(e.at, e.actor, e.address, e.action, e.target, e.detail);
  }

  async audit(filter: { since?: string; actor?: string; limit?: number }) {
    return this.db
      .prepare(
        `SELECT seq, at, actor, address, action, target, detail FROM audit
         WHERE (? IS NULL OR at >= ?) AND (? IS NULL OR actor = ?) ORDER BY seq LIMIT ?`,
      )
      .all(
        filter.since ?? null,
        filter.since ?? null,
        filter.actor ?? null,
        filter.actor ?? null,
        filter.limit ?? 10_000,
      ) as AuditEntry[];
  }
}
