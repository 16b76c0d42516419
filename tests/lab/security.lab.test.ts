/**
 * Lab acceptance for the security baseline: every device rule is proven on a real peer on its REAL
 * port, inside the lab's `centre` namespace (device addresses from tests/lab/device-net.ts), and the
 * agent CLI (`campuswatch-agent probe security --json`) runs in the `school` namespace, through the
 * router. First the bad peers (Telnet 23, an FTP banner on 21, TFTP on 69/udp, an HTTP login page on
 * 80 without HTTPS, RDP 3389, RTSP 554 answering DESCRIBE without auth, snmpd with community
 * `public`, TLS servers with an expired, a nearly-expired and a self-signed certificate and one that
 * accepts TLS 1.0) — each rule's finding is true. Then the same addresses are "fixed" (Telnet, FTP,
 * TFTP and 3389 gone, HTTPS beside the admin page, RTSP 401, snmpd with a random community and the
 * agent on SNMPv3, a CA-signed valid certificate, TLS 1.2+ only) — every finding is false.
 * Certificates are generated here with openssl. The host rules (host-firewall-off, host-os-eol) cannot
 * be turned off through the config; their results are only schema-checked here.
 */
import type { ChildProcess } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESULT_SCHEMAS, type SecurityResult } from '../../protocol/report.js';
import { checker } from '../../protocol/validate.js';
import { securityCertificates } from '../helpers/certs.js';
import { type Snmpd, snmpdAvailable, startSnmpd } from '../helpers/snmpd.js';
import { addDeviceNet, liveAddress } from './device-net.js';
import { createLab, firstJsonLine, type Lab, labAvailable, PROJECT_ROOT } from './lab.js';
import type { PeerSpec } from './security-peers.js';

const OPENSSL_SKIP =
  spawnSync('openssl', ['version'], { encoding: 'utf8' }).status === 0 ? undefined : '`openssl` not found';
const skip = labAvailable() ?? snmpdAvailable({ netns: true }) ?? OPENSSL_SKIP;
if (skip) console.warn(`[security.lab.test] SKIPPING the lab test: ${skip}`);

const schema = checker<SecurityResult>(RESULT_SCHEMAS.security);

const CAM = liveAddress(40); // camera: Telnet, HTTP admin page, RTSP
const NVR = liveAddress(41); // recorder: FTP, TFTP, RDP
const SW = liveAddress(42); // switch: snmpd
const TLS_EXPIRED = liveAddress(50);
const TLS_EXPIRING = liveAddress(51);
const TLS_LEGACY = liveAddress(52); // accepts TLS 1.0 … 1.3
const TLS_10_ONLY = liveAddress(53); // TLS 1.0 and nothing else
const HOST_RULES = new Set(['host-firewall-off', 'host-os-eol']);

const LOGIN_PAGE =
  '<html><head><title>IPC 管理 Login</title></head><body><form>用户名 <input name="u"> 密码 <input type="password" name="p"></form></body></html>';

// ---------------------------------------------------------------------------------------------
// Certificates (openssl)

const { selfSigned, expiredCert, caSigned } = securityCertificates('lab');

// ---------------------------------------------------------------------------------------------

interface ScanOutput {
  code: number | null;
  stdout: string;
  stderr: string;
  results: SecurityResult[];
}

