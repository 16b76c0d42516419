/**
 * Interface rates from two SNMP samples of 64-bit octet counters (IF-MIB ifHCInOctets/ifHCOutOctets).
 * Pure functions: no I/O, no clock.
 *
 * The interval is the device's own sysUpTime delta (TimeTicks, hundredths of a second) when it agrees
 * with the agent's clock, so the rate covers exactly the time the device counted over. sysUpTime going
 * backwards means the device (or its SNMP agent) restarted: its counters started again from zero, and
 * a difference across the restart would be a huge false spike, so no rate is given.
 */

/** One reading of an interface's counters. */
export interface CounterSample {
  /** When the answer arrived, on the agent's monotonic clock (milliseconds, e.g. `performance.now()`). */
  atMs: number;
  /** sysUpTime.0 in TimeTicks (hundredths of a second), 0 … 2^32 − 1. */
  sysUptimeTicks: number;
  /** ifHCInOctets (Counter64). */
  inOctets: bigint;
  /** ifHCOutOctets (Counter64). */
  outOctets: bigint;
}

/** Why no rate could be computed. */
export type RateNote = 'first-poll' | 'reboot' | 'counter-reset';

export interface Rates {
  inMbps: number;
  outMbps: number;
  /** The interval the rates cover, in seconds. */
  intervalS: number;
  /** Where the interval came from: the device's sysUpTime (normally) or the agent's clock. */
  clock: 'sysUpTime' | 'agent';
}

export type RateResult = Rates | { note: RateNote };

export const TICKS_WRAP = 2 ** 32;
export const COUNTER64_WRAP = 1n << 64n;
const COUNTER64_MAX = COUNTER64_WRAP - 1n;
/** A wrapped Counter64 is believed only if the rate it implies is at most this × ifSpeed. */
export const WRAP_PLAUSIBLE_FACTOR = 1.5;

/**
 * How far the sysUpTime delta may fall short of (or exceed) the agent's clock before it is not
 * believed: the samples are stamped when the answer arrives, so the network delay of each answer is
 * in the agent's interval but not in the device's.
 */
export function clockTolerance(wallMs: number): number {
  return 1000 + 0.05 * Math.abs(wallMs);
}

export type UptimeDelta = { ok: true; intervalMs: number; clock: 'sysUpTime' | 'agent' } | { ok: false };

/**
 * The interval between two samples, or `{ ok: false }` when the device restarted in between.
 *
 * - sysUpTime decreased: a restart, unless adding 2^32 ticks (the TimeTicks wrap after ≈ 497 days)
 *   gives a delta that matches the agent's clock — then the previous uptime was close to 2^32.
 * - sysUpTime increased by clearly less than the time that passed: the device restarted and has been
 *   up for less than the interval (after a restart the delta falls short by the whole uptime before it).
 * - sysUpTime increased by clearly more than the agent's clock: the device's delta is used anyway
 *   (the agent's monotonic clock stops while its host is suspended; the device kept counting).
 * - No tick passed (a frozen sysUpTime, or two samples within 10 ms): the agent's clock is used.
 */
export function uptimeDelta(prev: CounterSample, cur: CounterSample): UptimeDelta {
  const wallMs = cur.atMs - prev.atMs;
  const tolerance = clockTolerance(wallMs);
  let ticks = cur.sysUptimeTicks - prev.sysUptimeTicks;
  if (ticks === 0) return wallMs > 0 ? { ok: true, intervalMs: wallMs, clock: 'agent' } : { ok: false };
  if (ticks < 0) {
    const wrapped = ticks + TICKS_WRAP;
    if (Math.abs(wrapped * 10 - wallMs) > tolerance) return { ok: false };
    ticks = wrapped;
  }
  const deviceMs = ticks * 10;
  if (deviceMs < wallMs - tolerance) return { ok: false };
  return { ok: true, intervalMs: deviceMs, clock: 'sysUpTime' };
}

/** Octets counted between two readings of a Counter64, allowing one wrap; undefined if impossible. */
function counterDelta(prev: bigint, cur: bigint): { octets: bigint; wrapped: boolean } | undefined {
  if (prev < 0n || cur < 0n || prev > COUNTER64_MAX || cur > COUNTER64_MAX) return undefined;
  if (cur >= prev) return { octets: cur - prev, wrapped: false };
  return { octets: cur + COUNTER64_WRAP - prev, wrapped: true };
}

function mbps(octets: bigint, intervalMs: number): number {
  // octets × 8 bits / (intervalMs / 1000) s / 1e6 = octets × 8 / (intervalMs × 1000)
  return (Number(octets) * 8) / (intervalMs * 1000);
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/**
 * In and out rates (Mbit/s) between two samples of the same interface, or the reason there is none.
 * A Counter64 that went down without a restart is taken as a wrap only if the rate it implies is
 * plausible for the link (≤ 1.5 × `ifSpeedMbps`); otherwise the counters were reset (e.g. cleared by
 * an operator) and no rate is given. Without a known speed a decrease is always a reset.
 */
export function counterRate(
  prev: CounterSample | undefined,
  cur: CounterSample,
  ifSpeedMbps?: number,
): RateResult {
  if (prev === undefined) return { note: 'first-poll' };
  const interval = uptimeDelta(prev, cur);
  if (!interval.ok) {
    // No time at all passed between the samples: as good as a single sample.
    if (cur.sysUptimeTicks === prev.sysUptimeTicks) return { note: 'first-poll' };
    return { note: 'reboot' };
  }
  const din = counterDelta(prev.inOctets, cur.inOctets);
  const dout = counterDelta(prev.outOctets, cur.outOctets);
  if (!din || !dout) return { note: 'counter-reset' };
  const inMbps = mbps(din.octets, interval.intervalMs);
  const outMbps = mbps(dout.octets, interval.intervalMs);
  if (din.wrapped || dout.wrapped) {
    const limit =
      ifSpeedMbps !== undefined && Number.isFinite(ifSpeedMbps) && ifSpeedMbps > 0
        ? WRAP_PLAUSIBLE_FACTOR * ifSpeedMbps
        : 0;
    if ((din.wrapped && inMbps > limit) || (dout.wrapped && outMbps > limit))
      return { note: 'counter-reset' };
  }
  return {
    inMbps: round3(inMbps),
    outMbps: round3(outMbps),
    intervalS: interval.intervalMs / 1000,
    clock: interval.clock,
  };
}

/**
 * Utilisation in percent: the busier direction over the interface speed. Undefined without a speed,
 * or when the rate is implausible for that speed (over 1.5 × ifSpeed: the reported speed is not the
 * link's capacity, as with `lo`, tunnels or a wrong ifHighSpeed).
 */
export function utilPct(
  rates: { inMbps: number; outMbps: number },
  ifSpeedMbps?: number,
): number | undefined {
  if (ifSpeedMbps === undefined || !Number.isFinite(ifSpeedMbps) || ifSpeedMbps <= 0) return undefined;
  const busier = Math.max(rates.inMbps, rates.outMbps);
  if (busier > WRAP_PLAUSIBLE_FACTOR * ifSpeedMbps) return undefined;
  return Math.round((busier / ifSpeedMbps) * 100 * 100) / 100;
}
