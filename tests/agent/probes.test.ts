import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { lookup } from 'node:dns/promises';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../../agent/src/config.js';
import { silentLogger } from '../../agent/src/log.js';
import { hostKind } from '../../agent/src/probes/host/index.js';
import { hostProbe } from '../../agent/src/probes/host/probe.js';
import { mapLimit, openTcp } from '../../agent/src/probes/lib/net-util.js';
import type { ProbeContext } from '../../agent/src/probes/probe.js';
import { reachabilityKind } from '../../agent/src/probes/reachability/index.js';
import { PING_MISSING, reachabilityProbe } from '../../agent/src/probes/reachability/probe.js';
import { PROBES } from '../../agent/src/probes/registry.js';
import {
  type HostResult,
  PROBE_NAMES,
  type ProbeResult,
  RESULT_SCHEMAS,
  type ReachabilityResult,
} from '../../protocol/report.js';
import { checker } from '../../protocol/validate.js';

// Every packet these tests send goes to loopback (127.0.0.1, ::1, localhost), or stays inside a
// private network namespace that has nothing but its own loopback.

const reachabilitySchema = checker<ReachabilityResult>(RESULT_SCHEMAS.reachability);
const hostSchema = checker<HostResult>(RESULT_SCHEMAS.host);

async function canListen(host: string): Promise<boolean> {
  const server = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port: 0 }, resolve);
    });
    return true;
  } catch {
    return false;
  } finally {
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function commandWorks(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 10_000 });
  return r.status === 0;
}

const HAS_PING = existsSync('/usr/bin/ping');
const HAS_V6_LOOPBACK = await canListen('::1');
// A private network namespace (root, unshare, ip, sysctl) lets ping meet a host that does not answer
// or a network that does not exist, without sending anything off this machine.
const HAS_NETNS =
  HAS_PING &&
  process.getuid?.() === 0 &&
  commandWorks('unshare', [
    '--net',
    'sh',
    '-c',
    'ip link set lo up && sysctl -qw net.ipv4.icmp_echo_ignore_all=1',
  ]);

if (!HAS_PING)
  console.warn('probes.test: /usr/bin/ping is absent (install iputils-ping): ICMP tests skipped');
if (!HAS_V6_LOOPBACK)
  console.warn('probes.test: cannot listen on ::1 (IPv6 disabled here): IPv6 tests skipped');
if (!HAS_NETNS) {
  console.warn(
    'probes.test: no root/unshare/ip/sysctl for a private network namespace: ICMP failure tests skipped',
  );
}

function context(
  signal: AbortSignal = new AbortController().signal,
  now: () => Date = () => new Date(),
): ProbeContext {
  return { signal, log: silentLogger(), now };
}

interface DeviceSpec {
  name: string;
  address: string;
  type?: string;
  critical?: boolean;
  icmp?: boolean;
  tcp?: number[];
}

function config(devices: DeviceSpec[], reachability: Record<string, number> = {}) {
  // YAML is a superset of JSON: the real parser fills the defaults and checks the rules.
  return parseAgentConfig(
    JSON.stringify({
      school: { id: 'test-school', name: '测试学校' },
      collector: { url: 'http://127.0.0.1:9' },
      probes: { reachability: { pingCount: 2, tcpTimeoutMs: 2000, ...reachability } },
      rooms: [{ name: '录播室一', type: 'recording', devices }],
    }),
  );
}

function expectSchemaValid(results: ProbeResult[]): void {
  for (const r of results) {
    const problems = r.probe === 'host' ? hostSchema.problems(r) : reachabilitySchema.problems(r);
    expect(problems, JSON.stringify(r)).toEqual([]);
  }
}

async function runReachability(
  devices: DeviceSpec[],
  reachability: Record<string, number> = {},
  ctx: ProbeContext = context(),
): Promise<ReachabilityResult[]> {
  const results = await reachabilityProbe.run(reachabilityKind.slice(config(devices, reachability)), ctx);
  expectSchemaValid(results);
  return results.map((r) => {
    if (r.probe !== 'reachability') throw new Error(`unexpected result kind ${r.probe}`);
    return r;
  });
}

function only(results: ReachabilityResult[], check: 'icmp' | 'tcp', port?: number): ReachabilityResult {
  const found = results.filter((r) => r.check === check && (port === undefined || r.port === port));
  expect(found).toHaveLength(1);
  return found[0]!;
}

