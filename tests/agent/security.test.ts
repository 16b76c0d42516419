import { spawnSync } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer, type TlsOptions } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentConfig, parseAgentConfig } from '../../agent/src/config.js';
import { silentLogger } from '../../agent/src/log.js';
import { PROBES } from '../../agent/src/probes/registry.js';
import { securityKind } from '../../agent/src/probes/security/index.js';
import { createSecurityProbe, type SecurityProbeOptions } from '../../agent/src/probes/security/probe.js';
import { tftpReadRequest } from '../../agent/src/probes/security/rules/cleartext.js';
import { summarizeIptables, summarizeNft } from '../../agent/src/probes/security/rules/host.js';
import { daysPastEol, osEndOfLife } from '../../agent/src/probes/security/rules/os-eol.js';
import { RESULT_SCHEMAS, type SecurityResult } from '../../protocol/report.js';
import { checker } from '../../protocol/validate.js';
import { securityCertificates } from '../helpers/certs.js';
import { type Peer, startTcpListener } from '../helpers/device-peers.js';
import { type Snmpd, snmpdAvailable, startSnmpd } from '../helpers/snmpd.js';

// Every packet stays on loopback: real TCP/UDP/HTTP/RTSP/TLS peers written here, real snmpd.
// 127.0.0.2 hosts the "bad" services; 127.0.0.3 has nothing listening; 127.0.0.4/5 vary the HTTP case.

const schema = checker<SecurityResult>(RESULT_SCHEMAS.security);
const SNMPD_SKIP = snmpdAvailable();
if (SNMPD_SKIP) console.warn(`security.test: SNMP tests skipped: ${SNMPD_SKIP}`);
const OPENSSL_SKIP =
  spawnSync('openssl', ['version'], { encoding: 'utf8' }).status === 0 ? undefined : 'openssl not found';
if (OPENSSL_SKIP) console.warn(`security.test: TLS tests skipped: ${OPENSSL_SKIP}`);

const BAD = '127.0.0.2';
const NONE = '127.0.0.3';
const ADMIN_TLS = '127.0.0.4';
const PLAIN = '127.0.0.5';

function config(body: Record<string, unknown>, security: Record<string, unknown> = {}): AgentConfig {
  return parseAgentConfig(
    JSON.stringify({
      school: { id: 'test-school', name: '测试学校' },
      collector: { url: 'http://127.0.0.1:9' },
      probes: { security: { enabled: true, connectTimeoutMs: 500, concurrency: 8, ...security } },
      ...body,
    }),
  );
}

async function scan(c: AgentConfig, opts: SecurityProbeOptions, secrets: string[] = []) {
  const probe = createSecurityProbe({ hostChecks: false, ...opts });
  const results = await probe.run(securityKind.slice(c), {
    signal: AbortSignal.timeout(30_000),
    log: silentLogger(),
    now: () => new Date(),
  });
  const text = JSON.stringify(results);
  for (const s of secrets) expect(text.includes(s), `secret leaked into ${text}`).toBe(false);
  return results.map((r) => {
    if (r.probe !== 'security') throw new Error(`unexpected ${r.probe}`);
    expect(schema.problems(r), JSON.stringify(r)).toEqual([]);
    return r;
  });
}

function one(results: SecurityResult[], target: string, rule: string, port?: number): SecurityResult {
  const found = results.filter(
    (r) => r.target === target && r.rule === rule && (port === undefined || r.port === port),
  );
  expect(found, `${target} ${rule} ${port ?? ''}: ${JSON.stringify(results)}`).toHaveLength(1);
  return found[0] as SecurityResult;
}

// ---------------------------------------------------------------------------------------------
// Peers

function listen(server: Server | HttpServer, host: string, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : port);
    });
  });
}

function tracked(server: Server | HttpServer): () => Promise<void> {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('error', () => {});
    s.once('close', () => sockets.delete(s));
  });
  return () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
}

