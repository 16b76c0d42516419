import { setImmediate as turn } from 'node:timers/promises';
import type { StateStore } from './state-store.js';

/** Journal rows forgotten per statement: one short transaction each, the event loop served in between. */
export const PRUNE_BATCH = 5000;
/** How often the collector prunes its ingest journal. */
export const PRUNE_EVERY_MS = 10 * 60_000;

/**
 * The time before which a report's journal row may go: a report is accepted while its times are at most
 * `maxAgeDays` old (ingest/service.ts), so one received a day longer ago than that is refused as too old
 * when it comes again (an agent's spool after a long outage): never applied twice.
 */
export function journalCutoff(now: Date, maxAgeDays: number): Date {
  return new Date(now.getTime() - (maxAgeDays + 1) * 86_400_000);
}

/**
 * Deletes the ingest journal's rows received before `before`, in batches, yielding to the event loop
 * between them. Without it the journal (the de-duplication table) grows by one row per report for ever:
 * 14.4 million rows a day at 10,000 agents. Returns how many rows went.
 */
export async function pruneJournal(
  state: Pick<StateStore, 'pruneIngests'>,
  before: Date,
  batch = PRUNE_BATCH,
): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await state.pruneIngests(before, batch);
    total += n;
    if (n < batch) return total;
    await turn();
  }
}
