import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AgentConfig, loadAgentConfig, parseAgentConfig } from '../../agent/src/config.js';
import { deviceStatuses, roomStatuses } from '../../agent/src/device-status.js';
import { checkSpecs, deviceChecks, isAddressOrHostName, typeChecks } from '../../agent/src/inventory.js';
import { silentLogger } from '../../agent/src/log.js';
import { parseRtspStatus } from '../../agent/src/probes/lib/rtsp.js';
import { parseFping } from '../../agent/src/probes/reachability/fping.js';
import { reachabilityKind } from '../../agent/src/probes/reachability/index.js';
import { reachabilityProbe } from '../../agent/src/probes/reachability/probe.js';
import { RESULT_SCHEMAS, type ReachabilityResult } from '../../protocol/report.js';
import { checker } from '../../protocol/validate.js';
import { runCli } from '../helpers/cli.js';
import {
  closedPort,
  type Peer,
  startHttpServer,
  startRtspServer,
  startTcpListener,
} from '../helpers/device-peers.js';
import { type Snmpd, snmpdAvailable, startSnmpd } from '../helpers/snmpd.js';

// Every packet goes to 127.0.0.1: real RTSP/HTTP/TCP peers from tests/helpers, a real snmpd.

const schema = checker<ReachabilityResult>(RESULT_SCHEMAS.reachability);
const SNMPD_SKIP = snmpdAvailable();
if (SNMPD_SKIP) console.warn(`devices.test: SNMP tests skipped: ${SNMPD_SKIP}`);
const HAS_FPING = existsSync('/usr/bin/fping');
if (!HAS_FPING)
  console.warn('devices.test: /usr/bin/fping absent (apt-get install fping): fping batch test skipped');

function config(rooms: unknown[], extra: Record<string, unknown> = {}): AgentConfig {
  return parseAgentConfig(
    JSON.stringify({
      school: { id: 'test-school', name: '测试学校' },
      collector: { url: 'http://127.0.0.1:9' },
      probes: { reachability: { pingCount: 2, tcpTimeoutMs: 1500, concurrency: 32 } },
      rooms,
      ...extra,
    }),
  );
}

async function sweep(c: AgentConfig): Promise<ReachabilityResult[]> {
  const results = await reachabilityProbe.run(reachabilityKind.slice(c), {
    signal: AbortSignal.timeout(30_000),
    log: silentLogger(),
    now: () => new Date(),
  });
  return results.map((r) => {
    if (r.probe !== 'reachability') throw new Error(`unexpected ${r.probe}`);
    expect(schema.problems(r), JSON.stringify(r)).toEqual([]);
    return r;
  });
}

function one(
  results: ReachabilityResult[],
  device: string,
  check: ReachabilityResult['check'],
): ReachabilityResult {
  const found = results.filter((r) => r.device.name === device && r.check === check);
  expect(found, `${device} ${check}`).toHaveLength(1);
  return found[0]!;
}