/** An FTP-like server: sends a 220 greeting and closes on QUIT. */
async function startFtp(host: string): Promise<Peer> {
  let hits = 0;
  const server = createServer((s) => {
    hits++;
    s.write('220 (vsFTPd 3.0.3) campuswatch test\r\n');
    s.on('data', (d) => {
      if (d.toString().startsWith('QUIT')) s.end('221 Goodbye.\r\n');
    });
  });
  const close = tracked(server);
  const port = await listen(server, host);
  return { host, port, hits: () => hits, close };
}

/** A TFTP server that answers every RRQ with ERROR 1 "File not found" from a new port (its TID). */
async function startTftp(
  host: string,
): Promise<{ port: number; requests: string[]; close(): Promise<void> }> {
  const requests: string[] = [];
  const server = createSocket('udp4');
  const replies = new Set<UdpSocket>();
  server.on('message', (msg, rinfo) => {
    if (msg.readUInt16BE(0) !== 1) return;
    requests.push(msg.subarray(2, msg.indexOf(0, 2)).toString('ascii'));
    const reply = createSocket('udp4');
    replies.add(reply);
    const err = Buffer.concat([Buffer.from([0, 5, 0, 1]), Buffer.from('File not found\0', 'ascii')]);
    reply.bind(0, host, () =>
      reply.send(err, rinfo.port, rinfo.address, () => {
        reply.close();
        replies.delete(reply);
      }),
    );
  });
  await new Promise<void>((resolve) => server.bind(0, host, () => resolve()));
  return {
    port: server.address().port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const r of replies) r.close();
        server.close(() => resolve());
      }),
  };
}

const LOGIN_PAGE =
  '<html><head><title>NVR 管理 Login</title></head><body><form>用户名 <input name="u"> 密码 <input type="password" name="p"></form></body></html>';

async function startHttp(host: string, port: number, html: string): Promise<Peer> {
  let hits = 0;
  const server = createHttpServer((req, res) => {
    hits++;
    req.resume();
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  const close = tracked(server);
  const p = await listen(server, host, port);
  return { host, port: p, hits: () => hits, close };
}

const SDP =
  'v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=Classroom 101\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\nm=audio 0 RTP/AVP 97\r\n';

/** An RTSP server answering DESCRIBE with 200 + SDP (`open`) or 401 Digest (`auth`). */
async function startRtsp(host: string, mode: 'open' | 'auth'): Promise<Peer & { methods: string[] }> {
  const methods: string[] = [];
  const server = createServer((s) => {
    let buf = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      buf += d;
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.slice(0, end);
      buf = buf.slice(end + 4);
      methods.push(head.split(' ')[0] ?? '');
      const cseq = /^CSeq:\s*(\S+)/im.exec(head)?.[1] ?? '0';
      if (mode === 'auth') {
        s.write(
          `RTSP/1.0 401 Unauthorized\r\nCSeq: ${cseq}\r\nWWW-Authenticate: Digest realm="IP Camera", nonce="abc"\r\n\r\n`,
        );
      } else {
        s.write(
          `RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\nContent-Type: application/sdp\r\nContent-Length: ${Buffer.byteLength(SDP)}\r\n\r\n${SDP}`,
        );
      }
    });
  });
  const close = tracked(server);
  const port = await listen(server, host);
  return { host, port, hits: () => methods.length, close, methods };
}

// ---------------------------------------------------------------------------------------------
// Pure functions

