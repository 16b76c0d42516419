import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { type AddressInfo, createServer, type Server } from 'node:net';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../../agent/src/config.js';
import { liveClassKind } from '../../agent/src/probes/live-class/index.js';
import {
  createLiveClassProbe,
  percentile,
  rfc3550Jitter,
  trainStats,
} from '../../agent/src/probes/live-class/probe.js';
import type { HostLookup } from '../../agent/src/probes/live-class/train.js';
import { PROBES } from '../../agent/src/probes/registry.js';
import { LiveClassResult, type ProbeResult } from '../../protocol/report.js';
import { checker } from '../../protocol/validate.js';
import { errorOf } from '../helpers/config-error.js';

const schema = checker<LiveClassResult>(LiveClassResult);

const log = pino({ level: 'silent' });
const closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

/** A UDP echo service (RFC 862) on loopback; `shape` decides per datagram (1-based count) what goes back. */
async function udpEcho(shape: (n: number, msg: Buffer) => Buffer[] = (_, m) => [m]): Promise<number> {
  const s: UdpSocket = createSocket('udp4');
  let n = 0;
  s.on('message', (msg, from) => {
    for (const out of shape(++n, msg)) s.send(out, from.port, from.address);
  });
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  closers.push(() => s.close());
  return s.address().port;
}

async function tcpEcho(): Promise<number> {
  const server: Server = createServer((c) => c.pipe(c));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  closers.push(() => server.close());
  return (server.address() as AddressInfo).port;
}

/** A loopback port nobody listens on (taken, then freed). */
async function closedPort(): Promise<number> {
  const s = createServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as AddressInfo).port;
  s.close();
  await once(s, 'close');
  return port;
}

function config(liveClass: Record<string, unknown>) {
  return parseAgentConfig(
    JSON.stringify({
      school: { id: 'test-school', name: '测试学校' },
      collector: { url: 'http://127.0.0.1:9' },
      probes: { 'live-class': { enabled: true, packets: 10, intervalMs: 5, timeoutS: 3, ...liveClass } },
    }),
  );
}

async function run(
  liveClass: Record<string, unknown>,
  deadlineMs = 3000,
  lookup?: HostLookup,
): Promise<LiveClassResult> {
  const ctx = { signal: AbortSignal.timeout(deadlineMs), log, now: () => new Date() };
  // with a lookup of its own the probe is built with it (a test never asks the machine's resolver)
  const results: ProbeResult[] = lookup
    ? await createLiveClassProbe({ lookup }).run(liveClassKind.slice(config(liveClass)), ctx)
    : await PROBES['live-class'].run(config(liveClass), ctx);
  expect(results).toHaveLength(1);
  const r = results[0]!;
  expect(schema.problems(r), JSON.stringify(r)).toEqual([]);
  if (r.probe !== 'live-class') throw new Error(`not a live-class result: ${r.probe}`);
  return r;
}

const platform = (port: number, transport: 'udp-echo' | 'tcp' = 'udp-echo') => ({
  platform: { name: '市专递课堂平台', host: '127.0.0.1', port, transport },
});

describe('live-class probe over UDP echo', () => {
  it('an echo of every packet: ok, no loss, RTTs measured, one-way = RTT/2, the Chinese name kept', async () => {
    const r = await run(platform(await udpEcho()));
    expect(r).toMatchObject({ outcome: 'ok', target: '市专递课堂平台', sent: 10, received: 10, lossPct: 0 });
    expect(r.rttMs).toBeGreaterThan(0);
    expect(r.rttP95Ms).toBeGreaterThanOrEqual(r.rttMs! * 0.999);
    expect(r.oneWayMs).toBeCloseTo(r.rttMs! / 2, 2);
    expect(r.limits).toEqual({ oneWayMs: 150, jitterMs: 30, lossPct: 1 });
    expect(r.packetBytes).toBe(200);
  });

  it('every 5th datagram dropped: the unanswered ones count as lost at the deadline', async () => {
    const started = performance.now();
    const r = await run(
      { ...platform(await udpEcho((n, m) => (n % 5 === 0 ? [] : [m]))), packets: 20 },
      1500,
    );
    expect(r).toMatchObject({ outcome: 'ok', sent: 20, received: 16, lossPct: 20 });
    // it waited for the lost echoes until the deadline, not longer
    expect(performance.now() - started).toBeGreaterThanOrEqual(1400);
    expect(performance.now() - started).toBeLessThan(2500);
  });

  it('duplicated and foreign datagrams are not answers', async () => {
    const foreign = Buffer.alloc(200, 7);
    const port = await udpEcho((n, m) => (n % 2 === 0 ? [m, m, foreign] : [foreign]));
    const r = await run({ ...platform(port), packets: 10 }, 1000);
    expect(r).toMatchObject({ sent: 10, received: 5, lossPct: 50 });
  });

  it('delayed echoes: the RTT holds the delay; alternating delays give jitter', async () => {
    const s = createSocket('udp4');
    let n = 0;
    s.on('message', (msg, from) => {
      const delay = ++n % 2 === 0 ? 100 : 0;
      setTimeout(() => s.send(msg, from.port, from.address), delay);
    });
    s.bind(0, '127.0.0.1');
    await once(s, 'listening');
    closers.push(() => s.close());
    const r = await run({ ...platform(s.address().port), packets: 40, intervalMs: 20 });
    expect(r.outcome).toBe('ok');
    expect(r.rttP95Ms).toBeGreaterThanOrEqual(100);
    expect(r.rttMs).toBeGreaterThanOrEqual(45);
    // |D| ≈ 100 ms between consecutive echoes: after 39 differences the RFC 3550 estimate is ~92 % of it,
    // far above the 30 ms limit even when a loaded machine blurs the delays
    expect(r.jitterMs).toBeGreaterThan(30);
  });

  it('nobody listening: ICMP port unreachable is "refused", all lost', async () => {
    const r = await run(platform(await closedPort()), 1500);
    expect(r).toMatchObject({ outcome: 'refused', received: 0, lossPct: 100 });
    expect(r.rttMs).toBeUndefined();
    expect(r.error).toMatch(/udp-echo 127\.0\.0\.1:\d+/);
  });

  it('an unknown host name is "unreachable"', async () => {
    // what getaddrinfo answers for a name nobody publishes (no DNS query leaves the machine)
    const notFound: HostLookup = async (host) => {
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND', hostname: host });
    };
    const r = await run({ platform: { name: 'x', host: 'no-such-host.invalid', port: 7 } }, 3000, notFound);
    expect(r).toMatchObject({ outcome: 'unreachable', sent: 0, received: 0, lossPct: 100 });
  });

  it('an aborted run stops sending at once and reports what it had', async () => {
    const ac = new AbortController();
    const port = await udpEcho((n, m) => {
      if (n === 3) ac.abort();
      return [m];
    });
    const results = await PROBES['live-class'].run(
      config({ ...platform(port), packets: 50, intervalMs: 10 }),
      {
        signal: ac.signal,
        log,
        now: () => new Date(),
      },
    );
    const r = results[0] as LiveClassResult;
    expect(r.sent).toBeLessThan(10);
    expect(r.lossPct).toBeGreaterThan(80);
  });
});

