import { setMaxListeners } from 'node:events';
import type { ProbeName, ProbeResult } from '../../protocol/report.js';
import type { AgentConfig } from './config.js';
import type { Logger } from './log.js';
import type { CollectorCredentials, Probe } from './probes/probe.js';

type ProbeSettings = AgentConfig['probes'][ProbeName];

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (const ch of new TextEncoder().encode(s)) h = Math.imul(h ^ ch, 0x01000193) >>> 0;
  return h;
}

const minutesOf = (hhmm: string) => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/** Minutes since local midnight in a time zone. */
export function localMinutes(nowMs: number, timeZone: string): number {
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(nowMs));
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
  return get('hour') * 60 + get('minute');
}

/**
 * A school's place in the speed-test window: the window's start and length (minutes; a window that
 * crosses midnight is longer than its clock times say) and the school's offset from its start.
 */
export function speedtestSlot(
  schoolId: string,
  window: { start: string; end: string },
): { start: number; length: number; offset: number } {
  const start = minutesOf(window.start);
  let length = minutesOf(window.end) - start;
  if (length <= 0) length += 1440; // the window crosses midnight
  return { start, length, offset: fnv1a(schoolId) % Math.max(1, length - 15) };
}

/**
 * Scheduled speed tests run inside a window of school time (default 01:00-05:00), each school at its own
 * offset (a hash of its id) so that hundreds of schools never start at once; once per window.
 */
export function inSpeedtestWindow(
  schoolId: string,
  timeZone: string,
  window: { start: string; end: string },
  lastRunMs: number | undefined,
  nowMs: number,
): boolean {
  const { start, length, offset } = speedtestSlot(schoolId, window);
  const sinceStart = (localMinutes(nowMs, timeZone) - start + 1440) % 1440;
  if (sinceStart < offset || sinceStart >= length) return false;
  return lastRunMs === undefined || nowMs - lastRunMs >= length * 60_000;
}

/** Probes that are enabled and due: never run, or last run at least one interval ago; speed tests in their window. */
export function dueProbes(
  config: AgentConfig,
  lastRunMs: ReadonlyMap<ProbeName, number>,
  nowMs: number,
): ProbeName[] {
  return (Object.entries(config.probes) as [ProbeName, ProbeSettings][])
    .filter(([name, p]) => {
      if (!p.enabled) return false;
      const last = lastRunMs.get(name);
      if (name === 'bandwidth') {
        const { window } = config.probes.bandwidth;
        return inSpeedtestWindow(config.school.id, config.school.timezone, window, last, nowMs);
      }
      // a cycle's own jitter must not push a probe to the next cycle: allow 10% slack
      return last === undefined || nowMs - last >= p.intervalS * 1000 * 0.9;
    })
    .map(([name]) => name);
}

/** Delay before the next cycle: the interval, plus or minus up to jitterPct of it. */
export function nextCycleDelayMs(
  intervalS: number,
  jitterPct: number,
  random: () => number = Math.random,
): number {
  const base = intervalS * 1000;
  const spread = (base * jitterPct) / 100;
  return Math.max(0, Math.round(base + (random() * 2 - 1) * spread));
}

export interface ProbeRun {
  name: ProbeName;
  results: ProbeResult[];
  error?: string;
}

/**
 * Runs the named probes concurrently, each under its own deadline (its timeoutS) joined with the
 * caller's signal. A probe that breaks its contract and throws is logged and reported, never fatal.
 * `credentials` (the agent's token, the collector's CA) reaches only the kinds that declare they need it.
 */
export async function runProbes(
  names: readonly ProbeName[],
  registry: Readonly<Record<ProbeName, Probe>>,
  config: AgentConfig,
  ctx: { log: Logger; now: () => Date; signal?: AbortSignal; credentials?: () => CollectorCredentials },
): Promise<ProbeRun[]> {
  return Promise.all(
    names.map(async (name): Promise<ProbeRun> => {
      const deadline = AbortSignal.timeout(config.probes[name].timeoutS * 1000);
      const signal = ctx.signal ? AbortSignal.any([ctx.signal, deadline]) : deadline;
      // hundreds of device checks wait on one probe deadline: that is not a listener leak
      setMaxListeners(10_000, signal);
      try {
        const results = await registry[name].run(config, {
          signal,
          log: ctx.log.child({ probe: name }),
          now: ctx.now,
          ...(ctx.credentials ? { credentials: ctx.credentials } : {}),
        });
        return { name, results };
      } catch (err) {
        ctx.log.error(
          { probe: name, err: (err as Error).message },
          'probe threw instead of returning a result',
        );
        return { name, results: [], error: (err as Error).message };
      }
    }),
  );
}
