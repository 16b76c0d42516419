/**
 * Issue 8 item 8: two collector processes share one PostgreSQL state store and one InfluxDB; agents are
 * spread across both; a security finding reported through either collector gives exactly one notification
 * (only the collector holding the PostgreSQL advisory lock evaluates and sends alerts); when that collector
 * is SIGKILLed the other takes over, announces what is new, and repeats nothing already announced.
 *
 * The "agents" are HTTP clients posting valid reports with their own tokens (enrolled through the
 * collectors' enrol API), not agent processes: what is under test is the collectors' sharing.
 */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { PgStateStore } from '../../collector/src/store/pg-state.js';
import type { School } from '../../protocol/school.js';
import { CollectorProc } from '../helpers/collector-proc.js';
import { type Influxd, influxdAvailable, startInfluxd } from '../helpers/influxd.js';
import { type Postgres, postgresAvailable, startPostgres } from '../helpers/postgres.js';
import { type Receiver, receiver } from '../helpers/receiver.js';
import { telnetReport } from '../helpers/reports.js';
import { skipping } from '../helpers/skip.js';
import { WORLD_ADMIN_TOKEN } from '../helpers/world.js';

const skip = postgresAvailable() ?? influxdAvailable();

const SCHOOLS: School[] = [
  { id: 'sz-xh-01', name: '苏州工业园区星海实验中学', district: '工业园区', timezone: 'Asia/Shanghai' },
  { id: 'tc-sy-01', name: '太仓市实验小学', district: '太仓市', timezone: 'Asia/Shanghai' },
  { id: 'cz-hs-01', name: '常州市横山桥中学', district: '经开区', timezone: 'Asia/Shanghai' },
];

