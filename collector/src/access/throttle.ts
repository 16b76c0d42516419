import type { FastifyReply } from 'fastify';
import { sendRetryLater } from '../errors.js';
import type { CollectorMetrics } from '../metrics.js';

/**
 * Exponential back-off per key (a source address, an account, an enrolment code): after each failure the
 * key must wait base × 2^(failures − 1), at most `maxMs`, before it is heard again; a success forgets it.
 * A request inside the wait is refused without being checked, so an online guess costs the guesser time,
 * not us CPU. In memory per collector (bounded: the oldest keys go first).
 */
export class Backoff {
  private readonly keys = new Map<string, { failures: number; until: number }>();

  constructor(
    private readonly opts: { baseMs: number; maxMs: number; freeFailures: number; maxKeys?: number },
  ) {}

  /** Milliseconds the key must still wait (0: it may try now). */
  waitMs(key: string, now: number): number {
    const k = this.keys.get(key);
    return k ? Math.max(0, k.until - now) : 0;
  }

  failed(key: string, now: number): void {
    const k = this.keys.get(key) ?? { failures: 0, until: 0 };
    k.failures += 1;
    const over = k.failures - this.opts.freeFailures;
    k.until = over > 0 ? now + Math.min(this.opts.maxMs, this.opts.baseMs * 2 ** (over - 1)) : 0;
    this.keys.delete(key);
    this.keys.set(key, k);
    const max = this.opts.maxKeys ?? 100_000;
    while (this.keys.size > max) this.keys.delete(this.keys.keys().next().value!);
  }

  succeeded(key: string): void {
    this.keys.delete(key);
  }
}

/** Refuses a request (429 + Retry-After) while its key backs off, counting the decision; false when it may go on. */
export async function refusedByBackoff(
  backoff: Backoff,
  key: string,
  now: number,
  reply: FastifyReply,
  metrics: Pick<CollectorMetrics, 'throttle'>,
  what: 'login' | 'enroll',
  message: string,
  by: 'address' | 'code' = 'address',
): Promise<boolean> {
  const wait = backoff.waitMs(key, now);
  if (wait <= 0) return false;
  metrics.throttle.inc({ what, decision: 'throttled', by });
  await sendRetryLater(reply, 429, Math.ceil(wait / 1000), message);
  return true;
}