/** A real TCP server on an ephemeral port that counts the connections it accepted. */
class CountingServer {
  readonly server: Server = createServer((socket) => {
    this.accepted++;
    socket.on('error', () => {});
    socket.destroy();
  });
  accepted = 0;
  port = 0;

  /** Resolves once the server has accepted `n` connections in total. */
  acceptedAtLeast(n: number): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.accepted < n) return;
        this.server.off('connection', onConnection);
        resolve();
      };
      // Listeners run in order: the counting handler has already run when this one does.
      const onConnection = () => check();
      this.server.on('connection', onConnection);
      check();
    });
  }

  async listen(host: string): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host, port: 0 }, resolve);
    });
    const addr = this.server.address();
    if (addr === null || typeof addr === 'string') throw new Error('no port');
    this.port = addr.port;
    return this;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A port on `host` that nothing listens on: bind to port 0, note the port, close. */
async function closedPort(host: string): Promise<number> {
  const s = await new CountingServer().listen(host);
  await s.close();
  return s.port;
}

/**
 * A listener that never accepts: a child process listens with backlog 1 and then blocks its event
 * loop. Once its accept queue is full the kernel drops further SYNs, so a connect hangs.
 */
async function startSaturatedListener(): Promise<{ port: number; stop: () => Promise<void> }> {
  const script = `const net = require('net');
const s = net.createServer().listen({ host: '127.0.0.1', port: 0, backlog: 1 }, () => {
  process.stdout.write(s.address().port + '\\n');
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
});`;
  const child: ChildProcess = spawn(process.execPath, ['-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.stdout?.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
  });
  const fillers: Socket[] = [];
  let saturated = false;
  const signal = new AbortController().signal;
  for (let i = 0; i < 16 && !saturated; i++) {
    const r = await openTcp({ host: '127.0.0.1', port, timeoutMs: 500, signal });
    if (r.outcome === 'ok' && r.socket) fillers.push(r.socket);
    else saturated = r.outcome === 'timeout';
  }
  const stop = async () => {
    for (const s of fillers) s.destroy();
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  };
  if (!saturated) {
    await stop();
    throw new Error('could not fill the accept queue of the test listener');
  }
  return { port, stop };
}

/**
 * A directory with `ping`/`ping6` wrappers that run the real /usr/bin/ping inside a fresh network
 * namespace: `silent` has lo up and ignores echo requests, `nonet` has no usable network at all.
 */
function netnsPingDir(mode: 'silent' | 'nonet'): string {
  const dir = mkdtempSync(join(tmpdir(), 'cw-ping-'));
  const setup =
    mode === 'silent'
      ? 'ip link set lo up && sysctl -qw net.ipv4.icmp_echo_ignore_all=1 && sysctl -qw net.ipv6.icmp.echo_ignore_all=1 && '
      : '';
  for (const name of ['ping', 'ping6']) {
    const file = join(dir, name);
    writeFileSync(file, `#!/bin/sh\nexec unshare --net sh -c '${setup}exec /usr/bin/ping "$@"' ping "$@"\n`);
    chmodSync(file, 0o755);
  }
  return dir;
}

async function withPath<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const saved = process.env.PATH;
  process.env.PATH = path;
  try {
    return await fn();
  } finally {
    process.env.PATH = saved;
  }
}

describe('registry', () => {
  it('maps every probe name to the probe of that kind', () => {
    expect(Object.keys(PROBES).sort()).toEqual([...PROBE_NAMES].sort());
    for (const [name, probe] of Object.entries(PROBES)) expect(probe.kind).toBe(name);
  });
});

describe('mapLimit', () => {
  it('keeps at most `limit` tasks in flight and returns results in input order', async () => {
    let active = 0;
    let peak = 0;
    const gates: Array<() => void> = [];
    const started: number[] = [];
    const done = mapLimit([0, 1, 2, 3, 4, 5, 6], 3, async (n) => {
      active++;
      peak = Math.max(peak, active);
      started.push(n);
      await new Promise<void>((resolve) => gates.push(resolve));
      active--;
      return n * 10;
    });
    // Release tasks one at a time as they arrive; each release lets a queued task start.
    for (let turn = 0; turn < 100 && (started.length < 7 || gates.length > 0); turn++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      expect(active).toBeLessThanOrEqual(3);
      gates.shift()?.();
    }
    expect(await done).toEqual([0, 10, 20, 30, 40, 50, 60]);
    expect(peak).toBe(3);
    expect(started).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });
});

