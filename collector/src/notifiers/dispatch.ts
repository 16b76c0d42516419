import { type AlertGroup, type Notifier, NotifyError } from './notifier.js';

/** The part of a pino logger the dispatcher uses. Messages never contain secrets or full URLs. */
export interface DispatchLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

export type Sleep = (ms: number, signal?: AbortSignal) => Promise<void>;

/** Real sleep that ends early (resolves) when the signal aborts; the timer is always cleared. */
export const realSleep: Sleep = (ms, signal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });

export interface ChannelCounters {
  /** Messages delivered. */
  sent: number;
  /** Messages given up on (after all attempts or a non-retryable error). */
  failed: number;
  /** Extra attempts made after a retryable failure. */
  retried: number;
  /** Sends that waited for the rate limiter. */
  delayed: number;
  lastError?: string;
  lastErrorAt?: string;
  lastSentAt?: string;
}

/** Per-channel counters for the collector's health endpoint, keyed by channel name. */
export class ChannelStats {
  readonly #byName = new Map<string, ChannelCounters>();

  constructor(private readonly now: () => number = Date.now) {}

  #get(name: string): ChannelCounters {
    let c = this.#byName.get(name);
    if (!c) {
      c = { sent: 0, failed: 0, retried: 0, delayed: 0 };
      this.#byName.set(name, c);
    }
    return c;
  }

  recordSent(name: string): void {
    const c = this.#get(name);
    c.sent++;
    c.lastSentAt = new Date(this.now()).toISOString();
  }

  recordRetry(name: string): void {
    this.#get(name).retried++;
  }

  recordDelayed(name: string): void {
    this.#get(name).delayed++;
  }

  recordFailed(name: string, error: string): void {
    const c = this.#get(name);
    c.failed++;
    c.lastError = error;
    c.lastErrorAt = new Date(this.now()).toISOString();
  }

  get(name: string): Readonly<ChannelCounters> {
    return { ...this.#get(name) };
  }

  /** A copy of all counters, sorted by channel name. */
  snapshot(): Array<{ channel: string } & ChannelCounters> {
    return [...this.#byName.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([channel, c]) => ({ channel, ...c }));
  }
}

/**
 * Token bucket: `perMinute` tokens, refilled continuously. `acquire` waits (FIFO) for a token instead of
 * dropping the message — WeCom and DingTalk robots accept 20 messages a minute, and DingTalk mutes a robot
 * for 10 minutes when it gets more. Clock and sleep are injectable for tests.
 */
export class RateLimiter {
  readonly #capacity: number;
  readonly #perMs: number;
  readonly #now: () => number;
  readonly #sleep: Sleep;
  #tokens: number;
  #last: number;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(perMinute: number, opts: { now?: () => number; sleep?: Sleep } = {}) {
    if (!(perMinute > 0)) throw new RangeError('perMinute must be positive');
    this.#capacity = perMinute;
    this.#perMs = perMinute / 60_000;
    this.#now = opts.now ?? Date.now;
    this.#sleep = opts.sleep ?? realSleep;
    this.#tokens = perMinute;
    this.#last = this.#now();
  }

  #refill(): void {
    const now = this.#now();
    this.#tokens = Math.min(this.#capacity, this.#tokens + Math.max(0, now - this.#last) * this.#perMs);
    this.#last = now;
  }

  /** Resolves with the milliseconds waited once a token is taken; rejects only when the signal aborts. */
  acquire(signal?: AbortSignal): Promise<number> {
    const turn = this.#queue.then(async () => {
      let waited = 0;
      for (;;) {
        if (signal?.aborted) throw new NotifyError('cancelled while waiting for the rate limit', false);
        this.#refill();
        if (this.#tokens >= 1) {
          this.#tokens -= 1;
          return waited;
        }
        const ms = Math.ceil((1 - this.#tokens) / this.#perMs);
        waited += ms;
        await this.#sleep(ms, signal);
      }
    });
    this.#queue = turn.catch(() => undefined);
    return turn;
  }
}

