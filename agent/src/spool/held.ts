// What the spool keeps in memory while its store cannot write (a full disk): the reports it could not store,
// and the bookkeeping not written yet (removals of delivered reports, refusals, counter increments).

/** A report held in memory only. */
export interface HeldReport {
  reportId: string;
  body: string;
  attempts: number;
  createdAt: number;
}

/** Reports held in memory at most while the spool cannot store (the oldest go beyond it, counted as dropped). */
const HELD_MAX_REPORTS = 16;
const HELD_MAX_BYTES = 32 * 1024 * 1024;

export class Pending {
  /** Reports not stored, oldest first. */
  reports: HeldReport[] = [];
  /** Delivered reports whose removal is not written yet, with when they were delivered. */
  readonly unremoved = new Map<string, Date>();
  /** Refusals not written yet. */
  readonly unrejected = new Map<string, { status: number; reason: string; at: number }>();
  /** Counter increments not written yet. */
  readonly unbumped = new Map<string, number>();

  /** Nothing waits to be written. */
  get empty(): boolean {
    return (
      this.unremoved.size === 0 &&
      this.unrejected.size === 0 &&
      this.unbumped.size === 0 &&
      this.reports.length === 0
    );
  }

  /** Everything was written. */
  clear(): void {
    this.unremoved.clear();
    this.unrejected.clear();
    this.unbumped.clear();
    this.reports = [];
  }

  bumpLater(key: string, by: number): void {
    this.unbumped.set(key, (this.unbumped.get(key) ?? 0) + by);
  }

  /** A stored report the queue must not offer: its removal or refusal is not written yet. */
  settled(reportId: string): boolean {
    return this.unremoved.has(reportId) || this.unrejected.has(reportId);
  }

  find(reportId: string): HeldReport | undefined {
    return this.reports.find((x) => x.reportId === reportId);
  }

  /** Takes a held report out (delivered or refused), or undefined when it is not held. */
  take(reportId: string): HeldReport | undefined {
    const i = this.reports.findIndex((x) => x.reportId === reportId);
    return i >= 0 ? this.reports.splice(i, 1)[0] : undefined;
  }

  /** Holds a report, dropping the oldest beyond the caps (the newest is always kept); returns how many went. */
  hold(report: HeldReport): number {
    this.reports.push(report);
    let bytes = this.reports.reduce((n, h) => n + h.body.length, 0);
    let dropped = 0;
    while (this.reports.length > 1 && (this.reports.length > HELD_MAX_REPORTS || bytes > HELD_MAX_BYTES)) {
      bytes -= this.reports.shift()!.body.length;
      this.bumpLater('dropped', 1);
      dropped++;
    }
    return dropped;
  }
}