describe('reachability probe: TCP', () => {
  let v4: CountingServer;
  let v6: CountingServer | undefined;

  beforeAll(async () => {
    v4 = await new CountingServer().listen('127.0.0.1');
    if (HAS_V6_LOOPBACK) v6 = await new CountingServer().listen('::1');
  });
  afterAll(async () => {
    await v4.close();
    await v6?.close();
  });

  it('reports an open port as up and a closed port as refused (127.0.0.1)', async () => {
    const closed = await closedPort('127.0.0.1');
    const clock = new Date('2031-01-02T03:04:05.000Z');
    const before = v4.accepted;
    const results = await runReachability(
      [
        {
          name: 'recorder-1',
          address: '127.0.0.1',
          type: 'recorder',
          critical: false,
          icmp: false,
          tcp: [v4.port, closed],
        },
      ],
      {},
      context(new AbortController().signal, () => clock),
    );
    expect(results).toHaveLength(2);
    const open = only(results, 'tcp', v4.port);
    expect(open).toMatchObject({
      probe: 'reachability',
      target: 'recorder-1',
      device: {
        name: 'recorder-1',
        address: '127.0.0.1',
        type: 'recorder',
        room: '录播室一',
        roomType: 'recording',
        critical: false,
      },
      outcome: 'ok',
      up: true,
      family: 4,
      address: '127.0.0.1',
      at: clock.toISOString(),
    });
    expect(open.rttMs).toBeGreaterThanOrEqual(0);
    expect(open.durationMs).toBeGreaterThanOrEqual(open.rttMs ?? 0);
    expect(open.error).toBeUndefined();
    await v4.acceptedAtLeast(before + 1);
    expect(v4.accepted).toBe(before + 1);

    const refused = only(results, 'tcp', closed);
    expect(refused).toMatchObject({ outcome: 'refused', up: false, family: 4, address: '127.0.0.1' });
    expect(refused.rttMs).toBeUndefined();
    expect(refused.error).toContain('ECONNREFUSED');
  });

  it.skipIf(!HAS_V6_LOOPBACK)('reports an open port as up and a closed port as refused (::1)', async () => {
    const server = v6!;
    const closed = await closedPort('::1');
    const before = server.accepted;
    const results = await runReachability([
      { name: 'camera-6', address: '::1', icmp: false, tcp: [server.port, closed] },
    ]);
    expect(only(results, 'tcp', server.port)).toMatchObject({
      outcome: 'ok',
      up: true,
      family: 6,
      address: '::1',
    });
    expect(only(results, 'tcp', closed)).toMatchObject({
      outcome: 'refused',
      up: false,
      family: 6,
      address: '::1',
    });
    await server.acceptedAtLeast(before + 1);
    expect(server.accepted).toBe(before + 1);
  });

  it('resolves a host name (localhost) and records the address and family it used', async () => {
    const resolved = await lookup('localhost');
    const server = await new CountingServer().listen(resolved.address);
    try {
      const results = await runReachability([
        { name: 'by-name', address: 'localhost', icmp: false, tcp: [server.port] },
      ]);
      const r = only(results, 'tcp');
      expect(r).toMatchObject({
        outcome: 'ok',
        up: true,
        family: resolved.family,
        address: resolved.address,
        device: { address: 'localhost' },
      });
      await server.acceptedAtLeast(1);
      expect(server.accepted).toBe(1);
    } finally {
      await server.close();
    }
  });

  it('gives up on a connect that gets no answer after tcpTimeoutMs (outcome timeout)', async () => {
    const listener = await startSaturatedListener();
    try {
      const results = await runReachability(
        [{ name: 'silent-box', address: '127.0.0.1', icmp: false, tcp: [listener.port] }],
        { tcpTimeoutMs: 300 },
      );
      const r = only(results, 'tcp');
      expect(r).toMatchObject({ outcome: 'timeout', up: false, family: 4, address: '127.0.0.1' });
      expect(r.error).toContain('300 ms');
      expect(r.durationMs).toBeGreaterThanOrEqual(290);
      expect(r.durationMs).toBeLessThan(5000);
    } finally {
      await listener.stop();
    }
  });

  it('ends pending connects quickly with outcome timeout when the caller aborts', async () => {
    const listener = await startSaturatedListener();
    try {
      const started = performance.now();
      // The caller's deadline (300 ms) is far shorter than the per-check timeout (60 s).
      const results = await runReachability(
        [{ name: 'silent-box', address: '127.0.0.1', icmp: false, tcp: [listener.port, listener.port] }],
        { tcpTimeoutMs: 60_000, concurrency: 1 },
        context(AbortSignal.timeout(300)),
      );
      expect(performance.now() - started).toBeLessThan(5000);
      expect(results).toHaveLength(2);
      for (const r of results) {
        expect(r.outcome).toBe('timeout');
        expect(r.up).toBe(false);
        expect(r.error).toMatch(/deadline/);
      }
    } finally {
      await listener.stop();
    }
  });
});

