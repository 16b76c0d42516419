/**
 * The live-class probe in the lab (issue 29, acceptance 5): school ns — router ns — platform ns (the lab's
 * `centre`), a UDP echo (RFC 862) and a TCP echo on the platform. Unshaped → within the limits; a slow tbf
 * with a deep queue filled by competing TCP → delay past 150 ms; nftables in the router dropping every 10th
 * echo datagram → loss past 1 %; the same tbf under bursts of competing datagrams (a sawtooth: the delay jumps
 * at each burst and falls by at most one packet spacing per packet while the queue drains) → jitter past
 * 30 ms. The three schools' results then go through a real collector: its compliance row and the district
 * KPI show them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type LiveClassResult, liveClassOverLimits, type Report } from '../../protocol/report.js';
import type { School } from '../../protocol/school.js';
import { makeReport } from '../helpers/reports.js';
import { skipping } from '../helpers/skip.js';
import { World } from '../helpers/world.js';
import { createLab, firstJsonLine, iperf3, iperf3Available, type Lab, labAvailable } from './lab.js';

const skip = labAvailable() ?? iperf3Available();
const UDP_PORT = 7;
const TCP_PORT = 7007;
/** The platform's discard service (RFC 863), the sink of the competing bursts. */
const DISCARD_PORT = 9;

/** The platform's echo services: every datagram back to its sender, every TCP byte back on its connection. */
const ECHO_SERVER = `
const dgram = require('node:dgram'); const net = require('node:net');
const u = dgram.createSocket('udp4');
u.on('message', (m, r) => u.send(m, r.port, r.address));
u.bind(${UDP_PORT}, '0.0.0.0', () => {
  net.createServer((c) => { c.on('error', () => {}); c.pipe(c); }).listen(${TCP_PORT}, '0.0.0.0', () =>
    console.log(JSON.stringify({ udp: ${UDP_PORT}, tcp: ${TCP_PORT} })));
});`;

/** Every datagram to the discard port dropped on arrival. */
const DISCARD_SERVER = `
const d = require('node:dgram').createSocket('udp4');
d.on('message', () => {});
d.bind(${DISCARD_PORT}, '0.0.0.0', () => console.log(JSON.stringify({ discard: ${DISCARD_PORT} })));`;

/**
 * Competing traffic in bursts: `count` datagrams of 1400 bytes at once to the platform's discard port every
 * `everyMs`, one JSON line per burst sent.
 */
const burster = (host: string, count: number, everyMs: number) => `
const s = require('node:dgram').createSocket('udp4');
const b = Buffer.alloc(1400);
let n = 0;
s.on('error', () => {});
s.connect(${DISCARD_PORT}, '${host}', () => {
  console.log(JSON.stringify({ bursts: 0 }));
  setInterval(() => {
    for (let i = 0; i < ${count}; i++) s.send(b, () => {});
    console.log(JSON.stringify({ bursts: ++n }));
  }, ${everyMs});
});`;