describe('security: end-of-life table', () => {
  it('knows Debian, Ubuntu, CentOS and Windows releases', () => {
    expect(osEndOfLife({ distro: 'Debian GNU/Linux', release: '12' })).toEqual({
      product: 'Debian 12',
      eol: '2028-06-30',
    });
    expect(osEndOfLife({ distro: 'Debian GNU/Linux', release: '10' })?.eol).toBe('2024-06-30');
    expect(osEndOfLife({ distro: 'Ubuntu', release: '20.04.6 LTS' })).toEqual({
      product: 'Ubuntu 20.04',
      eol: '2025-05-29',
    });
    expect(osEndOfLife({ distro: 'CentOS Linux', release: '7.9.2009' })?.eol).toBe('2024-06-30');
    expect(osEndOfLife({ distro: 'CentOS Stream', release: '9' })?.eol).toBe('2027-05-31');
    expect(
      osEndOfLife({ distro: 'Microsoft Windows 10 Pro', release: '10.0.19045', build: '19045' }),
    ).toEqual({ product: 'Windows 10 22H2', eol: '2025-10-14' });
    expect(osEndOfLife({ distro: 'Microsoft Windows 7 Professional', release: '6.1.7601' })?.eol).toBe(
      '2020-01-14',
    );
    expect(
      osEndOfLife({ distro: 'Microsoft Windows Server 2019 Standard', release: '10.0.17763', build: '17763' })
        ?.eol,
    ).toBe('2029-01-09');
    expect(osEndOfLife({ distro: 'Arch Linux', release: 'rolling' })).toBeUndefined();
    expect(
      osEndOfLife({ distro: 'Microsoft Windows 10 Enterprise LTSC', release: '10.0.19044' }),
    ).toBeUndefined();
  });

  it('counts days past end of life with fixed dates', () => {
    expect(daysPastEol('2024-06-30', new Date('2024-06-30T12:00:00Z'))).toBe(0);
    expect(daysPastEol('2024-06-30', new Date('2024-07-10T00:00:00Z'))).toBe(10);
    expect(daysPastEol('2028-06-30', new Date('2028-06-20T00:00:00Z'))).toBe(-10);
  });
});

describe('security: firewall ruleset parsing', () => {
  it('nft: empty, accept-only chains, rules and drop policies', () => {
    expect(summarizeNft('')).toEqual({ rules: 0, dropPolicy: false, tables: 0 });
    const acceptOnly = `table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy accept;\n\t}\n}\n`;
    expect(summarizeNft(acceptOnly)).toEqual({ rules: 0, dropPolicy: false, tables: 1 });
    const drop = `table inet filter {\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n\t\tct state established accept\n\t\ttcp dport 22 accept\n\t}\n\tset allowed {\n\t\ttype ipv4_addr\n\t}\n}\n`;
    expect(summarizeNft(drop)).toEqual({ rules: 2, dropPolicy: true, tables: 1 });
  });
  it('iptables -S: policies and rules', () => {
    expect(summarizeIptables('-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n')).toEqual({
      rules: 0,
      nonAcceptPolicies: 0,
    });
    expect(
      summarizeIptables('-P INPUT DROP\n-P FORWARD ACCEPT\n-A INPUT -p tcp --dport 22 -j ACCEPT\n'),
    ).toEqual({
      rules: 1,
      nonAcceptPolicies: 1,
    });
  });
  it('TFTP read request is RFC 1350 shaped', () => {
    expect([...tftpReadRequest('a')]).toEqual([0, 1, 0x61, 0, ...Buffer.from('octet'), 0]);
  });
});

// ---------------------------------------------------------------------------------------------
// Network rules

