import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AlertManager, EVALUATION_SHARE, MAX_ADAPTIVE_DELAY_MS } from '../../collector/src/alerts/manager.js';
import { SqliteStateStore } from '../../collector/src/store/sqlite-state.js';

describe('alert evaluations asked for by reports', () => {
  afterEach(() => vi.useRealTimers());

  it('wait longer after a long pass, so that under load they take a bounded share of the collector', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'campuswatch-pacing-'));
    const store = new SqliteStateStore(dir);
    try {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
      let passMs = 0;
      let passes = 0;
      const manager = new AlertManager(store, {
        forS: 0,
        repeatS: 3600,
        log: pino({ level: 'silent' }),
        // a pass over every school that takes passMs (of the faked clock)
        facts: async () => {
          passes++;
          vi.advanceTimersByTime(passMs);
          return [];
        },
        desired: () => [],
        notify: async () => undefined,
      });
      /** Asks for an evaluation; resolves with the ms it waited before running. */
      const waited = async (): Promise<number> => {
        const before = passes;
        manager.evaluateSoon(() => new Date());
        let ms = 0;
        while (passes === before) {
          await vi.advanceTimersByTimeAsync(100);
          ms += 100;
          if (ms > 60_000) throw new Error('no evaluation within 60 s');
        }
        return ms;
      };
      expect(await waited()).toBe(2000); // the default: reports coalesce for 2 s
      passMs = 100;
      expect(await waited()).toBe(2000); // that pass took 0 ms
      passMs = 1000;
      expect(await waited()).toBe(100 / EVALUATION_SHARE); // after a 100 ms pass: 5 s
      passMs = 0;
      expect(await waited()).toBe(MAX_ADAPTIVE_DELAY_MS); // after 1 s: 50 s, capped
      expect(await waited()).toBe(2000); // a fast pass again: back to the default
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
