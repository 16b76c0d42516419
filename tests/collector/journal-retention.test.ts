/**
 * The ingest journal (the de-duplication table) is forgotten once its reports could no longer be
 * accepted (ingest.maxAgeDays and a day more): a replay of a forgotten report is refused as too old,
 * never applied twice.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../collector/src/app.js';
import { journalCutoff, pruneJournal } from '../../collector/src/store/journal-retention.js';
import { makeReport } from '../helpers/reports.js';
import { sqliteOf, World, XINGHAI } from '../helpers/world.js';

const DAY = 86_400_000;

describe('ingest journal retention', () => {
  let w: World | undefined;
  afterEach(async () => {
    await w?.cleanup();
    w = undefined;
  });

  it('cuts the journal a day after reports stop being accepted', () => {
    const now = new Date('2026-12-02T03:00:00.000Z');
    expect(journalCutoff(now, 89).toISOString()).toBe('2026-09-03T03:00:00.000Z');
  });

  it('prunes in batches, oldest first, and a replay of a pruned report is refused, not applied again', async () => {
    let clock = new Date('2026-03-02T02:00:00.000Z'); // 10:00 in Shanghai, a Monday: teaching hours
    w = new World({ collector: { ingest: { maxAgeDays: 30, retryAfterS: 1 } } });
    w.app = await buildApp(w.config, { now: () => clock });
    const { agentId, token } = w.enrollDirect();
    const state = sqliteOf(w.app);

    const first = makeReport({ agentId, schoolId: XINGHAI.id, at: new Date(clock.getTime() - 1000) });
    expect((await w.postReport(token, first)).json()).toMatchObject({ status: 'stored' });
    for (let i = 1; i <= 11; i++) {
      const r = makeReport({ agentId, schoolId: XINGHAI.id, at: new Date(clock.getTime() + i * 60_000) });
      clock = new Date(clock.getTime() + i * 60_000 + 1000);
      expect((await w.postReport(token, r)).statusCode).toBe(200);
    }
    const samples = () => state.availability(XINGHAI.id, '2026-01-01');
    const before = samples();
    expect(before.total).toBe(12);
    // while it is remembered a replay is a duplicate
    expect((await w.postReport(token, first)).json()).toMatchObject({ status: 'duplicate' });

    // nothing is old enough yet
    expect(await pruneJournal(w.app.campuswatch.state, journalCutoff(clock, 30), 5)).toBe(0);
    clock = new Date(clock.getTime() + 32 * DAY);
    expect(await pruneJournal(w.app.campuswatch.state, journalCutoff(clock, 30), 5)).toBe(12);
    expect(state.getIngest(first.reportId)).toBeUndefined();
    expect(state.ingestOrder(agentId)).toEqual([]);

    const replay = await w.postReport(token, first);
    expect(replay.statusCode).toBe(400);
    expect((replay.json() as { message: string }).message).toMatch(/older than 30 days/);
    expect(samples()).toEqual(before);
  });
});