describe.skipIf(skip !== undefined)('security baseline in the lab: real peers, bad then fixed', () => {
  let lab: Lab;
  let dir: string;
  let bad: ScanOutput;
  let fixed: ScanOutput;
  let badSnmp: Snmpd;
  let fixedSnmp: Snmpd;

  async function startPeers(name: string, peers: PeerSpec[]): Promise<ChildProcess> {
    const file = join(dir, `${name}-peers.json`);
    await writeFile(file, JSON.stringify(peers));
    const child = lab.nodeIn('centre', 'tests/lab/security-peers.ts', [file], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const ready = await firstJsonLine<{ listening: number }>(child);
    expect(ready.listening).toBe(peers.length);
    return child;
  }

  async function stopPeers(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  }

  async function scan(name: string, snmpd: Snmpd): Promise<ScanOutput> {
    const v3 = {
      version: '3',
      user: snmpd.v3.user,
      authKey: snmpd.v3.authKey,
      privKey: snmpd.v3.privKey,
      authProtocol: 'sha',
      privProtocol: 'aes',
      timeoutMs: 500,
      retries: 0,
    };
    const config = {
      school: { id: 'lab-school', name: '实验学校' },
      collector: { url: 'http://127.0.0.1:9' },
      state: join(dir, `${name}-state`),
      probes: {
        host: { enabled: false },
        reachability: { enabled: false },
        ipv6: { enabled: false },
        security: {
          enabled: true,
          timeoutS: 60,
          connectTimeoutMs: 1000,
          concurrency: 16,
          snmpV3Required: true,
          tls: [
            { name: 'portal-expired', url: `https://${TLS_EXPIRED}/` },
            { name: 'portal-expiring', url: `https://${TLS_EXPIRING}/` },
            { name: 'portal-legacy', url: `https://${TLS_LEGACY}/` },
            { name: 'portal-tls10', url: `https://${TLS_10_ONLY}:443/` },
          ],
        },
      },
      rooms: [
        {
          name: '录播室 1',
          type: 'recording',
          devices: [
            { name: 'cam', type: 'camera', address: CAM, checks: ['icmp'] },
            { name: 'nvr', type: 'recorder', address: NVR, checks: ['icmp'] },
          ],
        },
        {
          name: '网络中心',
          type: 'core',
          devices: [{ name: 'sw', type: 'switch', address: SW, checks: ['icmp', { snmp: v3 }] }],
        },
      ],
    };
    const file = join(dir, `${name}-agent.yaml`);
    await writeFile(file, JSON.stringify(config));
    const out = await lab.exec(
      'school',
      [
        process.execPath,
        '--import',
        'tsx',
        'agent/src/cli.ts',
        'probe',
        'security',
        '--config',
        file,
        '--json',
      ],
      { cwd: PROJECT_ROOT, timeoutMs: 45_000, env: { ...process.env, CAMPUSWATCH_LOG_LEVEL: 'warn' } },
    );
    // 1 when some result is not 'ok' (the TLS 1.0-only server, or a host rule that cannot tell).
    expect([0, 3], `${out.stderr}\n${out.stdout}`).toContain(out.code);
    const parsed = JSON.parse(out.stdout) as { probe: string; results: SecurityResult[] };
    expect(parsed.probe).toBe('security');
    for (const r of parsed.results) expect(schema.problems(r), JSON.stringify(r)).toEqual([]);
    // No configured secret (v3 keys) and no snmpd community other than the defaults in the output.
    const secrets = [snmpd.v3.authKey, snmpd.v3.privKey];
    if (snmpd.community !== 'public') secrets.push(snmpd.community);
    for (const s of secrets) {
      expect(out.stdout.includes(s), `secret leaked into stdout`).toBe(false);
      expect(out.stderr.includes(s), `secret leaked into stderr`).toBe(false);
    }
    return { code: out.code, stdout: out.stdout, stderr: out.stderr, results: parsed.results };
  }

  beforeAll(async () => {
    const started = performance.now();
    lab = await createLab({ name: 'sec' });
    dir = await mkdtemp(join(tmpdir(), 'cw-security-lab-'));
    await addDeviceNet(lab);
    const expired = await expiredCert(dir);
    const expiring = selfSigned(dir, 'expiring', 10);
    const legacy = selfSigned(dir, 'legacy', 365);
    const valid = caSigned(dir);

    // --- bad peers
    badSnmp = await startSnmpd({ netns: lab.ns.centre, agentAddress: `udp:${SW}:161`, community: 'public' });
    const badPeers = await startPeers('bad', [
      { kind: 'tcp', host: CAM, port: 23 },
      { kind: 'http', host: CAM, port: 80, html: LOGIN_PAGE },
      { kind: 'rtsp', host: CAM, port: 554, mode: 'open' },
      { kind: 'ftp', host: NVR, port: 21 },
      { kind: 'tftp', host: NVR, port: 69 },
      { kind: 'tcp', host: NVR, port: 3389 },
      { kind: 'tls', host: TLS_EXPIRED, port: 443, ...expired },
      { kind: 'tls', host: TLS_EXPIRING, port: 443, ...expiring },
      {
        kind: 'tls',
        host: TLS_LEGACY,
        port: 443,
        ...legacy,
        minVersion: 'TLSv1',
        ciphers: 'DEFAULT@SECLEVEL=0',
      },
      {
        kind: 'tls',
        host: TLS_10_ONLY,
        port: 443,
        ...legacy,
        minVersion: 'TLSv1',
        maxVersion: 'TLSv1',
        ciphers: 'DEFAULT@SECLEVEL=0',
      },
    ]);
    try {
      bad = await scan('bad', badSnmp);
    } finally {
      await stopPeers(badPeers);
      await badSnmp.stop();
    }

    // --- fixed peers on the same addresses
    fixedSnmp = await startSnmpd({ netns: lab.ns.centre, agentAddress: `udp:${SW}:161` });
    const fixedPeers = await startPeers('fixed', [
      { kind: 'http', host: CAM, port: 80, html: LOGIN_PAGE },
      { kind: 'tls', host: CAM, port: 443, ...valid },
      { kind: 'rtsp', host: CAM, port: 554, mode: 'auth' },
      ...[TLS_EXPIRED, TLS_EXPIRING, TLS_LEGACY, TLS_10_ONLY].map(
        (host): PeerSpec => ({ kind: 'tls', host, port: 443, ...valid }),
      ),
    ]);
    try {
      fixed = await scan('fixed', fixedSnmp);
    } finally {
      await stopPeers(fixedPeers);
      await fixedSnmp.stop();
    }
    console.info(`[security.lab.test] setup and both scans: ${Math.round(performance.now() - started)} ms`);
  }, 90_000);

  afterAll(async () => {
    await badSnmp?.stop();
    await fixedSnmp?.stop();
    await lab?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function one(results: SecurityResult[], target: string, rule: string, port?: number): SecurityResult {
    const found = results.filter(
      (r) => r.target === target && r.rule === rule && (port === undefined || r.port === port),
    );
    expect(found, `${target} ${rule} ${port ?? ''}`).toHaveLength(1);
    return found[0] as SecurityResult;
  }

  function show(label: string, r: SecurityResult): void {
    console.info(
      `[security.lab.test] ${label} ${r.rule} ${r.target}${r.port !== undefined ? `:${r.port}` : ''}: finding ${r.finding}, outcome ${r.outcome}: ${r.evidence}`,
    );
  }

  it('bad peers: exactly the planted problems are findings', () => {
    const key = (r: SecurityResult) => `${r.target} ${r.rule}${r.port !== undefined ? ` ${r.port}` : ''}`;
    const findings = bad.results
      .filter((r) => r.finding && !HOST_RULES.has(r.rule))
      .map(key)
      .sort();
    expect(findings).toEqual(
      [
        'cam cleartext-telnet 23',
        'cam http-admin-no-tls 80',
        'cam rtsp-no-auth 554',
        'nvr cleartext-ftp 21',
        'nvr cleartext-tftp 69',
        'nvr high-risk-port 3389',
        'sw snmp-default-community 161',
        'sw snmp-v1v2c-enabled 161',
        'portal-expired tls-expired 443',
        'portal-expired tls-self-signed 443',
        'portal-expiring tls-expiring 443',
        'portal-expiring tls-self-signed 443',
        'portal-legacy tls-old-protocol 443',
        'portal-legacy tls-self-signed 443',
        'portal-tls10 tls-old-protocol 443',
        'portal-tls10 tls-self-signed 443',
      ].sort(),
    );
    // Everything else on the devices is a clean "not found" (closed ports are refused in the lab).
    for (const r of bad.results) {
      if (HOST_RULES.has(r.rule) || r.target === 'portal-tls10') continue;
      expect(r.outcome, key(r)).toBe('ok');
    }
  });

  it('bad peers: each rule with its evidence', () => {
    const telnet = one(bad.results, 'cam', 'cleartext-telnet', 23);
    expect(telnet).toMatchObject({ outcome: 'ok', finding: true, evidence: 'TCP 23 open' });
    expect(telnet.device).toMatchObject({ name: 'cam', address: CAM, type: 'camera', room: '录播室 1' });

    const ftp = one(bad.results, 'nvr', 'cleartext-ftp', 21);
    expect(ftp.evidence).toContain('TCP 21 open; banner "220 (vsFTPd 3.0.3) lab camera"');

    const tftp = one(bad.results, 'nvr', 'cleartext-tftp', 69);
    expect(tftp.evidence).toContain('UDP 69 answered a TFTP read request with ERROR 1 "File not found"');

    const http = one(bad.results, 'cam', 'http-admin-no-tls', 80);
    expect(http.evidence).toContain('HTTP 200 on port 80, title "IPC 管理 Login"');
    expect(http.evidence).toContain('TCP 443 (HTTPS) refused');

    const rdp = one(bad.results, 'nvr', 'high-risk-port', 3389);
    expect(rdp).toMatchObject({ finding: true, value: 3389, evidence: 'TCP 3389 open' });

    const rtsp = one(bad.results, 'cam', 'rtsp-no-auth', 554);
    expect(rtsp.evidence).toContain('"RTSP/1.0 200 OK"');
    expect(rtsp.evidence).toContain('media: video, audio');
    expect(rtsp.evidence).toContain('session "Classroom 101"');

    const pub = one(bad.results, 'sw', 'snmp-default-community', 161);
    expect(pub.evidence).toContain('default community "public"; sysDescr "Linux');
    const v2c = one(bad.results, 'sw', 'snmp-v1v2c-enabled', 161);
    expect(v2c.evidence).toContain('SNMPv3 required, but the device answers SNMPv2c');

    const expired = one(bad.results, 'portal-expired', 'tls-expired', 443);
    expect(expired.evidence).toContain('valid 2020-01-01 to 2021-01-01: expired');
    expect(expired.value).toBeLessThan(-365);
    expect(one(bad.results, 'portal-expired', 'tls-expiring').finding).toBe(false);

    const expiring = one(bad.results, 'portal-expiring', 'tls-expiring', 443);
    expect(expiring.value).toBeGreaterThanOrEqual(9);
    expect(expiring.value).toBeLessThanOrEqual(10);
    expect(expiring.evidence).toContain('(< 30)');

    const self = one(bad.results, 'portal-expiring', 'tls-self-signed', 443);
    expect(self.evidence).toContain('issuer = subject = "CN=expiring.lab"');

    const old = one(bad.results, 'portal-legacy', 'tls-old-protocol', 443);
    expect(old.evidence).toMatch(/^accepts TLSv1 \(\S+\), TLSv1\.1 \(\S+\)/);

    for (const r of [telnet, ftp, tftp, http, rdp, rtsp, pub, v2c, expired, expiring, self, old]) {
      expect(r).toMatchObject({ outcome: 'ok', finding: true });
      show('bad  ', r);
    }
  });

  // A server that speaks ONLY TLS 1.0 refuses Node's default minimum (1.2): the probe reads its
  // certificate again with the old versions allowed, so the finding is reported, not an error.
  it('tls-old-protocol: a TLS 1.0-only server is a finding', () => {
    for (const r of bad.results.filter((x) => x.target === 'portal-tls10')) show('bad  ', r);
    const only10 = one(bad.results, 'portal-tls10', 'tls-old-protocol', 443);
    expect(only10).toMatchObject({ outcome: 'ok', finding: true });
  });

  it('fixed peers: every rule passes cleanly', () => {
    const device = fixed.results.filter((r) => !HOST_RULES.has(r.rule));
    // 3 devices × (telnet, ftp, tftp, http, 14 high-risk ports) + 2 RTSP + 2 SNMP + 4 TLS services × 4.
    expect(device).toHaveLength(3 * 18 + 2 + 2 + 16);
    for (const r of device) {
      expect(r, `${r.target} ${r.rule} ${r.port}`).toMatchObject({ outcome: 'ok', finding: false });
    }
    const pick: Array<[string, string, number?]> = [
      ['cam', 'cleartext-telnet', 23],
      ['nvr', 'cleartext-ftp', 21],
      ['nvr', 'cleartext-tftp', 69],
      ['cam', 'http-admin-no-tls', 80],
      ['nvr', 'high-risk-port', 3389],
      ['cam', 'rtsp-no-auth', 554],
      ['sw', 'snmp-default-community', 161],
      ['sw', 'snmp-v1v2c-enabled', 161],
      ['portal-expired', 'tls-expired', 443],
      ['portal-expiring', 'tls-expiring', 443],
      ['portal-legacy', 'tls-self-signed', 443],
      ['portal-legacy', 'tls-old-protocol', 443],
      ['portal-tls10', 'tls-old-protocol', 443],
    ];
    const got = pick.map(([t, rule, port]) => one(fixed.results, t, rule, port));
    for (const r of got) show('fixed', r);
    const [telnet, ftp, tftp, http, rdp, rtsp, pub, v2c, expired, expiring, self, old, old10] = got;
    expect(telnet?.evidence).toBe('TCP 23 refused (closed)');
    expect(ftp?.evidence).toBe('TCP 21 refused (closed)');
    expect(tftp?.evidence).toContain('no TFTP reply on UDP 69');
    expect(http?.evidence).toContain(
      'title "IPC 管理 Login": a login/admin page, but TCP 443 (HTTPS) also answers',
    );
    expect(rdp).toMatchObject({ value: 3389, evidence: 'TCP 3389 refused (closed)' });
    expect(rtsp?.evidence).toContain('"RTSP/1.0 401 Unauthorized" (authentication required: Digest)');
    expect(pub?.evidence).toContain('no answer with the default communities "public" or "private"');
    expect(v2c?.evidence).toContain('no SNMPv2c answer with the default communities');
    expect(expired?.evidence).toContain('"CN=leaf.lab"');
    expect(expired?.evidence).toContain('not expired');
    expect(expiring?.value).toBeGreaterThanOrEqual(199);
    expect(self?.evidence).toContain('issuer "CN=Campus Lab CA"');
    expect(old?.evidence).toMatch(/^TLSv1 refused.*; TLSv1\.1 refused/);
    expect(old10?.evidence).toMatch(/^TLSv1 refused.*; TLSv1\.1 refused/);
    for (const r of fixed.results.filter((x) => HOST_RULES.has(x.rule))) show('host ', r);
  });
});