/** Re-checks `cond` until it holds (another process's state: there is no event to await), or fails. */
async function eventually<T>(
  what: string,
  cond: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(skipping(skip))(
  `two collectors on one PostgreSQL and one InfluxDB${skip ? ` (SKIPPED: ${skip})` : ''}`,
  () => {
    let dir: string;
    let pg: Postgres;
    let influx: Influxd;
    let hook: Receiver;
    let store: PgStateStore;
    const collectors: CollectorProc[] = [];
    const tokens = new Map<string, { token: string; agentId: string; schoolId: string }>();

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'cw-two-'));
      [pg, influx, hook] = await Promise.all([startPostgres(), startInfluxd(), receiver('{}')]);
      const stateUrl = await pg.createDatabase('campuswatch');
      store = await PgStateStore.open({ url: stateUrl });
      for (const name of ['a', 'b']) {
        const file = join(dir, `collector-${name}.yaml`);
        writeFileSync(
          file,
          stringify({
            listen: '127.0.0.1:0',
            adminToken: WORLD_ADMIN_TOKEN,
            dataDir: join(dir, `data-${name}`),
            state: { kind: 'postgres', url: stateUrl, poolMax: 4 },
            influx: { url: influx.url, database: 'campuswatch' },
            schools: SCHOOLS,
            alerts: {
              evaluateS: 1,
              agentSilentS: 86_400,
              channels: [{ name: 'ops', type: 'webhook', url: `${hook.url}/hook`, language: 'zh-CN' }],
            },
          }),
        );
        collectors.push(new CollectorProc(name, file));
      }
      await Promise.all(collectors.map((c) => c.url));
      // agents spread across both collectors: each enrols through, and reports to, its own
      for (const [i, school] of SCHOOLS.entries()) {
        const via = collectors[i % 2]!;
        const { code } = await store.createEnrollCode(school.id, 3_600_000);
        const res = await fetch(`${await via.url}/api/v1/enroll`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ code, hostname: `nas-${school.id}`, agentVersion: '0.1.0' }),
        });
        expect(res.status).toBe(201);
        const body = (await res.json()) as { agentId: string; token: string };
        tokens.set(school.id, { ...body, schoolId: school.id });
      }
    }, 120_000);

    afterAll(async () => {
      await Promise.all(collectors.map((c) => c.kill()));
      await store?.close();
      hook?.server.close();
      await Promise.all([pg?.cleanup(), influx?.cleanup()]);
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const post = async (via: CollectorProc, schoolId: string, open: boolean) => {
      const a = tokens.get(schoolId)!;
      const report = telnetReport({ agentId: a.agentId, schoolId, at: new Date(), open });
      const res = await fetch(`${await via.url}/api/v1/reports`, {
        method: 'POST',
        headers: { authorization: `Bearer ${a.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(report),
      });
      expect(res.status, await res.clone().text()).toBe(200);
      return report.reportId;
    };
    /** Which collector leads, once exactly one says it does and the other says it does not. */
    const leaderOf = (candidates: CollectorProc[]) =>
      eventually('one leader', async () => {
        const says = await Promise.all(candidates.map((c) => c.gauge('campuswatch_alert_leader')));
        if (candidates.length === 2 && !(says.includes(1) && says.includes(0))) return undefined;
        if (candidates.length === 1 && says[0] !== 1) return undefined;
        return candidates[says.indexOf(1)]!;
      });
    /** Waits until the leader has run `more` further evaluations (each would send anything due). */
    const evaluations = async (leader: CollectorProc, more: number) => {
      const from = (await leader.gauge('campuswatch_alert_evaluations')) ?? 0;
      await eventually(`${more} more evaluations`, async () =>
        ((await leader.gauge('campuswatch_alert_evaluations')) ?? 0) >= from + more ? true : undefined,
      );
    };
    const schoolsNotified = () =>
      hook.got.map((g) => (JSON.parse(g.body) as { status: string; school: { id: string } }).school.id);

    it('a finding reported through either collector is announced exactly once, by the leader', async () => {
      const leader = await leaderOf(collectors);
      const standby = collectors.find((c) => c !== leader)!;
      // through the standby: the leader sees it in the shared state store
      const viaStandby = SCHOOLS.find((_, i) => collectors[i % 2] === standby)!;
      await post(standby, viaStandby.id, true);
      await hook.until(1);
      await evaluations(leader, 3);
      expect(schoolsNotified()).toEqual([viaStandby.id]);
      expect(await standby.gauge('campuswatch_alert_evaluations')).toBe(0);
      // the time the leader's evaluations took is counted; the standby evaluated nothing
      expect(await leader.gauge('campuswatch_alert_evaluation_seconds')).toBeGreaterThan(0);
      expect(await standby.gauge('campuswatch_alert_evaluation_seconds')).toBe(0);

      // and through the leader
      const viaLeader = SCHOOLS.find((_, i) => collectors[i % 2] === leader)!;
      await post(leader, viaLeader.id, true);
      await hook.until(2);
      await evaluations(leader, 3);
      expect(schoolsNotified()).toEqual([viaStandby.id, viaLeader.id]);
      const first = JSON.parse(hook.got[0]!.body) as { status: string; alerts: { rule: string }[] };
      expect(first.status).toBe('firing');
      expect(first.alerts.map((a) => a.rule)).toEqual(['finding']);

      // both collectors wrote to the one InfluxDB
      const agents = await influx.query('SELECT COUNT("cycle_ms") AS n FROM "agent"', 'campuswatch');
      expect(agents[0]?.n).toBe(2);
    }, 90_000);

    it('when the leader dies the other takes over: new findings announced once, old ones not again', async () => {
      const leader = await leaderOf(collectors);
      const survivor = collectors.find((c) => c !== leader)!;
      await leader.kill();
      // PostgreSQL ends the dead collector's session and frees the lock; the survivor takes it on its next pass
      await leaderOf([survivor]);
      await evaluations(survivor, 3);
      expect(hook.got).toHaveLength(2); // nothing announced twice by the new leader

      const fresh = SCHOOLS.map((s) => s.id).find((id) => !schoolsNotified().includes(id))!;
      await post(survivor, fresh, true);
      await hook.until(3);
      await evaluations(survivor, 3);
      expect(schoolsNotified()).toHaveLength(3);
      expect(schoolsNotified().at(-1)).toBe(fresh);
      expect(new Set(schoolsNotified()).size).toBe(3);
    }, 90_000);
  },
);