describe('inventory: which checks a device gets', () => {
  const c = config(
    [
      {
        name: '录播室 1',
        type: 'recording',
        devices: [
          { name: 'cam', type: 'camera', address: '10.203.1.10' },
          { name: 'rec', type: 'recorder', address: 'rec-1.school.example' },
          { name: 'own', type: 'camera', address: '10.203.1.11', checks: ['icmp', { tcp: 80 }] },
          { name: 'legacy', address: '10.203.1.12', icmp: false, tcp: [22] },
          {
            name: 'sw',
            type: 'switch',
            address: '10.203.1.1',
            checks: [{ snmp: { community: 'own', port: 1161 } }],
          },
          { name: 'panel', type: 'panel', address: 'fd00:cafe::10' },
        ],
      },
      {
        name: '智慧教室',
        type: 'smart',
        defaults: {
          checks: [{ tcp: 443 }],
          snmp: { version: '3', user: 'room', authKey: 'roomauth1', privKey: 'roompriv1' },
        },
        devices: [
          { name: 'board', type: 'panel', address: '10.203.1.20' },
          { name: 'ap', type: 'ap', address: '10.203.1.21', checks: [{ snmp: {} }] },
        ],
      },
    ],
    {
      inventory: {
        deviceTypeDefaults: {
          panel: ['icmp', { http: { url: 'https://panel.example/', expectStatus: [200] } }],
        },
        snmp: { community: 'school-ro', timeoutMs: 500 },
      },
    },
  );
  const [room1, room2] = c.rooms;
  const dev = (r: typeof room1, name: string) => r!.devices.find((d) => d.name === name)!;

  it('built-in type defaults: camera icmp + rtsp/554, recorder icmp + http + snmp (inventory credentials)', () => {
    expect(deviceChecks(c, room1!, dev(room1, 'cam'))).toEqual([
      { kind: 'icmp' },
      { kind: 'rtsp', port: 554, path: '/' },
    ]);
    const rec = deviceChecks(c, room1!, dev(room1, 'rec'));
    expect(rec.map((x) => x.kind)).toEqual(['icmp', 'http', 'snmp']);
    expect(rec[1]).toEqual({ kind: 'http', url: 'http://rec-1.school.example/' });
    expect(rec[2]).toMatchObject({
      kind: 'snmp',
      auth: { version: '2c', community: 'school-ro', port: 161, timeoutMs: 500 },
    });
    expect(checkSpecs(c, room1!, dev(room1, 'rec')).source).toBe('built-in');
  });

  it('precedence: device checks > room defaults > inventory type defaults > built-in; legacy keys still work', () => {
    expect(checkSpecs(c, room1!, dev(room1, 'own')).source).toBe('device');
    expect(deviceChecks(c, room1!, dev(room1, 'legacy'))).toEqual([{ kind: 'tcp', port: 22 }]);
    expect(checkSpecs(c, room1!, dev(room1, 'panel'))).toMatchObject({ source: 'inventory' });
    expect(checkSpecs(c, room2!, dev(room2, 'board'))).toEqual({ specs: [{ tcp: 443 }], source: 'room' });
    expect(deviceChecks(c, room1!, dev(room1, 'legacy'))[0]).toEqual({ kind: 'tcp', port: 22 });
  });

  it('SNMP settings merge field by field: inventory ← room ← check', () => {
    expect(deviceChecks(c, room1!, dev(room1, 'sw'))[0]).toMatchObject({
      kind: 'snmp',
      auth: { community: 'own', port: 1161, timeoutMs: 500 },
    });
    expect(deviceChecks(c, room2!, dev(room2, 'ap'))[0]).toMatchObject({
      kind: 'snmp',
      auth: { version: '3', user: 'room', community: 'school-ro', timeoutMs: 500 },
    });
  });

  it('addresses: IP literals and host names pass; bad literals and junk do not', () => {
    for (const ok of [
      '10.203.1.1',
      'fd00:cafe::1',
      '[fd00:cafe::1]',
      'localhost',
      'cam-1.school.example',
      'a.b.c.',
    ])
      expect(isAddressOrHostName(ok), ok).toBe(true);
    for (const bad of [
      '10.203.1.300',
      '10.203.1',
      'cam_1',
      'cam 1',
      '-cam',
      'http://cam',
      '[10.0.0.1]',
      'a..b',
    ])
      expect(isAddressOrHostName(bad), bad).toBe(false);
  });

  it('custom device types: their own checks, icmp when none are given; deviceTypeDefaults and rooms still win', () => {
    const f = loadAgentConfig('tests/fixtures/config/agent-inventory-custom-types.yaml');
    const [hall, broadcast] = f.rooms;
    const specs = (r: typeof hall, name: string) => checkSpecs(f, r!, dev(r, name));
    expect(specs(hall, '讲台')).toEqual({ specs: ['icmp'], source: 'custom' });
    expect(specs(hall, '调音台')).toEqual({ specs: [{ tcp: 9000 }], source: 'inventory' });
    expect(specs(hall, '投影仪')).toEqual({ specs: ['icmp'], source: 'built-in' });
    expect(deviceChecks(f, broadcast!, dev(broadcast, '广播主机 1'))).toEqual([
      { kind: 'icmp' },
      { kind: 'tcp', port: 8080 },
    ]);
    expect(specs(broadcast, '讲台 2')).toEqual({ specs: [{ tcp: 22 }], source: 'device' });
    // Without the deviceTypeDefaults entry, mixer's own checks apply.
    const own = config(
      [
        {
          name: '报告厅',
          type: 'other',
          devices: [{ name: 'mix', type: 'mixer', address: 'mix.school.example' }],
        },
      ],
      {
        inventory: { customDeviceTypes: [{ name: 'mixer', checks: [{ http: { expectStatus: [200] } }] }] },
      },
    );
    expect(deviceChecks(own, own.rooms[0]!, own.rooms[0]!.devices[0]!)).toEqual([
      { kind: 'http', url: 'http://mix.school.example/', expectStatus: [200] },
    ]);
    expect(typeChecks(own, 'mixer').source).toBe('custom');
    expect(typeChecks(own, 'camera')).toEqual({ specs: ['icmp', { rtsp: {} }], source: 'built-in' });
  });

  it('a custom type whose own checks include snmp needs credentials like a built-in one', () => {
    expect(() =>
      config(
        [{ name: '机房', type: 'core', devices: [{ name: 'ups', type: 'ups', address: '10.203.1.5' }] }],
        { inventory: { customDeviceTypes: [{ name: 'ups', checks: [{ snmp: {} }] }] } },
      ),
    ).toThrow(
      'rooms[0].devices[0]: the snmp check needs SNMP credentials: a community (v2c) or a v3 user with keys, in inventory.snmp, the room’s defaults.snmp or the check (the custom default checks of a ups include snmp)',
    );
  });

  it('an inventory without SNMP credentials for a type default snmp check fails with the reason', () => {
    expect(() =>
      config([
        { name: 'core', type: 'core', devices: [{ name: 'sw', type: 'switch', address: '10.203.1.1' }] },
      ]),
    ).toThrow(
      'rooms[0].devices[0]: the snmp check needs SNMP credentials: a community (v2c) or a v3 user with keys, in inventory.snmp, the room’s defaults.snmp or the check (the built-in default checks of a switch include snmp)',
    );
  });
});