describe('security: cleartext services, HTTP admin and high-risk ports', () => {
  const peers: Array<{ close(): Promise<void> }> = [];
  let results: SecurityResult[];
  let telnet: Peer;
  let ftp: Peer;
  let tftp: Awaited<ReturnType<typeof startTftp>>;
  let risky: Peer;
  let riskyClosed: number;
  let http: Peer;
  let https: Peer;

  beforeAll(async () => {
    telnet = await startTcpListener({ host: BAD });
    ftp = await startFtp(BAD);
    tftp = await startTftp(BAD);
    risky = await startTcpListener({ host: BAD });
    http = await startHttp(BAD, 0, LOGIN_PAGE);
    // The same HTTP port on .4 (admin page, but HTTPS answers too) and .5 (no admin page).
    const adminWithTls = await startHttp(ADMIN_TLS, http.port, LOGIN_PAGE);
    const plain = await startHttp(
      PLAIN,
      http.port,
      '<html><head><title>It works</title></head><body>hello</body></html>',
    );
    https = await startTcpListener({ host: ADMIN_TLS });
    const closedOne = await startTcpListener({ host: BAD });
    riskyClosed = closedOne.port;
    await closedOne.close();
    peers.push(telnet, ftp, tftp, risky, http, adminWithTls, plain, https);
    const devices = [
      { name: 'bad', address: BAD },
      { name: 'none', address: NONE },
      { name: 'admin-tls', address: ADMIN_TLS },
      { name: 'plain', address: PLAIN },
    ].map((d) => ({ ...d, type: 'other', checks: ['icmp'] }));
    results = await scan(config({ rooms: [{ name: '机房', type: 'core', devices }] }), {
      ports: {
        'cleartext-telnet': telnet.port,
        'cleartext-ftp': ftp.port,
        'cleartext-tftp': tftp.port,
        'http-admin-no-tls': http.port,
        https: https.port,
      },
      highRiskPorts: [risky.port, riskyClosed],
    });
  });
  afterAll(async () => {
    await Promise.all(peers.map((p) => p.close()));
  });

  it('reports exactly one result per rule, device and port', () => {
    // 4 devices × (telnet, ftp, tftp, http, 2 high-risk ports); no snmp or rtsp on type other/icmp.
    expect(results).toHaveLength(4 * 6);
    const r = one(results, 'bad', 'cleartext-telnet');
    expect(r.device).toMatchObject({ name: 'bad', address: BAD, room: '机房', roomType: 'core' });
  });

  it('cleartext-telnet: open vs refused', () => {
    const bad = one(results, 'bad', 'cleartext-telnet', telnet.port);
    expect(bad).toMatchObject({ outcome: 'ok', finding: true });
    expect(bad.evidence).toBe(`TCP ${telnet.port} open`);
    expect(one(results, 'none', 'cleartext-telnet')).toMatchObject({ outcome: 'ok', finding: false });
    console.info(`evidence telnet: ${bad.evidence} | ${one(results, 'none', 'cleartext-telnet').evidence}`);
  });

  it('cleartext-ftp: the 220 banner is the evidence', () => {
    const bad = one(results, 'bad', 'cleartext-ftp', ftp.port);
    expect(bad).toMatchObject({ outcome: 'ok', finding: true });
    expect(bad.evidence).toContain('"220 (vsFTPd 3.0.3) campuswatch test"');
    expect(one(results, 'none', 'cleartext-ftp').finding).toBe(false);
    console.info(`evidence ftp: ${bad.evidence}`);
  });

  it('cleartext-tftp: an ERROR reply from a new port counts, silence does not', () => {
    const bad = one(results, 'bad', 'cleartext-tftp', tftp.port);
    expect(bad).toMatchObject({ outcome: 'ok', finding: true });
    expect(bad.evidence).toContain('ERROR 1 "File not found"');
    expect(tftp.requests).toHaveLength(1);
    expect(tftp.requests[0]).toMatch(/^campuswatch-[0-9a-f]+\.absent$/);
    const none = one(results, 'none', 'cleartext-tftp');
    expect(none).toMatchObject({ outcome: 'ok', finding: false });
    expect(none.evidence).toContain('no TFTP reply');
    console.info(`evidence tftp: ${bad.evidence} | ${none.evidence}`);
  });

  it('http-admin-no-tls: login page without HTTPS vs with HTTPS vs no admin page vs nothing', () => {
    const bad = one(results, 'bad', 'http-admin-no-tls');
    expect(bad).toMatchObject({ outcome: 'ok', finding: true, port: http.port });
    expect(bad.evidence).toContain('HTTP 200');
    expect(bad.evidence).toContain('"NVR 管理 Login"');
    const withTls = one(results, 'admin-tls', 'http-admin-no-tls');
    expect(withTls).toMatchObject({ outcome: 'ok', finding: false });
    expect(withTls.evidence).toContain('also answers');
    const plain = one(results, 'plain', 'http-admin-no-tls');
    expect(plain).toMatchObject({ outcome: 'ok', finding: false });
    expect(plain.evidence).toContain('"It works"');
    expect(one(results, 'none', 'http-admin-no-tls')).toMatchObject({ outcome: 'ok', finding: false });
    console.info(`evidence http: ${bad.evidence} | ${withTls.evidence} | ${plain.evidence}`);
  });

  it('high-risk-port: one result per port, value = port', () => {
    const open = one(results, 'bad', 'high-risk-port', risky.port);
    expect(open).toMatchObject({ outcome: 'ok', finding: true, value: risky.port });
    const closed = one(results, 'bad', 'high-risk-port', riskyClosed);
    expect(closed).toMatchObject({ outcome: 'ok', finding: false, value: riskyClosed });
    expect(one(results, 'none', 'high-risk-port', risky.port).finding).toBe(false);
    console.info(`evidence high-risk: ${open.evidence} | ${closed.evidence}`);
  });
});

