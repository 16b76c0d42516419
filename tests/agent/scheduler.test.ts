import { describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../../agent/src/config.js';
import { silentLogger } from '../../agent/src/log.js';
import type { Probe } from '../../agent/src/probes/probe.js';
import { PROBES } from '../../agent/src/probes/registry.js';
import { dueProbes, nextCycleDelayMs, runProbes } from '../../agent/src/scheduler.js';
import type { ProbeName } from '../../protocol/report.js';

const config = parseAgentConfig(
  [
    'school: { id: s, name: 星海 }',
    'collector: { url: "http://127.0.0.1:1" }',
    'probes: { host: { intervalS: 300, timeoutS: 1 }, reachability: { intervalS: 60, timeoutS: 2 } }',
  ].join('\n'),
);

describe('scheduler', () => {
  it('runs every enabled probe first, then each on its own interval', () => {
    const last = new Map<ProbeName, number>();
    expect(dueProbes(config, last, 0)).toEqual(['host', 'reachability']);
    last.set('host', 0).set('reachability', 0);
    expect(dueProbes(config, last, 30_000)).toEqual([]);
    expect(dueProbes(config, last, 60_000)).toEqual(['reachability']);
    expect(dueProbes(config, last, 300_000)).toEqual(['host', 'reachability']);
    const off = { ...config, probes: { ...config.probes, host: { ...config.probes.host, enabled: false } } };
    expect(dueProbes(off, new Map(), 0)).toEqual(['reachability']);
  });

  it('jitters the cycle by up to ± jitterPct', () => {
    expect(nextCycleDelayMs(60, 10, () => 0)).toBe(54_000);
    expect(nextCycleDelayMs(60, 10, () => 0.5)).toBe(60_000);
    expect(nextCycleDelayMs(60, 10, () => 1)).toBe(66_000);
  });

  it('gives each probe its own deadline as an AbortSignal; a probe that throws is contained', async () => {
    let sawAbort = false;
    const slow: Probe = {
      kind: 'host',
      run: (_c, ctx) =>
        new Promise((resolve) => {
          ctx.signal.addEventListener('abort', () => {
            sawAbort = true;
            resolve([]);
          });
        }),
    };
    const broken: Probe = {
      kind: 'reachability',
      run: async () => {
        throw new Error('bug');
      },
    };
    const runs = await runProbes(
      ['host', 'reachability'],
      { ...PROBES, host: slow, reachability: broken },
      config,
      {
        log: silentLogger(),
        now: () => new Date(),
      },
    );
    expect(sawAbort).toBe(true);
    expect(runs).toEqual([
      { name: 'host', results: [] },
      { name: 'reachability', results: [], error: 'bug' },
    ]);
  });
});