describe('parsers', () => {
  it('RTSP status lines', () => {
    expect(parseRtspStatus('RTSP/1.0 200 OK')).toBe(200);
    expect(parseRtspStatus('RTSP/1.0 401 Unauthorized\r')).toBe(401);
    expect(parseRtspStatus('RTSP/2.0 454 Session Not Found')).toBe(454);
    expect(parseRtspStatus('HTTP/1.1 200 OK')).toBeUndefined();
    expect(parseRtspStatus('RTSP/1.0 20 OK')).toBeUndefined();
  });

  it('fping -C output: rtt mean, loss, timeouts, ICMP unreachable', () => {
    const out = [
      'ICMP Host Unreachable from 10.203.9.1 for ICMP Echo sent to 10.203.9.7',
      '127.0.0.1    : 0.156 0.033 0.036',
      '10.203.9.5   : 0.100 - 0.300',
      '10.203.9.6   : - - -',
      '10.203.9.7   : - - -',
    ].join('\n');
    const r = parseFping(out, 3, 1000);
    expect(r.get('127.0.0.1')).toMatchObject({
      outcome: 'ok',
      up: true,
      sent: 3,
      received: 3,
      lossPct: 0,
      rttMs: 0.075,
    });
    expect(r.get('10.203.9.5')).toMatchObject({ up: true, received: 2, lossPct: 33.333, rttMs: 0.2 });
    expect(r.get('10.203.9.6')).toMatchObject({ outcome: 'timeout', up: false, lossPct: 100 });
    expect(r.get('10.203.9.7')).toMatchObject({ outcome: 'unreachable', up: false });
  });
});

