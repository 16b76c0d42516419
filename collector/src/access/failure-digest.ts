import type { Logger } from 'pino';

interface Window {
  /** `performance.now()` of the window's first failure. */
  since: number;
  failures: number;
  /** Of them, refused with 429 without being checked (the address or the code was backing off). */
  throttled: number;
}

/**
 * Failed attempts (wrong enrolment codes) summed up per source address, so that a guesser fills the log
 * with a line per burst instead of lines per guess: the first failure of an address is logged at once,
 * with why; any further ones in the next `windowMs` are logged as one line when the window ends —
 * `enrolment: 250 failed attempts from 10.0.0.9 in the last 60 s (244 refused with 429)`. Bounded: at
 * most `maxAddresses` windows are open (beyond that the oldest is logged and closed early).
 */
export class FailureDigest {
  readonly #windows = new Map<string, Window>();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly log: Logger,
    private readonly opts: { what: string; windowMs: number; maxAddresses?: number },
  ) {}

  /** One failed attempt from `address`; `reason` is said on the first one of a window. */
  failed(address: string, failure: { throttled: boolean; reason: string }): void {
    const w = this.#windows.get(address);
    if (w) {
      w.failures++;
      if (failure.throttled) w.throttled++;
      return;
    }
    this.#windows.set(address, {
      since: performance.now(),
      failures: 1,
      throttled: failure.throttled ? 1 : 0,
    });
    this.log.warn(
      { remoteAddress: address, reason: failure.reason },
      `${this.opts.what}: a failed attempt from ${address} (${failure.reason}); further ones from it are summed up over ${this.#windowText()}`,
    );
    const max = this.opts.maxAddresses ?? 10_000;
    while (this.#windows.size > max) this.#close(this.#windows.keys().next().value!);
    this.#schedule();
  }

  /** Logs and closes every window (the collector is stopping). */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const address of [...this.#windows.keys()]) this.#close(address);
  }

  /** Open windows (addresses with recent failures). */
  get size(): number {
    return this.#windows.size;
  }

  #windowText(ms = this.opts.windowMs): string {
    const s = ms / 1000;
    return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
  }

  #close(address: string): void {
    const w = this.#windows.get(address);
    if (!w) return;
    this.#windows.delete(address);
    if (w.failures <= 1) return; // the first one was logged when it happened
    // a window closed early (the collector stops, too many addresses) says how long it really was
    const spanMs = Math.min(this.opts.windowMs, Math.ceil((performance.now() - w.since) / 100) * 100);
    this.log.warn(
      { remoteAddress: address, failures: w.failures, throttled: w.throttled, windowS: spanMs / 1000 },
      `${this.opts.what}: ${w.failures} failed attempts from ${address} in the last ${this.#windowText(spanMs)} (${w.throttled} refused with 429)`,
    );
  }

  /** One timer for all windows: at the end of the oldest one. */
  #schedule(): void {
    if (this.#timer !== undefined) return;
    const oldest = this.#windows.values().next().value;
    if (!oldest) return;
    const wait = Math.max(0, oldest.since + this.opts.windowMs - performance.now());
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      const now = performance.now();
      // windows are in the order they opened: close those that ended, stop at the first still open
      for (const [address, w] of this.#windows) {
        if (now - w.since < this.opts.windowMs) break;
        this.#close(address);
      }
      this.#schedule();
    }, wait);
    this.#timer.unref();
  }
}
