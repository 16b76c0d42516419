import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Influxd, influxdAvailable, startInfluxd } from '../helpers/influxd.js';
import { makeReport } from '../helpers/reports.js';
import { sqliteOf, World, XINGHAI } from '../helpers/world.js';

const skip = influxdAvailable();
if (skip) console.warn(`[pipeline.test] SKIPPED: ${skip}`);

/** Agent → spool → collector → InfluxDB, end to end, against a real influxd and real probes on loopback. */
describe.skipIf(skip !== undefined)(
  `agent → collector → InfluxDB${skip ? ` (SKIPPED: ${skip})` : ''}`,
  () => {
    let influx: Influxd;
    beforeAll(async () => {
      influx = await startInfluxd();
    });
    afterAll(async () => {
      await influx?.cleanup();
    });

    let dbCounter = 0;
    async function world(): Promise<{ w: World; db: string }> {
      const db = `cw_e2e_${++dbCounter}`;
      const w = new World({ influxUrl: influx.url, database: db });
      await w.startCollector();
      return { w, db };
    }
    const count = async (db: string, measurement: string, where = '') => {
      const rows = await influx.query(`SELECT count("spool_depth") FROM "${measurement}" ${where}`, db);
      return rows.length === 0 ? 0 : Number(rows[0]!.count);
    };

    it('1. `agent once` lands in InfluxDB with a Chinese school name (comma, space) intact in tags', async () => {
      const { w, db } = await world();
      try {
        const agent = await w.agent('a');
        const { report, flush } = await agent.once();
        expect(flush).toEqual({ delivered: 1, rejected: 0 });
        const rows = await influx.query(
          `SELECT * FROM "agent" WHERE "school_name" = '苏州工业园区星海实验中学, 初中部'`,
          db,
        );
        expect(rows).toHaveLength(1);
        expect(rows[0]).toMatchObject({
          school: XINGHAI.id,
          school_name: XINGHAI.name,
          district: '苏州工业园区',
          group: '星海教育集团',
          size_tier: 'medium',
          area: 'urban',
          agent: agent.identity.agentId,
        });
        expect(rows[0]!.time).toBe(Date.parse(report.finishedAt));
        const devices = await influx.query('SELECT * FROM "device"', db);
        expect(devices).toHaveLength(1);
        expect(devices[0]).toMatchObject({
          device: '录播主机 A1, 东楼',
          room: '录播室 1',
          room_type: 'recording',
          check: 'tcp',
          port: String(w.port),
          up: 1,
          school_name: XINGHAI.name,
        });
        const tagValues = await influx.query('SHOW TAG VALUES FROM "device" WITH KEY = "device"', db);
        expect(tagValues.map((r) => r.value)).toEqual(['录播主机 A1, 东楼']);
        const compliance = await influx.query(
          `SELECT * FROM "compliance" WHERE "target" = 'recording_room'`,
          db,
        );
        expect(compliance[0]).toMatchObject({ met: 1, value: 1, goal: 1 });
      } finally {
        await w.cleanup();
      }
    });

    it('2. collector stopped: three cycles spool; collector back: all three land in order, exactly once', async () => {
      const { w, db } = await world();
      try {
        const agent = await w.agent('b');
        await w.stopCollector();
        const ids: string[] = [];
        for (let i = 0; i < 3; i++) {
          const { report, flush } = await agent.once();
          ids.push(report.reportId);
          expect(flush.delivered).toBe(0);
          expect(flush.stopped?.kind).toBe('network');
        }
        expect(agent.spool.counters().depth).toBe(3);
        expect(await count(db, 'agent')).toBe(0);
        await w.startCollector();
        const flush = await agent.forwarder.flush();
        expect(flush).toEqual({ delivered: 3, rejected: 0 });
        expect(agent.spool.counters().depth).toBe(0);
        expect(await count(db, 'agent')).toBe(3);
        expect(
          sqliteOf(w.app!)
            .ingestOrder(agent.identity.agentId)
            .map((r) => r.reportId),
        ).toEqual(ids);
        // the spooled health numbers went along: the third report saw two waiting before it
        const depths = await influx.query('SELECT "spool_depth" FROM "agent" ORDER BY time', db);
        expect(depths.map((r) => r.spool_depth)).toEqual([0, 1, 2]);
      } finally {
        await w.cleanup();
      }
    });

    it('3. InfluxDB stopped: the agent gets 503 + Retry-After, keeps the report, delivers it later; nothing lost or doubled', async () => {
      const { w, db } = await world();
      try {
        const agent = await w.agent('c');
        await agent.once(); // creates the database and one point
        await influx.stop();
        let second: string;
        try {
          const { report, flush } = await agent.once();
          second = report.reportId;
          expect(flush.delivered).toBe(0);
          expect(flush.stopped).toMatchObject({ kind: 'unavailable', status: 503, retryAfterMs: 1000 });
          expect(agent.spool.counters().depth).toBe(1);
        } finally {
          await influx.restart();
        }
        const flush = await agent.forwarder.flush();
        expect(flush).toEqual({ delivered: 1, rejected: 0 });
        expect(await count(db, 'agent')).toBe(2);
        expect(sqliteOf(w.app!).ingestOrder(agent.identity.agentId)).toHaveLength(2);
        expect(sqliteOf(w.app!).getIngest(second)?.state).toBe('done');
        // a replay of a stored report is answered 200 and writes nothing new
        const body = (await agent.once()).report;
        const res = await w.app!.inject({
          method: 'POST',
          url: '/api/v1/reports',
          headers: { authorization: `Bearer ${tokenOf(w, 'c')}`, 'content-type': 'application/json' },
          payload: JSON.stringify(body),
        });
        expect(res.statusCode).toBe(200);
        expect(res.json()).toEqual({ status: 'duplicate', reportId: body.reportId });
        expect(await count(db, 'agent')).toBe(3);
      } finally {
        await w.cleanup();
      }
    });

    it('security findings land in InfluxDB as `finding` with severity and 等保 clause tags', async () => {
      const { w, db } = await world();
      try {
        const { token, agentId } = w.enrollDirect();
        const base = makeReport({ agentId, schoolId: XINGHAI.id });
        const res = await w.postReport(token, {
          ...base,
          results: [
            {
              probe: 'security',
              target: '录播主机 A1, 东楼',
              outcome: 'ok',
              durationMs: 3,
              at: base.startedAt,
              rule: 'high-risk-port',
              finding: true,
              evidence: 'TCP 3389 accepted a connection',
              port: 3389,
              value: 3389,
            },
          ],
        });
        expect(res.statusCode).toBe(200);
        const rows = await influx.query('SELECT * FROM "finding"', db);
        expect(rows).toHaveLength(1);
        expect(rows[0]).toMatchObject({
          rule: 'high-risk-port',
          severity: 'high',
          target: '录播主机 A1, 东楼',
          mlps: '7.1.4.4 入侵防范 b) (close unneeded services and high-risk ports)', // level 2, the default
          port: '3389',
          open: 1,
          school_name: XINGHAI.name,
        });
        const compliance = await influx.query(`SELECT * FROM "compliance" WHERE "target" = 'security'`, db);
        expect(compliance[0]).toMatchObject({ met: 0, value: 1 });
      } finally {
        await w.cleanup();
      }
    });

    it('7. an agent whose clock is 10 minutes fast: points land at collector time, offset visible in the agent series', async () => {
      const { w, db } = await world();
      try {
        const skewMs = 10 * 60_000;
        const agent = await w.agent('d', { now: () => new Date(Date.now() + skewMs) });
        const before = Date.now();
        const { report, flush } = await agent.once();
        const after = Date.now();
        expect(flush.delivered).toBe(1);
        expect(Date.parse(report.finishedAt)).toBeGreaterThan(after + skewMs - 5000); // the agent really was wrong
        const rows = await influx.query('SELECT "clock_offset_s", "clock_shifted" FROM "agent"', db);
        expect(rows).toHaveLength(1);
        const t = Number(rows[0]!.time);
        expect(t).toBeGreaterThanOrEqual(before - 2000);
        expect(t).toBeLessThanOrEqual(after + 2000);
        expect(Number(rows[0]!.clock_offset_s)).toBeGreaterThan(598);
        expect(Number(rows[0]!.clock_offset_s)).toBeLessThan(602);
        expect(rows[0]!.clock_shifted).toBe(1);
        const device = await influx.query('SELECT "up" FROM "device"', db);
        expect(Number(device[0]!.time)).toBeLessThanOrEqual(after + 2000);
        const api = await w.app!.inject({ method: 'GET', url: `/api/v1/schools/${XINGHAI.id}` });
        const agentRow = (api.json() as { agents: { clockOffsetS: number; clockSynchronised: boolean }[] })
          .agents[0]!;
        expect(agentRow.clockSynchronised).toBe(false);
        expect(agentRow.clockOffsetS).toBeGreaterThan(598);
        const candidates = (
          api.json() as { findingCandidates: { rule: string; target: string; evidence: string }[] }
        ).findingCandidates;
        expect(candidates).toHaveLength(1);
        expect(candidates[0]).toMatchObject({
          rule: 'agent_clock_unsynchronised',
          target: agent.identity.agentId,
        });
        expect(candidates[0]!.evidence).toMatch(/clock ahead of the collector by 60\d(\.\d)? s/);
      } finally {
        await w.cleanup();
      }
    });
  },
);

function tokenOf(w: World, name: string): string {
  return readToken(`${w.dir}/agent-${name}`);
}

import { readFileSync } from 'node:fs';
import { tokenFile } from '../../agent/src/identity.js';

function readToken(stateDir: string): string {
  return readFileSync(tokenFile(stateDir), 'utf8').trim();
}
