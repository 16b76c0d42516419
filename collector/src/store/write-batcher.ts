import type { IPoint } from 'influx';

export interface WriteBatcherOptions {
  /** Writes in flight at once; further reports queue and go together in the next write. */
  maxInFlight: number;
  /** A queued batch is sent once it holds this many points, even with every slot busy. */
  maxPoints: number;
  /** True when the store refused a write for its data (InfluxDB: HTTP 400), not for being unavailable. */
  isBadData: (err: unknown) => boolean;
  /**
   * How long a report may wait for others to share its write while a slot is free (0: never waits, the
   * default). Bounds the extra latency of every report; a batch of maxPoints goes at once.
   */
  lingerMs?: number;
  /** The clock the linger is measured with (tests). */
  now?: () => number;
}

interface Pending<T> {
  points: T[];
  /** When it was queued (options.now). */
  at: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Coalesces the points (IPoint objects, or their lines of line protocol) of reports that arrive while earlier writes are still in InfluxDB into one `/write`
 * (as Telegraf's output buffer does): under heavy load the requests grow instead of queueing, which costs
 * InfluxDB and the collector far less per point. Under light load a report is written as soon as a slot is
 * free, after waiting at most `lingerMs` for other reports to share the request (Telegraf's flush interval,
 * Prometheus remote-write's batch_send_deadline): at 10,000 agents a minute, ~167 reports/s, 50 ms turns
 * ~150 requests a second (each one a WAL append and fsync in InfluxDB) into ~20.
 *
 * Each caller's promise settles with its own outcome. When InfluxDB refuses a batch of several reports as bad
 * data (HTTP 400), each report is written again on its own, so one bad report is refused and the others are
 * stored (InfluxDB keeps the valid lines of a refused batch, and writing a point again is idempotent).
 * Every other failure (unavailable, auth) is the same for all reports of the batch.
 */
export class WriteBatcher<T = IPoint> {
  private readonly queue: Pending<T>[] = [];
  private queuedPoints = 0;
  private inFlight = 0;
  private lingerTimer: NodeJS.Timeout | undefined;
  private readonly lingerMs: number;
  private readonly now: () => number;
  /** Writes sent and points sent, for tests and self-monitoring. */
  writes = 0;

  constructor(
    private readonly write: (points: T[]) => Promise<void>,
    private readonly options: WriteBatcherOptions,
  ) {
    if (!Number.isInteger(options.maxInFlight) || options.maxInFlight < 1)
      throw new RangeError('maxInFlight must be a positive integer');
    if (!Number.isInteger(options.maxPoints) || options.maxPoints < 1)
      throw new RangeError('maxPoints must be a positive integer');
    this.lingerMs = options.lingerMs ?? 0;
    if (!Number.isFinite(this.lingerMs) || this.lingerMs < 0)
      throw new RangeError('lingerMs must be a number ≥ 0');
    this.now = options.now ?? (() => performance.now());
  }

  /** Resolves once these points are stored (alone or with others), rejects with this report's own error. */
  submit(points: T[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ points, at: this.now(), resolve, reject });
      this.queuedPoints += points.length;
      this.pump();
    });
  }

  private pump(): void {
    while (
      this.queue.length > 0 &&
      (this.inFlight < this.options.maxInFlight || this.queuedPoints >= this.options.maxPoints)
    ) {
      // a slot is free but the batch is small: the oldest report waits up to lingerMs for company
      if (this.queuedPoints < this.options.maxPoints) {
        const waitMs = this.queue[0]!.at + this.lingerMs - this.now();
        if (waitMs > 0) {
          this.lingerTimer ??= setTimeout(() => {
            this.lingerTimer = undefined;
            this.pump();
          }, waitMs);
          return;
        }
      }
      const batch: Pending<T>[] = [];
      let points = 0;
      // always take at least one report, then as many as fit
      while (this.queue.length > 0) {
        const next = this.queue[0]!;
        if (batch.length > 0 && points + next.points.length > this.options.maxPoints) break;
        batch.push(this.queue.shift()!);
        points += next.points.length;
      }
      this.queuedPoints -= points;
      void this.send(batch);
    }
  }

  private async send(batch: Pending<T>[]): Promise<void> {
    this.inFlight++;
    try {
      try {
        this.writes++;
        await this.write(batch.length === 1 ? batch[0]!.points : batch.flatMap((p) => p.points));
        for (const p of batch) p.resolve();
      } catch (err) {
        if (!this.options.isBadData(err) || batch.length === 1) {
          for (const p of batch) p.reject(err);
          return;
        }
        // find the report(s) InfluxDB refuses: each on its own
        await Promise.all(
          batch.map(async (p) => {
            try {
              this.writes++;
              await this.write(p.points);
              p.resolve();
            } catch (own) {
              p.reject(own);
            }
          }),
        );
      }
    } finally {
      this.inFlight--;
      this.pump();
    }
  }
}
