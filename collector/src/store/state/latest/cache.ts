import type { ProbeResult } from '../../../../../protocol/report.js';

/**
 * Order of SQLite's BINARY collation on UTF-8 text, for JavaScript (UTF-16) strings: code unit order,
 * except that surrogates (code points above U+FFFF) sort after U+E000–U+FFFF, as their UTF-8 bytes do.
 */
export function compareUtf8(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys && (x >= 0xe000 || y >= 0xe000)) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

interface SchoolLatest {
  /** Keys in the store's order (ORDER BY key). */
  keys: string[];
  results: ProbeResult[];
  index: Map<string, number>;
  /** The stored `at` per key (ISO text, compared as the store compares it). */
  at: string[];
}

/**
 * The latest result per key of recently active schools, parsed, as the embedded store holds them
 * (`latest` table). Every report of a school reads all of them to evaluate its compliance: with ten
 * campus agents a school has ~400, and reading and parsing them was a quarter of the collector's ingest
 * CPU at 10,000 agents (bench/ingest). Bounded by a number of results (≈ 340 B of heap each);
 * when new keys of cached schools overflow it, the least recently used schools go. The store updates it
 * only after its writes committed. The results it returns are shared: read-only.
 */
export class LatestCache {
  private readonly schools = new Map<string, SchoolLatest>();
  private size = 0;
  hits = 0;
  misses = 0;

  constructor(readonly maxResults: number) {}

  /** A school's results in key order, or undefined when it is not cached. */
  get(schoolId: string): ProbeResult[] | undefined {
    const s = this.schools.get(schoolId);
    if (!s) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    this.schools.delete(schoolId); // most recently used last
    this.schools.set(schoolId, s);
    return s.results.slice();
  }

  /**
   * Caches what the store read for a school (rows in key order) when there is room. A full cache admits
   * no other school rather than evicting one: schools report in a cycle, and under a cycle larger than the
   * cache, least-recently-used eviction would evict every school just before it reports again.
   */
  fill(schoolId: string, rows: readonly { key: string; at: string; result: ProbeResult }[]): void {
    this.drop(schoolId);
    if (this.size + rows.length > this.maxResults) return;
    const s: SchoolLatest = {
      keys: rows.map((r) => r.key),
      results: rows.map((r) => r.result),
      at: rows.map((r) => r.at),
      index: new Map(rows.map((r, i) => [r.key, i])),
    };
    this.schools.set(schoolId, s);
    this.size += rows.length;
    this.evict();
  }

  /**
   * After a committed write of a school's latest rows: the same rule as the store's upsert (a result
   * replaces the stored one when its time is the same or later, or when the stored one is after
   * `future`: from the future). Schools not cached are left alone.
   */
  apply(
    schoolId: string,
    written: readonly { key: string; at: string; result: ProbeResult }[],
    future = '\uffff',
  ): void {
    const s = this.schools.get(schoolId);
    if (!s) return;
    let added = false;
    for (const w of written) {
      const i = s.index.get(w.key);
      if (i === undefined) {
        s.keys.push(w.key);
        s.results.push(w.result);
        s.at.push(w.at);
        s.index.set(w.key, s.keys.length - 1);
        this.size++;
        added = true;
      } else if (w.at >= s.at[i]! || s.at[i]! > future) {
        s.results[i] = w.result;
        s.at[i] = w.at;
      }
    }
    if (added) {
      const order = s.keys.map((_, i) => i).sort((a, b) => compareUtf8(s.keys[a]!, s.keys[b]!));
      s.keys = order.map((i) => s.keys[i]!);
      s.results = order.map((i) => s.results[i]!);
      s.at = order.map((i) => s.at[i]!);
      s.index = new Map(s.keys.map((k, i) => [k, i]));
      this.evict();
    }
  }

  drop(schoolId: string): void {
    const s = this.schools.get(schoolId);
    if (!s) return;
    this.size -= s.keys.length;
    this.schools.delete(schoolId);
  }

  clear(): void {
    this.schools.clear();
    this.size = 0;
  }

  get results(): number {
    return this.size;
  }

  private evict(): void {
    for (const [id, s] of this.schools) {
      if (this.size <= this.maxResults) break;
      this.size -= s.keys.length;
      this.schools.delete(id);
    }
  }
}
