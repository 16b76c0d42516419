import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Outbox, type OutboxOptions } from '../../collector/src/store/outbox.js';
import { type Influxd, influxdAvailable, startInfluxd } from '../helpers/influxd.js';
import { makeReport } from '../helpers/reports.js';
import { World, XINGHAI } from '../helpers/world.js';

const log = pino({ level: 'silent' });
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tmpFile = () => {
  const d = mkdtempSync(join(tmpdir(), 'cw-outbox-'));
  dirs.push(d);
  return join(d, 'sub', 'outbox.sqlite');
};

/** A store that takes writes only when told to, and records what it got. */
class FakeStore {
  written: string[][] = [];
  failWith: unknown = undefined;
  /** Calls waiting for `release` (when holding). */
  held: Array<() => void> = [];
  holding = false;
  async write(lines: string[]): Promise<void> {
    if (this.holding) await new Promise<void>((resolve) => this.held.push(resolve));
    if (this.failWith !== undefined) throw this.failWith;
    this.written.push(lines);
  }
  release(): void {
    this.holding = false;
    for (const r of this.held.splice(0)) r();
  }
  /** Lets the oldest held write through; later ones are still held. */
  releaseOne(): void {
    this.held.shift()?.();
  }
}

const retryable = (err: unknown) => !(err instanceof Error && err.message.startsWith('400'));
const open = (path: string, store: FakeStore, over: Partial<OutboxOptions> = {}) =>
  new Outbox({
    path,
    write: (lines) => store.write(lines),
    retryable,
    maxPendingPoints: 100,
    log,
    retryMinMs: 1,
    retryMaxMs: 4,
    ...over,
  });

