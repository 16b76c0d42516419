/**
 * The StateStore contract, run against both implementations: the embedded SQLite store and the
 * PostgreSQL store on a real, throw-away PostgreSQL (tests/helpers/postgres.ts), each test on a fresh
 * data directory or database. PostgreSQL databases are created with an ICU en-US collation, so any
 * ordering that leaned on the database's collation instead of bytewise order would show.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Client } from 'pg';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { FindingRecord } from '../../collector/src/evaluate/findings.js';
import { LEADER_LOCK_KEY, PgStateStore } from '../../collector/src/store/pg-state.js';
import { SqliteStateStore } from '../../collector/src/store/sqlite-state.js';
import {
  type AgentRecord,
  type AlertRow,
  ArchivedSchoolError,
  type CompleteIngest,
  type ComplianceRow,
  ENROLL_CODE_ALPHABET,
  HISTORY_DEPTH,
  parseToken,
  type StateStore,
  UnknownSchoolError,
} from '../../collector/src/store/state-store.js';
import type { BandwidthResult, ProbeResult, ReachabilityResult } from '../../protocol/report.js';
import type { School } from '../../protocol/school.js';
import { type Postgres, postgresAvailable, startPostgres } from '../helpers/postgres.js';
import { skipping } from '../helpers/skip.js';

const T0 = Date.UTC(2025, 8, 1, 0, 30, 0); // 2025-09-01 08:30 in Shanghai
const iso = (ms: number) => new Date(ms).toISOString();
const MIN = 60_000;

/** One way to get fresh stores: `fresh()` a store on new, empty state; `another()` one more on the same state. */
interface Backend {
  name: 'sqlite' | 'postgres';
  skip: string | undefined;
  setup(): Promise<void>;
  teardown(): Promise<void>;
  fresh(): Promise<{ store: StateStore; another(): Promise<StateStore> }>;
  /** Closes what fresh/another opened and removes what they created. */
  cleanupTest(): Promise<void>;
}

function sqliteBackend(): Backend {
  const dirs: string[] = [];
  const stores: StateStore[] = [];
  return {
    name: 'sqlite',
    skip: undefined,
    async setup() {},
    async teardown() {},
    async fresh() {
      const dir = await mkdtemp(join(tmpdir(), 'campuswatch-state-'));
      dirs.push(dir);
      const open = async () => {
        const store = new SqliteStateStore(dir);
        stores.push(store);
        return store;
      };
      return { store: await open(), another: open };
    },
    async cleanupTest() {
      for (const s of stores.splice(0)) await s.close();
      for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
    },
  };
}

let server: Postgres | undefined;
let databases = 0;
const stores: StateStore[] = [];

/** A fresh database on the test server (ICU en-US collation). */
async function freshDatabase(): Promise<string> {
  databases += 1;
  return server!.createDatabase(`t${databases}`, { icuLocale: 'en-US' });
}

async function openPg(url: string, log?: pino.Logger): Promise<PgStateStore> {
  const store = await PgStateStore.open({ url, poolMax: 4, ...(log ? { log } : {}) });
  stores.push(store);
  return store;
}

function postgresBackend(): Backend {
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
    async fresh() {
      const url = await freshDatabase();
      return { store: await openPg(url), another: () => openPg(url) };
    },
    async cleanupTest() {
      for (const s of stores.splice(0)) await s.close();
    },
  };
}

const BACKENDS: Backend[] = [sqliteBackend(), postgresBackend()];

// ---- sample data -------------------------------------------------------------------------------
const school = (id: string, name = '苏州工业园区星海实验中学'): School => ({
  id,
  name,
  district: '工业园区',
  group: '星海教育集团',
  tier: 'large',
  pupils: 3200,
  area: 'urban',
  timezone: 'Asia/Shanghai',
});

function reach(
  at: number,
  device = '录播主机 A1',
  extra: Partial<ReachabilityResult> = {},
): ReachabilityResult {
  return {
    probe: 'reachability',
    target: device,
    outcome: 'ok',
    durationMs: 3,
    at: iso(at),
    device: { name: device, address: '10.0.0.5', room: '录播室 1', roomType: 'recording', critical: true },
    check: 'icmp',
    up: true,
    rttMs: 0.4,
    ...extra,
  };
}

function bandwidth(at: number, direction: 'down' | 'up', mbps: number): BandwidthResult {
  return {
    probe: 'bandwidth',
    target: 'speedtest.example.edu.cn',
    outcome: 'ok',
    durationMs: 10_000,
    at: iso(at),
    method: 'http',
    direction,
    mbps,
    streams: 4,
    durationS: 10,
    bytes: mbps * 1.25e6 * 10,
  };
}

function finding(
  schoolId: string,
  rule: string,
  target: string,
  port: number,
  state = 'open',
): FindingRecord {
  return {
    schoolId,
    rule,
    target,
    port,
    severity: 'high',
    mlps: '8.1.4.2',
    state: state as FindingRecord['state'],
    evidence: `TCP ${port} 开放`,
    value: port,
    firstSeen: iso(T0),
    lastSeen: iso(T0),
    count: 1,
    resolvedAt: null,
    acceptedUntil: null,
    acceptedReason: null,
  };
}

/** Stored rows without `since` (kept by the store; tested on its own). */
const sinceless = (rows: readonly ComplianceRow[]) => rows.map(({ since: _since, ...r }) => r);

const row = (
  target: string,
  state: ComplianceRow['state'],
  value: number | null,
  goal: number | null,
): ComplianceRow => ({
  target,
  state,
  value,
  goal,
  reason: `${target}: ${state}（达标判定）`,
  evidenceAt: null,
  expiresAt: null,
});

function alert(
  fingerprint: string,
  schoolId: string,
  since: number,
  state: AlertRow['state'] = 'pending',
): AlertRow {
  return {
    fingerprint,
    schoolId,
    state,
    since: iso(since),
    firedAt: state === 'firing' ? iso(since) : null,
    lastNotifiedAt: null,
    resolvedAt: null,
    item: {
      fingerprint,
      rule: 'recording-room-down',
      severity: 'high',
      title: { zh: '录播室 1 离线', en: 'recording room 1 down' },
      detail: { zh: '教学时间内设备无响应', en: 'no answer in teaching hours' },
      labels: { room: '录播室 1' },
    },
  };
}

/** A school with one enrolled agent. */
async function enrolled(store: StateStore, schoolId = 'sz-xh-01'): Promise<AgentRecord> {
  await store.upsertSchool(school(schoolId));
  const { code } = await store.createEnrollCode(schoolId, 3_600_000, T0);
  const out = await store.enroll(code, { hostname: 'nas-01', version: '0.1.0' }, T0);
  if ('error' in out) throw new Error(`enrol failed: ${out.error}`);
  return out.agent;
}

let reports = 0;
/** Begins and completes a report; returns what completeIngest answered. */
async function ingest(
  store: StateStore,
  agent: AgentRecord,
  patch: Partial<CompleteIngest> & { results?: readonly ProbeResult[] } = {},
): Promise<boolean> {
  reports += 1;
  const reportId = patch.reportId ?? `r-${reports}`;
  const shiftMs = patch.shiftMs ?? 0;
  await store.beginIngest({
    reportId,
    agentId: agent.id,
    schoolId: agent.schoolId,
    shiftMs,
    finishedAt: iso(T0),
  });
  return store.completeIngest({
    reportId,
    agent,
    results: [],
    shiftMs,
    clockOffsetMs: 0,
    receivedAt: new Date(T0),
    compliance: [],
    ...patch,
  });
}

/** A device name that needs escaping in SQL text, JSON and PostgreSQL array literals. */
const WEIRD = 'cam "A", {b}\\c\'d 录播';

