// A school's latest results after a report: what the state store keeps and compliance is judged on.
import type { ProbeResult } from '../../../protocol/report.js';
import { resultKindOf } from '../results/registry.js';
import { resultKey } from '../store/result-key.js';

/**
 * The school's latest result per key after a report (the newer of old and incoming wins), in the order
 * of `previous` (one result per key, as the store keeps them) with new keys after it in incoming order.
 * A school has ~400 latest results and a report ~40: only the previous results that may share a key
 * with an incoming one (same target, or a probe whose key ignores it) have their key built.
 * A stored result stamped after `nowMs` (the collector's clock) yields to any incoming one: a result from
 * the future must not hide the ones reported until then (ingest refuses them now; a store may hold some).
 */
export function mergeLatest(
  previous: readonly ProbeResult[],
  incoming: readonly ProbeResult[],
  nowMs = Number.POSITIVE_INFINITY,
): ProbeResult[] {
  const targets = new Set(incoming.map((r) => r.target));
  const out: ProbeResult[] = [];
  const at = new Map<string, number>();
  for (const p of previous) {
    if (resultKindOf(p).keyHoldsTarget && !targets.has(p.target)) {
      out.push(p);
      continue;
    }
    const k = resultKey(p);
    const i = at.get(k);
    if (i === undefined) at.set(k, out.push(p) - 1);
    else out[i] = p;
  }
  for (const r of incoming) {
    const k = resultKey(r);
    const i = at.get(k);
    if (i === undefined) at.set(k, out.push(r) - 1);
    else {
      const stored = Date.parse(out[i]!.at);
      if (Date.parse(r.at) >= stored || stored > nowMs) out[i] = r;
    }
  }
  return out;
}
