import { describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../../agent/src/config.js';
import { silentLogger } from '../../agent/src/log.js';
import type { Probe, ProbeContext, ProbeKind } from '../../agent/src/probes/probe.js';
import { fromKind, PROBES } from '../../agent/src/probes/registry.js';
import {
  dueProbes,
  inSpeedtestWindow,
  localMinutes,
  nextCycleDelayMs,
  runProbes,
} from '../../agent/src/scheduler.js';
import type { ProbeName } from '../../protocol/report.js';

const config = parseAgentConfig(
  [
    'school: { id: s, name: 星海 }',
    'collector: { url: "http://127.0.0.1:1" }',
    'probes: { host: { intervalS: 300, timeoutS: 1 }, reachability: { intervalS: 60, timeoutS: 2 }, ipv6: { enabled: false } }',
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

  it("hands the collector's credentials only to a kind that declares it needs them, with its own slice", async () => {
    const seen: Record<string, { slice: unknown; credentials: string | undefined }> = {};
    const spy = <S>(kind: ProbeName, slice: (c: typeof config) => S, needsCredentials: boolean): Probe =>
      fromKind<S>({
        kind,
        slice,
        needsCredentials,
        load: async () => ({
          run: async (s: S, ctx: ProbeContext) => {
            seen[kind] = { slice: s, credentials: ctx.credentials?.().token };
            return [];
          },
        }),
      } satisfies ProbeKind<S>);
    let asked = 0;
    await runProbes(
      ['host', 'reachability'],
      {
        ...PROBES,
        host: spy('host', (c) => c.probes.host, false),
        reachability: spy('reachability', (c) => ({ url: c.collector.url }), true),
      },
      config,
      {
        log: silentLogger(),
        now: () => new Date(),
        credentials: () => {
          asked++;
          return { token: 'the-agent-token' };
        },
      },
    );
    expect(seen).toEqual({
      host: { slice: config.probes.host, credentials: undefined },
      reachability: { slice: { url: 'http://127.0.0.1:1' }, credentials: 'the-agent-token' },
    });
    expect(asked).toBe(1);
  });
});

describe('speed-test window', () => {
  const window = { start: '01:00', end: '05:00' };
  // 2026-11-23 in Asia/Shanghai (UTC+8): local 01:00 = 17:00 UTC the day before
  const local = (hh: number, mm: number) => Date.UTC(2026, 10, 22, 17 + hh - 1, mm);

  it('computes local minutes in the school time zone', () => {
    expect(localMinutes(local(1, 0), 'Asia/Shanghai')).toBe(60);
    expect(localMinutes(local(4, 59), 'Asia/Shanghai')).toBe(299);
  });

  it('each school starts at its own offset inside the window, once per window', () => {
    const firstDue = (id: string) => {
      for (let m = 0; m < 240; m++) {
        if (inSpeedtestWindow(id, 'Asia/Shanghai', window, undefined, local(1, 0) + m * 60_000)) return m;
      }
      return -1;
    };
    const offsets = Array.from({ length: 200 }, (_, i) => firstDue(`school-${i}`));
    expect(offsets.every((o) => o >= 0 && o < 225)).toBe(true);
    // spread: 200 schools land on many different minutes, not all at 01:00
    expect(new Set(offsets).size).toBeGreaterThan(100);
    const o = offsets[0]!;
    const due = local(1, 0) + o * 60_000;
    expect(inSpeedtestWindow('school-0', 'Asia/Shanghai', window, due, due + 60_000)).toBe(false); // ran already
    expect(inSpeedtestWindow('school-0', 'Asia/Shanghai', window, undefined, local(12, 0))).toBe(false); // outside
    expect(inSpeedtestWindow('school-0', 'Asia/Shanghai', window, due, due + 24 * 3_600_000)).toBe(true); // next night
  });
});
