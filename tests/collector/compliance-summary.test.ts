/**
 * The per-school compliance summary that complianceStates reads (`compliance_summary`, kept by triggers on
 * `compliance`): after every kind of write of compliance rows it equals the states grouped from the rows
 * themselves, in both stores — the embedded SQLite store and PostgreSQL on a real, throw-away server
 * (tests/helpers/postgres.ts). A write path that bypassed it would leave the two apart.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PgStateStore } from '../../collector/src/store/pg-state.js';
import { SqliteStateStore } from '../../collector/src/store/sqlite-state.js';
import type { AgentRecord, ComplianceRow, StateStore } from '../../collector/src/store/state-store.js';
import type { School } from '../../protocol/school.js';
import { type Postgres, postgresAvailable, startPostgres } from '../helpers/postgres.js';
import { skipping } from '../helpers/skip.js';

const T0 = Date.UTC(2025, 8, 1, 0, 30, 0);
const iso = (ms: number) => new Date(ms).toISOString();

type Grouped = Record<string, Record<string, string>>;

/** A store on fresh state, SQL on its database as another client would run it, and a reopened store. */
interface Opened {
  store: StateStore;
  /** Runs SQL text (several statements allowed) outside the store's methods, on the store's connection. */
  exec(sql: string): Promise<void>;
  /** The same on a connection of its own (another process, another collector), closed after it. */
  elsewhere(sql: string): Promise<void>;
  /** Each school's state per target, grouped from the `compliance` rows. */
  rows(): Promise<Grouped>;
  /** The summary as stored. */
  summary(): Promise<Grouped>;
  /** Closes the store and opens another on the same state (migrations run again). */
  reopen(): Promise<StateStore>;
  /** One more store on the same state, beside this one (another collector). */
  another(): Promise<StateStore>;
}

interface Backend {
  name: 'sqlite' | 'postgres';
  skip: string | undefined;
  setup(): Promise<void>;
  teardown(): Promise<void>;
  open(): Promise<Opened>;
  cleanup(): Promise<void>;
}

const group = (rows: readonly { school_id: string; target: string; state: string }[]): Grouped => {
  const out: Grouped = {};
  for (const r of rows) {
    const states = out[r.school_id] ?? {};
    states[r.target] = r.state;
    out[r.school_id] = states;
  }
  return out;
};

function sqliteBackend(): Backend {
  const dirs: string[] = [];
  const stores: StateStore[] = [];
  return {
    name: 'sqlite',
    skip: undefined,
    async setup() {},
    async teardown() {},
    async open() {
      const dir = await mkdtemp(join(tmpdir(), 'campuswatch-summary-'));
      dirs.push(dir);
      let store = new SqliteStateStore(dir);
      stores.push(store);
      return {
        get store() {
          return store;
        },
        async exec(sql) {
          store.db.exec(sql);
        },
        async elsewhere(sql) {
          const db = new Database(join(dir, 'state.sqlite'));
          try {
            db.exec(sql);
          } finally {
            db.close();
          }
        },
        async rows() {
          return group(
            store.db.prepare('SELECT school_id, target, state FROM compliance').all() as {
              school_id: string;
              target: string;
              state: string;
            }[],
          );
        },
        async summary() {
          const out: Grouped = {};
          for (const r of store.db.prepare('SELECT school_id, states FROM compliance_summary').all() as {
            school_id: string;
            states: string;
          }[])
            out[r.school_id] = JSON.parse(r.states) as Record<string, string>;
          return out;
        },
        async reopen() {
          await store.close();
          store = new SqliteStateStore(dir);
          stores.push(store);
          return store;
        },
        async another() {
          const s = new SqliteStateStore(dir);
          stores.push(s);
          return s;
        },
      };
    },
    async cleanup() {
      for (const s of stores.splice(0)) await s.close();
      for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
    },
  };
}

function postgresBackend(): Backend {
  let server: Postgres | undefined;
  let databases = 0;
  const stores: StateStore[] = [];
  const clients: Client[] = [];
  return {
    name: 'postgres',
    skip: postgresAvailable(),
    async setup() {
      server = await startPostgres();
    },
    async teardown() {
      await server?.cleanup();
      server = undefined;
    },
    async open() {
      databases += 1;
      const url = await server!.createDatabase(`s${databases}`, { icuLocale: 'en-US' });
      const openStore = async () => {
        const s = await PgStateStore.open({ url, poolMax: 4 });
        stores.push(s);
        return s;
      };
      let store = await openStore();
      const client = new Client({ connectionString: url });
      await client.connect();
      clients.push(client);
      return {
        get store() {
          return store;
        },
        async exec(sql) {
          await client.query(sql);
        },
        async elsewhere(sql) {
          const other = new Client({ connectionString: url });
          await other.connect();
          try {
            await other.query(sql);
          } finally {
            await other.end();
          }
        },
        async rows() {
          const { rows } = await client.query<{ school_id: string; target: string; state: string }>(
            'SELECT school_id, target, state FROM compliance',
          );
          return group(rows);
        },
        async summary() {
          const { rows } = await client.query<{ school_id: string; states: Record<string, string> }>(
            'SELECT school_id, states FROM compliance_summary',
          );
          return Object.fromEntries(rows.map((r) => [r.school_id, r.states]));
        },
        async reopen() {
          await store.close();
          store = await openStore();
          return store;
        },
        another: openStore,
      };
    },
    async cleanup() {
      for (const c of clients.splice(0)) await c.end();
      for (const s of stores.splice(0)) await s.close();
    },
  };
}