describe('Outbox (the collector-side queue of series, influx.outbox)', () => {
  it('writes each added report once and is then empty, also in the file', async () => {
    const store = new FakeStore();
    const path = tmpFile();
    const box = open(path, store);
    expect(await box.add(['a 1', 'b 2'], 1000)).toBe(true);
    expect(await box.add(['c 3'], 1000)).toBe(true);
    await box.drained();
    expect(store.written).toEqual([['a 1', 'b 2'], ['c 3']]);
    expect(box.pendingPoints).toBe(0);
    box.close();
    // nothing is left for the next start
    const again = new FakeStore();
    const box2 = open(path, again);
    expect(box2.resume()).toBe(0);
    box2.close();
  });

  it('keeps retrying while the store is unavailable, then writes', async () => {
    const store = new FakeStore();
    store.failWith = new Error('503 unavailable');
    const failures: unknown[] = [];
    const box = open(tmpFile(), store, { onFailedAttempt: (e) => failures.push(e) });
    await box.add(['a 1'], 1000);
    while (failures.length < 3) await new Promise((r) => setTimeout(r, 2));
    expect(box.pendingPoints).toBe(1);
    store.failWith = undefined;
    await box.drained();
    expect(store.written).toEqual([['a 1']]);
    box.close();
  });

  it('what a stopped collector left is written by the next one (resume)', async () => {
    const path = tmpFile();
    const store = new FakeStore();
    store.holding = true;
    const box = open(path, store);
    await box.add(['学校 1', 'b 2'], 1000);
    await box.add(['c 3'], 1000);
    box.close(); // as a crash would leave it: nothing was written
    const next = new FakeStore();
    const box2 = open(path, next);
    expect(box2.resume()).toBe(2);
    expect(box2.pendingPoints).toBe(3);
    await box2.drained();
    expect(next.written).toEqual([['学校 1', 'b 2'], ['c 3']]);
    box2.close();
  });

  it('moves points the store refuses as bad data aside, counted, and carries on', async () => {
    const store = new FakeStore();
    store.failWith = new Error('400 field type conflict');
    let refused = 0;
    const box = open(tmpFile(), store, { onRefused: (n) => (refused += n) });
    await box.add(['bad 1', 'bad 2'], 1000);
    await box.drained();
    expect(refused).toBe(2);
    expect(box.pendingPoints).toBe(0);
    expect(box.refused()).toEqual([
      { lines: ['bad 1', 'bad 2'], reason: '400 field type conflict', at: expect.any(String) },
    ]);
    store.failWith = undefined;
    await box.add(['good 1'], 1000);
    await box.drained();
    expect(store.written).toEqual([['good 1']]);
    box.close();
  });

  it('a full outbox makes add wait for room, and give up after waitMs', async () => {
    const store = new FakeStore();
    store.holding = true;
    const box = open(tmpFile(), store, { maxPendingPoints: 3 });
    expect(await box.add(['a', 'b'], 1000)).toBe(true);
    // does not fit beside the 2 pending points: gives up after its wait
    expect(await box.add(['c', 'd'], 20)).toBe(false);
    // waits, and goes in once the first write is answered
    const waiting = box.add(['e', 'f'], 10_000);
    let settled = false;
    void waiting.then(() => (settled = true));
    await new Promise((r) => setImmediate(r));
    expect(settled).toBe(false);
    store.release();
    expect(await waiting).toBe(true);
    await box.drained();
    expect(store.written).toEqual([
      ['a', 'b'],
      ['e', 'f'],
    ]);
    // a report larger than the bound still goes in alone
    expect(await box.add(['1', '2', '3', '4', '5'], 10)).toBe(true);
    await box.drained();
    box.close();
  });

  it('reports waiting together for room never take more than the bound', async () => {
    const store = new FakeStore();
    store.holding = true;
    const box = open(tmpFile(), store, { maxPendingPoints: 4 });
    expect(await box.add(['a', 'b', 'c', 'd'], 1000)).toBe(true);
    const settled: string[] = [];
    const waiting = ['x', 'y', 'z'].map((n) =>
      box.add([`${n}1`, `${n}2`], 10_000).then((ok) => settled.push(`${n}:${ok}`)),
    );
    await new Promise((r) => setImmediate(r));
    expect(settled).toEqual([]);
    // the first write is answered: room for two of the three, at once
    store.releaseOne();
    while (settled.length < 2) await new Promise((r) => setImmediate(r));
    expect(settled).toEqual(['x:true', 'y:true']);
    expect(box.pendingPoints).toBe(4);
    store.release();
    await Promise.all(waiting);
    expect(settled).toEqual(['x:true', 'y:true', 'z:true']);
    await box.drained();
    expect(box.pendingPoints).toBe(0);
    expect(store.written.flat().sort()).toEqual(['a', 'b', 'c', 'd', 'x1', 'x2', 'y1', 'y2', 'z1', 'z2']);
    box.close();
  });

  it('names the bad bound', () => {
    expect(() => open(tmpFile(), new FakeStore(), { maxPendingPoints: 0 })).toThrow(/maxPendingPoints/);
  });
});

const skip = influxdAvailable();
if (skip) console.warn(`[outbox.test] SKIPPED: ${skip}`);

