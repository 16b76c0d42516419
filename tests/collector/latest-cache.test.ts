import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteState, SqliteStateStore } from '../../collector/src/store/sqlite-state.js';
import { compareUtf8 } from '../../collector/src/store/state/latest/cache.js';
import type { ProbeResult } from '../../protocol/report.js';

const codePoint = fc.oneof(
  fc.integer({ min: 0x20, max: 0x7e }),
  fc.integer({ min: 0x80, max: 0xd7ff }),
  fc.integer({ min: 0xe000, max: 0xffff }),
  fc.integer({ min: 0x10000, max: 0x10ffff }),
);
const text = fc.array(codePoint, { maxLength: 6 }).map((cps) => String.fromCodePoint(...cps));

describe('compareUtf8', () => {
  it('orders as SQLite BINARY does on UTF-8 (Buffer.compare), surrogate pairs after U+E000–U+FFFF', () => {
    expect(Math.sign(compareUtf8('\uffff', '😀'))).toBe(-1); // UTF-16 code units would say the opposite
    fc.assert(
      fc.property(text, text, (a, b) => {
        expect(Math.sign(compareUtf8(a, b))).toBe(Buffer.compare(Buffer.from(a), Buffer.from(b)));
      }),
      { numRuns: 3000, seed: 23 },
    );
  });
});

describe('the SQLite store’s cache of latest results', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  const T0 = Date.UTC(2026, 10, 23, 2, 0, 0);
  const result = (device: string, at: number, rttMs: number): ProbeResult => ({
    probe: 'reachability',
    target: device,
    check: 'icmp',
    outcome: 'ok',
    up: true,
    rttMs,
    durationMs: 1,
    at: new Date(at).toISOString(),
    device: { name: device, address: '10.0.0.5', room: '录播室 1', roomType: 'recording', critical: true },
  });

  it('always answers what the table holds (random reports on a small cache, read back uncached)', async () => {
    const device = fc.constantFrom('录播主机 A1', 'cam', 'Cam', '\uffff', '😀 panel', 'AP-4', 'x\u00e9');
    const op = fc.record({
      school: fc.integer({ min: 0, max: 3 }),
      results: fc.array(
        fc.record({ device, dt: fc.integer({ min: -5, max: 5 }), rtt: fc.integer({ min: 1, max: 99 }) }),
        { maxLength: 5 },
      ),
      shiftMs: fc.constantFrom(0, 60_000),
      read: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 30 }), async (ops) => {
        const dir = mkdtempSync(join(tmpdir(), 'cw-latest-'));
        dirs.push(dir);
        // room for about two schools: reads fill it, schools get evicted and come back
        const store = new SqliteStateStore(dir, { latestCacheResults: 8 });
        const agents = [];
        for (let s = 0; s < 4; s++) {
          await store.upsertSchool({ id: `s${s}`, name: `学校 ${s}`, timezone: 'Asia/Shanghai' });
          const { code } = await store.createEnrollCode(`s${s}`, 60_000);
          const r = await store.enroll(code, { hostname: 'h', version: '0.1.0' });
          if ('error' in r) throw new Error(r.error);
          agents.push(r.agent);
        }
        let n = 0;
        for (const o of ops) {
          const agent = agents[o.school]!;
          const reportId = `r${n++}`;
          if (o.read) await store.latestResults(agent.schoolId);
          const results = o.results.map((r) => result(r.device, T0 + r.dt * 60_000, r.rtt));
          // begin and complete in the same turn: the store commits them together
          const begun = store.beginIngest({
            reportId,
            agentId: agent.id,
            schoolId: agent.schoolId,
            shiftMs: o.shiftMs,
            finishedAt: new Date(T0).toISOString(),
          });
          await begun;
          await store.completeIngest({
            reportId,
            agent,
            results,
            shiftMs: o.shiftMs,
            clockOffsetMs: 0,
            receivedAt: new Date(T0),
            compliance: [],
          });
        }
        const reader = new SqliteState(dir, { latestCacheResults: 0 });
        try {
          for (const a of agents) {
            expect(await store.latestResults(a.schoolId), a.schoolId).toEqual(
              reader.latestResults(a.schoolId),
            );
          }
        } finally {
          reader.close();
          await store.close();
        }
      }),
      { numRuns: 60, seed: 1123 },
    );
  });
  it('keeps per key the newest result of a report, a key twice in it and more rows than one statement', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cw-latest-'));
    dirs.push(dir);
    const store = new SqliteStateStore(dir);
    await store.upsertSchool({ id: 's0', name: '学校', timezone: 'Asia/Shanghai' });
    const { code } = await store.createEnrollCode('s0', 60_000);
    const enrolled = await store.enroll(code, { hostname: 'h', version: '0.1.0' });
    if ('error' in enrolled) throw new Error(enrolled.error);
    const agent = enrolled.agent;
    const reader = new SqliteState(dir, { latestCacheResults: 0 });
    const expected = new Map<string, ProbeResult>();
    await fc.assert(
      fc.asyncProperty(
        // 150 results of 80 devices: several statements' worth, most devices twice, times in any order
        fc.array(fc.record({ d: fc.integer({ min: 0, max: 79 }), dt: fc.integer({ min: -3, max: 3 }) }), {
          minLength: 150,
          maxLength: 150,
        }),
        fc.uuid(),
        async (rows, reportId) => {
          const results = rows.map((r, i) => result(`设备 ${r.d}`, T0 + r.dt * 60_000, i + 1));
          for (const r of results) {
            const old = expected.get(r.target);
            if (!old || r.at >= old.at) expected.set(r.target, r);
          }
          await store.beginIngest({
            reportId,
            agentId: agent.id,
            schoolId: 's0',
            shiftMs: 0,
            finishedAt: new Date(T0).toISOString(),
          });
          await store.completeIngest({
            reportId,
            agent,
            results,
            shiftMs: 0,
            clockOffsetMs: 0,
            receivedAt: new Date(T0),
            compliance: [],
          });
          const stored = reader.latestResults('s0');
          expect(new Map(stored.map((r) => [r.target, r]))).toEqual(expected);
          expect(await store.latestResults('s0')).toEqual(stored);
        },
      ),
      { numRuns: 15, seed: 77 },
    );
    reader.close();
    await store.close();
  });
});