describe('device checks against real peers on 127.0.0.1', () => {
  const peers: Peer[] = [];
  let rtsp200: Peer;
  let rtsp401: Peer;
  let rtspGarbage: Peer;
  let http200: Peer;
  let http500: Peer;
  let tcp: Peer;
  let closed: number;

  beforeAll(async () => {
    rtsp200 = await startRtspServer();
    rtsp401 = await startRtspServer({ status: 401 });
    rtspGarbage = await startRtspServer({ mode: 'garbage' });
    http200 = await startHttpServer();
    http500 = await startHttpServer({ status: 500 });
    tcp = await startTcpListener();
    peers.push(rtsp200, rtsp401, rtspGarbage, http200, http500, tcp);
    closed = await closedPort();
  });
  afterAll(async () => {
    await Promise.all(peers.map((p) => p.close()));
  });

  it('rtsp, http, tcp: each proven up and down', async () => {
    const c = config([
      {
        name: '录播室',
        type: 'recording',
        devices: [
          {
            name: 'cam-ok',
            type: 'camera',
            address: '127.0.0.1',
            checks: [{ rtsp: { port: rtsp200.port, path: '/stream1' } }],
          },
          {
            name: 'cam-auth',
            type: 'camera',
            address: '127.0.0.1',
            checks: [{ rtsp: { port: rtsp401.port } }],
          },
          { name: 'cam-closed', type: 'camera', address: '127.0.0.1', checks: [{ rtsp: { port: closed } }] },
          {
            name: 'cam-notrtsp',
            type: 'camera',
            address: '127.0.0.1',
            checks: [{ rtsp: { port: rtspGarbage.port } }],
          },
          {
            name: 'web-ok',
            type: 'server',
            address: '127.0.0.1',
            checks: [{ http: { url: `http://127.0.0.1:${http200.port}/status` } }],
          },
          {
            name: 'web-500',
            type: 'server',
            address: '127.0.0.1',
            checks: [{ http: { url: `http://127.0.0.1:${http500.port}/` } }],
          },
          {
            name: 'web-expect',
            type: 'server',
            address: '127.0.0.1',
            checks: [{ http: { url: `http://127.0.0.1:${http200.port}/`, expectStatus: [204] } }],
          },
          {
            name: 'web-closed',
            type: 'server',
            address: '127.0.0.1',
            checks: [{ http: { url: `http://127.0.0.1:${closed}/` } }],
          },
          {
            name: 'web-tls',
            type: 'server',
            address: '127.0.0.1',
            checks: [{ http: { url: `https://127.0.0.1:${http200.port}/` } }],
          },
          { name: 'tcp-ok', type: 'other', address: '127.0.0.1', checks: [{ tcp: tcp.port }] },
          { name: 'tcp-closed', type: 'other', address: '127.0.0.1', checks: [{ tcp: closed }] },
        ],
      },
    ]);
    const r = await sweep(c);
    expect(one(r, 'cam-ok', 'rtsp')).toMatchObject({
      up: true,
      outcome: 'ok',
      status: 200,
      port: rtsp200.port,
    });
    expect(one(r, 'cam-ok', 'rtsp').rttMs).toBeGreaterThanOrEqual(0);
    expect(one(r, 'cam-auth', 'rtsp')).toMatchObject({ up: true, outcome: 'ok', status: 401 });
    expect(one(r, 'cam-closed', 'rtsp')).toMatchObject({ up: false, outcome: 'refused' });
    expect(one(r, 'cam-notrtsp', 'rtsp')).toMatchObject({ up: false, outcome: 'error' });
    expect(one(r, 'cam-notrtsp', 'rtsp').error).toContain('not an RTSP status line');
    expect(one(r, 'web-ok', 'http')).toMatchObject({
      up: true,
      status: 200,
      url: `http://127.0.0.1:${http200.port}/status`,
    });
    expect(one(r, 'web-500', 'http')).toMatchObject({ up: false, outcome: 'ok', status: 500 });
    expect(one(r, 'web-expect', 'http')).toMatchObject({
      up: false,
      status: 200,
      error: 'HTTP 200, expected 204',
    });
    expect(one(r, 'web-closed', 'http')).toMatchObject({ up: false, outcome: 'refused' });
    const tls = one(r, 'web-tls', 'http');
    expect(tls).toMatchObject({ up: false, outcome: 'error' });
    expect(tls.error).toMatch(/^TLS error \(/);
    expect(one(r, 'tcp-ok', 'tcp')).toMatchObject({ up: true, outcome: 'ok' });
    expect(one(r, 'tcp-closed', 'tcp')).toMatchObject({ up: false, outcome: 'refused' });
    expect(rtsp200.hits()).toBe(1);
    expect(http200.hits()).toBeGreaterThanOrEqual(1);
  });

  it('devices of custom types in rooms of custom types are probed with their type’s checks; results carry the UTF-8 names', async () => {
    const c = config(
      [
        {
          name: '一号报告厅',
          type: '报告厅',
          devices: [
            { name: '广播主机', type: '广播主机', address: '127.0.0.1' },
            { name: '调音台', type: 'mixer', address: '127.0.0.1' },
          ],
        },
      ],
      {
        inventory: {
          customRoomTypes: ['报告厅'],
          customDeviceTypes: [
            { name: '广播主机', checks: [{ tcp: tcp.port }] },
            { name: 'mixer', checks: [{ http: { url: `http://127.0.0.1:${http200.port}/mixer` } }] },
          ],
        },
      },
    );
    const r = await sweep(c); // every result is checked against the report schema
    expect(r).toHaveLength(2);
    expect(one(r, '广播主机', 'tcp')).toMatchObject({
      up: true,
      port: tcp.port,
      device: { name: '广播主机', type: '广播主机', room: '一号报告厅', roomType: '报告厅' },
    });
    expect(one(r, '调音台', 'http')).toMatchObject({
      up: true,
      status: 200,
      device: { type: 'mixer', roomType: '报告厅' },
    });
  });

  it('a device is up when all its checks pass; a room is up when all its critical devices are up', async () => {
    const c = config([
      {
        name: '录播室',
        type: 'recording',
        devices: [
          {
            name: 'rec',
            type: 'recorder',
            address: '127.0.0.1',
            checks: [{ tcp: tcp.port }, { rtsp: { port: rtsp200.port } }],
          },
          {
            name: 'spare-cam',
            type: 'camera',
            address: '127.0.0.1',
            critical: false,
            checks: [{ tcp: closed }],
          },
        ],
      },
      {
        name: '智慧教室',
        type: 'smart',
        devices: [
          {
            name: 'board',
            type: 'panel',
            address: '127.0.0.1',
            checks: [{ tcp: tcp.port }, { tcp: closed }],
          },
        ],
      },
    ]);
    const r = await sweep(c);
    const devices = deviceStatuses(r);
    expect(devices.map((d) => [d.name, d.up])).toEqual([
      ['rec', true],
      ['spare-cam', false],
      ['board', false],
    ]);
    expect(roomStatuses(r)).toEqual([
      { name: '录播室', type: 'recording', up: true, devices: 2, devicesUp: 1, criticalDown: [] },
      { name: '智慧教室', type: 'smart', up: false, devices: 1, devicesUp: 0, criticalDown: ['board'] },
    ]);
  });

  it.skipIf(!HAS_FPING)(
    'ICMP for a large sweep goes through one fping batch (up, rtt, no loss)',
    async () => {
      const devices = Array.from({ length: 12 }, (_, i) => ({
        name: `pc-${i}`,
        type: 'pc',
        address: `127.0.0.${i + 1}`,
      }));
      const r = await sweep(config([{ name: '机房', type: 'lab', devices }]));
      expect(r).toHaveLength(12);
      for (const x of r)
        expect(x).toMatchObject({ check: 'icmp', up: true, outcome: 'ok', sent: 2, received: 2, lossPct: 0 });
    },
  );

  it('probe devices --json prints devices, rooms and results; exits 3 when a device is down', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cw-devices-'));
    try {
      const file = join(dir, 'agent.yaml');
      writeFileSync(
        file,
        JSON.stringify({
          school: { id: 'test-school', name: '测试学校' },
          collector: { url: 'http://127.0.0.1:9' },
          state: join(dir, 'state'),
          probes: { reachability: { tcpTimeoutMs: 1000 } },
          rooms: [
            {
              name: '录播室',
              type: 'recording',
              devices: [
                {
                  name: 'cam',
                  type: 'camera',
                  address: '127.0.0.1',
                  checks: [{ rtsp: { port: rtsp401.port } }],
                },
                { name: 'enc', type: 'encoder', address: '127.0.0.1', checks: [{ tcp: closed }] },
              ],
            },
          ],
        }),
      );
      const out = await runCli('agent', ['probe', 'devices', '--config', file, '--json']);
      expect(out.code, out.stderr).toBe(3);
      const parsed = JSON.parse(out.stdout) as {
        devices: { name: string; up: boolean }[];
        rooms: { name: string; up: boolean; criticalDown: string[] }[];
        results: ReachabilityResult[];
      };
      expect(parsed.devices.map((d) => [d.name, d.up])).toEqual([
        ['cam', true],
        ['enc', false],
      ]);
      expect(parsed.rooms).toMatchObject([{ name: '录播室', up: false, criticalDown: ['enc'] }]);
      expect(parsed.results).toHaveLength(2);
      const text = await runCli('agent', ['probe', 'devices', '--config', file, '--verbose']);
      expect(text.stdout).toMatch(/录播室\s+cam\s+camera\s+127\.0\.0\.1\s+up\s+rtsp\/\d+ ok 401/);
      expect(text.stdout).toMatch(/录播室\s+enc\s+encoder\s+127\.0\.0\.1\s+DOWN\s+tcp\/\d+ refused/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(SNMPD_SKIP !== undefined)('snmp check against a real snmpd (v2c and v3 authPriv)', () => {
  let agent: Snmpd;
  beforeAll(async () => {
    agent = await startSnmpd();
  });
  afterAll(async () => {
    await agent?.stop();
  });

  const sw = (name: string, snmp: Record<string, unknown>) => ({
    name,
    type: 'switch',
    address: '127.0.0.1',
    checks: [{ snmp: { port: agent.port, timeoutMs: 400, retries: 0, ...snmp } }],
  });

  it('v2c and v3 up (uptime, sysDescr, interfaces); wrong community is a timeout; wrong v3 key or user is an auth failure', async () => {
    const c = config([
      {
        name: '网络中心',
        type: 'core',
        devices: [
          sw('v2c-ok', { community: agent.community }),
          sw('v2c-wrong', { community: 'not-the-community' }),
          sw('v3-ok', {
            version: '3',
            user: agent.v3.user,
            authKey: agent.v3.authKey,
            privKey: agent.v3.privKey,
          }),
          sw('v3-badauth', {
            version: '3',
            user: agent.v3.user,
            authKey: 'wrong-auth-key',
            privKey: agent.v3.privKey,
          }),
          sw('v3-badpriv', {
            version: '3',
            user: agent.v3.user,
            authKey: agent.v3.authKey,
            privKey: 'wrong-priv-key',
          }),
          sw('v3-baduser', {
            version: '3',
            user: 'nobody',
            authKey: agent.v3.authKey,
            privKey: agent.v3.privKey,
          }),
        ],
      },
    ]);
    const r = await sweep(c);
    for (const name of ['v2c-ok', 'v3-ok']) {
      const x = one(r, name, 'snmp');
      expect(x, name).toMatchObject({ up: true, outcome: 'ok', port: agent.port });
      expect(x.uptimeS).toBeGreaterThanOrEqual(0);
      expect(x.sysDescr).toMatch(/Linux/);
      expect(x.ifDown).toBeGreaterThanOrEqual(0);
    }
    const wrong = one(r, 'v2c-wrong', 'snmp');
    expect(wrong).toMatchObject({ up: false, outcome: 'timeout' });
    expect(wrong.error).toContain('no answer (wrong community or unreachable)');
    expect(wrong.authFailure).toBeUndefined();
    for (const name of ['v3-badauth', 'v3-badpriv', 'v3-baduser']) {
      const x = one(r, name, 'snmp');
      expect(x, name).toMatchObject({ up: false, outcome: 'error', authFailure: true });
      expect(x.error).toContain('SNMP v3 authentication failed');
    }
    const all = JSON.stringify(r);
    for (const secret of [
      agent.community,
      agent.v3.authKey,
      agent.v3.privKey,
      'wrong-auth-key',
      'wrong-priv-key',
    ])
      expect(all).not.toContain(secret);
    const devices = deviceStatuses(r);
    expect(devices.find((d) => d.name === 'v3-badauth')).toMatchObject({ up: false, authFailure: true });
  });
});
