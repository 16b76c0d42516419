import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SECURITY_REMEDIATION } from '../../agent/src/probe-report.js';
import { SECURITY_RULES } from '../../agent/src/probes/security/verdict.js';
import { DEFAULT_BASELINE_FILE, loadBaseline } from '../../collector/src/baseline.js';
import { type CliResult, runCli } from '../helpers/cli.js';
import { type Peer, startTcpListener } from '../helpers/device-peers.js';
import { freeUdpPort, type Snmpd, snmpdAvailable, startSnmpd } from '../helpers/snmpd.js';

// `campuswatch-agent probe <name>` without --json, through the real CLI against real listeners on
// loopback: problems first (device, rule or check, evidence, what to do), then one summary line;
// exit 0 when nothing is wrong, 3 when something is.

const SNMPD_SKIP = snmpdAvailable();
if (SNMPD_SKIP) console.warn(`probe-output.test: SNMP cases skipped: ${SNMPD_SKIP}`);

const TELNET_HOST = '127.0.0.63';
const SNMP_HOST = '127.0.0.64';
const EN = { LANG: 'C.UTF-8', LC_ALL: '', LC_MESSAGES: '' };
const ZH = { LANG: 'zh_CN.UTF-8', LC_ALL: '', LC_MESSAGES: '' };

let dir: string;
let n = 0;
function configFile(body: Record<string, unknown>): string {
  const file = join(dir, `agent-${++n}.yaml`);
  writeFileSync(
    file,
    JSON.stringify({
      school: { id: 'test-school', name: '测试学校' },
      collector: { url: 'http://127.0.0.1:9' },
      state: join(dir, `state-${n}`),
      ...body,
    }),
  );
  return file;
}

function lines(r: CliResult): string[] {
  return r.stdout.split('\n').filter((l) => l !== '');
}

/** The line index of the summary: every line before it is a problem. */
function summaryAt(r: CliResult): number {
  const i = lines(r).findIndex((l) => /^(no problems|\d+ problems?) on \d+ (checks?|devices?)$/.test(l));
  expect(i, r.stdout).toBeGreaterThanOrEqual(0);
  return i;
}

function expectNoWarnings(r: CliResult): void {
  expect(r.stderr, r.stderr).not.toMatch(/Warning/);
}

/** A TCP port on 127.0.0.1 with nothing listening (taken, then released). */
async function closedPort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen({ host, port: 0 }, resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cw-probe-output-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('remediation texts', () => {
  it("the agent's are config/baseline.yaml's, for every rule the scan reports", () => {
    const baseline = loadBaseline(DEFAULT_BASELINE_FILE);
    expect(Object.keys(SECURITY_REMEDIATION).sort()).toEqual([...SECURITY_RULES].sort());
    for (const rule of SECURITY_RULES) {
      const b = baseline.rules[rule];
      expect(b, rule).toBeDefined();
      expect(SECURITY_REMEDIATION[rule], rule).toEqual({ en: b?.remediation, zh: b?.remediationZh });
    }
  });
});

/** Telnet on its real port 23 (the CLI scans the real port numbers): needs root, else undefined. */
async function telnetOn23(): Promise<Server | string> {
  const server = createServer((s) => {
    s.on('error', () => {});
    s.end('\r\nlogin: ');
  });
  return new Promise((resolve) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      resolve(`cannot listen on ${TELNET_HOST}:23: ${err.code}`),
    );
    server.listen({ host: TELNET_HOST, port: 23 }, () => resolve(server));
  });
}

