/**
 * Token buckets by key (an agent id): `ratePerS` tokens a second up to `burst`. An agent flushing a
 * day of spooled reports after an outage gets through at the sustained rate; one stuck in a loop gets
 * 429 + Retry-After instead of taking the collector with it. Buckets that are full again are dropped, so
 * memory follows the agents that are sending now, not all agents ever seen.
 */
export class KeyedRateLimiter {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly ratePerS: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!(ratePerS > 0) || !(burst >= 1)) throw new RangeError('ratePerS must be > 0 and burst ≥ 1');
  }

  /** Takes a token: undefined when allowed, else the seconds until one is available. */
  take(key: string): number | undefined {
    const t = this.now();
    const b = this.#buckets.get(key);
    const tokens = b ? Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.ratePerS) : this.burst;
    if (tokens < 1) {
      this.#buckets.set(key, { tokens, at: t });
      return (1 - tokens) / this.ratePerS;
    }
    this.#buckets.set(key, { tokens: tokens - 1, at: t });
    if (this.#buckets.size > 10_000) this.#sweep(t);
    return undefined;
  }

  get size(): number {
    return this.#buckets.size;
  }

  #sweep(t: number): void {
    for (const [key, b] of this.#buckets) {
      if (b.tokens + ((t - b.at) / 1000) * this.ratePerS >= this.burst) this.#buckets.delete(key);
    }
  }
}
