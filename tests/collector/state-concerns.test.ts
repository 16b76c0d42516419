/**
 * What the state store's concern modules share between the two dialects (collector/src/store/state/): token
 * checks, the maintenance query, the stored form of results; and the embedded store answering through them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStateStore } from '../../collector/src/store/sqlite-state.js';
import { storedResult } from '../../collector/src/store/state/latest/index.js';
import { maintenanceWhere } from '../../collector/src/store/state/maintenance/index.js';
import { secretMatches, sha256 } from '../../collector/src/store/state/registry/index.js';
import { resultKey } from '../../collector/src/store/state-store.js';
import type { ProbeResult } from '../../protocol/report.js';

const dir = mkdtempSync(join(tmpdir(), 'cw-state-concerns-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('registry: secretMatches', () => {
  const secret = 'a'.repeat(43);
  it('matches the secret whose hash is stored and nothing else', () => {
    expect(secretMatches(sha256(secret), secret)).toBe(true);
    expect(secretMatches(sha256(secret), 'b'.repeat(43))).toBe(false);
  });
  it('refuses, without throwing, an unknown agent and a stored hash of another length', () => {
    expect(secretMatches(undefined, secret)).toBe(false);
    // the all-zero dummy an unknown agent is compared with is never a match, even for a zero hash
    expect(secretMatches(Buffer.alloc(32), secret)).toBe(false);
    expect(secretMatches(sha256(secret).subarray(0, 16), secret)).toBe(false);
  });
});

describe('maintenance: one WHERE clause for both dialects', () => {
  const filter = { schoolId: '星海实验中学', endingAfter: new Date(Date.UTC(2026, 10, 2, 8)) };
  it('numbers PostgreSQL placeholders in the order of the values', () => {
    expect(maintenanceWhere(filter, (n) => `$${n}`)).toEqual({
      where: 'WHERE school_id = $1 AND (ends_at IS NULL OR ends_at > $2)',
      values: ['星海实验中学', '2026-11-02T08:00:00.000Z'],
    });
    expect(maintenanceWhere({ endingAfter: filter.endingAfter }, (n) => `$${n}`).where).toBe(
      'WHERE (ends_at IS NULL OR ends_at > $1)',
    );
  });
  it('uses SQLite placeholders, and no clause without a filter', () => {
    expect(maintenanceWhere(filter, () => '?').where).toBe(
      'WHERE school_id = ? AND (ends_at IS NULL OR ends_at > ?)',
    );
    expect(maintenanceWhere({}, () => '?')).toEqual({ where: '', values: [] });
  });
});

describe('latest: storedResult', () => {
  const r = {
    probe: 'host',
    target: '录播主机',
    at: '2026-11-02T08:00:00.000Z',
  } as unknown as ProbeResult;
  it('keys the result as resultKey does, shifts its time and keeps the JSON of what is stored', () => {
    const stored = storedResult(r, 60_000);
    expect(stored.key).toBe(resultKey(r));
    expect(stored.result.at).toBe('2026-11-02T07:59:00.000Z');
    expect(JSON.parse(stored.json)).toEqual(stored.result);
    // unshifted: the result itself, not a copy
    expect(storedResult(r, 0).result).toBe(r);
  });
});

describe('the embedded store through its concern modules', () => {
  it('refuses the token of an agent whose stored hash is damaged instead of failing the request', async () => {
    const store = new SqliteStateStore(join(dir, 'damaged'));
    try {
      await store.upsertSchool({ id: 'sz-01', name: '星海实验中学' } as Parameters<
        typeof store.upsertSchool
      >[0]);
      const { code } = await store.createEnrollCode('sz-01', 60_000);
      const enrolled = await store.enroll(code, { hostname: 'box', version: '1.0.0' });
      if ('error' in enrolled) throw new Error(`enrolment failed: ${enrolled.error}`);
      expect((await store.authenticate(enrolled.token))?.id).toBe(enrolled.agent.id);
      store.db.prepare("UPDATE agents SET token_hash = x'00' WHERE id = ?").run(enrolled.agent.id);
      await expect(store.authenticate(enrolled.token)).resolves.toBeUndefined();
    } finally {
      await store.close();
    }
  });

  it('answers a synchronous failure of a concern as a rejected promise', async () => {
    const store = new SqliteStateStore(join(dir, 'unknown-school'));
    try {
      await expect(store.createEnrollCode('nowhere', 60_000)).rejects.toMatchObject({
        name: 'UnknownSchoolError',
        schoolId: 'nowhere',
      });
    } finally {
      await store.close();
    }
  });
});
