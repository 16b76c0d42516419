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
 * At most N speed tests at once (perfSONAR pScheduler's idea, DESIGN §9): an agent asks for a slot and
 * gets one, or a retry time. Slots end when released or after their time-to-live (an agent that died
 * does not hold one for ever). No timers: expiry is checked whenever the scheduler is asked.
 */
export class SlotScheduler {
  private readonly slots = new Map<string, Slot>();
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
    return true;
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

  private expire(): void {
    const t = this.now();
    for (const [id, s] of this.slots) {
      if (s.expiresAt <= t) {
        this.slots.delete(id);
        this.counters.expired++;
      }
    }
  }
}