export interface SendOptions {
  /** Attempts in all, including the first (default 3). */
  attempts?: number;
  /** First backoff delay; doubles per attempt, with jitter (default 1000). */
  baseDelayMs?: number;
  maxDelayMs?: number;
  signal?: AbortSignal;
  log?: DispatchLog;
  stats?: ChannelStats;
  limiter?: RateLimiter;
  /** Injectable for tests. */
  sleep?: Sleep;
  random?: () => number;
}

export type SendOutcome =
  | { ok: true; attempts: number }
  | { ok: false; error: NotifyError; attempts: number };

function asNotifyError(err: unknown): NotifyError {
  if (err instanceof NotifyError) return err;
  // A notifier must throw NotifyError; anything else is a bug there: report it, do not retry it.
  const name = err instanceof Error ? err.name : typeof err;
  return new NotifyError(`unexpected ${name} from the notifier`, false, { cause: err });
}

/** Backoff before attempt `n + 1` (n ≥ 1): base·2^(n−1), capped, with "equal jitter" (half fixed, half random). */
export function backoffDelay(
  n: number,
  baseDelayMs: number,
  maxDelayMs: number,
  random: () => number,
): number {
  const d = Math.min(maxDelayMs, baseDelayMs * 2 ** (n - 1));
  return Math.round(d / 2 + random() * (d / 2));
}

/**
 * Sends one group through one channel: waits for the rate limiter, retries retryable NotifyErrors with
 * exponential backoff and jitter, counts the outcome and never throws.
 */
export async function sendWithRetry(
  notifier: Notifier,
  group: AlertGroup,
  opts: SendOptions = {},
): Promise<SendOutcome> {
  const attempts = Math.max(1, opts.attempts ?? 3);
  const base = opts.baseDelayMs ?? 1000;
  const max = opts.maxDelayMs ?? 60_000;
  const sleep = opts.sleep ?? realSleep;
  const random = opts.random ?? Math.random;
  const signal = opts.signal ?? new AbortController().signal;
  const channel = { channel: notifier.name, type: notifier.type };
  let error = new NotifyError('not sent', false);
  let n = 0;
  while (n < attempts) {
    if (signal.aborted) {
      error = new NotifyError(`${notifier.type} "${notifier.name}": cancelled`, false);
      break;
    }
    if (n > 0) {
      opts.stats?.recordRetry(notifier.name);
      await sleep(backoffDelay(n, base, max, random), signal);
      if (signal.aborted) continue;
    }
    n++;
    try {
      if (opts.limiter) {
        const waited = await opts.limiter.acquire(signal);
        if (waited > 0) {
          opts.stats?.recordDelayed(notifier.name);
          opts.log?.info({ ...channel, waitedMs: waited }, 'notification delayed by the rate limit');
        }
      }
      await notifier.send(group, { signal });
      opts.stats?.recordSent(notifier.name);
      return { ok: true, attempts: n };
    } catch (err) {
      error = asNotifyError(err);
      const willRetry = error.retryable && n < attempts && !signal.aborted;
      opts.log?.warn(
        { ...channel, attempt: n, retryable: error.retryable, school: group.school.id, error: error.message },
        willRetry ? 'notification failed, will retry' : 'notification failed',
      );
      if (!error.retryable) break;
    }
  }
  opts.stats?.recordFailed(notifier.name, error.message);
  return { ok: false, error, attempts: n };
}

/** One channel as the dispatcher sees it: the notifier and, when the channel has one, its rate limiter. */
export interface Channel {
  notifier: Notifier;
  limiter?: RateLimiter;
}

export type DispatchOptions = Omit<SendOptions, 'limiter'>;

export type ChannelOutcome = SendOutcome & { channel: string; type: Notifier['type'] };

/**
 * Sends the group to every channel at once; a slow or failing channel never holds up the others.
 * Resolves (never rejects) with one outcome per channel, in the given order.
 */
export async function dispatchAll(
  channels: readonly (Channel | Notifier)[],
  group: AlertGroup,
  opts: DispatchOptions = {},
): Promise<ChannelOutcome[]> {
  return Promise.all(
    channels.map(async (c) => {
      const ch: Channel = 'notifier' in c ? c : { notifier: c };
      const outcome = await sendWithRetry(ch.notifier, group, { ...opts, limiter: ch.limiter });
      return { ...outcome, channel: ch.notifier.name, type: ch.notifier.type };
    }),
  );
}
