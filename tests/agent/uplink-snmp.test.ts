import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentConfig, parseAgentConfig } from '../../agent/src/config.js';
import { counter64 } from '../../agent/src/probes/lib/snmp.js';
import type { ProbeContext } from '../../agent/src/probes/probe.js';
import {
  type CounterSample,
  counterRate,
  type RateResult,
  TICKS_WRAP,
  utilPct,
} from '../../agent/src/probes/uplink-snmp/counter-rate.js';
import { uplinkSnmpKind } from '../../agent/src/probes/uplink-snmp/index.js';
import {
  createUplinkSnmpProbe,
  forgetUplinkSamples,
  type StoredSample,
  uplinkSnmpProbe,
} from '../../agent/src/probes/uplink-snmp/probe.js';
import { type ProbeResult, RESULT_SCHEMAS, type UplinkSnmpResult } from '../../protocol/report.js';
import { checker } from '../../protocol/validate.js';
import { freeUdpPort, type Snmpd, snmpdAvailable, snmpgetCli, startSnmpd } from '../helpers/snmpd.js';

// Every packet these tests send goes to loopback (127.0.0.1): a real snmpd and snmpsimd started here.

/** The probe's view of an agent config, as the registry hands it over. */
const slice = uplinkSnmpKind.slice;
const schema = checker<UplinkSnmpResult>(RESULT_SCHEMAS['uplink-snmp']);

// ---------------------------------------------------------------------------------------------
// Pure: counter-rate

const GBIT_OVER_10S = 125_000_000n; // octets: 1 Gbit in 10 s = 100 Mbit/s
const W64 = 1n << 64n;

function sample(atMs: number, ticks: number, inOctets: bigint, outOctets: bigint): CounterSample {
  return { atMs, sysUptimeTicks: ticks, inOctets, outOctets };
}

interface RateCase {
  name: string;
  prev: CounterSample | undefined;
  cur: CounterSample;
  speed?: number;
  want: RateResult | { inMbps: number; outMbps: number; intervalS: number; clock: string };
}

const rateCases: RateCase[] = [
  {
    name: 'normal rate over the sysUpTime interval',
    prev: sample(0, 100_000, 1000n, 2000n),
    cur: sample(10_000, 101_000, 1000n + GBIT_OVER_10S, 2000n + GBIT_OVER_10S / 10n),
    speed: 1000,
    want: { inMbps: 100, outMbps: 10, intervalS: 10, clock: 'sysUpTime' },
  },
  {
    name: 'the device clock wins over the agent clock (answer delayed 400 ms)',
    prev: sample(0, 100_000, 0n, 0n),
    cur: sample(10_400, 101_000, GBIT_OVER_10S, 0n),
    speed: 1000,
    want: { inMbps: 100, outMbps: 0, intervalS: 10, clock: 'sysUpTime' },
  },
  {
    name: 'Counter64 wrap: correct rate, no spike',
    prev: sample(0, 100_000, W64 - 1000n, 5n),
    cur: sample(10_000, 101_000, GBIT_OVER_10S - 1000n, 5n),
    speed: 1000,
    want: { inMbps: 100, outMbps: 0, intervalS: 10, clock: 'sysUpTime' },
  },
  {
    name: 'a decrease implying more than 1.5 × ifSpeed is a counter reset, not a wrap',
    prev: sample(0, 100_000, 1n << 62n, 5n),
    cur: sample(10_000, 101_000, 1000n, 5n),
    speed: 1000,
    want: { note: 'counter-reset' },
  },
  {
    name: 'a decrease without a known speed is a counter reset',
    prev: sample(0, 100_000, W64 - 1000n, 5n),
    cur: sample(10_000, 101_000, 1000n, 5n),
    want: { note: 'counter-reset' },
  },
  {
    name: 'reboot: sysUpTime went backwards (counters restarted: no rate, no spike)',
    prev: sample(0, 50_000_000, 1n << 40n, 1n << 40n),
    cur: sample(60_000, 3_000, 1000n, 1000n),
    speed: 1000,
    want: { note: 'reboot' },
  },
  {
    name: 'reboot hidden by a long gap: sysUpTime advanced far less than the time that passed',
    prev: sample(0, 100_000, 5000n, 5000n),
    cur: sample(3_600_000, 160_000, 9000n, 9000n),
    speed: 1000,
    want: { note: 'reboot' },
  },
  {
    name: 'sysUpTime 2^32 wrap (≈ 497 days) is not a reboot',
    prev: sample(0, TICKS_WRAP - 500, 0n, 0n),
    cur: sample(10_000, 500, GBIT_OVER_10S, GBIT_OVER_10S * 2n),
    speed: 1000,
    want: { inMbps: 100, outMbps: 200, intervalS: 10, clock: 'sysUpTime' },
  },
  {
    name: 'a decrease that does not match the 2^32 wrap is a reboot',
    prev: sample(0, TICKS_WRAP - 500, 0n, 0n),
    cur: sample(10_000, 50_000, 10n, 10n),
    speed: 1000,
    want: { note: 'reboot' },
  },
  {
    name: 'first poll',
    prev: undefined,
    cur: sample(0, 100, 1n, 1n),
    want: { note: 'first-poll' },
  },
  {
    name: 'a frozen sysUpTime (recordings, broken agents): the agent clock is used',
    prev: sample(0, 3_705_225_462, 0n, 0n),
    cur: sample(10_000, 3_705_225_462, GBIT_OVER_10S, 0n),
    speed: 10_000,
    want: { inMbps: 100, outMbps: 0, intervalS: 10, clock: 'agent' },
  },
];

