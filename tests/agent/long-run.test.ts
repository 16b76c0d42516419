import { getEventListeners, once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { gunzipSync } from 'node:zlib';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { CampusAgent } from '../../agent/src/agent.js';
import { saveIdentity } from '../../agent/src/identity.js';
import type { Probe } from '../../agent/src/probes/probe.js';
import { PROBE_NAMES, type ProbeName } from '../../protocol/report.js';
import { World, XINGHAI } from '../helpers/world.js';

const CYCLES = 10_000;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heapAfterGc = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};

/** Probes that find nothing at once: the cycle's own machinery is what runs thousands of times. */
const quietRegistry = Object.fromEntries(
  PROBE_NAMES.map((kind): [ProbeName, Probe] => [kind, { kind, run: async () => [] }]),
) as Record<ProbeName, Probe>;

describe('the daemon over months', () => {
  const w = new World();
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    vi.useRealTimers();
  });
  afterAll(async () => {
    for (const c of cleanups) c();
    await w.cleanup();
  });

  it(`${CYCLES} cycles leave the listeners on the daemon's signal, its timers and its heap flat`, async () => {
    // a collector that acknowledges every report: the forwarder delivers in the background as it does for real
    let received = 0;
    let arrived: (() => void) | undefined;
    const collector = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => {
        chunks.push(c);
      });
      req.on('end', () => {
        received++;
        arrived?.();
        const raw = Buffer.concat(chunks);
        // the agent compresses its bodies by default, as it does for the real collector
        const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
        const { reportId } = JSON.parse(body.toString('utf8')) as { reportId: string };
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ status: 'stored', reportId, clockOffsetS: 0, shifted: false }));
      });
    });
    collector.listen(0, '127.0.0.1');
    await once(collector, 'listening');
    w.port = (collector.address() as AddressInfo).port; // the config's device is a TCP port on loopback
    const url = `http://127.0.0.1:${w.port}`;
    // the spool syncs every write to disk: on a memory file system when there is one, so that ten thousand
    // cycles take seconds rather than minutes
    const state = existsSync('/dev/shm')
      ? mkdtempSync(join('/dev/shm', 'cw-long-run-'))
      : join(w.dir, 'state');
    cleanups.push(() => rmSync(state, { recursive: true, force: true }));
    const config = w.agentConfig('long-run', {
      collector: { url, requestTimeoutS: 5, allowPlainHttp: false },
      state,
    });
    saveIdentity(
      config.state,
      {
        agentId: 'ag_longrun',
        schoolId: XINGHAI.id,
        collectorUrl: url,
        enrolledAt: new Date().toISOString(),
      },
      'cw1.ag_longrun.not-a-real-secret',
    );
    const agent = CampusAgent.open(config, { registry: quietRegistry, random: () => 0.5 });

    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);

    let cycles = 0;
    let cycled: (() => void) | undefined;
    const cycle = agent.cycle.bind(agent);
    agent.cycle = async (opts) => {
      const report = await cycle(opts);
      cycles++;
      cycled?.();
      return report;
    };
    const cycleDone = (n: number) =>
      cycles >= n
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            cycled = () => {
              if (cycles >= n) resolve();
            };
          });
    const deliveredTo = (n: number) =>
      received >= n
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            arrived = () => {
              if (received >= n) resolve();
            };
          });
    // everything else settles (the run loop arms its next wait) before time moves on
    const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const stop = new AbortController();
    const running = agent.run(stop.signal);
    const samples = new Map<number, { listeners: number; timers: number; heap: number }>();
    const sampleAt = new Set([100, 1000, CYCLES]);
    for (let n = 1; n <= CYCLES; n++) {
      await cycleDone(n);
      await deliveredTo(n); // as in a real run, each report is delivered before the next cycle
      while (agent.spool.counters().delivered < n) await settle(); // and its acknowledgement read
      await settle();
      if (sampleAt.has(n))
        samples.set(n, {
          listeners: getEventListeners(stop.signal, 'abort').length,
          timers: vi.getTimerCount(),
          heap: heapAfterGc(),
        });
      if (n < CYCLES) vi.advanceTimersByTime(60_000); // the configured interval (jitter at its middle)
    }
    stop.abort();
    await running;
    process.off('warning', onWarning);
    vi.useRealTimers();
    const spooled = agent.spool.counters();
    agent.close();
    collector.closeAllConnections();
    await new Promise<void>((r) => collector.close(() => r()));

    expect(cycles).toBe(CYCLES);
    expect(received).toBe(CYCLES); // the forwarder ran alongside, each report sent once
    expect(spooled).toMatchObject({ depth: 0, delivered: CYCLES });
    const first = samples.get(100)!;
    const last = samples.get(CYCLES)!;
    expect(last.listeners).toBe(first.listeners);
    expect(last.listeners).toBeLessThanOrEqual(2);
    expect(last.timers).toBe(first.timers);
    expect(warnings.filter((x) => x.name === 'MaxListenersExceededWarning')).toEqual([]);
    // ~480 bytes a cycle were kept before: 9,000 cycles would have added over 4 MB
    const grown = last.heap - samples.get(1000)!.heap;
    console.log(
      `long run: ${CYCLES} cycles, ${received} reports delivered; abort listeners ${first.listeners} → ${last.listeners}, timers ${first.timers} → ${last.timers}, heap ${(grown / 1024).toFixed(0)} KiB from cycle 1,000 to ${CYCLES}`,
    );
    expect(grown).toBeLessThan(3 * 1024 * 1024);
  }, 120_000);
});