const school = (id: string): School => ({
  id,
  name: `苏州市${id}实验小学`,
  district: '姑苏区',
  group: '平江教育集团',
  tier: 'medium',
  pupils: 1200,
  area: 'urban',
  timezone: 'Asia/Shanghai',
});

const row = (target: string, state: ComplianceRow['state'], value: number | null = 1): ComplianceRow => ({
  target,
  state,
  value,
  goal: 1,
  reason: `${target}: ${state}（达标判定）`,
  evidenceAt: null,
  expiresAt: null,
});

async function enrolled(store: StateStore, schoolId: string): Promise<AgentRecord> {
  await store.upsertSchool(school(schoolId));
  const { code } = await store.createEnrollCode(schoolId, 3_600_000, T0);
  const out = await store.enroll(code, { hostname: 'nas-01', version: '0.1.0' }, T0);
  if ('error' in out) throw new Error(`enrol failed: ${out.error}`);
  return out.agent;
}

const TARGETS = ['uplink', 'ipv6', 'recording', '校园网'];

/** complianceStates as it must answer from the rows (what the stores answered before the summary). */
function expectedStates(grouped: Grouped, targets: readonly string[]): Map<string, ComplianceRow['state'][]> {
  const out = new Map<string, ComplianceRow['state'][]>();
  for (const [id, states] of Object.entries(grouped)) {
    if (!targets.some((t) => t in states)) continue;
    out.set(
      id,
      targets.map((t) => (states[t] === 'met' || states[t] === 'not_met' ? states[t] : 'no_data')),
    );
  }
  return out;
}

/** The summary equals the rows grouped, and complianceStates answers from it what the rows say. */
async function expectInStep(o: Opened): Promise<Grouped> {
  const rows = await o.rows();
  expect(await o.summary()).toEqual(rows);
  expect(await o.store.complianceStates(TARGETS)).toEqual(expectedStates(rows, TARGETS));
  return rows;
}

const BACKENDS: Backend[] = [sqliteBackend(), postgresBackend()];