describe.skipIf(skipping(skip, 'live-class.lab.test'))('live-class probe in the lab', () => {
  let lab: Lab;
  let dir: string;
  const measured: Record<string, LiveClassResult> = {};

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cw-lab-lc-'));
    lab = await createLab({ name: 'lc' });
    await firstJsonLine(
      lab.spawn('centre', [process.execPath, '-e', ECHO_SERVER], { stdio: ['ignore', 'pipe', 'pipe'] }),
    );
  }, 120_000);
  afterAll(async () => {
    await lab?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** `campuswatch-agent probe live-class --json` in the school namespace. */
  async function probe(
    transport: 'udp-echo' | 'tcp',
    name: string,
    intervalMs = 20,
  ): Promise<LiveClassResult> {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(
      file,
      stringify({
        school: { id: 'cz-lab-lc', name: '常州专递课堂实验学校' },
        collector: { url: 'http://127.0.0.1:9' },
        state: join(dir, 'state'),
        probes: {
          'live-class': {
            enabled: true,
            timeoutS: 5,
            packets: 50,
            intervalMs,
            platform: {
              name: '常州市专递课堂平台',
              host: lab.centreV4,
              port: transport === 'tcp' ? TCP_PORT : UDP_PORT,
              transport,
            },
          },
        },
      }),
    );
    const r = await lab.exec(
      'school',
      [
        process.execPath,
        '--import',
        'tsx',
        'agent/src/cli.ts',
        'probe',
        'live-class',
        '--config',
        file,
        '--json',
      ],
      { timeoutMs: 60_000 },
    );
    const out = JSON.parse(r.stdout) as { results: LiveClassResult[] };
    const result = out.results[0]!;
    const over = liveClassOverLimits(result);
    // the CLI's exit status is its verdict: 0 within the limits, non-zero past them
    expect(r.code === 0, r.stderr).toBe(over.length === 0);
    console.info(
      `[live-class lab: ${name}] ${transport}: rtt ${result.rttMs} ms (p95 ${result.rttP95Ms}), one-way ${result.oneWayMs} ms, jitter ${result.jitterMs} ms, loss ${result.lossPct}% (${result.received}/${result.sent})${over.length ? ` — ${over.join(', ')}` : ' — within the limits'}`,
    );
    measured[name] = result;
    return result;
  }

  it('unshaped: UDP echo and TCP both within the limits', async () => {
    for (const transport of ['udp-echo', 'tcp'] as const) {
      const r = await probe(transport, `unshaped-${transport}`);
      expect(r).toMatchObject({ outcome: 'ok', sent: 50, received: 50, lossPct: 0 });
      expect(r.oneWayMs!).toBeLessThan(150);
      expect(r.jitterMs!).toBeLessThan(30);
      expect(liveClassOverLimits(r)).toEqual([]);
    }
  }, 120_000);

  it('a 2 Mbit tbf with a deep queue filled by competing TCP: delay past the limit, not met', async () => {
    for (const dev of [lab.routerWanIf, lab.routerLanIf])
      await lab.exec(
        'router',
        [
          'tc',
          'qdisc',
          'replace',
          'dev',
          dev,
          'root',
          'tbf',
          'rate',
          '2mbit',
          'burst',
          '8kb',
          'latency',
          '800ms',
        ],
        { check: true },
      );
    try {
      // four TCP uploads fill the uplink's queue while the train crosses it
      let flooding = true;
      const flood = iperf3(lab, { direction: 'up', seconds: 25, streams: 4, omit: 0 }).finally(() => {
        flooding = false;
      });
      const r = await probe('udp-echo', 'shaped');
      expect(flooding, 'the competing traffic ran for the whole train').toBe(true);
      await flood;
      expect(r.outcome).toBe('ok');
      expect(r.oneWayMs!).toBeGreaterThan(150);
      expect(liveClassOverLimits(r).some((o) => o.startsWith('one-way delay'))).toBe(true);
    } finally {
      await lab.unshape();
    }
  }, 120_000);

  it('nftables in the router dropping every 10th echo datagram: loss past 1 %, not met', async () => {
    const nft = (script: string) => lab.exec('router', ['nft', '-f', '-'], { input: script, check: true });
    await nft(
      `table inet cwlab_lc {\n chain lcdrop {\n  type filter hook forward priority 0; policy accept;\n  udp dport ${UDP_PORT} numgen inc mod 10 == 0 drop\n }\n}\n`,
    );
    try {
      const r = await probe('udp-echo', 'lossy');
      expect(r.outcome).toBe('ok');
      expect(r.sent).toBe(50);
      expect(r.received).toBe(45);
      expect(r.lossPct).toBe(10);
      expect(liveClassOverLimits(r)).toContain('loss 10% > 1%');
    } finally {
      await nft('delete table inet cwlab_lc\n');
    }
  }, 120_000);

  it('a 2 Mbit tbf with a deep queue under bursts of competing traffic: jitter past the limit, not met', async () => {
    // A FIFO queue lets a packet's delay fall by at most the train's spacing while it drains, so RFC 3550's
    // J += (|D| − J)/16 stays near 2 × spacing under any sawtooth: at 20 ms it ended between 25 and 34 ms
    // (not reliably past 30). This train is paced at 40 ms (25 frames/s) and the uplink gets a burst of
    // 64 × 1400 bytes (≈ 360 ms at 2 Mbit, drained before the next) every 400 ms: the delay jumps by
    // ≈ 360 ms and falls 40 ms per packet, and J ended between 50 and 68 ms in 19 runs.
    await lab.exec(
      'router',
      [
        'tc',
        'qdisc',
        'replace',
        'dev',
        lab.routerWanIf,
        'root',
        'tbf',
        'rate',
        '2mbit',
        'burst',
        '8kb',
        'latency',
        '800ms',
      ],
      { check: true },
    );
    const sink = lab.spawn('centre', [process.execPath, '-e', DISCARD_SERVER], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const bursts = lab.spawn('school', [process.execPath, '-e', burster(lab.centreV4, 64, 400)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      await firstJsonLine(sink);
      await firstJsonLine(bursts);
      let sentBursts = 0;
      createInterface({ input: bursts.stdout! }).on('line', (line) => {
        sentBursts = (JSON.parse(line) as { bursts: number }).bursts;
      });
      const r = await probe('udp-echo', 'bursty', 40);
      // started before the probe and still running after it: the bursts crossed the uplink during the whole
      // train (50 × 40 ms = 2 s, five bursts at least)
      expect(bursts.exitCode, 'the competing bursts ran for the whole train').toBeNull();
      expect(sentBursts).toBeGreaterThanOrEqual(5);
      expect(r.outcome).toBe('ok');
      expect(r.jitterMs!).toBeGreaterThan(30);
      expect(liveClassOverLimits(r)).toContain(`jitter ${r.jitterMs} ms > 30 ms`);
    } finally {
      bursts.kill('SIGKILL');
      sink.kill('SIGKILL');
      await lab.unshape();
    }
  }, 120_000);

  it('through a real collector: the compliance rows and the district KPI show it', async () => {
    const schools: School[] = ['unshaped-udp-echo', 'shaped', 'lossy'].map((k, i) => ({
      id: `cz-lab-lc-${i}`,
      name: `专递课堂实验学校（${k}）`,
      district: '武进区',
      timezone: 'Asia/Shanghai',
    }));
    const w = new World({ schools });
    try {
      await w.startCollector();
      for (const [i, key] of ['unshaped-udp-echo', 'shaped', 'lossy'].entries()) {
        const s = schools[i]!;
        const { token, agentId } = w.enrollDirect(s.id, s.id);
        const result = measured[key];
        expect(result, `${key} was measured above`).toBeDefined();
        const report: Report = makeReport({ agentId, schoolId: s.id, at: new Date(result!.at) });
        expect(
          (await w.postReport(token, { ...report, results: [...report.results, result] })).statusCode,
        ).toBe(200);
      }
      const kpis = (await w.app!.inject({ method: 'GET', url: '/api/v1/compliance' })).json() as {
        districts: {
          district: string;
          targets: Record<string, { met: number; notMet: number; pct: number }>;
        }[];
      };
      const wujin = kpis.districts.find((d) => d.district === '武进区')!;
      console.info(`[live-class lab] district KPI ${JSON.stringify(wujin.targets.live_class)}`);
      expect(wujin.targets.live_class).toMatchObject({ met: 1, notMet: 2, pct: 33.3 });
      for (const [i, state] of ['met', 'not_met', 'not_met'].entries()) {
        const detail = (
          await w.app!.inject({ method: 'GET', url: `/api/v1/schools/${schools[i]!.id}` })
        ).json() as {
          compliance: { target: string; state: string; value: number; reason: string }[];
        };
        const row = detail.compliance.find((c) => c.target === 'live_class')!;
        console.info(`[live-class lab] ${schools[i]!.name}: ${JSON.stringify(row)}`);
        expect(row.state).toBe(state);
      }
    } finally {
      await w.cleanup();
    }
  }, 60_000);
});
