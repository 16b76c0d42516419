import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CampusAgent } from '../../agent/src/agent.js';
import { type AgentConfig, parseAgentConfig } from '../../agent/src/config.js';
import { enrolledCredentials, notEnrolledMessage } from '../../agent/src/credentials.js';
import { silentLogger } from '../../agent/src/log.js';
import { bandwidthKind } from '../../agent/src/probes/bandwidth/index.js';
import type { CollectorCredentials, ProbeContext } from '../../agent/src/probes/probe.js';
import { PROBES } from '../../agent/src/probes/registry.js';
import type { BandwidthResult } from '../../protocol/report.js';
import { skipping } from '../helpers/skip.js';
import { World } from '../helpers/world.js';

const IPERF3_MISSING =
  spawnSync('iperf3', ['--version']).error === undefined
    ? undefined
    : 'iperf3 is not installed (Debian package iperf3; scripts/test.sh installs it)';

function context(credentials?: () => CollectorCredentials): ProbeContext {
  return {
    signal: AbortSignal.timeout(60_000),
    log: silentLogger(),
    now: () => new Date(),
    ...(credentials ? { credentials } : {}),
  };
}

function bandwidthOf(results: unknown[]): BandwidthResult[] {
  return results.filter((r): r is BandwidthResult => (r as BandwidthResult).probe === 'bandwidth');
}

async function freePort(): Promise<number> {
  const s = createServer().listen({ host: '127.0.0.1', port: 0 });
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  s.close();
  await once(s, 'close');
  return port;
}

describe('bandwidth probe kind: the collector credentials come from the context', () => {
  const w = new World();
  beforeAll(() => w.startCollector());
  afterAll(() => w.cleanup());

  // only the speed test runs (short: 2 s per direction, one stream); the config's schema fills in the rest
  const onlyBandwidth = {
    probes: {
      host: { enabled: false },
      ipv6: { enabled: false },
      reachability: { enabled: false },
      bandwidth: { enabled: true, durationS: 2, omitS: 0, streams: 1, maxStreams: 1 },
    },
  } as unknown as Partial<AgentConfig>;

  it('an enrolled agent runs the HTTP speed test with the token it holds', async () => {
    const agent = await w.agent('bw', { config: onlyBandwidth });
    const { report } = await agent.once();
    const results = bandwidthOf(report.results);
    expect(results.map((r) => [r.direction, r.method, r.outcome, r.error])).toEqual([
      ['down', 'http', 'ok', undefined],
      ['up', 'http', 'ok', undefined],
    ]);
    for (const r of results) expect(r.mbps).toBeGreaterThan(0);
  }, 60_000);

  it('the slice holds the bandwidth block and the collector URL, nothing else', () => {
    const config = w.agentConfig('slice', onlyBandwidth);
    const slice = bandwidthKind.slice(config);
    expect(Object.keys(slice).sort()).toEqual(['bandwidth', 'collectorUrl']);
    expect(slice.collectorUrl).toBe(w.url);
    expect(slice.bandwidth).toBe(config.probes.bandwidth);
    expect(bandwidthKind.needsCredentials).toBe(true);
  });

  it('not given credentials, or not enrolled: both directions fail, naming the state directory and the fix', async () => {
    const config = w.agentConfig('never-enrolled', onlyBandwidth);
    const bare = bandwidthOf(await PROBES.bandwidth.run(config, context()));
    expect(bare.map((r) => [r.direction, r.outcome, r.mbps, r.error])).toEqual([
      ['down', 'error', 0, 'the agent is not enrolled: no token for the speed-test service'],
      ['up', 'error', 0, 'the agent is not enrolled: no token for the speed-test service'],
    ]);
    const oneShot = bandwidthOf(await PROBES.bandwidth.run(config, context(enrolledCredentials(config))));
    expect(oneShot.map((r) => r.error)).toEqual([
      notEnrolledMessage(config.state),
      notEnrolledMessage(config.state),
    ]);
    expect(notEnrolledMessage(config.state)).toContain(`--state ${config.state}'`);
    // the daemon refuses to start with the very same words
    expect(() => CampusAgent.open(config)).toThrow(notEnrolledMessage(config.state));
  });
});

describe.skipIf(skipping(IPERF3_MISSING, 'bandwidth-probe iperf3 case'))(
  'bandwidth probe kind: method iperf3',
  () => {
    let server: ChildProcess | undefined;
    let port = 0;
    let accepted = 0;
    beforeAll(async () => {
      port = await freePort();
      server = spawn('iperf3', ['-s', '--forceflush', '-B', '127.0.0.1', '-p', String(port)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      await new Promise<void>((resolve, reject) => {
        server!.once('error', reject);
        server!.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          accepted = out.match(/Accepted connection from/g)?.length ?? 0;
          if (out.includes('Server listening')) resolve();
        });
      });
    });
    afterAll(() => {
      server?.kill();
    });

    it('runs iperf3 against the configured server, both directions, without asking for credentials', async () => {
      const config = parseAgentConfig(
        JSON.stringify({
          school: { id: 'iperf-school', name: '星海' },
          collector: { url: 'http://127.0.0.1:1' },
          probes: {
            bandwidth: {
              enabled: true,
              method: 'iperf3',
              iperf3: { host: '127.0.0.1', port },
              durationS: 2,
              omitS: 0,
              streams: 2,
            },
          },
        }),
      );
      let asked = 0;
      const results = bandwidthOf(
        await PROBES.bandwidth.run(
          config,
          context(() => {
            asked++;
            throw new Error('not wanted');
          }),
        ),
      );
      expect(results.map((r) => [r.direction, r.method, r.outcome, r.target, r.streams])).toEqual([
        ['down', 'iperf3', 'ok', `127.0.0.1:${port}`, 2],
        ['up', 'iperf3', 'ok', `127.0.0.1:${port}`, 2],
      ]);
      for (const r of results) expect(r.mbps).toBeGreaterThan(0);
      expect(asked).toBe(0);
      // the server saw both tests (one control connection per test)
      expect(accepted).toBe(2);
    }, 60_000);
  },
);