describe.each(BACKENDS)('compliance summary: $name', (backend) => {
  describe.skipIf(skipping(backend.skip))(backend.skip ?? 'every write path', () => {
    beforeAll(() => backend.setup());
    afterAll(() => backend.teardown());
    afterEach(() => backend.cleanup());

    it('follows replaceCompliance: new schools and targets, state changes, value-only changes', async () => {
      const o = await backend.open();
      expect(await expectInStep(o)).toEqual({});
      await o.store.replaceCompliance('sz-1', [row('uplink', 'met'), row('ipv6', 'not_met')], iso(T0));
      await o.store.replaceCompliance('sz-2', [row('retired', 'met')], iso(T0));
      expect(await expectInStep(o)).toEqual({
        'sz-1': { uplink: 'met', ipv6: 'not_met' },
        'sz-2': { retired: 'met' },
      });
      // one target's state changes, another target is added, a third moves only its value
      await o.store.replaceCompliance(
        'sz-1',
        [row('uplink', 'not_met'), row('ipv6', 'not_met', 7), row('校园网', 'no_data', null)],
        iso(T0 + 60_000),
      );
      expect(await expectInStep(o)).toEqual({
        'sz-1': { uplink: 'not_met', ipv6: 'not_met', 校园网: 'no_data' },
        'sz-2': { retired: 'met' },
      });
      expect((await o.store.complianceStates(TARGETS)).has('sz-2')).toBe(false);
      // a state change alone (no row added in the same call)
      await o.store.replaceCompliance('sz-1', [row('uplink', 'met')], iso(T0 + 120_000));
      expect((await expectInStep(o))['sz-1']).toEqual({ uplink: 'met', ipv6: 'not_met', 校园网: 'no_data' });
    });

    it('follows completeIngest (the report transaction) and leaves a report done twice as it was', async () => {
      const o = await backend.open();
      const agent = await enrolled(o.store, 'sz-ingest');
      const report = async (reportId: string, compliance: ComplianceRow[]) => {
        await o.store.beginIngest({
          reportId,
          agentId: agent.id,
          schoolId: agent.schoolId,
          shiftMs: 0,
          finishedAt: iso(T0),
        });
        return o.store.completeIngest({
          reportId,
          agent,
          results: [],
          shiftMs: 0,
          clockOffsetMs: 0,
          receivedAt: new Date(T0),
          compliance,
        });
      };
      expect(await report('r-1', [row('uplink', 'met'), row('recording', 'not_met')])).toBe(true);
      expect(await expectInStep(o)).toEqual({ 'sz-ingest': { uplink: 'met', recording: 'not_met' } });
      expect(await report('r-2', [row('recording', 'met')])).toBe(true);
      expect(await report('r-2', [row('recording', 'not_met')])).toBe(false);
      expect(await expectInStep(o)).toEqual({ 'sz-ingest': { uplink: 'met', recording: 'met' } });
    });

    it('follows writes outside the store methods: deletes, a renamed target, a rolled-back update', async () => {
      const o = await backend.open();
      await o.store.replaceCompliance('sz-1', [row('uplink', 'met'), row('ipv6', 'met')]);
      await o.store.replaceCompliance('sz-2', [row('uplink', 'not_met')]);
      await o.exec(`UPDATE compliance SET state = 'not_met' WHERE school_id = 'sz-1' AND target = 'ipv6'`);
      expect(await expectInStep(o)).toEqual({
        'sz-1': { uplink: 'met', ipv6: 'not_met' },
        'sz-2': { uplink: 'not_met' },
      });
      await o.exec(
        `UPDATE compliance SET target = 'recording' WHERE school_id = 'sz-1' AND target = 'uplink'`,
      );
      await o.exec(`UPDATE compliance SET school_id = 'sz-3' WHERE school_id = 'sz-2'`);
      expect(await expectInStep(o)).toEqual({
        'sz-1': { recording: 'met', ipv6: 'not_met' },
        'sz-3': { uplink: 'not_met' },
      });
      await o.exec(`DELETE FROM compliance WHERE school_id = 'sz-1' AND target = 'ipv6'`);
      await o.exec(`DELETE FROM compliance WHERE school_id = 'sz-3'`);
      expect(await expectInStep(o)).toEqual({ 'sz-1': { recording: 'met' } });
      await o.exec(`BEGIN; UPDATE compliance SET state = 'not_met'; ROLLBACK`);
      expect(await expectInStep(o)).toEqual({ 'sz-1': { recording: 'met' } });
      // another connection's commit, after the store has answered (and the SQLite store kept its answer)
      await o.elsewhere(`UPDATE compliance SET state = 'not_met' WHERE school_id = 'sz-1'`);
      expect(await expectInStep(o)).toEqual({ 'sz-1': { recording: 'not_met' } });
      await o.elsewhere(`DELETE FROM compliance`);
      expect(await expectInStep(o)).toEqual({});
    });

    it('is filled from the rows when a database of an earlier version (no summary) is opened', async () => {
      const o = await backend.open();
      for (let i = 0; i < 30; i++)
        await o.store.replaceCompliance(`sz-${i}`, [
          row('uplink', i % 3 === 0 ? 'met' : 'not_met'),
          row('ipv6', i % 2 === 0 ? 'met' : 'no_data'),
        ]);
      // the earlier version: rows, but neither the summary nor its triggers
      await o.exec(
        backend.name === 'sqlite'
          ? `DROP TRIGGER compliance_summary_i; DROP TRIGGER compliance_summary_u; DROP TRIGGER compliance_summary_d;
             DROP TABLE compliance_summary`
          : `DROP TRIGGER compliance_summary_id ON compliance; DROP TRIGGER compliance_summary_u ON compliance;
             DROP TABLE compliance_summary`,
      );
      await o.store.replaceCompliance('sz-0', [row('uplink', 'not_met')]);
      await o.reopen();
      const rows = await expectInStep(o);
      expect(Object.keys(rows)).toHaveLength(30);
      expect(rows['sz-0']).toEqual({ uplink: 'not_met', ipv6: 'met' });
      // and kept from then on; opening again leaves it as it is
      await o.store.replaceCompliance('sz-1', [row('uplink', 'met')]);
      await o.reopen();
      expect((await expectInStep(o))['sz-1']).toEqual({ uplink: 'met', ipv6: 'no_data' });
    });
  });
});

const pgSkip = postgresAvailable();

describe.skipIf(skipping(pgSkip))(
  pgSkip ?? 'compliance summary: several collectors on one PostgreSQL',
  () => {
    const backend = BACKENDS.find((b) => b.name === 'postgres')!;
    beforeAll(() => backend.setup());
    afterAll(() => backend.teardown());
    afterEach(() => backend.cleanup());

    it('keeps every target when collectors write different targets of one school at once', async () => {
      const o = await backend.open();
      const stores = [o.store, await o.another()];
      for (let round = 0; round < 25; round++) {
        const state = (i: number): ComplianceRow['state'] => ((round + i) % 2 === 0 ? 'met' : 'not_met');
        await Promise.all(
          TARGETS.map((t, i) =>
            stores[i % stores.length]!.replaceCompliance('sz-race', [row(t, state(i))], iso(T0 + round)),
          ),
        );
        const rows = await expectInStep(o);
        expect(rows['sz-race']).toEqual(Object.fromEntries(TARGETS.map((t, i) => [t, state(i)])));
      }
    });
  },
);