describe.skipIf(skip !== undefined)(
  `POST /api/v1/reports with influx.outbox and a real InfluxDB${skip ? ` (SKIPPED: ${skip})` : ''}`,
  () => {
    let influx: Influxd;
    beforeAll(async () => {
      influx = await startInfluxd();
    });
    afterAll(async () => {
      await influx?.cleanup();
    });
    const worldWith = (database: string, outbox: Record<string, unknown> = {}) =>
      new World({
        collector: {
          influx: { url: influx.url, database, timeoutMs: 1000, outbox: { enabled: true, ...outbox } },
        },
      });
    const count = async (database: string, measurement: string) => {
      const rows = await influx.query(`SELECT count(*) FROM "${measurement}"`, database);
      const row = rows[0] ?? {};
      return Math.max(
        0,
        ...Object.entries(row)
          .filter(([k]) => k.startsWith('count_'))
          .map(([, v]) => Number(v)),
      );
    };

    it('answers once queued, writes every report once, and reports the queue in /metrics', async () => {
      const w = worldWith('cw_outbox_ok');
      try {
        await w.startCollector();
        const { agentId, token } = w.enrollDirect();
        const base = Date.now() - 60_000;
        for (let i = 0; i < 5; i++) {
          const res = await w.postReport(
            token,
            makeReport({ agentId, schoolId: XINGHAI.id, at: new Date(base + i * 1000) }),
          );
          expect(res.statusCode, res.body).toBe(200);
          expect(res.json()).toMatchObject({ status: 'stored' });
        }
        await w.app!.campuswatch.outbox!.drained();
        expect(await count('cw_outbox_ok', 'device')).toBe(5);
        expect(await count('cw_outbox_ok', 'agent')).toBe(5);
        const metrics = (await w.app!.inject({ url: '/metrics' })).body;
        expect(metrics).toMatch(/^campuswatch_outbox_pending\{unit="points"\} 0$/m);
        expect(metrics).toMatch(/^campuswatch_outbox_pending\{unit="reports"\} 0$/m);
        const written = Number(/^campuswatch_influxdb_points_written_total (\d+)$/m.exec(metrics)?.[1]);
        expect(written).toBeGreaterThanOrEqual(10);
      } finally {
        await w.cleanup();
      }
    });

    it('keeps answering while InfluxDB is frozen, 503 once the queue is full, and a restarted collector writes what was queued', async () => {
      const db = 'cw_outbox_frozen';
      // room for one report (a report bigger than the bound goes in when the queue is empty)
      const w = worldWith(db, { maxPendingPoints: 1 });
      try {
        await w.startCollector();
        const { agentId, token } = w.enrollDirect();
        // the database exists before the freeze
        await w.app!.campuswatch.influxReady();
        influx.signal('SIGSTOP');
        const base = Date.now() - 60_000;
        const first = await w.postReport(
          token,
          makeReport({ agentId, schoolId: XINGHAI.id, at: new Date(base) }),
        );
        expect(first.statusCode, first.body).toBe(200);
        const second = await w.postReport(
          token,
          makeReport({ agentId, schoolId: XINGHAI.id, at: new Date(base + 1000) }),
        );
        expect(second.statusCode).toBe(503);
        expect(second.headers['retry-after']).toBe('1');
        expect(second.json()).toMatchObject({ message: expect.stringMatching(/queue is full/) });
        expect(w.app!.campuswatch.outbox!.pendingReports).toBe(1);
        // the collector stops with the report still queued (its write fails or is cut off)
        await w.stopCollector();
        influx.signal('SIGCONT');
        expect(await count(db, 'device')).toBe(0);
        await w.startCollector();
        await w.app!.campuswatch.outbox!.drained();
        expect(await count(db, 'device')).toBe(1);
        expect(await count(db, 'agent')).toBe(1);
      } finally {
        influx.signal('SIGCONT');
        await w.cleanup();
      }
    });

    it('points InfluxDB refuses after the answer are kept aside and counted', async () => {
      const db = 'cw_outbox_refused';
      const w = worldWith(db);
      try {
        await w.startCollector();
        await w.app!.campuswatch.influxReady();
        const { agentId, token } = w.enrollDirect();
        const at = new Date(Date.now() - 60_000);
        // a string `up` in this shard: the report's numeric `up` is a field type conflict (HTTP 400)
        const res0 = await fetch(`${influx.url}/write?db=${db}&precision=ms`, {
          method: 'POST',
          body: `device,school=x up="yes" ${at.getTime() - 5000}`,
        });
        expect(res0.status).toBe(204);
        const res = await w.postReport(token, makeReport({ agentId, schoolId: XINGHAI.id, at }));
        expect(res.statusCode, res.body).toBe(200);
        const outbox = w.app!.campuswatch.outbox!;
        await outbox.drained();
        const refused = outbox.refused();
        expect(refused).toHaveLength(1);
        expect(refused[0]!.reason).toMatch(/field type conflict/);
        expect(refused[0]!.lines.some((l) => l.startsWith('device,'))).toBe(true);
        const metrics = (await w.app!.inject({ url: '/metrics' })).body;
        expect(metrics).toMatch(
          new RegExp(`^campuswatch_outbox_refused_points_total ${refused[0]!.lines.length}$`, 'm'),
        );
        // InfluxDB kept the valid points of the refused write
        expect(await count(db, 'agent')).toBe(1);
      } finally {
        await w.cleanup();
      }
    });
  },
);
