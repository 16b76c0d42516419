import { randomUUID } from 'node:crypto';

export interface Slot {
  id: string;
  agentId: string;
  schoolId: string;
  grantedAt: number;
  expiresAt: number;
  /** Upload bytes the collector received, per slice of `sliceMs`, from the first byte of the first upload stream. */
  upload: { epochMs: number | undefined; slices: number[]; bytes: number };
  downloadBytes: number;
}

export type StreamKind = 'upload' | 'download';

export interface SlotCounters {
  active: number;
  /** The most slots ever held at once: the scheduler's promise is that this never exceeds `maxConcurrent`. */
  maxActive: number;
  granted: number;
  refused: number;
  released: number;
  expired: number;
  maxConcurrent: number;
}

export type SlotRequest = { granted: Slot } | { retryAfterS: number; reason: string };

/**
 * At most N speed tests at once (perfSONAR pScheduler's idea; docs/architecture.md, "Speed test"): an agent asks for a slot and
 * gets one, or a retry time. Slots end when released or after their time-to-live (an agent that died
 * does not hold one for ever). Expiry is checked whenever the scheduler is asked, and by a timer at the
 * end of a slot that has streams open: every stream of a slot is closed when the slot ends, so that one
 * token cannot keep connections (file descriptors) open past its slot.
 */
export class SlotScheduler {
  private readonly slots = new Map<string, Slot>();
  /** How to close each open stream of a slot, per direction. */
  private readonly streams = new Map<string, Record<StreamKind, Set<() => void>>>();
  /** The expiry timer of each slot with streams open. */
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly counters: Omit<SlotCounters, 'active' | 'maxConcurrent'> = {
    maxActive: 0,
    granted: 0,
    refused: 0,
    released: 0,
    expired: 0,
  };

  constructor(
    readonly maxConcurrent: number,
    readonly ttlMs: number,
    readonly sliceMs = 100,
    private readonly now: () => number = Date.now,
  ) {}

  request(agentId: string, schoolId: string): SlotRequest {
    this.expire();
    const mine = [...this.slots.values()].find((s) => s.agentId === agentId);
    if (mine) {
      // one test per agent at a time; a second request renews nothing and is refused
      this.counters.refused++;
      return {
        retryAfterS: Math.max(1, Math.ceil((mine.expiresAt - this.now()) / 1000)),
        reason: 'this agent already holds a slot',
      };
    }
    if (this.slots.size >= this.maxConcurrent) {
      this.counters.refused++;
      const soonest = Math.min(...[...this.slots.values()].map((s) => s.expiresAt));
      // spread retries so that waiting agents do not come back all at once
      const wait = Math.max(1, Math.ceil((soonest - this.now()) / 1000));
      return {
        retryAfterS: Math.min(wait, 1 + Math.floor(Math.random() * 5)),
        reason: `all ${this.maxConcurrent} speed-test slots are busy`,
      };
    }
    const t = this.now();
    const slot: Slot = {
      id: randomUUID(),
      agentId,
      schoolId,
      grantedAt: t,
      expiresAt: t + this.ttlMs,
      upload: { epochMs: undefined, slices: [], bytes: 0 },
      downloadBytes: 0,
    };
    this.slots.set(slot.id, slot);
    this.counters.granted++;
    this.counters.maxActive = Math.max(this.counters.maxActive, this.slots.size);
    return { granted: slot };
  }

  /** The live slot with this id held by this agent, if any. */
  get(id: string, agentId: string): Slot | undefined {
    this.expire();
    const slot = this.slots.get(id);
    return slot && slot.agentId === agentId ? slot : undefined;
  }

  release(id: string, agentId: string): boolean {
    const slot = this.get(id, agentId);
    if (!slot) return false;
    this.slots.delete(id);
    this.counters.released++;
    this.closeStreams(id);
    return true;
  }

  /**
   * A stream opened on a live slot: `close` ends it when the slot ends (release or expiry). Returns the
   * function to call once the stream has closed, or undefined when the slot has ended or already has
   * `max` streams of this direction open.
   */
  openStream(slot: Slot, kind: StreamKind, max: number, close: () => void): (() => void) | undefined {
    this.expire();
    if (this.slots.get(slot.id) !== slot) return undefined;
    let open = this.streams.get(slot.id);
    if (!open) {
      open = { upload: new Set(), download: new Set() };
      this.streams.set(slot.id, open);
      // expiry is otherwise lazy: a slot with streams open is ended on time
      const timer = setTimeout(() => this.expire(), Math.max(0, slot.expiresAt - this.now()) + 1);
      timer.unref();
      this.timers.set(slot.id, timer);
    }
    const set = open[kind];
    if (set.size >= max) return undefined;
    set.add(close);
    return () => {
      set.delete(close);
    };
  }

  /** Streams open on a slot now, per direction. */
  openStreams(slotId: string): Record<StreamKind, number> {
    const open = this.streams.get(slotId);
    return { upload: open?.upload.size ?? 0, download: open?.download.size ?? 0 };
  }

  /** Counts upload bytes into the slot's time slices. */
  countUpload(slot: Slot, bytes: number): void {
    const t = this.now();
    slot.upload.epochMs ??= t;
    const i = Math.floor((t - slot.upload.epochMs) / this.sliceMs);
    while (slot.upload.slices.length <= i) slot.upload.slices.push(0);
    slot.upload.slices[i]! += bytes;
    slot.upload.bytes += bytes;
  }

  stats(): SlotCounters {
    this.expire();
    return { ...this.counters, active: this.slots.size, maxConcurrent: this.maxConcurrent };
  }

  private closeStreams(id: string): void {
    const timer = this.timers.get(id);
    if (timer) clearTimeout(timer);
    this.timers.delete(id);
    const open = this.streams.get(id);
    this.streams.delete(id);
    if (!open) return;
    for (const close of [...open.upload, ...open.download]) close();
  }

  private expire(): void {
    const t = this.now();
    for (const [id, s] of this.slots) {
      if (s.expiresAt <= t) {
        this.slots.delete(id);
        this.counters.expired++;
        this.closeStreams(id);
      }
    }
  }
}
