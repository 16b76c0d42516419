import { afterEach, describe, expect, it, vi } from 'vitest';
import type { IPoint } from '../../collector/src/store/influx.js';
import { WriteBatcher } from '../../collector/src/store/write-batcher.js';

class BadData extends Error {}
class Unavailable extends Error {}

/** A store whose writes stay open until the test settles them, recording what each write carried. */
function heldStore(refuse: (points: IPoint[]) => Error | undefined = () => undefined) {
  const writes: { points: IPoint[]; settle: () => void }[] = [];
  let arrived: (() => void) | undefined;
  const write = (points: IPoint[]) =>
    new Promise<void>((resolve, reject) => {
      writes.push({
        points,
        settle: () => {
          const err = refuse(points);
          if (err) reject(err);
          else resolve();
        },
      });
      arrived?.();
    });
  /** Resolves once n writes have been made in all. */
  const untilWrites = (n: number) =>
    new Promise<void>((resolve) => {
      const check = () => {
        if (writes.length >= n) {
          arrived = undefined;
          resolve();
        } else arrived = check;
      };
      check();
    });
  return { writes, write, untilWrites };
}

const report = (name: string, n: number): IPoint[] =>
  Array.from({ length: n }, (_, i) => ({
    measurement: 'device',
    tags: { report: name },
    fields: { i },
    timestamp: new Date(1_700_000_000_000 + i),
  }));
const names = (points: IPoint[]) => [...new Set(points.map((p) => p.tags!.report))];
const isBadData = (err: unknown) => err instanceof BadData;