describe('reachability probe: abort and limits', () => {
  it('returns a timeout result for every check when the signal is already aborted, without throwing', async () => {
    const server = await new CountingServer().listen('127.0.0.1');
    try {
      const devices: DeviceSpec[] = [
        { name: 'a', address: '127.0.0.1', tcp: [server.port, server.port] },
        { name: 'b', address: 'localhost', tcp: [server.port] },
        { name: 'c', address: '::1', icmp: true, tcp: [] },
      ];
      const results = await runReachability(devices, {}, context(AbortSignal.abort()));
      expect(results.map((r) => [r.target, r.check, r.port])).toEqual([
        ['a', 'icmp', undefined],
        ['a', 'tcp', server.port],
        ['a', 'tcp', server.port],
        ['b', 'icmp', undefined],
        ['b', 'tcp', server.port],
        ['c', 'icmp', undefined],
      ]);
      for (const r of results) {
        expect(r).toMatchObject({
          outcome: 'timeout',
          up: false,
          error: 'not started: the probe deadline passed',
        });
        expect(r.family).toBeUndefined();
      }
      expect(server.accepted).toBe(0);
    } finally {
      await server.close();
    }
  });

  it('returns one result per check in inventory order with a small concurrency', async () => {
    const server = await new CountingServer().listen('127.0.0.1');
    try {
      const ports = [server.port, server.port, server.port, server.port, server.port];
      const results = await runReachability(
        [
          { name: 'sw-1', address: '127.0.0.1', icmp: false, tcp: ports },
          { name: 'sw-2', address: '127.0.0.1', icmp: false, tcp: ports },
        ],
        { concurrency: 2 },
      );
      expect(results.map((r) => r.target)).toEqual([...Array(5).fill('sw-1'), ...Array(5).fill('sw-2')]);
      for (const r of results) expect(r.outcome).toBe('ok');
      await server.acceptedAtLeast(10);
      expect(server.accepted).toBe(10);
    } finally {
      await server.close();
    }
  });
});

