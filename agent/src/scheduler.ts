import type { ProbeName, ProbeResult } from '../../protocol/report.js';
import type { AgentConfig } from './config.js';
import type { Logger } from './log.js';
import type { Probe } from './probes/probe.js';

type ProbeSettings = AgentConfig['probes'][ProbeName];

/** Probes that are enabled and due: never run, or last run at least one interval ago. */
export function dueProbes(
  config: AgentConfig,
  lastRunMs: ReadonlyMap<ProbeName, number>,
  nowMs: number,
): ProbeName[] {
  return (Object.entries(config.probes) as [ProbeName, ProbeSettings][])
    .filter(([name, p]) => {
      if (!p.enabled) return false;
      const last = lastRunMs.get(name);
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
 */
export async function runProbes(
  names: readonly ProbeName[],
  registry: Readonly<Record<ProbeName, Probe>>,
  config: AgentConfig,
  ctx: { log: Logger; now: () => Date; signal?: AbortSignal },
): Promise<ProbeRun[]> {
  return Promise.all(
    names.map(async (name): Promise<ProbeRun> => {
      const deadline = AbortSignal.timeout(config.probes[name].timeoutS * 1000);
      const signal = ctx.signal ? AbortSignal.any([ctx.signal, deadline]) : deadline;
      try {
        const results = await registry[name].run(config, {
          signal,
          log: ctx.log.child({ probe: name }),
          now: ctx.now,
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
