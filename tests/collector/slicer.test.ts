import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { collectFacts } from '../../collector/src/alerts/facts.js';
import { Slicer } from '../../collector/src/slicer.js';
import { SqliteStateStore } from '../../collector/src/store/sqlite-state.js';
import { DEFAULT_TARGETS_FILE, loadTargets } from '../../collector/src/targets.js';

describe('Slicer', () => {
  it('gives the event loop back once a slice is used up, and counts the time away', async () => {
    const slicer = new Slicer(5);
    let ran = false;
    setImmediate(() => {
      const until = performance.now() + 3;
      while (performance.now() < until); // another callback's work, counted as away
      ran = true;
    });
    const start = performance.now();
    while (!ran && performance.now() - start < 1000) await slicer.pause();
    expect(ran).toBe(true);
    expect(performance.now() - start).toBeGreaterThanOrEqual(5);
    expect(slicer.awayMs).toBeGreaterThanOrEqual(3);
  });

  it('does not yield inside a slice', async () => {
    const slicer = new Slicer(60_000);
    let ran = false;
    setImmediate(() => {
      ran = true;
    });
    for (let i = 0; i < 100; i++) await slicer.pause();
    expect(ran).toBe(false);
    expect(slicer.awayMs).toBe(0);
  });
});

describe('the alert facts read in slices', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cw-slicer-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('are those of every school, and reports get their turn while they are read', async () => {
    const store = new SqliteStateStore(dir);
    for (let i = 0; i < 120; i++) {
      await store.upsertSchool({
        id: `s${String(i).padStart(3, '0')}`,
        name: `学校 ${i}`,
        timezone: 'Asia/Shanghai',
      });
    }
    const ctx = { state: store, targets: loadTargets(DEFAULT_TARGETS_FILE) };
    const now = new Date('2026-11-23T02:00:00Z');
    const whole = await collectFacts(ctx, now, new Slicer(Number.POSITIVE_INFINITY));
    // a slice of 0 ms yields at every group of schools: a callback queued meanwhile runs before the end
    let turns = 0;
    const tick = () => {
      turns++;
      if (turns < 1000) setImmediate(tick);
    };
    setImmediate(tick);
    const sliced = await collectFacts(ctx, now, new Slicer(0));
    const turnsDuring = turns;
    expect(sliced).toEqual(whole);
    expect(sliced.map((f) => f.school.id)).toHaveLength(120);
    expect(turnsDuring).toBeGreaterThanOrEqual(120 / 25);
    await store.close();
  });
});