describe.skipIf(SNMPD_SKIP !== undefined)('probe security', () => {
  let telnet: Server | string;
  let pub: Snmpd;
  let strong: Snmpd;
  beforeAll(async () => {
    telnet = await telnetOn23();
    if (typeof telnet === 'string') console.warn(`probe-output.test: Telnet finding skipped: ${telnet}`);
    [pub, strong] = await Promise.all([
      startSnmpd({ community: 'public', agentAddress: `udp:${SNMP_HOST}:${await freeUdpPort(SNMP_HOST)}` }),
      startSnmpd({ agentAddress: `udp:${SNMP_HOST}:${await freeUdpPort(SNMP_HOST)}` }),
    ]);
  });
  afterAll(async () => {
    if (typeof telnet !== 'string') await new Promise((resolve) => (telnet as Server).close(resolve));
    await Promise.all([pub?.stop(), strong?.stop()]);
  });

  const security = (s: Snmpd) =>
    configFile({
      probes: { security: { enabled: true, hostChecks: false, connectTimeoutMs: 500, timeoutS: 60 } },
      inventory: { snmp: { timeoutMs: 500, retries: 0 } },
      rooms: [
        {
          name: '录播室',
          type: 'recording',
          devices: [
            { name: '录播主机 A1', type: 'other', address: TELNET_HOST, checks: [{ tcp: 22 }] },
            {
              name: '核心交换机',
              type: 'switch',
              address: SNMP_HOST,
              checks: [{ snmp: { port: s.port, version: '2c', community: s.community } }],
            },
          ],
        },
      ],
    });

  it('prints the findings with device, rule, evidence and remediation first, then the summary, and exits 3', async (t) => {
    if (typeof telnet === 'string') t.skip();
    const file = security(pub);
    const r = await runCli('agent', ['probe', 'security', '--config', file], EN);
    expectNoWarnings(r);
    expect(r.code, r.stdout).toBe(3);
    const out = lines(r);
    expect(summaryAt(r)).toBe(2);
    expect(out[2]).toMatch(/^2 problems on \d+ checks$/);
    const telnetLine = out.slice(0, 2).find((l) => l.includes('cleartext-telnet'));
    const snmpLine = out.slice(0, 2).find((l) => l.includes('snmp-default-community'));
    expect(telnetLine).toContain(`录播主机 A1 (${TELNET_HOST}) port 23`);
    expect(telnetLine).toContain('TCP 23 open');
    expect(telnetLine).toContain(SECURITY_REMEDIATION['cleartext-telnet']?.en);
    expect(snmpLine).toContain(`核心交换机 (${SNMP_HOST}) port ${pub.port}`);
    expect(snmpLine).toContain('"public"');
    expect(snmpLine).toContain(SECURITY_REMEDIATION['snmp-default-community']?.en);
    // healthy lines only with --verbose
    expect(r.stdout).not.toMatch(/^ok /m);

    const zh = await runCli('agent', ['probe', 'security', '--config', file, '--verbose'], ZH);
    expect(zh.code).toBe(3);
    const zhLines = lines(zh);
    expect(zhLines.slice(0, 2).join('\n')).toContain(SECURITY_REMEDIATION['cleartext-telnet']?.zh);
    expect(zhLines.slice(0, 2).join('\n')).toContain(SECURITY_REMEDIATION['snmp-default-community']?.zh);
    expect(zhLines.slice(3).filter((l) => l.startsWith('ok ')).length).toBeGreaterThan(0);
    // --lang wins over the locale
    const en = await runCli('agent', ['probe', 'security', '--config', file, '--lang', 'en'], ZH);
    expect(lines(en).slice(0, 2).join('\n')).toContain(SECURITY_REMEDIATION['cleartext-telnet']?.en);
  });

  it('exits 0 with nothing wrong', async () => {
    if (typeof telnet !== 'string') await new Promise((resolve) => (telnet as Server).close(resolve));
    telnet = 'closed';
    const r = await runCli('agent', ['probe', 'security', '--config', security(strong)], EN);
    expectNoWarnings(r);
    expect(r.code, r.stdout).toBe(0);
    expect(lines(r)[0]).toMatch(/^no problems on \d+ checks$/);
  });
});

describe('probe devices and probe reachability', () => {
  let up: Peer;
  let closed: number;
  beforeAll(async () => {
    up = await startTcpListener();
    closed = await closedPort();
  });
  afterAll(async () => {
    await up?.close();
  });

  const devices = (down: boolean) =>
    configFile({
      rooms: [
        {
          name: '计算机教室 1',
          type: 'classroom',
          devices: [
            { name: '教师机', type: 'other', address: '127.0.0.1', checks: [{ tcp: up.port }] },
            ...(down
              ? [
                  {
                    name: '交换机 B',
                    type: 'other',
                    address: '127.0.0.1',
                    critical: true,
                    checks: [{ tcp: closed }],
                  },
                ]
              : []),
          ],
        },
      ],
    });

  it('a device down is printed first and the command exits 3', async () => {
    const file = devices(true);
    const d = await runCli('agent', ['probe', 'devices', '--config', file], EN);
    expectNoWarnings(d);
    expect(d.code, d.stdout).toBe(3);
    const out = lines(d);
    expect(out[0]).toMatch(
      new RegExp(
        `^DOWN +计算机教室 1 / 交换机 B \\(127\\.0\\.0\\.1\\) \\[critical\\]  tcp/${closed} refused`,
      ),
    );
    expect(out[1]).toBe('1 problem on 2 devices');
    expect(d.stdout).not.toContain('教师机');
    const verbose = await runCli('agent', ['probe', 'devices', '--config', file, '--verbose'], EN);
    expect(lines(verbose)[0]).toMatch(/^DOWN .*交换机 B/);
    expect(verbose.stdout).toMatch(/^up +计算机教室 1 \/ 教师机/m);

    const r = await runCli('agent', ['probe', 'reachability', '--config', file], EN);
    expectNoWarnings(r);
    expect(r.code, r.stdout).toBe(3);
    expect(lines(r)[0]).toMatch(/^DOWN +计算机教室 1 \/ 交换机 B .* tcp\/\d+: refused/);
    expect(lines(r)[1]).toBe('1 problem on 2 checks');
  });

  it('all devices up: exit 0', async () => {
    const file = devices(false);
    const d = await runCli('agent', ['probe', 'devices', '--config', file], EN);
    expect(d.code, d.stdout).toBe(0);
    expect(d.stdout).toBe('no problems on 1 device\n');
    const r = await runCli('agent', ['probe', 'reachability', '--config', file], EN);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toBe('no problems on 1 check\n');
  });
});