describe.skipIf(!HAS_PING)('reachability probe: ICMP', () => {
  it('pings 127.0.0.1: up, rtt ≥ 0, no loss', async () => {
    const results = await runReachability([{ name: 'gw-4', address: '127.0.0.1' }]);
    const r = only(results, 'icmp');
    expect(r).toMatchObject({
      outcome: 'ok',
      up: true,
      family: 4,
      address: '127.0.0.1',
      lossPct: 0,
      sent: 2,
      received: 2,
    });
    expect(r.rttMs).toBeGreaterThanOrEqual(0);
    expect(r.port).toBeUndefined();
  });

  it.skipIf(!HAS_V6_LOOPBACK)('pings ::1: up, rtt ≥ 0, no loss, family 6', async () => {
    const results = await runReachability([{ name: 'gw-6', address: '::1' }]);
    const r = only(results, 'icmp');
    expect(r).toMatchObject({
      outcome: 'ok',
      up: true,
      family: 6,
      address: '::1',
      lossPct: 0,
      sent: 2,
      received: 2,
    });
    expect(r.rttMs).toBeGreaterThanOrEqual(0);
  });

  it('pings a device given by host name (localhost) at the address the resolver chose', async () => {
    const resolved = await lookup('localhost');
    const results = await runReachability([{ name: 'by-name', address: 'localhost' }], { pingCount: 1 });
    const r = only(results, 'icmp');
    expect(r).toMatchObject({
      outcome: 'ok',
      up: true,
      family: resolved.family,
      address: resolved.address,
      lossPct: 0,
    });
  });

  it('reports a missing ping program as an error naming iputils-ping', async () => {
    const emptyDir = mkdtempSync(join(tmpdir(), 'cw-nopath-'));
    const server = await new CountingServer().listen('127.0.0.1');
    try {
      const results = await withPath(emptyDir, () =>
        runReachability([{ name: 'gw', address: '127.0.0.1', tcp: [server.port] }]),
      );
      const icmp = only(results, 'icmp');
      expect(icmp).toMatchObject({ outcome: 'error', up: false, error: PING_MISSING });
      expect(icmp.error).toContain('iputils-ping');
      // TCP checks do not need the program.
      expect(only(results, 'tcp')).toMatchObject({ outcome: 'ok', up: true });
    } finally {
      await server.close();
      rmSync(emptyDir, { recursive: true, force: true });
    }
  });

  it.skipIf(!HAS_NETNS)('reports a host that does not answer as down: timeout, loss 100 %', async () => {
    const dir = netnsPingDir('silent');
    try {
      const results = await withPath(`${dir}${delimiter}${process.env.PATH ?? ''}`, () =>
        runReachability([{ name: 'silent', address: '127.0.0.1' }], { pingCount: 2, tcpTimeoutMs: 1000 }),
      );
      const r = only(results, 'icmp');
      expect(r).toMatchObject({
        outcome: 'timeout',
        up: false,
        lossPct: 100,
        sent: 2,
        received: 0,
        family: 4,
      });
      expect(r.rttMs).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!HAS_NETNS)('reports a network without a route as unreachable, loss 100 %', async () => {
    const dir = netnsPingDir('nonet');
    try {
      const results = await withPath(`${dir}${delimiter}${process.env.PATH ?? ''}`, () =>
        runReachability([{ name: 'nowhere', address: '127.0.0.1' }], { pingCount: 1, tcpTimeoutMs: 1000 }),
      );
      const r = only(results, 'icmp');
      expect(r).toMatchObject({ outcome: 'unreachable', up: false, lossPct: 100, received: 0 });
      expect(r.error).toMatch(/unreachable/i);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('host probe', () => {
  it('describes this host: schema-valid, lo among the NICs, memory totals > 0', async () => {
    const clock = new Date('2031-05-06T07:08:09.000Z');
    const results = await hostProbe.run(
      hostKind.slice(config([])),
      context(new AbortController().signal, () => clock),
    );
    expectSchemaValid(results);
    expect(results).toHaveLength(1);
    const r = results[0]!;
    if (r.probe !== 'host') throw new Error('expected a host result');
    expect(r).toMatchObject({ outcome: 'ok', target: hostname(), at: clock.toISOString() });
    expect(r.error).toBeUndefined();
    expect(r.memory.totalBytes).toBeGreaterThan(0);
    expect(r.memory.usedBytes).toBeGreaterThan(0);
    expect(r.memory.usedBytes).toBeLessThanOrEqual(r.memory.totalBytes);
    expect(r.cpu.cores).toBeGreaterThan(0);
    expect(r.os.platform).toBe(process.platform);
    expect(r.uptimeS).toBeGreaterThan(0);
    const lo = r.nics.find((n) => n.name === 'lo');
    expect(lo).toBeDefined();
    expect(lo?.ipv4).toContain('127.0.0.1');
    expect(lo?.up).toBe(true);
    expect(lo?.speedMbps).toBeNull();
    expect(r.durationMs).toBeGreaterThan(0);
  });

  it('returns a schema-valid timeout result when the signal is already aborted', async () => {
    const results = await hostProbe.run(hostKind.slice(config([])), context(AbortSignal.abort()));
    expectSchemaValid(results);
    expect(results).toHaveLength(1);
    const r = results[0]!;
    if (r.probe !== 'host') throw new Error('expected a host result');
    expect(r.outcome).toBe('timeout');
    expect(r.nics).toEqual([]);
    expect(r.memory).toEqual({ totalBytes: 0, usedBytes: 0 });
  });
});