describe.each(BACKENDS)('StateStore contract: $name', (backend) => {
  describe.skipIf(skipping(backend.skip))(backend.skip ?? 'every method', () => {
    beforeAll(() => backend.setup());
    afterAll(() => backend.teardown());
    afterEach(() => backend.cleanupTest());

    it('names its kind', async () => {
      const { store } = await backend.fresh();
      expect(store.kind).toBe(backend.name);
    });

    it('round-trips schools (Chinese names), upserts by id and lists them in bytewise id order', async () => {
      const { store } = await backend.fresh();
      expect(await store.listSchools()).toEqual([]);
      await store.upsertSchool(school('alpha', '苏州市第一中学'));
      await store.upsertSchool(school('Zeta', '昆山市周市镇中心小学'));
      await store.upsertSchool(school('9-east', '常州市北郊高级中学'));
      await store.upsertSchool(school('alpha', '苏州市第一中学（本部）'));
      expect(await store.getSchool('alpha')).toEqual(school('alpha', '苏州市第一中学（本部）'));
      expect(await store.getSchool('nope')).toBeUndefined();
      // bytewise: digits < upper case < lower case (an en-US collation would put 'alpha' before 'Zeta')
      expect((await store.listSchools()).map((s) => s.id)).toEqual(['9-east', 'Zeta', 'alpha']);
      const minimal: School = { id: 'min', name: '学校', timezone: 'Asia/Shanghai' };
      await store.upsertSchool(minimal);
      expect(await store.getSchool('min')).toEqual(minimal);
    });

    it('creates one-time enrolment codes for known schools only', async () => {
      const { store } = await backend.fresh();
      await expect(store.createEnrollCode('nope', 1000, T0)).rejects.toBeInstanceOf(UnknownSchoolError);
      await store.upsertSchool(school('sz-01'));
      const { code, expiresAt } = await store.createEnrollCode('sz-01', 3_600_000, T0);
      const group = `[${ENROLL_CODE_ALPHABET}]{5}`;
      expect(code).toMatch(new RegExp(`^${group}-${group}-${group}$`));
      expect(expiresAt.getTime()).toBe(T0 + 3_600_000);
      const other = await store.createEnrollCode('sz-01', 3_600_000, T0);
      expect(other.code).not.toBe(code);
    });

    it('enrols with a code (trimmed, case-insensitive) once; unknown, used and expired codes fail', async () => {
      const { store } = await backend.fresh();
      await store.upsertSchool(school('sz-01'));
      const { code } = await store.createEnrollCode('sz-01', 60_000, T0);
      const out = await store.enroll(
        `  ${code.toLowerCase()}\n`,
        { hostname: '录播 NAS', version: '0.1.2' },
        T0 + 5,
      );
      if ('error' in out) throw new Error(out.error);
      expect(out.agent).toEqual({
        id: expect.stringMatching(/^ag_[A-Za-z0-9_-]{12}$/),
        schoolId: 'sz-01',
        hostname: '录播 NAS',
        version: '0.1.2',
        enrolledAt: iso(T0 + 5),
        lastSeenAt: null,
        clockOffsetMs: null,
        lastReportId: null,
        name: null,
        revokedAt: null,
        spoolDepth: null,
        spoolUnstored: null,
        spoolFailingSince: null,
      });
      expect(parseToken(out.token)?.agentId).toBe(out.agent.id);
      expect(await store.getAgent(out.agent.id)).toEqual(out.agent);
      expect(await store.enroll(code, { hostname: 'h', version: 'v' }, T0 + 6)).toEqual({ error: 'used' });
      expect(await store.enroll('AAAAA-BBBBB-CCCCC', { hostname: 'h', version: 'v' }, T0)).toEqual({
        error: 'unknown',
      });
      const late = await store.createEnrollCode('sz-01', 1000, T0);
      expect(await store.enroll(late.code, { hostname: 'h', version: 'v' }, T0 + 1001)).toEqual({
        error: 'expired',
      });
      // at its expiry instant a code is still good
      const edge = await store.createEnrollCode('sz-01', 1000, T0);
      expect('agent' in (await store.enroll(edge.code, { hostname: 'h', version: 'v' }, T0 + 1000))).toBe(
        true,
      );
      expect(await store.listAgents()).toHaveLength(2);
    });

    it('spends a code once when two stores on the same state enrol with it at once', async () => {
      const { store, another } = await backend.fresh();
      const second = await another();
      await store.upsertSchool(school('sz-01'));
      const { code } = await store.createEnrollCode('sz-01', 60_000, T0);
      const outs = await Promise.all([
        store.enroll(code, { hostname: 'a', version: '1' }, T0),
        second.enroll(code, { hostname: 'b', version: '1' }, T0),
      ]);
      expect(outs.filter((o) => 'agent' in o)).toHaveLength(1);
      expect(outs.filter((o) => 'error' in o)).toEqual([{ error: 'used' }]);
      expect(await store.listAgents('sz-01')).toHaveLength(1);
    });

    it('lists agents by id, one school or all', async () => {
      const { store } = await backend.fresh();
      const a = await enrolled(store, 'sz-01');
      const b = await enrolled(store, 'sz-02');
      const c = await enrolled(store, 'sz-01');
      const byId = (x: AgentRecord, y: AgentRecord) => (x.id < y.id ? -1 : 1);
      expect(await store.listAgents()).toEqual([a, b, c].sort(byId));
      expect(await store.listAgents('sz-01')).toEqual([a, c].sort(byId));
      expect(await store.listAgents('sz-03')).toEqual([]);
      expect(await store.getAgent('ag_nobody')).toBeUndefined();
    });

    it('counts schools and agents as listing them would', async () => {
      const { store } = await backend.fresh();
      const before = await store.counts();
      expect(before).toEqual({
        schools: (await store.listSchools()).length,
        agents: (await store.listAgents()).length,
      });
      await enrolled(store, 'sz-01');
      await enrolled(store, 'sz-02');
      await enrolled(store, 'sz-01');
      const after = await store.counts();
      expect(after).toEqual({ schools: before.schools + 2, agents: before.agents + 3 }); // enrolled adds the school
      expect(after).toEqual({
        schools: (await store.listSchools()).length,
        agents: (await store.listAgents()).length,
      });
    });

    it('authenticates a good token and nothing else', async () => {
      const { store } = await backend.fresh();
      await store.upsertSchool(school('sz-01'));
      const { code } = await store.createEnrollCode('sz-01', 60_000, T0);
      const out = await store.enroll(code, { hostname: 'h', version: 'v' }, T0);
      if ('error' in out) throw new Error(out.error);
      const { agentId, secret } = parseToken(out.token)!;
      expect(await store.authenticate(out.token)).toEqual(out.agent);
      const wrong = `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
      expect(await store.authenticate(`cw1.${agentId}.${wrong}`)).toBeUndefined();
      expect(await store.authenticate(`cw1.ag_nobody.${secret}`)).toBeUndefined();
      expect(await store.authenticate(`cw1.${agentId}.${secret}x`)).toBeUndefined();
      expect(await store.authenticate('')).toBeUndefined();
      expect(await store.authenticate(`Bearer ${out.token}`)).toBeUndefined();
    });

    it('revokes an agent: every store on the state answers its token with revokedAt, at once; the first time stays', async () => {
      const { store, another } = await backend.fresh();
      const second = await another();
      await store.upsertSchool(school('sz-01'));
      const agents = [];
      for (const host of ['a', 'b']) {
        const { code } = await store.createEnrollCode('sz-01', 60_000, T0);
        const out = await store.enroll(code, { hostname: host, version: '0.1.0' }, T0);
        if ('error' in out) throw new Error(out.error);
        agents.push(out);
      }
      const [a, b] = agents as [(typeof agents)[0], (typeof agents)[0]];
      expect((await second.authenticate(a.token))?.revokedAt).toBeNull();

      const revoked = await store.revokeAgent(a.agent.id, new Date(T0 + MIN));
      expect(revoked).toEqual({ ...a.agent, revokedAt: iso(T0 + MIN) });
      // the other store (another collector) reads it on its next authentication: no cache to wait for
      expect(await second.authenticate(a.token)).toEqual(revoked);
      expect((await second.authenticate(b.token))?.revokedAt).toBeNull();
      // revoked again: the first time stays
      expect((await second.revokeAgent(a.agent.id, new Date(T0 + 2 * MIN)))?.revokedAt).toBe(iso(T0 + MIN));
      expect(await store.revokeAgent('ag_nobody', new Date(T0))).toBeUndefined();

      // active agents by default (compliance, alerts, fleet series); the revoked one on request
      expect((await store.listAgents('sz-01')).map((x) => x.id)).toEqual([b.agent.id]);
      expect((await store.listAgents()).map((x) => x.id)).toEqual([b.agent.id]);
      expect((await store.listAgents('sz-01', { includeRevoked: true })).map((x) => x.id).sort()).toEqual(
        [a.agent.id, b.agent.id].sort(),
      );
      expect(await store.getAgent(a.agent.id)).toEqual(revoked);
      expect(await store.counts()).toEqual({ schools: 1, agents: 1 });
    });

    it('names an agent (Chinese names round-trip); null removes the name', async () => {
      const { store, another } = await backend.fresh();
      const agent = await enrolled(store);
      expect(await store.renameAgent(agent.id, '东校区机房 "A"')).toEqual({
        ...agent,
        name: '东校区机房 "A"',
      });
      expect((await (await another()).getAgent(agent.id))?.name).toBe('东校区机房 "A"');
      expect((await store.listAgents(agent.schoolId))[0]?.name).toBe('东校区机房 "A"');
      expect(await store.renameAgent(agent.id, null)).toEqual(agent);
      expect(await store.renameAgent('ag_nobody', 'x')).toBeUndefined();
    });

    it('keeps the version an agent reports (an upgrade shows); a report without one keeps it', async () => {
      const { store } = await backend.fresh();
      const agent = await enrolled(store);
      expect(agent.version).toBe('0.1.0');
      await ingest(store, agent, { agentVersion: '0.2.0' });
      expect((await store.getAgent(agent.id))?.version).toBe('0.2.0');
      await ingest(store, agent);
      expect((await store.getAgent(agent.id))?.version).toBe('0.2.0');
    });

    it('keeps the spool depth of an agent’s last report; a report without one keeps it', async () => {
      const { store } = await backend.fresh();
      const agent = await enrolled(store);
      expect(agent.spoolDepth).toBeNull();
      await ingest(store, agent, { spoolDepth: 123 });
      expect((await store.getAgent(agent.id))?.spoolDepth).toBe(123);
      await ingest(store, agent, { spoolDepth: 0 });
      expect((await store.listAgents(agent.schoolId))[0]?.spoolDepth).toBe(0);
      // a full disk at the school: said by a report, kept until a report says the spool writes again
      await ingest(store, agent, { spoolUnstored: 2, spoolFailingSince: iso(T0) });
      expect(await store.getAgent(agent.id)).toMatchObject({ spoolUnstored: 2, spoolFailingSince: iso(T0) });
      await ingest(store, agent, {});
      expect(await store.getAgent(agent.id)).toMatchObject({ spoolUnstored: 2, spoolFailingSince: iso(T0) });
      await ingest(store, agent, { spoolFailingSince: null });
      expect(await store.getAgent(agent.id)).toMatchObject({ spoolUnstored: 2, spoolFailingSince: null });
      await ingest(store, agent, { spoolDepth: 1e12 });
      expect((await store.getAgent(agent.id))?.spoolDepth).toBe(1e12);
      await ingest(store, agent);
      expect((await store.getAgent(agent.id))?.spoolDepth).toBe(1e12);
    });

    it('archives a school: it leaves the active schools and rechecks, its agents are revoked, its codes expire, its history stays', async () => {
      const { store, another } = await backend.fresh();
      const agent = await enrolled(store, 'sz-01');
      const other = await enrolled(store, 'sz-02');
      const { code: unused } = await store.createEnrollCode('sz-01', 3_600_000, T0);
      const expiring = [{ ...row('uplink', 'met', 950, 900), expiresAt: iso(T0 + MIN) }];
      await ingest(store, agent, { results: [reach(T0)], compliance: expiring });
      await ingest(store, other, { results: [reach(T0)], compliance: expiring });
      expect(await store.schoolsToRecheck(new Date(T0 + 2 * MIN), 10)).toEqual(['sz-01', 'sz-02']);

      const at = new Date(T0 + 5 * MIN);
      const out = await store.archiveSchool('sz-01', at);
      expect(out).toEqual({
        school: { ...school('sz-01'), archivedAt: iso(T0 + 5 * MIN) },
        revoked: [agent.id],
      });
      const second = await another();
      // out of the active schools (KPIs, alerts, rechecks), still there for its history
      expect((await second.listSchools()).map((s) => s.id)).toEqual(['sz-02']);
      expect((await second.listSchools({ includeArchived: true })).map((s) => [s.id, s.archivedAt])).toEqual([
        ['sz-01', iso(T0 + 5 * MIN)],
        ['sz-02', undefined],
      ]);
      expect(await second.getSchool('sz-01')).toEqual(out!.school);
      expect(await second.counts()).toEqual({ schools: 1, agents: 1 });
      expect(await second.schoolsToRecheck(new Date(T0 + 2 * MIN), 10)).toEqual(['sz-02']);
      expect(sinceless(await second.compliance('sz-01'))).toEqual(sinceless(expiring));
      expect(await second.latestResults('sz-01')).toEqual([reach(T0)]);
      expect(await second.ingestOrder(agent.id)).toHaveLength(1);
      // its agents are revoked, the other school's are not
      expect((await second.getAgent(agent.id))?.revokedAt).toBe(iso(T0 + 5 * MIN));
      expect((await second.getAgent(other.id))?.revokedAt).toBeNull();
      // no new agents: an unused code has expired, a new one is refused
      expect(await second.enroll(unused, { hostname: 'h', version: 'v' }, T0 + 6 * MIN)).toEqual({
        error: 'expired',
      });
      await expect(second.createEnrollCode('sz-01', 60_000, T0)).rejects.toBeInstanceOf(ArchivedSchoolError);
      // described again (config, school add, update): it stays archived
      await second.upsertSchool({
        ...school('sz-01', '苏州市第一中学（旧址）'),
        archivedAt: 'ignored',
      } as School);
      expect(await store.getSchool('sz-01')).toEqual({
        ...school('sz-01', '苏州市第一中学（旧址）'),
        archivedAt: iso(T0 + 5 * MIN),
      });
      // archived again: the first time stays, nothing more to revoke
      expect(await second.archiveSchool('sz-01', new Date(T0 + 9 * MIN))).toEqual({
        school: { ...school('sz-01', '苏州市第一中学（旧址）'), archivedAt: iso(T0 + 5 * MIN) },
        revoked: [],
      });
      expect(await store.archiveSchool('nope', at)).toBeUndefined();
    });

    it('an enrolment racing an archive from another store leaves no active agent at the school', async () => {
      const { store, another } = await backend.fresh();
      const second = await another();
      for (let round = 0; round < 5; round++) {
        await store.upsertSchool(school(`sz-r${round}`));
        const { code } = await store.createEnrollCode(`sz-r${round}`, 60_000);
        const [, enrolment] = await Promise.all([
          store.archiveSchool(`sz-r${round}`, new Date()),
          second.enroll(code, { hostname: 'h', version: 'v' }),
        ]);
        // either the code had expired, or the agent it made is revoked
        expect(await store.listAgents(`sz-r${round}`)).toEqual([]);
        if ('agent' in enrolment)
          expect((await store.authenticate(enrolment.token))?.revokedAt).toEqual(expect.any(String));
        else expect(enrolment).toEqual({ error: 'expired' });
      }
    });

    it('journals reports: begin twice keeps the first shift; complete applies once', async () => {
      const { store } = await backend.fresh();
      const agent = await enrolled(store);
      const base = { agentId: agent.id, schoolId: agent.schoolId, finishedAt: iso(T0) };
      expect(await store.getIngest('r1')).toBeUndefined();
      await store.beginIngest({ ...base, reportId: 'r1', shiftMs: 1500 });
      await store.beginIngest({ ...base, reportId: 'r1', shiftMs: 9999 });
      expect(await store.getIngest('r1')).toEqual({
        reportId: 'r1',
        agentId: agent.id,
        state: 'writing',
        shiftMs: 1500,
      });
      const args: CompleteIngest = {
        reportId: 'r1',
        agent,
        results: [reach(T0 + 1500)],
        shiftMs: 1500,
        clockOffsetMs: -1500.5,
        receivedAt: new Date(T0 + 2000),
        compliance: [row('uplink', 'met', 950.5, 900)],
        availability: [
          { device: '录播主机 A1', day: '2025-09-01', up: true },
          { device: '录播主机 A1', day: '2025-09-01', up: false },
        ],
      };
      expect(await store.completeIngest(args)).toBe(true);
      expect(await store.getIngest('r1')).toEqual({
        reportId: 'r1',
        agentId: agent.id,
        state: 'done',
        shiftMs: 1500,
      });
      expect(await store.getAgent(agent.id)).toEqual({
        ...agent,
        lastSeenAt: iso(T0 + 2000),
        clockOffsetMs: -1500.5,
        lastReportId: 'r1',
      });
      expect(await store.latestResults(agent.schoolId)).toEqual([reach(T0)]);
      expect(await store.availability(agent.schoolId, '2025-09-01')).toEqual({ up: 1, total: 2 });
      // a second completion (a concurrent delivery) applies nothing
      expect(await store.completeIngest({ ...args, receivedAt: new Date(T0 + 9000), clockOffsetMs: 7 })).toBe(
        false,
      );
      expect(await store.availability(agent.schoolId, '2025-09-01')).toEqual({ up: 1, total: 2 });
      expect((await store.getAgent(agent.id))?.lastSeenAt).toBe(iso(T0 + 2000));
      expect((await store.getAgent(agent.id))?.clockOffsetMs).toBe(-1500.5);
      // a report never begun completes nothing
      expect(await store.completeIngest({ ...args, reportId: 'r-unknown' })).toBe(false);
      expect(await store.availability(agent.schoolId, '2025-09-01')).toEqual({ up: 1, total: 2 });
    });

    it('journals a report not begun with its completion; a begun one keeps its row and shift', async () => {
      const { store } = await backend.fresh();
      const agent = await enrolled(store);
      const begin = {
        reportId: 'r2',
        agentId: agent.id,
        schoolId: agent.schoolId,
        shiftMs: 0,
        finishedAt: iso(T0),
      };
      const args: CompleteIngest = {
        reportId: 'r2',
        agent,
        results: [reach(T0)],
        shiftMs: 0,
        clockOffsetMs: 12,
        receivedAt: new Date(T0 + 2000),
        compliance: [],
        availability: [{ device: '录播主机 A1', day: '2025-09-01', up: true }],
        begin,
      };
      expect(await store.completeIngest(args)).toBe(true);
      expect(await store.getIngest('r2')).toEqual({
        reportId: 'r2',
        agentId: agent.id,
        state: 'done',
        shiftMs: 0,
      });
      expect(await store.ingestOrder(agent.id)).toEqual([{ reportId: 'r2', finishedAt: iso(T0) }]);
      // the same again (a second delivery): nothing applied twice
      expect(await store.completeIngest(args)).toBe(false);
      expect(await store.availability(agent.schoolId, '2025-09-01')).toEqual({ up: 1, total: 1 });
      // begun ahead with a shift: the completion's journal row changes nothing of it
      await store.beginIngest({ ...begin, reportId: 'r3', shiftMs: 40_000 });
      expect(
        await store.completeIngest({
          ...args,
          reportId: 'r3',
          shiftMs: 40_000,
          begin: { ...begin, reportId: 'r3' },
        }),
      ).toBe(true);
      expect(await store.getIngest('r3')).toEqual({
        reportId: 'r3',
        agentId: agent.id,
        state: 'done',
        shiftMs: 40_000,
      });
    });

    it('completes a report once when two stores on the same state complete it at once', async () => {
      const { store, another } = await backend.fresh();
      const second = await another();
      const agent = await enrolled(store);
      const begin = {
        reportId: 'r1',
        agentId: agent.id,
        schoolId: agent.schoolId,
        shiftMs: 0,
        finishedAt: iso(T0),
      };
      await Promise.all([store.beginIngest(begin), second.beginIngest({ ...begin, shiftMs: 5 })]);
      const args: CompleteIngest = {
        reportId: 'r1',
        agent,
        results: [reach(T0)],
        shiftMs: 0,
        clockOffsetMs: 0,
        receivedAt: new Date(T0),
        compliance: [],
        availability: [{ device: 'cam', day: '2025-09-01', up: true }],
      };
      const answers = await Promise.all([store.completeIngest(args), second.completeIngest(args)]);
      expect(answers.filter(Boolean)).toHaveLength(1);
      expect(await store.availability(agent.schoolId, '2025-09-01')).toEqual({ up: 1, total: 1 });
      expect(await second.ingestOrder(agent.id)).toEqual([{ reportId: 'r1', finishedAt: iso(T0) }]);
    });

    it('completions asked for at once are independent: a failing one rolls back alone', async () => {
      const { store } = await backend.fresh();
      const agent = await enrolled(store);
      const ids = ['g1', 'bad', 'g2'];
      await Promise.all(
        ids.map((reportId) =>
          store.beginIngest({
            reportId,
            agentId: agent.id,
            schoolId: agent.schoolId,
            shiftMs: 0,
            finishedAt: iso(T0),
          }),
        ),
      );
      const args = (reportId: string, t: number): CompleteIngest => ({
        reportId,
        agent,
        results: [reach(t)],
        shiftMs: 0,
        clockOffsetMs: 0,
        receivedAt: new Date(t),
        compliance: [row('uplink', 'met', 1, 1)],
        availability: [{ device: 'cam', day: '2025-09-01', up: true }],
      });
      // a compliance row without a state breaks a NOT NULL constraint in both stores; its result is the
      // newest, so it would show in the latest results if any of it stayed (or stayed cached)
      const broken = { ...args('bad', T0 + 5), compliance: [{ ...row('uplink', 'met', 1, 1), state: null }] };
      expect(await store.latestResults(agent.schoolId)).toEqual([]);
      const outcomes = await Promise.allSettled([
        store.completeIngest(args('g1', T0)),
        store.completeIngest(broken as unknown as CompleteIngest),
        store.completeIngest(args('g2', T0 + 2)),
      ]);
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(await store.latestResults(agent.schoolId)).toEqual([{ ...reach(T0 + 2) }]);
      expect((await store.getIngest('bad'))?.state).toBe('writing');
      expect((await store.getIngest('g1'))?.state).toBe('done');
      expect((await store.getIngest('g2'))?.state).toBe('done');
      expect(await store.availability(agent.schoolId, '2025-09-01')).toEqual({ up: 2, total: 2 });
      expect(await store.ingestOrder(agent.id)).toEqual([
        { reportId: 'g1', finishedAt: iso(T0) },
        { reportId: 'g2', finishedAt: iso(T0) },
      ]);
    });

    it('orders done reports by when they were begun', async () => {
      const { store } = await backend.fresh();
      const agent = await enrolled(store);
      const other = await enrolled(store, 'sz-02');
      const begin = (reportId: string, finishedAt: number, a = agent) =>
        store.beginIngest({
          reportId,
          agentId: a.id,
          schoolId: a.schoolId,
          shiftMs: 0,
          finishedAt: iso(finishedAt),
        });
      const complete = (reportId: string, a = agent) =>
        store.completeIngest({
          reportId,
          agent: a,
          results: [],
          shiftMs: 0,
          clockOffsetMs: 0,
          receivedAt: new Date(T0),
          compliance: [],
        });
      await begin('r-b', T0 + 2 * MIN);
      await begin('r-a', T0 + MIN);
      await begin('r-c', T0 + 3 * MIN);
      await begin('r-x', T0, other);
      await begin('r-open', T0 + 4 * MIN);
      expect(await complete('r-c')).toBe(true);
      expect(await complete('r-a')).toBe(true);
      expect(await complete('r-b')).toBe(true);
      expect(await complete('r-x', other)).toBe(true);
      expect(await store.ingestOrder(agent.id)).toEqual([
        { reportId: 'r-b', finishedAt: iso(T0 + 2 * MIN) },
        { reportId: 'r-a', finishedAt: iso(T0 + MIN) },
        { reportId: 'r-c', finishedAt: iso(T0 + 3 * MIN) },
      ]);
      expect(await store.ingestOrder('ag_nobody')).toEqual([]);
    });

    it('prunes the journal as a prefix in journal order, received before a time, at most `limit` rows', async () => {
      const { store } = await backend.fresh();
      const agent = await enrolled(store);
      const DAY = 86_400_000;
      // begun in this order; received (completed) at these days after T0
      const received = { 'r-1': 0, 'r-2': 1, 'r-3': 2, 'r-late': 9, 'r-4': 3 } as const;
      for (const [reportId, day] of Object.entries(received))
        expect(await ingest(store, agent, { reportId, receivedAt: new Date(T0 + day * DAY) })).toBe(true);
      const order = async () => (await store.ingestOrder(agent.id)).map((r) => r.reportId);

      expect(await store.pruneIngests(new Date(T0), 10)).toBe(0); // received at T0 is not before T0
      expect(await store.pruneIngests(new Date(T0 + DAY + 1), 10)).toBe(2);
      expect(await order()).toEqual(['r-3', 'r-late', 'r-4']);
      expect(await store.getIngest('r-1')).toBeUndefined();
      // at most `limit`
      expect(await store.pruneIngests(new Date(T0 + 5 * DAY), 1)).toBe(1);
      expect(await order()).toEqual(['r-late', 'r-4']);
      // a row received later stops the prefix: r-4 waits for r-late
      expect(await store.pruneIngests(new Date(T0 + 5 * DAY), 10)).toBe(0);
      expect(await store.pruneIngests(new Date(T0 + 10 * DAY), 10)).toBe(2);
      expect(await order()).toEqual([]);
      expect(await store.pruneIngests(new Date(T0 + 10 * DAY), 10)).toBe(0);
    });

    it('keeps the newer result per key (shifted by the report’s shift), ordered by key', async () => {
      const { store } = await backend.fresh();
      const agent = await enrolled(store);
      const other = await enrolled(store, 'sz-02');
      expect(await store.latestResults(agent.schoolId)).toEqual([]);
      // key order: 'bandwidth|down' < 'reachability|Cam|…' < 'reachability|cam|…' (bytewise)
      await ingest(store, agent, {
        shiftMs: 60_000,
        results: [
          reach(T0 + 11 * MIN, 'cam'),
          reach(T0 + 11 * MIN, 'Cam'),
          bandwidth(T0 + 11 * MIN, 'down', 900),
        ],
      });
      await ingest(store, agent, {
        results: [
          reach(T0 + 5 * MIN, 'cam', { up: false }), // older than the stored one: ignored
          reach(T0 + 12 * MIN, 'Cam', { rttMs: 1 }), // newer: replaces
          reach(T0 + 10 * MIN, 'Cam', { rttMs: 2 }), // older than the one before it in this report
          bandwidth(T0 + 10 * MIN, 'down', 100), // same time as the stored one (shifted): the later wins
        ],
      });
      await ingest(store, other, { results: [reach(T0, WEIRD)] });
      expect(await store.latestResults(agent.schoolId)).toEqual([
        bandwidth(T0 + 10 * MIN, 'down', 100),
        reach(T0 + 12 * MIN, 'Cam', { rttMs: 1 }),
        reach(T0 + 10 * MIN, 'cam'),
      ]);
      // several results of one key in one report: the last of the newest
      await ingest(store, other, {
        results: [
          reach(T0 + MIN, WEIRD, { rttMs: 5 }),
          reach(T0 + MIN, WEIRD, { rttMs: 6 }),
          reach(T0 + MIN - 1, WEIRD, { rttMs: 7 }),
        ],
      });
      expect(await store.latestResults(other.schoolId)).toEqual([reach(T0 + MIN, WEIRD, { rttMs: 6 })]);
    });

    it('keeps speed-test history newest first, trimmed per key to HISTORY_DEPTH', async () => {
      const { store } = await backend.fresh();
      const agent = await enrolled(store);
      const downs = Array.from({ length: HISTORY_DEPTH + 5 }, (_, i) =>
        bandwidth(T0 + i * MIN, 'down', 100 + i),
      );
      const ups = [0, 1, 2].map((i) => bandwidth(T0 + i * MIN + 30_000, 'up', 50 + i));
      await ingest(store, agent, { results: [...downs, ...ups, reach(T0)], shiftMs: 1000 });
      const shifted = (r: BandwidthResult) => ({ ...r, at: iso(Date.parse(r.at) - 1000) });
      const expected = [...downs.slice(5), ...ups].map(shifted).sort((a, b) => (a.at < b.at ? 1 : -1));
      expect(await store.history(agent.schoolId, 'bandwidth')).toEqual(expected);
      expect(await store.history(agent.schoolId, 'reachability')).toEqual([]);
      expect(await store.history('sz-other', 'bandwidth')).toEqual([]);
      // one more: the oldest 'down' goes, 'up' keeps its three
      const newest = bandwidth(T0 + 500 * MIN, 'down', 999);
      await ingest(store, agent, { results: [newest] });
      const after = await store.history(agent.schoolId, 'bandwidth');
      expect(after[0]).toEqual(newest);
      expect(after.filter((r) => r.probe === 'bandwidth' && r.direction === 'down')).toHaveLength(
        HISTORY_DEPTH,
      );
      expect(after.filter((r) => r.probe === 'bandwidth' && r.direction === 'up')).toHaveLength(3);
      expect(after).not.toContainEqual(shifted(downs[5]!));
      expect(after).toContainEqual(shifted(downs[6]!));
    });

    it('sums availability samples since a local day (inclusive), per school', async () => {
      const { store } = await backend.fresh();
      const agent = await enrolled(store);
      const other = await enrolled(store, 'sz-02');
      await ingest(store, agent, {
        availability: [
          { device: 'cam-1', day: '2025-09-01', up: true },
          { device: 'cam-1', day: '2025-09-01', up: true },
          { device: 'cam-2', day: '2025-09-01', up: false },
          { device: 'cam-1', day: '2025-09-02', up: true },
        ],
      });
      await ingest(store, agent, {
        availability: [
          { device: 'cam-1', day: '2025-09-02', up: false },
          { device: 'cam-2', day: '2025-09-03', up: true },
        ],
      });
      await ingest(store, other, { availability: [{ device: 'cam-1', day: '2025-09-02', up: true }] });
      expect(await store.availability(agent.schoolId, '2025-08-31')).toEqual({ up: 4, total: 6 });
      expect(await store.availability(agent.schoolId, '2025-09-02')).toEqual({ up: 2, total: 3 });
      expect(await store.availability(agent.schoolId, '2025-09-03')).toEqual({ up: 1, total: 1 });
      expect(await store.availability(agent.schoolId, '2025-09-04')).toEqual({ up: 0, total: 0 });
      expect(await store.availability('sz-none', '2025-01-01')).toEqual({ up: 0, total: 0 });
    });

    it('sums availability samples per device since a local day; days before the window are forgotten', async () => {
      const { store } = await backend.fresh();
      const agent = await enrolled(store);
      const other = await enrolled(store, 'sz-02');
      await ingest(store, agent, {
        availability: [
          { device: 'cam-1', day: '2025-09-01', up: true },
          { device: WEIRD, day: '2025-09-01', up: false },
          { device: 'cam-1', day: '2025-09-02', up: false },
          { device: WEIRD, day: '2025-09-02', up: true },
        ],
        availabilitySinceDay: '2025-08-20',
      });
      await ingest(store, other, {
        availability: [{ device: 'cam-1', day: '2025-09-02', up: true }],
        availabilitySinceDay: '2025-08-20',
      });
      expect(await store.deviceAvailability(agent.schoolId, '2025-08-31')).toEqual([
        { device: WEIRD, up: 1, total: 2 },
        { device: 'cam-1', up: 1, total: 2 },
      ]);
      expect(await store.deviceAvailability(agent.schoolId, '2025-09-02')).toEqual([
        { device: WEIRD, up: 1, total: 1 },
        { device: 'cam-1', up: 0, total: 1 },
      ]);
      // the window moved on: 1 September is forgotten, a late sample of it is not kept
      await ingest(store, agent, {
        availability: [
          { device: 'cam-1', day: '2025-09-03', up: true },
          { device: 'cam-1', day: '2025-09-01', up: true },
        ],
        availabilitySinceDay: '2025-09-02',
      });
      expect(await store.deviceAvailability(agent.schoolId, '2025-08-01')).toEqual([
        { device: WEIRD, up: 1, total: 1 },
        { device: 'cam-1', up: 1, total: 2 },
      ]);
      // the school's daily sums are all kept
      expect(await store.availability(agent.schoolId, '2025-08-01')).toEqual({ up: 4, total: 6 });
      expect(await store.deviceAvailability(other.schoolId, '2025-08-01')).toEqual([
        { device: 'cam-1', up: 1, total: 1 },
      ]);
      expect(await store.deviceAvailability('sz-none', '2025-01-01')).toEqual([]);
    });

    it('opens a room down once (keeping since, updating detail) and closes it when up', async () => {
      const { store } = await backend.fresh();
      const agent = await enrolled(store);
      expect(await store.roomsDown(agent.schoolId)).toEqual([]);
      await ingest(store, agent, {
        rooms: [
          { room: '录播室 2', roomType: 'recording', up: false, at: iso(T0 + MIN), detail: 'cam-2 down' },
          { room: '录播室 1', roomType: 'recording', up: false, at: iso(T0), detail: 'cam-1 down' },
          { room: '智慧教室', roomType: 'smart', up: true, at: iso(T0), detail: '' },
        ],
      });
      expect(await store.roomsDown(agent.schoolId)).toEqual([
        { room: '录播室 1', roomType: 'recording', since: iso(T0), detail: 'cam-1 down' },
        { room: '录播室 2', roomType: 'recording', since: iso(T0 + MIN), detail: 'cam-2 down' },
      ]);
      await ingest(store, agent, {
        rooms: [
          { room: '录播室 1', roomType: 'recording', up: true, at: iso(T0 + 2 * MIN), detail: '' },
          {
            room: '录播室 2',
            roomType: 'recording',
            up: false,
            at: iso(T0 + 2 * MIN),
            detail: 'cam-2, mic down',
          },
        ],
      });
      expect(await store.roomsDown(agent.schoolId)).toEqual([
        { room: '录播室 2', roomType: 'recording', since: iso(T0 + MIN), detail: 'cam-2, mic down' },
      ]);
      expect(await store.roomsDown('sz-none')).toEqual([]);
    });

    it('upserts findings and orders them by (school,) rule, target, port', async () => {
      const { store } = await backend.fresh();
      const agent = await enrolled(store, 'sz-b');
      const other = await enrolled(store, 'sz-a');
      await ingest(store, agent, {
        findings: [
          finding('sz-b', 'tls-expired', 'web', 443),
          finding('sz-b', 'high-risk-port', 'nas', 445),
          finding('sz-b', 'high-risk-port', 'nas', 80),
          finding('sz-b', 'high-risk-port', 'NAS', 3389),
        ],
      });
      await ingest(store, other, { findings: [finding('sz-a', 'cleartext-telnet', '录播主机', 23)] });
      await ingest(store, agent, { findings: [finding('sz-b', 'tls-expired', 'web', 443, 'resolved')] });
      const mine = await store.findings('sz-b');
      expect(mine.map((f) => [f.rule, f.target, f.port, f.state])).toEqual([
        ['high-risk-port', 'NAS', 3389, 'open'],
        ['high-risk-port', 'nas', 80, 'open'],
        ['high-risk-port', 'nas', 445, 'open'],
        ['tls-expired', 'web', 443, 'resolved'],
      ]);
      expect(mine[0]).toEqual(finding('sz-b', 'high-risk-port', 'NAS', 3389));
      expect((await store.findings()).map((f) => f.schoolId)).toEqual([
        'sz-a',
        'sz-b',
        'sz-b',
        'sz-b',
        'sz-b',
      ]);
      expect(await store.findings('sz-none')).toEqual([]);
    });

    it('keeps compliance rows in the order their targets were first stored; replace upserts', async () => {
      const { store } = await backend.fresh();
      const agent = await enrolled(store);
      await ingest(store, agent, {
        compliance: [row('uplink', 'met', 950.25, 900), row('ipv6', 'not_met', 7, 9)],
      });
      expect(sinceless(await store.compliance(agent.schoolId))).toEqual([
        row('uplink', 'met', 950.25, 900),
        row('ipv6', 'not_met', 7, 9),
      ]);
      await store.replaceCompliance(agent.schoolId, [
        row('ipv6', 'met', 9.5, 9),
        row('backbone', 'no_data', null, null),
        row('uplink', 'not_met', 120, 900),
      ]);
      expect(sinceless(await store.compliance(agent.schoolId))).toEqual([
        row('uplink', 'not_met', 120, 900),
        row('ipv6', 'met', 9.5, 9),
        row('backbone', 'no_data', null, null),
      ]);
      await store.replaceCompliance('sz-other', [row('aaa-first', 'met', 1, 1)], iso(T0));
      expect(sinceless(await store.compliance('sz-other'))).toEqual([row('aaa-first', 'met', 1, 1)]);
      expect(sinceless(await store.compliance(agent.schoolId))).toHaveLength(3);
      expect(sinceless(await store.compliance('sz-none'))).toEqual([]);
      // new targets in one call keep the call's order; a target named twice: first place, last values
      await store.replaceCompliance('sz-new', [
        row('zeta', 'met', 1, 1),
        row('alpha', 'not_met', 2, 3),
        row('zeta', 'not_met', 0, 1),
      ]);
      expect(sinceless(await store.compliance('sz-new'))).toEqual([
        row('zeta', 'not_met', 0, 1),
        row('alpha', 'not_met', 2, 3),
      ]);
      // rows whose evidence ages out are found for a recheck, by time
      await store.replaceCompliance(
        'sz-due',
        [{ ...row('x', 'met', 1, 1), evidenceAt: iso(T0), expiresAt: iso(T0 + MIN) }],
        iso(T0),
      );
      expect(await store.schoolsToRecheck(new Date(T0 + MIN - 1), 10)).toEqual([]);
      expect(await store.schoolsToRecheck(new Date(T0 + MIN), 10)).toEqual(['sz-due']);
      expect(sinceless(await store.compliance('sz-due'))).toEqual([
        { ...row('x', 'met', 1, 1), evidenceAt: iso(T0), expiresAt: iso(T0 + MIN) },
      ]);
      // rooms whose devices answered are remembered (建有), also in Chinese, once each
      await ingest(store, agent, {
        answeredRooms: ['recording|录播室 1', 'smart|智慧教室 301', 'recording|录播室 1'],
      });
      expect([...(await store.answeredRooms(agent.schoolId))].sort()).toEqual([
        'recording|录播室 1',
        'smart|智慧教室 301',
      ]);
      expect(await store.answeredRooms('sz-none')).toEqual(new Set());
    });

    it('answers every school’s state per target in target order', async () => {
      const { store } = await backend.fresh();
      expect(await store.complianceStates(['uplink'])).toEqual(new Map());
      await store.replaceCompliance('sz-1', [
        row('uplink', 'not_met', 1, 2),
        row('ipv6', 'met', 9, 9),
        row('retired-target', 'met', 1, 1),
      ]);
      await store.replaceCompliance('sz-2', [row('retired-target', 'not_met', 0, 1)]);
      await store.replaceCompliance('sz-3', [
        row('recording', 'met', 1, 1),
        row('uplink', 'no_data', null, 900),
      ]);
      const states = await store.complianceStates(['ipv6', 'uplink', 'recording']);
      expect(states).toEqual(
        new Map([
          ['sz-1', ['met', 'not_met', 'no_data']],
          ['sz-3', ['no_data', 'no_data', 'met']],
        ]),
      );
    });

    it('answers no schools when asked for no targets', async () => {
      const { store } = await backend.fresh();
      await store.replaceCompliance('sz-1', [row('uplink', 'met', 1, 1)]);
      expect(await store.complianceStates([])).toEqual(new Map());
    });

    it('saves alerts (upsert and delete at once), lists them by since and marks them notified', async () => {
      const { store } = await backend.fresh();
      expect(await store.alerts()).toEqual([]);
      const a = alert('fp-a', 'sz-1', T0 + 2 * MIN);
      const b = alert('fp-b', 'sz-1', T0);
      const c = alert('fp-c', 'sz-2', T0 + MIN, 'firing');
      await store.saveAlerts([a, b, c], []);
      expect(await store.alerts()).toEqual([b, c, a]);
      const aFiring: AlertRow = { ...a, state: 'firing', firedAt: iso(T0 + 3 * MIN) };
      const cResolved: AlertRow = { ...c, state: 'resolved', resolvedAt: iso(T0 + 3 * MIN) };
      await store.saveAlerts([aFiring, cResolved], ['fp-b', 'fp-unknown']);
      expect(await store.alerts()).toEqual([cResolved, aFiring]);
      await store.markNotified(['fp-a', 'fp-c', 'fp-unknown'], iso(T0 + 4 * MIN));
      expect(await store.alerts()).toEqual([
        { ...cResolved, lastNotifiedAt: iso(T0 + 4 * MIN) },
        { ...aFiring, lastNotifiedAt: iso(T0 + 4 * MIN) },
      ]);
      await store.markNotified([], iso(T0 + 5 * MIN));
      await store.saveAlerts([], []);
      expect((await store.alerts()).map((r) => r.lastNotifiedAt)).toEqual([
        iso(T0 + 4 * MIN),
        iso(T0 + 4 * MIN),
      ]);
    });

    it('claims a school’s digest once per day, also from two stores at once', async () => {
      const { store, another } = await backend.fresh();
      expect(await store.claimDigest('sz-1', '2025-09-01')).toBe(true);
      expect(await store.claimDigest('sz-1', '2025-09-01')).toBe(false);
      expect(await store.claimDigest('sz-2', '2025-09-01')).toBe(true);
      const second = await another();
      const both = await Promise.all([
        store.claimDigest('sz-1', '2025-09-02'),
        second.claimDigest('sz-1', '2025-09-02'),
      ]);
      expect(both.filter(Boolean)).toHaveLength(1);
      expect(await second.claimDigest('sz-1', '2025-09-02')).toBe(false);
    });

    it('adds, lists (all or active) and expires silences', async () => {
      const { store } = await backend.fresh();
      expect(await store.silences()).toEqual([]);
      const s1 = await store.addSilence({
        schoolId: 'sz-1',
        rule: 'recording-room-down',
        fingerprint: null,
        startsAt: iso(T0),
        endsAt: iso(T0 + 60 * MIN),
        reason: '录播室装修',
        createdBy: '张老师',
      });
      const s2 = await store.addSilence({
        schoolId: null,
        rule: null,
        fingerprint: 'fp-a',
        startsAt: iso(T0 + 120 * MIN),
        endsAt: iso(T0 + 180 * MIN),
        reason: 'maintenance window',
        createdBy: 'ops',
      });
      expect(Number.isSafeInteger(s1.id)).toBe(true);
      expect(s2.id).toBeGreaterThan(s1.id);
      expect(await store.silences()).toEqual([s1, s2]);
      expect(await store.silences(new Date(T0 - 1))).toEqual([]);
      expect(await store.silences(new Date(T0))).toEqual([s1]);
      expect(await store.silences(new Date(T0 + 60 * MIN))).toEqual([]); // endsAt is exclusive
      expect(await store.silences(new Date(T0 + 150 * MIN))).toEqual([s2]);
      expect(await store.expireSilence(s1.id, new Date(T0 + 30 * MIN))).toBe(true);
      expect(await store.silences(new Date(T0 + 30 * MIN))).toEqual([]);
      expect(await store.silences()).toEqual([{ ...s1, endsAt: iso(T0 + 30 * MIN) }, s2]);
      expect(await store.expireSilence(s1.id, new Date(T0 + 40 * MIN))).toBe(false);
      expect(await store.expireSilence(s2.id + 100, new Date(T0))).toBe(false);
    });

    it('adds, lists (all, one school’s, not ended by a time) and ends maintenance windows', async () => {
      const { store, another } = await backend.fresh();
      await store.upsertSchool(school('sz-1'));
      await store.upsertSchool(school('sz-2'));
      expect(await store.maintenanceWindows()).toEqual([]);
      const once = await store.addMaintenance({
        schoolId: 'sz-1',
        room: '录播室 1',
        device: WEIRD,
        reason: '更换录播主机',
        startsAt: iso(T0),
        endsAt: iso(T0 + 60 * MIN),
        createdBy: '张老师',
        createdAt: iso(T0 - MIN),
      });
      const weekly = await store.addMaintenance({
        schoolId: 'sz-2',
        reason: 'weekly reboot',
        startsAt: iso(T0),
        endsAt: null,
        weekly: { days: ['sat', 'sun'], start: '23:00', end: '01:00' },
        createdBy: 'ops',
        createdAt: iso(T0),
      });
      const later = await store.addMaintenance({
        schoolId: 'sz-1',
        reason: '全校停电检修',
        startsAt: iso(T0 + 120 * MIN),
        endsAt: iso(T0 + 180 * MIN),
        createdBy: 'ops',
        createdAt: iso(T0),
      });
      expect(Number.isSafeInteger(once.id)).toBe(true);
      expect(weekly.id).toBeGreaterThan(once.id);
      // absent scope and recurrence stay absent (not null); Chinese and odd text round-trip
      expect(await (await another()).maintenanceWindows()).toStrictEqual([once, weekly, later]);
      expect(await store.maintenanceWindows({ schoolId: 'sz-1' })).toEqual([once, later]);
      expect(await store.maintenanceWindows({ endingAfter: new Date(T0 + 60 * MIN) })).toEqual([
        weekly,
        later,
      ]);
      expect(
        await store.maintenanceWindows({ schoolId: 'sz-1', endingAfter: new Date(T0 + 59 * MIN) }),
      ).toEqual([once, later]);
      // ending a running window: it ends now; one to come is called off (never runs)
      expect(await store.endMaintenance(once.id, new Date(T0 + 30 * MIN))).toBe(true);
      expect(await store.endMaintenance(once.id, new Date(T0 + 40 * MIN))).toBe(false);
      expect(await store.endMaintenance(later.id, new Date(T0 + 40 * MIN))).toBe(true);
      expect(await store.endMaintenance(weekly.id + 100, new Date(T0))).toBe(false);
      expect(await store.maintenanceWindows({ schoolId: 'sz-1' })).toEqual([
        { ...once, endsAt: iso(T0 + 30 * MIN) },
        { ...later, startsAt: iso(T0 + 40 * MIN), endsAt: iso(T0 + 40 * MIN) },
      ]);
      expect(await store.maintenanceWindows({ endingAfter: new Date(T0 + 40 * MIN) })).toEqual([weekly]);
      expect(await store.endMaintenance(weekly.id, new Date(T0 + 50 * MIN))).toBe(true);
      expect(await store.maintenanceWindows({ endingAfter: new Date(T0 + 50 * MIN) })).toEqual([]);
      // a window belongs to a registered school
      await expect(
        store.addMaintenance({ ...later, schoolId: 'nope', createdAt: iso(T0) }),
      ).rejects.toThrow();
    });
  });
});

describe('SqliteStateStore', () => {
  const sqlite = BACKENDS.find((b) => b.name === 'sqlite')!;
  afterEach(() => sqlite.cleanupTest());
  afterAll(() => sqlite.teardown());

  it('migrates availability kept per device and day (its first schema) to sums per day', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'campuswatch-state-'));
    try {
      const old = new Database(join(dir, 'state.sqlite'));
      old.exec(`CREATE TABLE availability (
        school_id TEXT NOT NULL, device TEXT NOT NULL, day TEXT NOT NULL,
        up INTEGER NOT NULL, total INTEGER NOT NULL, PRIMARY KEY (school_id, device, day))`);
      const put = old.prepare('INSERT INTO availability VALUES (?, ?, ?, ?, ?)');
      put.run('sz-xh-01', 'cam-1', '2025-09-01', 3, 4);
      put.run('sz-xh-01', WEIRD, '2025-09-01', 5, 5);
      put.run('sz-xh-01', 'cam-1', '2025-09-02', 0, 2);
      put.run('sz-02', 'cam-1', '2025-09-02', 1, 1);
      old.close();
      for (let open = 0; open < 2; open++) {
        const store = new SqliteStateStore(dir);
        expect(await store.availability('sz-xh-01', '2025-09-01')).toEqual({ up: 8, total: 11 });
        expect(await store.availability('sz-xh-01', '2025-09-02')).toEqual({ up: 0, total: 2 });
        expect(await store.availability('sz-02', '2025-01-01')).toEqual({ up: 1, total: 1 });
        expect(store.db.prepare("SELECT name FROM sqlite_master WHERE name = 'availability'").get()).toBe(
          undefined,
        );
        await store.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('migrates a state file without lifecycle columns: schools active, agents unnamed and active', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'campuswatch-state-'));
    try {
      const old = new Database(join(dir, 'state.sqlite'));
      old.exec(`
        CREATE TABLE schools (id TEXT PRIMARY KEY, json TEXT NOT NULL, created_at TEXT NOT NULL);
        CREATE TABLE agents (
          id TEXT PRIMARY KEY, school_id TEXT NOT NULL REFERENCES schools(id), token_hash BLOB NOT NULL,
          hostname TEXT NOT NULL, version TEXT NOT NULL, enrolled_at TEXT NOT NULL,
          last_seen_at TEXT, clock_offset_ms REAL, last_report_id TEXT);`);
      old
        .prepare('INSERT INTO schools VALUES (?, ?, ?)')
        .run('sz-01', JSON.stringify(school('sz-01')), iso(T0));
      old
        .prepare(
          'INSERT INTO agents (id, school_id, token_hash, hostname, version, enrolled_at) VALUES (?, ?, ?, ?, ?, ?)',
        )
        .run('ag_old', 'sz-01', Buffer.alloc(32), '录播 NAS', '0.1.0', iso(T0));
      old.close();
      const store = new SqliteStateStore(dir);
      expect(await store.listSchools()).toEqual([school('sz-01')]);
      expect(await store.listAgents('sz-01')).toMatchObject([
        { id: 'ag_old', name: null, revokedAt: null, spoolDepth: null },
      ]);
      await store.archiveSchool('sz-01', new Date(T0 + MIN));
      await store.close();
      // opened again (the migration is idempotent): what was archived stays
      const again = new SqliteStateStore(dir);
      expect(await again.listSchools()).toEqual([]);
      expect((await again.getAgent('ag_old'))?.revokedAt).toBe(iso(T0 + MIN));
      await again.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('rewrites only the compliance rows that changed (updated_at: when a row last changed)', async () => {
    const { store } = await sqlite.fresh();
    const db = (store as SqliteStateStore).db;
    const updatedAt = () =>
      Object.fromEntries(
        (
          db.prepare("SELECT target, updated_at AS at FROM compliance WHERE school_id = 'sz-1'").all() as {
            target: string;
            at: string;
          }[]
        ).map((r) => [r.target, r.at]),
      );
    const changes = () => (db.prepare('SELECT total_changes() AS n').get() as { n: number }).n;
    const rows = [
      row('uplink', 'met', 950.25, 900),
      row('ipv6', 'no_data', null, 9),
      row('备份', 'met', 1, 1),
    ];
    await store.replaceCompliance('sz-1', rows, iso(T0));
    const before = changes();
    await store.replaceCompliance('sz-1', rows, iso(T0 + MIN));
    expect(changes()).toBe(before); // nothing written
    // a changed value, reason, state or goal rewrites that row alone; null stays equal to null
    await store.replaceCompliance(
      'sz-1',
      [row('uplink', 'met', 950.5, 900), rows[1]!, { ...rows[2]!, reason: '另一个原因' }],
      iso(T0 + 2 * MIN),
    );
    expect(changes()).toBe(before + 2);
    expect(updatedAt()).toEqual({ uplink: iso(T0 + 2 * MIN), ipv6: iso(T0), 备份: iso(T0 + 2 * MIN) });
    await store.replaceCompliance('sz-1', [row('ipv6', 'not_met', null, 9)], iso(T0 + 3 * MIN));
    await store.replaceCompliance('sz-1', [row('ipv6', 'not_met', null, 10)], iso(T0 + 4 * MIN));
    expect(updatedAt().ipv6).toBe(iso(T0 + 4 * MIN));
    // since: when the state last changed (ipv6 went no_data → not_met at T0 + 3 min; the goal change kept it)
    expect(await store.compliance('sz-1')).toEqual([
      { ...row('uplink', 'met', 950.5, 900), since: iso(T0) },
      { ...row('ipv6', 'not_met', null, 10), since: iso(T0 + 3 * MIN) },
      { ...rows[2]!, reason: '另一个原因', since: iso(T0) },
    ]);
    // evidence times are stored and read back; a row whose evidence aged is due for a recheck
    await store.replaceCompliance(
      'sz-1',
      [{ ...row('uplink', 'met', 950.5, 900), evidenceAt: iso(T0), expiresAt: iso(T0 + 10 * MIN) }],
      iso(T0 + 5 * MIN),
    );
    expect((await store.compliance('sz-1'))[0]).toMatchObject({
      evidenceAt: iso(T0),
      expiresAt: iso(T0 + 10 * MIN),
      since: iso(T0),
    });
    expect(await store.schoolsToRecheck(new Date(T0 + 10 * MIN - 1), 10)).toEqual([]);
    expect(await store.schoolsToRecheck(new Date(T0 + 10 * MIN), 10)).toEqual(['sz-1']);
  });

  it('leads alerts always (one collector per embedded store)', async () => {
    const { store, another } = await sqlite.fresh();
    expect(await store.alertLeadership()).toBe(true);
    expect(await (await another()).alertLeadership()).toBe(true);
    expect(await store.alertLeadership()).toBe(true);
  });
});

// ---- PostgreSQL only: several collectors on one database ------------------------------------------
const pgSkip = postgresAvailable();

describe.skipIf(skipping(pgSkip))(pgSkip ?? 'PgStateStore with several collectors', () => {
  const backend = BACKENDS.find((b) => b.name === 'postgres')!;
  beforeAll(() => backend.setup());
  afterAll(() => backend.teardown());
  afterEach(() => backend.cleanupTest());

  /** An admin connection to the server's `postgres` database, ended after fn. */
  async function admin<R>(fn: (c: Client) => Promise<R>): Promise<R> {
    const client = new Client({ connectionString: server!.url });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  }

  /** The backend pid holding the leader lock in a database, if any. */
  function leaderPid(database: string): Promise<number | undefined> {
    return admin(async (c) => {
      const { rows } = await c.query<{ pid: number }>(
        `SELECT l.pid FROM pg_locks l JOIN pg_database d ON d.oid = l.database
         WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 AND d.datname = $1
           AND ((l.classid::bigint << 32) | l.objid::bigint) = $2::bigint`,
        [database, LEADER_LOCK_KEY],
      );
      return rows[0]?.pid;
    });
  }

  function capture(): { log: pino.Logger; lines: () => { level: number; msg: string }[] } {
    const out: string[] = [];
    const log = pino({ level: 'info' }, { write: (s: string) => void out.push(s) });
    return { log, lines: () => out.map((s) => JSON.parse(s) as { level: number; msg: string }) };
  }

  it('migrates availability kept per device and day (its first schema) to sums per day', async () => {
    const url = await freshDatabase();
    const old = new Client({ connectionString: url });
    await old.connect();
    try {
      await old.query(`CREATE TABLE availability (
        school_id text NOT NULL, device text NOT NULL, day text NOT NULL,
        up integer NOT NULL, total integer NOT NULL, PRIMARY KEY (school_id, device, day))`);
      await old.query(`INSERT INTO availability VALUES
        ('sz-xh-01', 'cam-1', '2025-09-01', 3, 4), ('sz-xh-01', 'cam-2', '2025-09-01', 5, 5),
        ('sz-xh-01', 'cam-1', '2025-09-02', 0, 2), ('sz-02', 'cam-1', '2025-09-02', 1, 1)`);
    } finally {
      await old.end();
    }
    const [a, b] = await Promise.all([openPg(url), openPg(url)]);
    for (const store of [a!, b!]) {
      expect(await store.availability('sz-xh-01', '2025-09-01')).toEqual({ up: 8, total: 11 });
      expect(await store.availability('sz-xh-01', '2025-09-02')).toEqual({ up: 0, total: 2 });
      expect(await store.availability('sz-02', '2025-01-01')).toEqual({ up: 1, total: 1 });
    }
  });

  it('migrates a schema without lifecycle columns: schools active, agents unnamed and active', async () => {
    const url = await freshDatabase();
    const old = new Client({ connectionString: url });
    await old.connect();
    try {
      await old.query(`
        CREATE TABLE schools (id text PRIMARY KEY, json text NOT NULL, created_at text NOT NULL);
        CREATE TABLE agents (
          id text PRIMARY KEY, school_id text NOT NULL REFERENCES schools(id), token_hash bytea NOT NULL,
          hostname text NOT NULL, version text NOT NULL, enrolled_at text NOT NULL,
          last_seen_at text, clock_offset_ms double precision, last_report_id text)`);
      await old.query('INSERT INTO schools VALUES ($1, $2, $3)', [
        'sz-01',
        JSON.stringify(school('sz-01')),
        iso(T0),
      ]);
      await old.query(
        'INSERT INTO agents (id, school_id, token_hash, hostname, version, enrolled_at) VALUES ($1, $2, $3, $4, $5, $6)',
        ['ag_old', 'sz-01', Buffer.alloc(32), '录播 NAS', '0.1.0', iso(T0)],
      );
    } finally {
      await old.end();
    }
    const [a, b] = await Promise.all([openPg(url), openPg(url)]);
    expect(await a!.listSchools()).toEqual([school('sz-01')]);
    expect(await b!.listAgents('sz-01')).toMatchObject([
      { id: 'ag_old', name: null, revokedAt: null, spoolDepth: null },
    ]);
    await a!.archiveSchool('sz-01', new Date(T0 + MIN));
    expect(await b!.listSchools()).toEqual([]);
    expect((await b!.getAgent('ag_old'))?.revokedAt).toBe(iso(T0 + MIN));
  });

  it('creates the schema once when several collectors start at once', async () => {
    const url = await freshDatabase();
    // allSettled: every store that opened is closed after the test, also when another failed
    const opened = await Promise.allSettled([openPg(url), openPg(url), openPg(url), openPg(url)]);
    expect(opened.map((o) => (o.status === 'rejected' ? String(o.reason) : 'opened'))).toEqual(
      Array(4).fill('opened'),
    );
    const all = opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
    await all[0]!.upsertSchool(school('sz-1'));
    expect(await all[3]!.getSchool('sz-1')).toEqual(school('sz-1'));
  });

  it('elects exactly one alert leader; a standby takes over after the leader closes', async () => {
    const url = await freshDatabase();
    const [a, b, c] = await Promise.all([openPg(url), openPg(url), openPg(url)]);
    const first = await Promise.all([a!.alertLeadership(), b!.alertLeadership(), c!.alertLeadership()]);
    expect(first.filter(Boolean)).toHaveLength(1);
    // asked again, the answers stay
    expect(await Promise.all([a!.alertLeadership(), b!.alertLeadership(), c!.alertLeadership()])).toEqual(
      first,
    );
    const stores = [a!, b!, c!];
    const leader = stores[first.indexOf(true)]!;
    const standbys = stores.filter((s) => s !== leader);
    await leader.close();
    expect(await leader.alertLeadership()).toBe(false);
    const next = [];
    for (const s of standbys) next.push(await s.alertLeadership());
    expect(next).toEqual([true, false]);
    expect(await standbys[1]!.alertLeadership()).toBe(false);
    expect(await standbys[0]!.alertLeadership()).toBe(true);
  });

  it('hands leadership over when the leader’s session dies (backend terminated)', async () => {
    const url = await freshDatabase();
    const database = new URL(url).pathname.slice(1);
    const leaderLog = capture();
    const leader = await openPg(url, leaderLog.log);
    const standby = await openPg(url);
    expect(await leader.alertLeadership()).toBe(true);
    expect(await standby.alertLeadership()).toBe(false);
    const pid = await leaderPid(database);
    expect(pid).toBeTypeOf('number');
    // as if the leader's process died: PostgreSQL ends its session, which frees the lock; the call waits
    // (up to 10 s) until the backend is gone
    expect(
      await admin(
        async (c) => (await c.query('SELECT pg_terminate_backend($1, 10000) AS ok', [pid])).rows[0].ok,
      ),
    ).toBe(true);
    expect(await standby.alertLeadership()).toBe(true);
    expect(await leaderPid(database)).not.toBe(pid);
    // the old leader notices, says so, and does not claim leadership again while the standby leads
    expect(await leader.alertLeadership()).toBe(false);
    expect(await leader.alertLeadership()).toBe(false);
    expect(leaderLog.lines().some((l) => l.level === 40 && /alert leader connection lost/.test(l.msg))).toBe(
      true,
    );
    // its store goes on working (the pool is separate)
    await leader.upsertSchool(school('sz-1'));
    expect(await standby.getSchool('sz-1')).toEqual(school('sz-1'));
    // and it takes over again once the standby is gone
    await standby.close();
    expect(await leader.alertLeadership()).toBe(true);
  });

  it('stores U+0000 in free text as U+FFFD (PostgreSQL text cannot hold it) instead of failing the report', async () => {
    const { store } = await backend.fresh();
    const agent = await enrolled(store);
    await store.beginIngest({
      reportId: 'r0',
      agentId: agent.id,
      schoolId: agent.schoolId,
      shiftMs: 0,
      finishedAt: iso(T0),
    });
    const done = await store.completeIngest({
      reportId: 'r0',
      agent,
      results: [reach(T0)],
      shiftMs: 0,
      clockOffsetMs: 0,
      receivedAt: new Date(T0),
      compliance: [row('uplink', 'met', 1, 1)],
      rooms: [
        { room: '录播\u0000室', roomType: 'recording', up: false, at: iso(T0), detail: 'nul \u0000 byte' },
      ],
    });
    expect(done).toBe(true);
    expect(await store.roomsDown(agent.schoolId)).toEqual([
      { room: '录播\uFFFD室', roomType: 'recording', since: iso(T0), detail: 'nul \uFFFD byte' },
    ]);
  });

  it('rolls a failed completion back entirely (the report stays writing and can be retried)', async () => {
    const { store } = await backend.fresh();
    const agent = await enrolled(store);
    await store.beginIngest({
      reportId: 'r1',
      agentId: agent.id,
      schoolId: agent.schoolId,
      shiftMs: 0,
      finishedAt: iso(T0),
    });
    const args: CompleteIngest = {
      reportId: 'r1',
      agent,
      results: [reach(T0)],
      shiftMs: 0,
      clockOffsetMs: 3,
      receivedAt: new Date(T0),
      compliance: [row('uplink', 'met', 1, 1)],
      availability: [{ device: 'cam', day: '2025-09-01', up: true }],
      // a port beyond PostgreSQL's integer: this statement fails after the others succeeded
      findings: [finding(agent.schoolId, 'telnet', '10.0.0.1', 2 ** 40)],
    };
    await expect(store.completeIngest(args)).rejects.toThrow(/out of range/);
    expect((await store.getIngest('r1'))?.state).toBe('writing');
    expect(await store.latestResults(agent.schoolId)).toEqual([]);
    expect(await store.availability(agent.schoolId, '2025-01-01')).toEqual({ up: 0, total: 0 });
    expect(await store.compliance(agent.schoolId)).toEqual([]);
    expect((await store.getAgent(agent.id))?.lastSeenAt).toBeNull();
    expect(await store.completeIngest({ ...args, findings: [] })).toBe(true);
    expect(await store.availability(agent.schoolId, '2025-01-01')).toEqual({ up: 1, total: 1 });
  });
});