describe('probe ipv6', () => {
  it('prints the failed checks first, then the score and its reasons, and exits 3', async () => {
    const port = await closedPort();
    const file = configFile({
      probes: {
        ipv6: {
          enabled: true,
          timeoutS: 30,
          connectTimeoutMs: 500,
          targets: [{ name: 'collector', url: `http://127.0.0.1:${port}/` }],
        },
      },
    });
    const r = await runCli('agent', ['probe', 'ipv6', '--config', file], EN);
    expectNoWarnings(r);
    // an IPv4 literal target has no IPv6 path: at least that check fails on any machine
    expect(r.code, r.stdout).toBe(3);
    const out = lines(r);
    const at = summaryAt(r);
    expect(at).toBeGreaterThan(0);
    for (const l of out.slice(0, at)) expect(l).toMatch(/^FAILED +\S+ .*: .+ → /);
    expect(out.slice(0, at).some((l) => l.startsWith('FAILED   tcp-v6 (collector)'))).toBe(true);
    const json = await runCli('agent', ['probe', 'ipv6', '--config', file, '--json'], EN);
    expect(json.code).toBe(3);
    const parsed = JSON.parse(json.stdout) as { score_v6: number; score_v4only: number; symptoms: string[] };
    expect(out[at + 1]).toBe(`IPv6 score ${parsed.score_v6}/10, IPv4-drop score ${parsed.score_v4only}/10:`);
    expect(parsed.symptoms.length).toBeGreaterThan(0);
    for (const s of parsed.symptoms) expect(out).toContain(`  - ${s}`);
  });
});

describe('probe host', () => {
  it('prints the host, and exits 3 exactly when it lists a problem', async () => {
    const r = await runCli('agent', ['probe', 'host', '--config', configFile({})], EN);
    expectNoWarnings(r);
    const at = summaryAt(r);
    expect(r.code, r.stdout).toBe(at === 0 ? 0 : 3);
    expect(r.stdout).toMatch(/^host \S+: .+, up [\d.]+ days$/m);
    expect(r.stdout).toMatch(/^cpu \d+ cores/m);
  });
});

describe('probe bandwidth', () => {
  it('a speed test that cannot run is a problem: exit 3', async () => {
    const token = join(dir, 'token');
    writeFileSync(token, 'not-a-token\n');
    const port = await closedPort();
    const r = await runCli(
      'agent',
      [
        'probe',
        'bandwidth',
        '--server',
        `http://127.0.0.1:${port}`,
        '--token-file',
        token,
        '--duration',
        '1',
      ],
      EN,
    );
    expect(r.code, r.stdout + r.stderr).toBe(3);
    expect(lines(r)[0]).toMatch(new RegExp(`^FAILED +speed test to http://127\\.0\\.0\\.1:${port}: \\w+: `));
    expect(lines(r)[1]).toBe('1 problem on 1 check');
  });
});

describe.skipIf(SNMPD_SKIP !== undefined)('probe uplink-snmp', () => {
  let s: Snmpd;
  beforeAll(async () => {
    s = await startSnmpd();
  });
  afterAll(async () => {
    await s?.stop();
  });
  const uplink = (port: number) =>
    configFile({
      probes: {
        'uplink-snmp': {
          enabled: true,
          timeoutS: 20,
          device: { name: '出口路由器', address: '127.0.0.1' },
          snmp: { version: '2c', community: s.community, port, timeoutMs: 500, retries: 0 },
          uplink: { ifName: 'lo' },
        },
      },
    });

  it('the uplink read: exit 0; the router not answering: exit 3 with the device first', async () => {
    const ok = await runCli('agent', ['probe', 'uplink-snmp', '--config', uplink(s.port)], EN);
    expectNoWarnings(ok);
    expect(ok.code, ok.stdout).toBe(0);
    expect(lines(ok)[0]).toBe('no problems on 1 check');
    const silent = await freeUdpPort();
    const bad = await runCli('agent', ['probe', 'uplink-snmp', '--config', uplink(silent)], EN);
    expect(bad.code, bad.stdout).toBe(3);
    expect(lines(bad)[0]).toMatch(
      /^FAILED +出口路由器 \(127\.0\.0\.1\) .*: (timeout|unreachable|refused|error)/,
    );
    expect(lines(bad)[1]).toBe('1 problem on 1 check');
  });
});