describe('live-class probe over TCP', () => {
  it('a TCP echo: every message answered', async () => {
    const r = await run(platform(await tcpEcho(), 'tcp'));
    expect(r).toMatchObject({ outcome: 'ok', transport: 'tcp', sent: 10, received: 10, lossPct: 0 });
    expect(r.jitterMs).toBeGreaterThanOrEqual(0);
  });

  it('refused connection: outcome refused, nothing sent, all lost', async () => {
    const r = await run(platform(await closedPort(), 'tcp'));
    expect(r).toMatchObject({ outcome: 'refused', sent: 0, received: 0, lossPct: 100 });
  });

  it('the platform closing the connection mid-train: an error, the rest lost', async () => {
    const server = createServer((c) => {
      let bytes = 0;
      c.on('data', (d) => {
        bytes += d.length;
        c.write(d);
        if (bytes >= 600) c.destroy();
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    closers.push(() => server.close());
    const r = await run({ ...platform((server.address() as AddressInfo).port, 'tcp'), packets: 10 });
    expect(r.outcome).toBe('error');
    expect(r.received).toBeGreaterThanOrEqual(1);
    expect(r.received).toBeLessThan(10);
    expect(r.lossPct).toBe(((10 - r.received) / 10) * 100);
  });
});

describe('live-class numbers', () => {
  it('RFC 3550 jitter: J += (|D| − J)/16 over consecutive RTTs', () => {
    expect(rfc3550Jitter([20, 20, 20])).toBe(0);
    const rtts = [10, 20, 10, 20];
    let j = 0;
    for (let i = 1; i < rtts.length; i++) j += (Math.abs(rtts[i]! - rtts[i - 1]!) - j) / 16;
    expect(rfc3550Jitter(rtts)).toBe(j);
    // alternating by d converges to d
    const long = Array.from({ length: 400 }, (_, i) => (i % 2 ? 50 : 10));
    expect(rfc3550Jitter(long)).toBeCloseTo(40, 3);
  });

  it('p95 by nearest rank; loss over the planned train', () => {
    const v = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(v, 95)).toBe(95);
    expect(trainStats({ sent: 5, rtts: [] }, 50)).toEqual({ sent: 5, received: 0, lossPct: 100 });
    expect(trainStats({ sent: 50, rtts: [2, 4] }, 50)).toMatchObject({
      received: 2,
      lossPct: 96,
      rttMs: 3,
      oneWayMs: 1.5,
    });
  });
});

describe('probes.live-class config', () => {
  it('is off by default and needs no platform then', () => {
    const c = parseAgentConfig(
      JSON.stringify({ school: { id: 's', name: '学校' }, collector: { url: 'http://127.0.0.1:9' } }),
    );
    expect(c.probes['live-class']).toMatchObject({
      enabled: false,
      packets: 50,
      packetBytes: 200,
      intervalMs: 20,
      maxOneWayDelayMs: 150,
      maxJitterMs: 30,
      maxLossPct: 1,
    });
  });

  it('enabled without a platform is refused naming the field', () => {
    const err = errorOf(() =>
      parseAgentConfig(
        JSON.stringify({
          school: { id: 's', name: '学校' },
          collector: { url: 'http://127.0.0.1:9' },
          probes: { 'live-class': { enabled: true } },
        }),
        'agent.yaml',
      ),
    );
    expect(err.message).toBe('agent.yaml: probes.live-class.platform: is required when enabled');
  });

  it('a train longer than the timeout is refused', () => {
    expect(() =>
      parseAgentConfig(
        JSON.stringify({
          school: { id: 's', name: '学校' },
          collector: { url: 'http://127.0.0.1:9' },
          probes: { 'live-class': { ...platform(7), timeoutS: 2, packets: 200, intervalMs: 20 } },
        }),
        'agent.yaml',
      ),
    ).toThrow(
      'agent.yaml: probes.live-class.timeoutS: must leave time for the echoes: the train itself takes 4000 ms',
    );
  });
});
