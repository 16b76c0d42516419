// The key a result is kept under in a school's latest results. Its own module so that what needs only the key
// (budgets.ts) does not import the state store, which imports it back.
import type { ProbeResult } from '../../../protocol/report.js';
import { resultKindOf } from '../results/registry.js';

/** Result identity inside a school: the latest result per probe, target and check (its kind's `key`). */
export function resultKey(r: ProbeResult): string {
  return resultKindOf(r).key(r);
}