describe('WriteBatcher', () => {
  it('writes a report at once and alone while a slot is free', async () => {
    const store = heldStore();
    const batcher = new WriteBatcher(store.write, { maxInFlight: 2, maxPoints: 100, isBadData });
    const a = batcher.submit(report('a', 3));
    const b = batcher.submit(report('b', 3));
    expect(store.writes.map((w) => names(w.points))).toEqual([['a'], ['b']]);
    for (const w of store.writes) w.settle();
    await Promise.all([a, b]);
    expect(batcher.writes).toBe(2);
  });

  it('sends the reports queued behind busy slots together in one write, each settled', async () => {
    const store = heldStore();
    const batcher = new WriteBatcher(store.write, { maxInFlight: 1, maxPoints: 100, isBadData });
    const a = batcher.submit(report('a', 3));
    const queued = ['b', 'c', 'd'].map((n) => batcher.submit(report(n, 5)));
    expect(store.writes).toHaveLength(1);
    store.writes[0]!.settle();
    await a;
    await store.untilWrites(2);
    expect(names(store.writes[1]!.points)).toEqual(['b', 'c', 'd']);
    expect(store.writes[1]!.points).toHaveLength(15);
    store.writes[1]!.settle();
    await Promise.all(queued);
    expect(batcher.writes).toBe(2);
  });

  it('never puts more than maxPoints in one write, and sends a full batch even with every slot busy', async () => {
    const store = heldStore();
    const batcher = new WriteBatcher(store.write, { maxInFlight: 1, maxPoints: 10, isBadData });
    const all = [batcher.submit(report('a', 4))];
    for (const n of ['b', 'c', 'd', 'e']) all.push(batcher.submit(report(n, 4)));
    // a in flight; b+c (8 points) wait; d makes 12 ≥ 10 queued → b+c go now, d+e wait
    expect(store.writes.map((w) => names(w.points))).toEqual([['a'], ['b', 'c']]);
    for (const w of store.writes) w.settle();
    await store.untilWrites(3);
    expect(names(store.writes[2]!.points)).toEqual(['d', 'e']);
    store.writes[2]!.settle();
    await Promise.all(all);
    expect(store.writes.every((w) => w.points.length <= 10)).toBe(true);
  });

  it('a batch refused as bad data is written report by report: only the bad report fails', async () => {
    const store = heldStore((points) =>
      names(points).includes('bad') ? new BadData('field type conflict') : undefined,
    );
    const batcher = new WriteBatcher(store.write, { maxInFlight: 1, maxPoints: 100, isBadData });
    const first = batcher.submit(report('a', 2));
    const good = batcher.submit(report('good', 2));
    const bad = batcher.submit(report('bad', 2));
    const badOutcome = bad.then(
      () => 'stored',
      (err: unknown) => err,
    );
    store.writes[0]!.settle();
    await first;
    await store.untilWrites(2);
    store.writes[1]!.settle(); // good+bad together: refused
    await store.untilWrites(4);
    expect(store.writes.slice(2).map((w) => names(w.points))).toEqual([['good'], ['bad']]);
    store.writes[2]!.settle();
    store.writes[3]!.settle();
    await expect(good).resolves.toBeUndefined();
    expect(await badOutcome).toBeInstanceOf(BadData);
  });

  it('any other failure fails every report of the batch with that error, and the next write still goes', async () => {
    let down = true;
    const store = heldStore(() => (down ? new Unavailable('connection refused') : undefined));
    const batcher = new WriteBatcher(store.write, { maxInFlight: 1, maxPoints: 100, isBadData });
    const a = batcher.submit(report('a', 1)).catch((err: unknown) => err);
    const b = batcher.submit(report('b', 1)).catch((err: unknown) => err);
    const c = batcher.submit(report('c', 1)).catch((err: unknown) => err);
    store.writes[0]!.settle();
    await store.untilWrites(2);
    store.writes[1]!.settle();
    const outcomes = await Promise.all([a, b, c]);
    expect(outcomes.every((o) => o instanceof Unavailable)).toBe(true);
    expect(store.writes).toHaveLength(2); // no per-report retry for an outage
    down = false;
    const d = batcher.submit(report('d', 1));
    store.writes[2]!.settle();
    await expect(d).resolves.toBeUndefined();
  });

  it('names the option that is out of range', () => {
    const write = async () => undefined;
    expect(() => new WriteBatcher(write, { maxInFlight: 0, maxPoints: 1, isBadData })).toThrow(/maxInFlight/);
    expect(() => new WriteBatcher(write, { maxInFlight: 1, maxPoints: 0.5, isBadData })).toThrow(/maxPoints/);
    expect(() => new WriteBatcher(write, { maxInFlight: 1, maxPoints: 1, lingerMs: -1, isBadData })).toThrow(
      /lingerMs/,
    );
  });

  describe('lingerMs', () => {
    afterEach(() => {
      vi.useRealTimers();
    });
    /** A batcher on fake timers whose clock the test moves with `advance`. */
    function lingering(options: { maxInFlight: number; maxPoints: number; lingerMs: number }) {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      let t = 1000;
      const store = heldStore();
      const batcher = new WriteBatcher(store.write, { ...options, isBadData, now: () => t });
      const advance = (ms: number) => {
        t += ms;
        vi.advanceTimersByTime(ms);
      };
      return { store, batcher, advance };
    }

    it('a report waits up to lingerMs for others to share its write, measured from the oldest one', async () => {
      const { store, batcher, advance } = lingering({ maxInFlight: 4, maxPoints: 100, lingerMs: 50 });
      const a = batcher.submit(report('a', 3));
      advance(20);
      const b = batcher.submit(report('b', 3));
      advance(29);
      expect(store.writes).toHaveLength(0); // a has waited 49 ms of its 50
      advance(1);
      expect(store.writes.map((w) => names(w.points))).toEqual([['a', 'b']]);
      // the next report waits its own 50 ms, although three slots are free
      const c = batcher.submit(report('c', 1));
      advance(49);
      expect(store.writes).toHaveLength(1);
      advance(1);
      expect(store.writes.map((w) => names(w.points))).toEqual([['a', 'b'], ['c']]);
      for (const w of store.writes) w.settle();
      await Promise.all([a, b, c]);
      expect(batcher.writes).toBe(2);
    });

    it('a batch of maxPoints goes at once, and a report that waited for a slot past its linger goes when one frees', async () => {
      const { store, batcher, advance } = lingering({ maxInFlight: 1, maxPoints: 10, lingerMs: 50 });
      const full = [batcher.submit(report('a', 6)), batcher.submit(report('b', 4))];
      expect(store.writes.map((w) => names(w.points))).toEqual([['a', 'b']]); // 10 points: no waiting
      const c = batcher.submit(report('c', 1));
      advance(80); // c waits for the busy slot, longer than its linger
      expect(store.writes).toHaveLength(1);
      store.writes[0]!.settle();
      await Promise.all(full);
      expect(store.writes.map((w) => names(w.points))).toEqual([['a', 'b'], ['c']]);
      store.writes[1]!.settle();
      await c;
    });
  });
});
