import { timingSafeEqual } from 'node:crypto';
import type { Pool } from 'pg';
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

const T = 'text COLLATE "C"';
export const ACCESS_SCHEMA = `
  CREATE TABLE IF NOT EXISTS accounts (
    id ${T} PRIMARY KEY, name ${T} NOT NULL UNIQUE, role ${T} NOT NULL, scope ${T} NOT NULL,
    password_hash ${T} NOT NULL, disabled boolean NOT NULL DEFAULT false, created_at ${T} NOT NULL,
    failed_logins integer NOT NULL DEFAULT 0, locked_until ${T}
  );
  CREATE TABLE IF NOT EXISTS api_tokens (
    id ${T} PRIMARY KEY, name ${T} NOT NULL, account_id ${T}, role ${T} NOT NULL, scope ${T} NOT NULL,
    secret_hash bytea NOT NULL, created_at ${T} NOT NULL, last_used_at ${T}, revoked_at ${T}
  );
  CREATE TABLE IF NOT EXISTS sessions (
    id_hash bytea PRIMARY KEY, account_id ${T} NOT NULL, csrf ${T} NOT NULL,
    created_at ${T} NOT NULL, last_seen_at ${T} NOT NULL
  );
  CREATE TABLE IF NOT EXISTS audit (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, at ${T} NOT NULL, actor ${T} NOT NULL,
    address ${T} NOT NULL, action ${T} NOT NULL, target ${T} NOT NULL, detail ${T} NOT NULL
  );
  -- append-only: nothing updates or deletes it
  CREATE OR REPLACE FUNCTION campuswatch_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'the audit trail is append-only'; END $$;
  DROP TRIGGER IF EXISTS audit_append_only ON audit;
  CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION campuswatch_audit_append_only();
`;

/** The access tables in the shared PostgreSQL database (created with the state schema, under its lock). */
export class PgAccess implements AccessStore {
  constructor(private readonly pool: Pool) {}

  async addAccount(a: { name: string; role: Role; scope: Scope; passwordHash: string }, now: Date) {
    const id = newId('acc');
    try {
      const { rows } = await this.pool.query<AccountRow>(
        `INSERT INTO accounts (id, name, role, scope, password_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)
         RETURNING *`,
        [id, a.name, a.role, JSON.stringify(a.scope), a.passwordHash, now.toISOString()],
      );
      return withoutHash(accountOfRow(rows[0]!));
    } catch (err) {
      if ((err as { code?: string }).code === '23505') throw new DuplicateAccountError(a.name);
      throw err;
    }
  }

  async accountByName(name: string) {
    const { rows } = await this.pool.query<AccountRow>('SELECT * FROM accounts WHERE name = $1', [name]);
    return rows[0] ? accountOfRow(rows[0]) : undefined;
  }

  async account(id: string) {
    const { rows } = await this.pool.query<AccountRow>('SELECT * FROM accounts WHERE id = $1', [id]);
    return rows[0] ? withoutHash(accountOfRow(rows[0])) : undefined;
  }

  async listAccounts() {
    const { rows } = await this.pool.query<AccountRow>('SELECT * FROM accounts ORDER BY name');
    return rows.map((r) => withoutHash(accountOfRow(r)));
  }

  async updateAccount(
    id: string,
    patch: Partial<Pick<AccountRecord, 'disabled' | 'failedLogins' | 'lockedUntil' | 'role' | 'scope'>> & {
      passwordHash?: string;
    },
  ) {
    const updates = accountUpdates(patch, (b) => b);
    const sets = updates.map(([c], i) => `${c} = $${i + 1}`);
    const values: unknown[] = updates.map(([, v]) => v);
    if (sets.length === 0) return (await this.account(id)) !== undefined;
    values.push(id);
    const r = await this.pool.query(
      `UPDATE accounts SET ${sets.join(', ')} WHERE id = $${values.length}`,
      values,
    );
    return (r.rowCount ?? 0) > 0;
  }

  async addToken(t: { name: string; accountId: string | null; role: Role; scope: Scope }, now: Date) {
    const id = newId('tok');
    const secret = newSecret();
    const { rows } = await this.pool.query<TokenRow>(
      `INSERT INTO api_tokens (id, name, account_id, role, scope, secret_hash, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING *`,
      [id, t.name, t.accountId, t.role, JSON.stringify(t.scope), sha256(secret), now.toISOString()],
    );
    return { record: tokenOfRow(rows[0]!), token: `cwt1.${id}.${secret}` };
  }

  async authenticateToken(value: string, now: Date) {
    const parsed = parseApiToken(value);
    if (!parsed) return undefined;
    const { rows } = await this.pool.query<TokenRow>('SELECT * FROM api_tokens WHERE id = $1', [parsed.id]);
    const r = rows[0];
    const presented = sha256(parsed.secret);
    const equal = timingSafeEqual(r?.secret_hash ?? Buffer.alloc(presented.length), presented);
    if (!r || !equal || r.revoked_at !== null) return undefined;
    await this.pool.query('UPDATE api_tokens SET last_used_at = $1 WHERE id = $2', [now.toISOString(), r.id]);
    return tokenOfRow({ ...r, last_used_at: now.toISOString() });
  }

  async listTokens() {
    const { rows } = await this.pool.query<TokenRow>('SELECT * FROM api_tokens ORDER BY created_at, id');
    return rows.map(tokenOfRow);
  }

  async revokeToken(id: string, now: Date) {
    const r = await this.pool.query(
      'UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL',
      [now.toISOString(), id],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async createSession(accountId: string, now: Date) {
    const cookie = newSecret();
    const csrf = newSecret();
    const t = now.toISOString();
    await this.pool.query(
      'INSERT INTO sessions (id_hash, account_id, csrf, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $4)',
      [sha256(cookie), accountId, csrf, t],
    );
    return { cookie, csrf };
  }

  async session(cookie: string): Promise<SessionRecord | undefined> {
    const { rows } = await this.pool.query<SessionRecord>(
      `SELECT account_id AS "accountId", csrf, created_at AS "createdAt", last_seen_at AS "lastSeenAt"
       FROM sessions WHERE id_hash = $1`,
      [sha256(cookie)],
    );
    return rows[0];
  }

  async touchSession(cookie: string, now: Date) {
    await this.pool.query('UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2', [
      now.toISOString(),
      sha256(cookie),
    ]);
  }

  async deleteSession(cookie: string) {
    await this.pool.query('DELETE FROM sessions WHERE id_hash = $1', [sha256(cookie)]);
  }

  async deleteSessionsOf(accountId: string) {
    await this.pool.query('DELETE FROM sessions WHERE account_id = $1', [accountId]);
  }

  async appendAudit(e: Omit<AuditEntry, 'seq'>) {
    await this.pool.query(
      'INSERT INTO audit (at, actor, address, action, target, detail) VALUES ($1, $2, $3, $4, $5, $6)',
      [e.at, e.actor, e.address, e.action, e.target, e.detail],
    );
  }

  async audit(filter: { since?: string; actor?: string; limit?: number }) {
    const { rows } = await this.pool.query<AuditEntry & { seq: string }>(
      `SELECT seq, at, actor, address, action, target, detail FROM audit
       WHERE ($1::text IS NULL OR at >= $1) AND ($2::text IS NULL OR actor = $2) ORDER BY seq LIMIT $3`,
      [filter.since ?? null, filter.actor ?? null, filter.limit ?? 10_000],
    );
    return rows.map((r) => ({ ...r, seq: Number(r.seq) }));
  }
}