describe('counter-rate (pure)', () => {
  it.each(rateCases)('$name', ({ prev, cur, speed, want }) => {
    expect(counterRate(prev, cur, speed)).toEqual(want);
  });

  it('utilPct: busier direction over ifSpeed; none without a speed or for an implausible speed', () => {
    expect(utilPct({ inMbps: 100, outMbps: 250 }, 1000)).toBe(25);
    expect(utilPct({ inMbps: 0, outMbps: 0 }, 1000)).toBe(0);
    expect(utilPct({ inMbps: 100, outMbps: 1 }, 0)).toBeUndefined();
    expect(utilPct({ inMbps: 100, outMbps: 1 }, undefined)).toBeUndefined();
    // `lo` reports ifHighSpeed 10: 80 Mbit/s over it is not 800 % utilisation.
    expect(utilPct({ inMbps: 80, outMbps: 80 }, 10)).toBeUndefined();
  });

  it('Counter64 arrives as a variable-length Buffer', () => {
    expect(counter64(Buffer.from([0x01, 0x00]))).toBe(256n);
    expect(counter64(Buffer.from('ffffffffffffffff', 'hex'))).toBe(W64 - 1n);
    expect(counter64(Buffer.alloc(0))).toBe(0n);
    expect(counter64('12')).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------
// Helpers for the live tests

const logLines: string[] = [];
const log = pino(
  { level: 'debug' },
  new Writable({
    write(chunk: Buffer, _enc, done) {
      logLines.push(chunk.toString('utf8'));
      done();
    },
  }),
);

function context(signal: AbortSignal = new AbortController().signal): ProbeContext {
  return { signal, log, now: () => new Date() };
}

type SnmpSettings = Partial<AgentConfig['probes']['uplink-snmp']['snmp']>;
type IfRef = { ifName?: string; ifIndex?: number };

function config(opts: {
  address: string;
  snmp: SnmpSettings;
  uplink?: IfRef;
  ports?: Array<IfRef & { role: 'core' | 'access' }>;
  timeoutS?: number;
}): AgentConfig {
  return parseAgentConfig(
    JSON.stringify({
      school: { id: 'test-school', name: '测试学校' },
      collector: { url: 'http://127.0.0.1:9' },
      probes: {
        'uplink-snmp': {
          enabled: true,
          timeoutS: opts.timeoutS ?? 20,
          device: { name: '出口路由器', address: opts.address },
          snmp: opts.snmp,
          uplink: opts.uplink ?? { ifName: 'lo' },
          ports: opts.ports ?? [],
        },
      },
      rooms: [],
    }),
  );
}

/** Every secret any test used: none may appear in a result or a log line. */
const secrets = new Set<string>();
const allResults: ProbeResult[] = [];

/** Schema-valid (zero problems) and free of secrets; returns the results typed. */
function checked(results: ProbeResult[]): UplinkSnmpResult[] {
  allResults.push(...results);
  const out: UplinkSnmpResult[] = [];
  for (const r of results) {
    expect(schema.problems(r)).toEqual([]);
    expect(r.probe).toBe('uplink-snmp');
    const text = JSON.stringify(r);
    for (const s of secrets) expect(text).not.toContain(s);
    if (r.probe === 'uplink-snmp') out.push(r);
  }
  return out;
}

function only<T>(list: T[]): T {
  expect(list).toHaveLength(1);
  return list[0] as T;
}

/** A TCP sink on 127.0.0.1 and a paced sender: `bytes` over at least `minMs`. Returns bytes received. */
async function pushOverLoopback(bytes: number, minMs: number): Promise<number> {
  let received = 0;
  const server = createServer((sock) => {
    sock.on('data', (d: Buffer) => {
      received += d.length;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no server address');
  const serverClosed = new Promise<void>((resolve) => server.once('close', () => resolve()));
  try {
    const client = tcpConnect({ host: '127.0.0.1', port: address.port });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', resolve);
      client.once('error', reject);
    });
    const ended = new Promise<void>((resolve) => client.once('close', () => resolve()));
    // Pacing, not waiting: the traffic is spread over minMs so that the next poll comes after the
    // agent's interface cache (snmpd: 3 s) has expired.
    const ticks = Math.max(1, Math.ceil(minMs / 50));
    const chunk = Buffer.alloc(Math.ceil(bytes / ticks), 0x5a);
    let sent = 0;
    await new Promise<void>((resolve) => {
      let n = 0;
      const timer = setInterval(() => {
        client.write(chunk);
        sent += chunk.length;
        if (++n >= ticks) {
          clearInterval(timer);
          resolve();
        }
      }, 50);
    });
    client.end();
    await ended;
    // Every byte written was read by the sink before `close` (half-close then FIN from the server).
    expect(received).toBe(sent);
    return received;
  } finally {
    server.close();
    await serverClosed;
  }
}

const snmpdSkip = snmpdAvailable();
if (snmpdSkip) console.warn(`[uplink-snmp.test] SKIPPING the real-snmpd tests: ${snmpdSkip}`);

// ---------------------------------------------------------------------------------------------
// A real snmpd on loopback

describe.skipIf(snmpdSkip !== undefined)('uplink-snmp against a real snmpd on 127.0.0.1', () => {
  let d: Snmpd;

  beforeAll(async () => {
    d = await startSnmpd();
    secrets.add(d.community);
    secrets.add(d.v3.authKey);
    secrets.add(d.v3.privKey);
  });

  afterAll(async () => {
    await d?.stop();
    // No secret in any result or any log line of the whole file.
    const text = JSON.stringify(allResults) + logLines.join('');
    for (const s of secrets) expect(text).not.toContain(s);
  });

  const v2c = (): SnmpSettings => ({
    version: '2c',
    community: d.community,
    timeoutMs: 1000,
    retries: 0,
    port: d.port,
  });
  const v3 = (over: SnmpSettings = {}): SnmpSettings => ({
    version: '3',
    user: d.v3.user,
    authProtocol: 'sha',
    authKey: d.v3.authKey,
    privProtocol: 'aes',
    privKey: d.v3.privKey,
    timeoutMs: 1000,
    retries: 0,
    port: d.port,
    ...over,
  });

  it('the helper serves loopback to the net-snmp CLI too', () => {
    expect(snmpgetCli(d, ['1.3.6.1.2.1.31.1.1.1.1.1']).trim()).toBe('"lo"');
  });

  for (const version of ['2c', '3'] as const) {
    it(`v${version}: reads lo by name (oper up, speed, uptime); the next run gives rates`, async () => {
      const probe = createUplinkSnmpProbe({ firstPollPauseMs: 0, samples: new Map() });
      const cfg = config({ address: d.host, snmp: version === '2c' ? v2c() : v3() });
      const first = only(checked(await probe.run(slice(cfg), context())));
      expect(first).toMatchObject({
        outcome: 'ok',
        role: 'uplink',
        ifName: 'lo',
        ifIndex: 1,
        operUp: true,
        ifSpeedMbps: 10, // what Linux snmpd reports for lo
        note: 'first-poll',
        device: { name: '出口路由器', address: '127.0.0.1' },
        target: '出口路由器',
      });
      expect(first.error).toBeUndefined();
      expect(first.sysUptimeS).toBeGreaterThan(0);
      expect(first.inMbps).toBeUndefined();
      const second = only(checked(await probe.run(slice(cfg), context())));
      expect(second.outcome).toBe('ok');
      expect(second.note).toBeUndefined();
      expect(second.inMbps).toBeGreaterThanOrEqual(0);
      expect(second.outMbps).toBeGreaterThanOrEqual(0);
      expect(second.sysUptimeS).toBeGreaterThanOrEqual(first.sysUptimeS ?? 0);
    });
  }

  it('a first run takes a second reading after a pause cut to the deadline, so one run has rates', async () => {
    const cfg = config({ address: d.host, snmp: v2c(), timeoutS: 4 });
    const started = performance.now();
    const r = only(checked(await createUplinkSnmpProbe({ samples: new Map() }).run(slice(cfg), context())));
    const ms = performance.now() - started;
    expect(r.outcome).toBe('ok');
    expect(r.note).toBeUndefined();
    expect(r.inMbps).toBeGreaterThanOrEqual(0);
    expect(r.outMbps).toBeGreaterThanOrEqual(0);
    // 5 s pause cut to 4 s − one request's worst case (1 s) − margin: the run ends before the deadline.
    expect(ms).toBeGreaterThan(2000);
    expect(ms).toBeLessThan(4000);

    // Too little time left for a pause: one reading, note 'first-poll'.
    const short = config({ address: d.host, snmp: v2c(), timeoutS: 1 });
    const r1 = only(
      checked(await createUplinkSnmpProbe({ samples: new Map() }).run(slice(short), context())),
    );
    expect(r1.outcome).toBe('ok');
    expect(r1.note).toBe('first-poll');
  });

  it('the agent probe keeps the uplink reading between runs (module-level, per address, port, ifIndex)', async () => {
    forgetUplinkSamples();
    expect(uplinkSnmpKind.kind).toBe('uplink-snmp');
    const cfg = config({ address: d.host, snmp: v3(), timeoutS: 3 });
    // First run: no kept reading, so it pauses (≈ 1.75 s: 3 s − 1 s request budget − margin).
    const a = only(checked(await uplinkSnmpProbe.run(slice(cfg), context())));
    expect(a.outcome).toBe('ok');
    expect(a.note).toBeUndefined();
    expect(a.durationMs).toBeGreaterThan(1000);
    // Second run: the kept reading is the base, no pause.
    const b = only(checked(await uplinkSnmpProbe.run(slice(cfg), context())));
    expect(b.note).toBeUndefined();
    expect(b.inMbps).toBeGreaterThanOrEqual(0);
    expect(b.durationMs).toBeLessThan(1000);
    forgetUplinkSamples();
  });

  it('traffic moved over loopback between two polls shows in inMbps/outMbps', async () => {
    const probe = createUplinkSnmpProbe({ firstPollPauseMs: 0, samples: new Map() });
    const cfg = config({ address: d.host, snmp: v2c() });
    const before = performance.now();
    const first = only(checked(await probe.run(slice(cfg), context())));
    expect(first.note).toBe('first-poll');
    const bytes = await pushOverLoopback(256 * 1024 * 1024, 3500);
    const second = only(checked(await probe.run(slice(cfg), context())));
    const windowS = (performance.now() - before) / 1000;
    // lo counts every byte once in and once out; headers and other loopback traffic only add. The
    // window is wider than the interval between the readings; 5 % slack covers sysUpTime's 10-ms steps.
    const floorMbps = ((bytes * 8) / windowS / 1e6) * 0.95;
    console.log(
      `[uplink-snmp.test] loopback: ${(bytes / 1048576).toFixed(0)} MiB in ≤ ${windowS.toFixed(2)} s → floor ${floorMbps.toFixed(1)} Mbit/s; ` +
        `measured in ${second.inMbps} / out ${second.outMbps} Mbit/s`,
    );
    expect(second.outcome).toBe('ok');
    expect(second.inMbps).toBeGreaterThanOrEqual(floorMbps);
    expect(second.outMbps).toBeGreaterThanOrEqual(floorMbps);
    // No upper bound: other test files (speed tests on 127.0.0.1) may share lo at the same moment.
    expect(second.utilPct).toBeUndefined(); // lo's ifHighSpeed (10) is not its capacity
  });

  it('wrong community → timeout, quickly, saying a wrong community looks like this', async () => {
    const wrong = `wrong${randomBytes(6).toString('hex')}`;
    secrets.add(wrong);
    const cfg = config({ address: d.host, snmp: { ...v2c(), community: wrong, timeoutMs: 300, retries: 0 } });
    const started = performance.now();
    const r = only(checked(await createUplinkSnmpProbe({ samples: new Map() }).run(slice(cfg), context())));
    expect(performance.now() - started).toBeLessThan(1500);
    expect(r).toMatchObject({ outcome: 'timeout', operUp: false, ifName: 'lo' });
    expect(r.error).toMatch(/community/);
    expect(r.error).toMatch(/300 ms/);
  });

  it('wrong v3 keys or user → error with a clear message', async () => {
    const badAuth = `badauth${randomBytes(6).toString('hex')}`;
    const badPriv = `badpriv${randomBytes(6).toString('hex')}`;
    secrets.add(badAuth);
    secrets.add(badPriv);
    // A wrong authKey or user: snmpd answers at once with a usmStats report.
    for (const over of [{ authKey: badAuth }, { user: 'nobody-here' }] as SnmpSettings[]) {
      const cfg = config({ address: d.host, snmp: v3({ ...over, timeoutMs: 2000 }) });
      const started = performance.now();
      const r = only(checked(await createUplinkSnmpProbe({ samples: new Map() }).run(slice(cfg), context())));
      expect(performance.now() - started).toBeLessThan(1500); // an answer, not a timeout
      expect(r.outcome).toBe('error');
      expect(r.error).toMatch(/SNMPv3 authentication failed/);
    }
    // A wrong privKey: snmpd drops what it cannot decrypt; discovery was answered, so it is an error.
    const cfg = config({ address: d.host, snmp: v3({ privKey: badPriv, timeoutMs: 400 }) });
    const r = only(checked(await createUplinkSnmpProbe({ samples: new Map() }).run(slice(cfg), context())));
    expect(r.outcome).toBe('error');
    expect(r.error).toMatch(/SNMPv3 authentication failed.*privKey/);
  });

  it('an interface that does not exist → error naming it; the others are still read', async () => {
    const cfg = config({
      address: d.host,
      snmp: v2c(),
      uplink: { ifName: 'eth-missing9' },
      ports: [
        { ifIndex: 1, role: 'access' },
        { ifName: 'LO', role: 'core' }, // a unique case-insensitive match
        { ifName: 'ten-gig-missing', role: 'core' },
        { ifIndex: 99_999, role: 'access' },
      ],
    });
    const [uplink, byIndex, byName, missingName, missingIndex] = checked(
      await createUplinkSnmpProbe({ firstPollPauseMs: 0, samples: new Map() }).run(slice(cfg), context()),
    );
    expect(uplink).toMatchObject({ outcome: 'error', role: 'uplink', ifName: 'eth-missing9', operUp: false });
    expect(uplink?.error).toContain('"eth-missing9" not found');
    expect(byIndex).toMatchObject({
      outcome: 'ok',
      role: 'access',
      ifIndex: 1,
      ifName: 'lo',
      operUp: true,
      ifSpeedMbps: 10,
    });
    expect(byName).toMatchObject({ outcome: 'ok', role: 'core', ifIndex: 1, operUp: true });
    expect(byName?.inMbps).toBeUndefined(); // ports carry no rates
    expect(missingName).toMatchObject({ outcome: 'error', ifName: 'ten-gig-missing' });
    expect(missingName?.error).toContain('"ten-gig-missing" not found');
    expect(missingIndex).toMatchObject({ outcome: 'error', ifIndex: 99_999 });
    expect(missingIndex?.error).toContain('ifIndex 99999 not found');
  });

  it('honours ctx.signal: an abort ends the run at once with timeout', async () => {
    const silent = await freeUdpPort(); // nothing listens: requests go unanswered
    const cfg = config({
      address: '127.0.0.1',
      snmp: { ...v2c(), port: silent, timeoutMs: 5000, retries: 1 },
    });
    const started = performance.now();
    const r = only(
      checked(
        await createUplinkSnmpProbe({ samples: new Map() }).run(
          slice(cfg),
          context(AbortSignal.timeout(300)),
        ),
      ),
    );
    expect(performance.now() - started).toBeLessThan(1500);
    expect(r.outcome).toBe('timeout');
    expect(r.error).toMatch(/deadline/);
  });

  it('an abort during the first-run pause ends it too (abortable timer)', async () => {
    const cfg = config({ address: d.host, snmp: v2c() });
    const started = performance.now();
    const r = only(
      checked(
        await createUplinkSnmpProbe({ samples: new Map() }).run(
          slice(cfg),
          context(AbortSignal.timeout(800)),
        ),
      ),
    );
    expect(performance.now() - started).toBeLessThan(2000);
    expect(r.outcome).toBe('timeout');
  });

  it('sysUpTime lower than the kept reading (the device restarted) → note reboot, no rate', async () => {
    const samples = new Map<string, StoredSample>();
    const probe = createUplinkSnmpProbe({ firstPollPauseMs: 0, samples });
    const cfg = config({ address: d.host, snmp: v2c() });
    expect(only(checked(await probe.run(slice(cfg), context()))).note).toBe('first-poll');
    expect(samples.size).toBe(1);
    // The kept reading becomes one from a device that had been up a day longer than this one now.
    for (const [key, s] of samples) samples.set(key, { ...s, sysUptimeTicks: s.sysUptimeTicks + 8_640_000 });
    const r = only(checked(await probe.run(slice(cfg), context())));
    expect(r.outcome).toBe('ok');
    expect(r.note).toBe('reboot');
    expect(r.inMbps).toBeUndefined();
    // The reading after the restart is the new base: the next run has rates again.
    const next = only(checked(await probe.run(slice(cfg), context())));
    expect(next.note).toBeUndefined();
    expect(next.inMbps).toBeGreaterThanOrEqual(0);
  });
});

// ---------------------------------------------------------------------------------------------
// Real device recordings (LibreNMS snmprec) served by snmpsimd

/** Device recordings kept beside the checkout (test data, not part of the repository). */
const SNMPREC_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../shared/snmprec');
const SNMPSIMD_BIN = '/usr/bin/snmpsimd';

function snmpsimSkip(): string | undefined {
  if (!existsSync(SNMPREC_DIR)) return `${SNMPREC_DIR} is absent (device recordings)`;
  if (!existsSync(join(SNMPREC_DIR, 'ruijie.snmprec'))) return `${SNMPREC_DIR}/ruijie.snmprec is absent`;
  if (!existsSync(SNMPSIMD_BIN)) return `${SNMPSIMD_BIN} not found (apt-get install snmpsim)`;
  if (snmpdSkip) return snmpdSkip; // the CLI snmpget is used for readiness
  if (process.getuid?.() !== 0) return 'snmpsimd is started as root and drops to nobody/nogroup';
  return undefined;
}

const simSkip = snmpsimSkip();
if (simSkip) console.warn(`[uplink-snmp.test] SKIPPING the snmpsim recording tests: ${simSkip}`);

interface Snmpsim {
  port: number;
  stop(): Promise<void>;
}

/** snmpsimd on 127.0.0.1:<free port> serving the recordings in place (never copied). */
async function startSnmpsim(): Promise<Snmpsim> {
  const dir = mkdtempSync(join(tmpdir(), 'campuswatch-snmpsim-'));
  chmodSync(dir, 0o755); // nobody must reach its cache inside
  const cache = join(dir, 'cache');
  mkdirSync(cache);
  chownSync(cache, 65534, 65534); // nobody:nogroup — snmpsimd refuses to keep root
  const port = await freeUdpPort();
  const child: ChildProcess = spawn(
    SNMPSIMD_BIN,
    [
      `--data-dir=${SNMPREC_DIR}`,
      `--agent-udpv4-endpoint=127.0.0.1:${port}`,
      '--process-user=nobody',
      '--process-group=nogroup',
      `--cache-dir=${cache}`,
      '--logging-method=null',
    ],
    { stdio: 'ignore' },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  const env = { ...process.env, MIBS: '', SNMP_PERSISTENT_DIR: dir };
  // Ready when it answers (each try waits ≤ 0.3 s; bounded by 20 s).
  const deadline = performance.now() + 20_000;
  while (performance.now() < deadline && child.exitCode === null) {
    const r = spawnSync(
      'snmpget',
      ['-m', '', '-v2c', '-c', 'ruijie', '-r', '0', '-t', '0.3', `127.0.0.1:${port}`, '1.3.6.1.2.1.1.3.0'],
      { env, stdio: 'ignore', timeout: 5000 },
    );
    if (r.status === 0) return { port, stop };
  }
  await stop();
  throw new Error('snmpsimd did not answer within 20 s');
}

describe.skipIf(simSkip !== undefined)('uplink-snmp against device recordings (snmpsimd)', () => {
  let sim: Snmpsim;
  beforeAll(async () => {
    sim = await startSnmpsim();
  });
  afterAll(async () => {
    await sim?.stop();
  });

  it('Ruijie RG-S6220 (10G routing switch): 10G core ports and a 1G access port', async () => {
    const cfg = config({
      address: '127.0.0.1',
      snmp: { version: '2c', community: 'ruijie', port: sim.port, timeoutMs: 2000, retries: 0 },
      uplink: { ifName: 'TenGigabitEthernet 0/3' }, // an ifDescr: not an ifName on this switch
      ports: [
        { ifName: 'Te0/1', role: 'core' },
        { ifName: 'Ag1', role: 'core' },
        { ifName: 'Mgmt 0', role: 'access' },
        { ifIndex: 5639, role: 'access' },
      ],
    });
    const probe = createUplinkSnmpProbe({ firstPollPauseMs: 0, samples: new Map() });
    const [uplink, te1, ag1, mgmt, vlan] = checked(await probe.run(slice(cfg), context()));
    expect(uplink).toMatchObject({
      outcome: 'ok',
      ifIndex: 3,
      operUp: true,
      ifSpeedMbps: 10_000,
      note: 'first-poll',
    });
    // sysUpTime 3705225462 ticks: 428 days, close to the 2^32 wrap.
    expect(uplink?.sysUptimeS).toBeCloseTo(37_052_254.62, 2);
    expect(te1).toMatchObject({
      outcome: 'ok',
      role: 'core',
      ifIndex: 1,
      ifName: 'Te0/1',
      ifSpeedMbps: 10_000,
      operUp: false,
    });
    expect(ag1).toMatchObject({
      outcome: 'ok',
      role: 'core',
      ifIndex: 69,
      ifSpeedMbps: 20_000,
      operUp: true,
    });
    expect(mgmt).toMatchObject({
      outcome: 'ok',
      role: 'access',
      ifIndex: 4095,
      ifName: 'Mgmt 0',
      ifSpeedMbps: 1000,
    });
    expect(vlan).toMatchObject({
      outcome: 'ok',
      role: 'access',
      ifIndex: 5639,
      ifName: 'Vl1543',
      ifSpeedMbps: 1000,
    });
    // Static counters and a frozen sysUpTime: the second run has rate 0 over the agent's clock.
    const again = checked(await probe.run(slice(cfg), context()))[0];
    expect(again).toMatchObject({ outcome: 'ok', inMbps: 0, outMbps: 0, utilPct: 0 });
  });

  it('Huawei AR1220 (VRP): the recording has no IF-MIB → error naming the interface', async () => {
    const cfg = config({
      address: '127.0.0.1',
      snmp: { version: '2c', community: 'vrp', port: sim.port, timeoutMs: 2000, retries: 0 },
      uplink: { ifName: 'GigabitEthernet0/0/1' },
      ports: [{ ifIndex: 3, role: 'core' }],
    });
    const [uplink, port] = checked(
      await createUplinkSnmpProbe({ firstPollPauseMs: 0, samples: new Map() }).run(slice(cfg), context()),
    );
    expect(uplink?.outcome).toBe('error');
    expect(uplink?.error).toContain('"GigabitEthernet0/0/1" not found');
    expect(uplink?.error).toContain('0 interface(s)');
    expect(port?.outcome).toBe('error');
    expect(port?.error).toContain('ifIndex 3 not found');
  });
});
