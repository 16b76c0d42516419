/**
 * Issue 27: devices gone from the inventory leave a school's latest state (CompleteIngest `leaving`), on
 * both state stores: a key leaves only while its stored result is older than `before` (one refreshed by a
 * concurrent report stays), other schools and keys are untouched, and the SQLite cache follows the table.
 * Reports refused for a budget are noted for the over-budget alert, seen by every store on the state.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgStateStore } from '../../collector/src/store/pg-state.js';
import { SqliteStateStore } from '../../collector/src/store/sqlite-state.js';
import { type AgentRecord, resultKey, type StateStore } from '../../collector/src/store/state.js';
import type { ProbeResult } from '../../protocol/report.js';
import type { School } from '../../protocol/school.js';
import { type Postgres, postgresAvailable, startPostgres } from '../helpers/postgres.js';
import { skipping } from '../helpers/skip.js';

const T0 = Date.parse('2026-11-23T02:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

function reach(name: string, at: number): ProbeResult {
  return {
    probe: 'reachability',
    target: name,
    outcome: 'ok',
    durationMs: 1,
    at: iso(at),
    device: { name, address: '10.0.0.1', room: '教室 1', roomType: 'classroom' },
    check: 'icmp',
    up: true,
  };
}

const school = (id: string): School => ({ id, name: `学校 ${id}`, timezone: 'Asia/Shanghai' });

let reports = 0;
async function enrolled(store: StateStore, schoolId: string): Promise<AgentRecord> {
  await store.upsertSchool(school(schoolId));
  const { code } = await store.createEnrollCode(schoolId, 3_600_000, T0);
  const out = await store.enroll(code, { hostname: `box-${schoolId}`, version: '0.1.0' }, T0);
  if ('error' in out) throw new Error(`enrol failed: ${out.error}`);
  return out.agent;
}

async function report(
  store: StateStore,
  agent: AgentRecord,
  results: ProbeResult[],
  at: number,
  leaving?: { keys: string[]; before: string },
): Promise<void> {
  reports += 1;
  const ok = await store.completeIngest({
    reportId: `leave-${reports}`,
    agent,
    results,
    shiftMs: 0,
    clockOffsetMs: 0,
    receivedAt: new Date(at),
    compliance: [],
    begin: {
      reportId: `leave-${reports}`,
      agentId: agent.id,
      schoolId: agent.schoolId,
      shiftMs: 0,
      finishedAt: iso(at),
    },
    ...(leaving ? { leaving } : {}),
  });
  expect(ok).toBe(true);
}

const names = async (store: StateStore, schoolId: string) =>
  (await store.latestResults(schoolId)).map((r) => r.target).sort();

async function exercise(open: () => Promise<StateStore>): Promise<void> {
  const store = await open();
  const a = await enrolled(store, 'sz-a');
  const b = await enrolled(store, 'sz-b');
  await report(store, a, [reach('旧交换机', T0), reach('投影仪', T0), reach('刚刷新', T0)], T0);
  await report(store, b, [reach('旧交换机', T0)], T0);
  // read once so that the SQLite store caches school a
  expect(await names(store, 'sz-a')).toEqual(['投影仪', '刚刷新', '旧交换机'].sort());
  // a concurrent report refreshed 刚刷新 after the route judged it stale
  await report(store, a, [reach('刚刷新', T0 + 20 * 60_000)], T0 + 20 * 60_000);
  const before = iso(T0 + 5 * 60_000);
  await report(store, a, [reach('投影仪', T0 + 20 * 60_000)], T0 + 20 * 60_000, {
    keys: [resultKey(reach('旧交换机', T0)), resultKey(reach('刚刷新', T0))],
    before,
  });
  expect(await names(store, 'sz-a')).toEqual(['投影仪', '刚刷新'].sort());
  // another school's device of the same name stays
  expect(await names(store, 'sz-b')).toEqual(['旧交换机']);
  // what the table holds, read by a store that never cached it
  const fresh = await open();
  expect(await names(fresh, 'sz-a')).toEqual(['投影仪', '刚刷新'].sort());
}

/** Budget refusals (the over-budget alert's facts): the latest per school and budget, counted within the hold. */
async function refusals(open: () => Promise<StateStore>): Promise<void> {
  const store = await open();
  const hold = 3_600_000;
  const note = (
    schoolId: string,
    budget: 'devicesPerSchool' | 'seriesPerSchool',
    min: number,
    count: number,
  ) =>
    store.noteBudgetRefusal(
      { schoolId, budget, agentId: `ag-${schoolId}`, at: iso(T0 + min * 60_000), limit: 100, count },
      hold,
    );
  await note('sz-a', 'devicesPerSchool', 0, 101);
  await note('sz-a', 'devicesPerSchool', 10, 150);
  await note('sz-a', 'seriesPerSchool', 10, 120);
  await note('sz-b', 'devicesPerSchool', 5, 200);
  // another store on the same state (another collector) sees them
  const other = await open();
  expect(await other.budgetRefusals(new Date(T0))).toEqual([
    {
      schoolId: 'sz-a',
      budget: 'devicesPerSchool',
      agentId: 'ag-sz-a',
      at: iso(T0 + 600_000),
      limit: 100,
      count: 150,
      times: 2,
    },
    {
      schoolId: 'sz-a',
      budget: 'seriesPerSchool',
      agentId: 'ag-sz-a',
      at: iso(T0 + 600_000),
      limit: 100,
      count: 120,
      times: 1,
    },
    {
      schoolId: 'sz-b',
      budget: 'devicesPerSchool',
      agentId: 'ag-sz-b',
      at: iso(T0 + 300_000),
      limit: 100,
      count: 200,
      times: 1,
    },
  ]);
  expect((await other.budgetRefusals(new Date(T0 + 400_000))).map((r) => r.schoolId)).toEqual([
    'sz-a',
    'sz-a',
  ]);
  // a refusal after the hold starts the count again
  await note('sz-a', 'devicesPerSchool', 90, 160);
  expect((await store.budgetRefusals(new Date(T0 + 3_600_000)))[0]).toMatchObject({ count: 160, times: 1 });
}

describe('latest results leave the state (CompleteIngest.leaving)', () => {
  it('sqlite', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cw-leaving-'));
    const stores: StateStore[] = [];
    try {
      const open = async () => {
        const s = new SqliteStateStore(dir);
        stores.push(s);
        return s;
      };
      await exercise(open);
      await refusals(open);
    } finally {
      for (const s of stores) await s.close();
      await rm(dir, { recursive: true, force: true });
    }
  });

  describe.skipIf(skipping(postgresAvailable(), 'latest-leaving on PostgreSQL'))('postgres', () => {
    let pg: Postgres;
    beforeAll(async () => {
      pg = await startPostgres();
    }, 60_000);
    afterAll(async () => {
      await pg?.cleanup();
    });
    it('postgres', async () => {
      const url = await pg.createDatabase('leaving');
      const stores: StateStore[] = [];
      try {
        const open = async () => {
          const s = await PgStateStore.open({ url, poolMax: 2 });
          stores.push(s);
          return s;
        };
        await exercise(open);
        await refusals(open);
      } finally {
        for (const s of stores) await s.close();
      }
    });
  });
});