describe('security: RTSP DESCRIBE without authentication', () => {
  it('200 + SDP is a finding, 401 is not, nothing listening is not', async () => {
    const open = await startRtsp(BAD, 'open');
    const auth = await startRtsp(NONE, 'auth');
    try {
      const devices = [
        {
          name: 'cam-open',
          type: 'camera',
          address: BAD,
          checks: [{ rtsp: { port: open.port, path: '/live/1' } }],
        },
        { name: 'cam-auth', type: 'camera', address: NONE, checks: [{ rtsp: { port: auth.port } }] },
        // A recorder without an rtsp check: checked by type on the (test) default RTSP port.
        { name: 'rec', type: 'recorder', address: PLAIN, checks: ['icmp'] },
      ];
      const results = await scan(config({ rooms: [{ name: '录播室', type: 'recording', devices }] }), {
        ports: { 'rtsp-no-auth': open.port },
        highRiskPorts: [],
      });
      const a = one(results, 'cam-open', 'rtsp-no-auth', open.port);
      expect(a).toMatchObject({ outcome: 'ok', finding: true });
      expect(a.evidence).toContain('RTSP/1.0 200 OK');
      expect(a.evidence).toContain('media: video, audio');
      const b = one(results, 'cam-auth', 'rtsp-no-auth', auth.port);
      expect(b).toMatchObject({ outcome: 'ok', finding: false });
      expect(b.evidence).toContain('401');
      const c = one(results, 'rec', 'rtsp-no-auth', open.port);
      expect(c).toMatchObject({ outcome: 'ok', finding: false });
      expect(open.methods).toEqual(['DESCRIBE']);
      expect(auth.methods).toEqual(['DESCRIBE']);
      console.info(`evidence rtsp: ${a.evidence} | ${b.evidence} | ${c.evidence}`);
    } finally {
      await open.close();
      await auth.close();
    }
  });
});

