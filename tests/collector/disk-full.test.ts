import { unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Influxd, influxdAvailable, startInfluxd } from '../helpers/influxd.js';
import { makeReport } from '../helpers/reports.js';
import { skipping } from '../helpers/skip.js';
import { fill, mountTmpfs, unmountTmpfs } from '../helpers/tmpfs.js';
import { sqliteOf, World, XINGHAI } from '../helpers/world.js';

/**
 * Issue 27: the collector's state (SQLite) and outbox on a full disk. A report is refused with 503 and
 * Retry-After (the agent keeps it), nothing of it is written, and it is stored once there is room again.
 */

const mount = mountTmpfs('4m');
const influxSkip = influxdAvailable();

describe.skipIf(skipping('reason' in mount ? mount.reason : undefined, 'collector disk-full tests'))(
  'the collector on a full disk',
  () => {
    const mnt = 'dir' in mount ? mount.dir : '';
    const worlds: World[] = [];
    let influx: Influxd | undefined;
    afterAll(async () => {
      for (const w of worlds) await w.cleanup();
      await influx?.cleanup();
      unmountTmpfs(mnt);
    });

    /** Posts reports until one is stored, the disk filled in between; what the collector answered. */
    async function fullDiskRound(w: World, dataDir: string) {
      await w.startCollector();
      const { agentId, token } = w.enrollDirect();
      const report = () => makeReport({ agentId, schoolId: XINGHAI.id, at: new Date(Date.now() - 1000) });
      const first = report();
      expect((await w.postReport(token, first)).statusCode).toBe(200);
      const filler = join(dataDir, 'filler');
      fill(filler);
      // reports grow the state (and the outbox) until the disk refuses; each refused one is a 503
      let refused: Awaited<ReturnType<World['postReport']>> | undefined;
      let refusedReport = first;
      const stored: string[] = [first.reportId];
      for (let i = 0; i < 50 && !refused; i++) {
        const r = report();
        const res = await w.postReport(token, r);
        if (res.statusCode === 200) stored.push(r.reportId);
        else {
          refused = res;
          refusedReport = r;
        }
      }
      expect(refused, 'a report refused once the disk is full').toBeDefined();
      return { token, agentId, refused: refused!, refusedReport, stored, filler };
    }

    it('state: 503 + Retry-After, nothing of the report written, stored once there is room', async () => {
      const dataDir = join(mnt, 'state-only');
      const w = new World({ collector: { dataDir, ingest: { retryAfterS: 7 } } });
      worlds.push(w);
      const { token, agentId, refused, refusedReport, stored, filler } = await fullDiskRound(w, dataDir);
      expect(refused.statusCode, refused.body).toBe(503);
      expect(refused.headers['retry-after']).toBe('7');
      expect(refused.json()).toMatchObject({
        statusCode: 503,
        message: expect.stringContaining('its disk is full'),
      });
      const state = sqliteOf(w.app!);
      // never half-written: no journal row, the agent's last report is the last one stored
      expect(state.getIngest(refusedReport.reportId)).toBeUndefined();
      expect(state.getAgent(agentId)?.lastReportId).toBe(stored.at(-1));
      // the collector keeps serving (health) while full
      expect((await w.anonymous({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);

      unlinkSync(filler);
      const again = await w.postReport(token, refusedReport);
      expect(again.statusCode, again.body).toBe(200);
      expect(again.json()).toMatchObject({ status: 'stored', reportId: refusedReport.reportId });
      expect(state.getIngest(refusedReport.reportId)?.state).toBe('done');
      expect((await w.postReport(token, refusedReport)).json()).toMatchObject({ status: 'duplicate' });
    }, 60_000);

    it.skipIf(skipping(influxSkip, 'the outbox on a full disk'))(
      'outbox: 503 + Retry-After, no row queued, the points written once there is room',
      async () => {
        influx = await startInfluxd();
        const dataDir = join(mnt, 'outbox');
        const w = new World({
          collector: {
            dataDir,
            ingest: { retryAfterS: 3 },
            influx: { url: influx.url, database: 'cw_diskfull', timeoutMs: 1000, outbox: { enabled: true } },
          },
        });
        worlds.push(w);
        const { token, refused, refusedReport, stored, filler } = await fullDiskRound(w, dataDir);
        expect(refused.statusCode, refused.body).toBe(503);
        expect(refused.headers['retry-after']).toBe('3');
        expect(sqliteOf(w.app!).getIngest(refusedReport.reportId)).toBeUndefined();

        unlinkSync(filler);
        const again = await w.postReport(token, refusedReport);
        expect(again.statusCode, again.body).toBe(200);
        await w.app!.campuswatch.outbox!.drained();
        // every report stored is in InfluxDB once: one agent point per report
        const rows = await influx.query('SELECT count(cycle_ms) FROM agent', 'cw_diskfull');
        expect(Number(rows[0]?.count)).toBe(stored.length + 1);
      },
      90_000,
    );
  },
);