describe.skipIf(SNMPD_SKIP !== undefined)('security: SNMP default community and v1/v2c', () => {
  let pub: Snmpd;
  let rand: Snmpd;
  beforeAll(async () => {
    [pub, rand] = await Promise.all([startSnmpd({ community: 'public' }), startSnmpd()]);
  });
  afterAll(async () => {
    await Promise.all([pub?.stop(), rand?.stop()]);
  });

  const v3 = (s: Snmpd) => ({
    version: '3',
    user: s.v3.user,
    authKey: s.v3.authKey,
    privKey: s.v3.privKey,
    authProtocol: 'sha',
    privProtocol: 'aes',
  });

  it('public answering is a finding; a random community is not; v2c with v3 required is', async () => {
    const devices = [
      {
        name: 'sw-public',
        type: 'switch',
        address: '127.0.0.1',
        checks: [{ snmp: { port: pub.port, ...v3(pub) } }],
      },
      {
        name: 'sw-v2c',
        type: 'switch',
        address: '127.0.0.1',
        checks: [{ snmp: { port: rand.port, version: '2c', community: rand.community } }],
      },
      {
        name: 'sw-v3',
        type: 'switch',
        address: '127.0.0.1',
        checks: [{ snmp: { port: rand.port, ...v3(rand) } }],
      },
    ];
    const c = config(
      {
        inventory: { snmp: { timeoutMs: 400, retries: 0 } },
        rooms: [{ name: '机房', type: 'core', devices }],
      },
      { snmpV3Required: true },
    );
    const secrets = [rand.community, pub.v3.authKey, pub.v3.privKey, rand.v3.authKey, rand.v3.privKey];
    const results = await scan(c, { highRiskPorts: [] }, secrets);
    const pubDefault = one(results, 'sw-public', 'snmp-default-community', pub.port);
    expect(pubDefault).toMatchObject({ outcome: 'ok', finding: true });
    expect(pubDefault.evidence).toContain('"public"');
    expect(pubDefault.evidence).toContain('sysDescr');
    expect(one(results, 'sw-public', 'snmp-v1v2c-enabled')).toMatchObject({ outcome: 'ok', finding: true });
    const randDefault = one(results, 'sw-v2c', 'snmp-default-community');
    expect(randDefault).toMatchObject({ outcome: 'ok', finding: false });
    const v2c = one(results, 'sw-v2c', 'snmp-v1v2c-enabled');
    expect(v2c).toMatchObject({ outcome: 'ok', finding: true });
    expect(v2c.evidence).toContain('configured community');
    expect(one(results, 'sw-v3', 'snmp-default-community').finding).toBe(false);
    const v3only = one(results, 'sw-v3', 'snmp-v1v2c-enabled');
    expect(v3only).toMatchObject({ outcome: 'ok', finding: false });
    console.info(
      `evidence snmp: ${pubDefault.evidence} | ${randDefault.evidence} | ${v2c.evidence} | ${v3only.evidence}`,
    );
  });

  it('without snmpV3Required there is no snmp-v1v2c-enabled result', async () => {
    const devices = [
      {
        name: 'sw-v2c',
        type: 'switch',
        address: '127.0.0.1',
        checks: [{ snmp: { port: rand.port, community: rand.community, timeoutMs: 400, retries: 0 } }],
      },
    ];
    const results = await scan(
      config({ rooms: [{ name: '机房', type: 'core', devices }] }),
      { highRiskPorts: [] },
      [rand.community],
    );
    expect(results.filter((r) => r.rule === 'snmp-v1v2c-enabled')).toEqual([]);
    expect(one(results, 'sw-v2c', 'snmp-default-community').finding).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// TLS

const { selfSigned, expiredCert, caSigned } = securityCertificates('test');

describe.skipIf(OPENSSL_SKIP !== undefined)('security: TLS services', () => {
  let dir: string;
  const closers: Array<() => Promise<void>> = [];
  let results: SecurityResult[];

  async function tlsServer(opts: TlsOptions): Promise<number> {
    const server = createTlsServer(opts, (s) => s.end());
    server.on('tlsClientError', () => {});
    closers.push(tracked(server as unknown as Server));
    return listen(server as unknown as Server, '127.0.0.1');
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'campuswatch-tls-'));
    const expired = expiredCert(dir);
    const expiring = selfSigned(dir, 'expiring', 10);
    const valid = selfSigned(dir, 'valid', 365);
    const leaf = caSigned(dir);
    const ports = {
      expired: await tlsServer(expired),
      expiring: await tlsServer(expiring),
      valid: await tlsServer(valid),
      leaf: await tlsServer(leaf),
      tls10: await tlsServer({ ...valid, minVersion: 'TLSv1', ciphers: 'DEFAULT@SECLEVEL=0' }),
    };
    const tls = Object.entries(ports).map(([name, port]) => ({ name, url: `https://127.0.0.1:${port}/` }));
    results = await scan(config({}, { tls }), { highRiskPorts: [] });
  });
  afterAll(async () => {
    await Promise.all(closers.map((c) => c()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('four rules per service', () => {
    expect(results).toHaveLength(5 * 4);
  });

  it('tls-expired: expired vs valid', () => {
    const e = one(results, 'expired', 'tls-expired');
    expect(e).toMatchObject({ outcome: 'ok', finding: true });
    expect(e.value).toBeLessThan(-365);
    expect(e.evidence).toContain('2020-01-01 to 2021-01-01');
    expect(one(results, 'expired', 'tls-expiring').finding).toBe(false);
    expect(one(results, 'valid', 'tls-expired')).toMatchObject({ outcome: 'ok', finding: false });
    console.info(`evidence tls-expired: ${e.evidence}`);
  });

  it('tls-expiring: 10 days left vs 365', () => {
    const e = one(results, 'expiring', 'tls-expiring');
    expect(e).toMatchObject({ outcome: 'ok', finding: true });
    expect(e.value).toBeGreaterThanOrEqual(9);
    expect(e.value).toBeLessThanOrEqual(10);
    const v = one(results, 'valid', 'tls-expiring');
    expect(v).toMatchObject({ outcome: 'ok', finding: false });
    expect(v.value).toBeGreaterThanOrEqual(364);
    console.info(`evidence tls-expiring: ${e.evidence} | ${v.evidence}`);
  });

  it('tls-self-signed: self-signed vs CA-signed', () => {
    const s = one(results, 'valid', 'tls-self-signed');
    expect(s).toMatchObject({ outcome: 'ok', finding: true });
    expect(s.evidence).toContain('issuer = subject');
    const l = one(results, 'leaf', 'tls-self-signed');
    expect(l).toMatchObject({ outcome: 'ok', finding: false });
    expect(l.evidence).toContain('Campus Test CA');
    console.info(`evidence tls-self-signed: ${s.evidence} | ${l.evidence}`);
  });

  it('tls-old-protocol: TLS 1.0 offered vs TLS 1.2+ only', () => {
    const old = one(results, 'tls10', 'tls-old-protocol');
    const modern = one(results, 'valid', 'tls-old-protocol');
    if (old.outcome === 'error') {
      // This agent's OpenSSL cannot offer TLS 1.0: a stated error, never a false "not found".
      console.warn(`security.test: TLS 1.0 cannot be offered here: ${old.error}`);
      expect(old.finding).toBe(false);
      return;
    }
    expect(old).toMatchObject({ outcome: 'ok', finding: true });
    expect(old.evidence).toContain('TLSv1');
    expect(modern).toMatchObject({ outcome: 'ok', finding: false });
    console.info(`evidence tls-old-protocol: ${old.evidence} | ${modern.evidence}`);
  });

  it('a closed TLS port is an outcome, not a finding', async () => {
    const listener = await startTcpListener();
    const r = await scan(
      config({}, { tls: [{ name: 'gone', url: `https://127.0.0.1:${listener.port}/` }] }),
      {},
    );
    await listener.close();
    // The listener above closes each connection at once: no handshake.
    expect(r).toHaveLength(4);
    for (const x of r) {
      expect(x.finding).toBe(false);
      expect(x.outcome).not.toBe('ok');
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Agent host

describe('security: agent host', () => {
  it('host-firewall-off and host-os-eol on this machine', async () => {
    const probe = createSecurityProbe();
    const results = (
      await probe.run(securityKind.slice(config({})), {
        signal: AbortSignal.timeout(30_000),
        log: silentLogger(),
        now: () => new Date(),
      })
    ).map((r) => {
      if (r.probe !== 'security') throw new Error('unexpected');
      expect(schema.problems(r), JSON.stringify(r)).toEqual([]);
      return r;
    });
    expect(results.map((r) => r.rule).sort()).toEqual(['host-firewall-off', 'host-os-eol']);
    for (const r of results) {
      if (r.outcome !== 'ok') {
        expect(r.outcome).toBe('error');
        expect(r.error).toBeTruthy();
        expect(r.finding).toBe(false);
      }
      console.info(`evidence ${r.rule}: outcome ${r.outcome}, finding ${r.finding}: ${r.evidence}`);
    }
    const eol = results.find((r) => r.rule === 'host-os-eol');
    if (eol?.outcome === 'ok') expect(typeof eol.value).toBe('number');
  });

  it('is registered and honours an aborted signal', async () => {
    expect(PROBES.security.kind).toBe('security');
    const c = config({
      rooms: [{ name: 'r', type: 'core', devices: [{ name: 'd', address: NONE, checks: ['icmp'] }] }],
    });
    const controller = new AbortController();
    controller.abort();
    const results = await createSecurityProbe({ hostChecks: false }).run(securityKind.slice(c), {
      signal: controller.signal,
      log: silentLogger(),
      now: () => new Date(),
    });
    expect(results.length).toBe(4 + 14);
    for (const r of results) {
      expect(r.outcome).toBe('timeout');
      expect(schema.problems(r)).toEqual([]);
    }
  });
});
