/**
 * Lab acceptance for the device inventory: the `centre` namespace holds many device addresses
 * (tests/lab/device-net.ts) with real peers bound to some of them — two snmpd (one queried over v2c,
 * one over v3 authPriv), RTSP and HTTP servers from tests/helpers/device-peers.ts, a plain TCP
 * listener — and addresses with nothing behind them. `campuswatch-agent probe devices --json` runs in
 * the `school` namespace, through the router. Each check kind is proven up and down; a wrong SNMP v3
 * key is an auth failure, not "down".
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESULT_SCHEMAS, type ReachabilityResult } from '../../protocol/report.js';
import { checker } from '../../protocol/validate.js';
import { type Snmpd, snmpdAvailable, startSnmpd } from '../helpers/snmpd.js';
import { addDeviceNet, deadAddress, liveAddress, startPeerIn } from './device-net.js';
import { createLab, type Lab, labAvailable } from './lab.js';

const skip = labAvailable() ?? snmpdAvailable({ netns: true });
if (skip) console.warn(`[devices.lab.test] SKIPPING the lab test: ${skip}`);

const schema = checker<ReachabilityResult>(RESULT_SCHEMAS.reachability);

const CAM = liveAddress(10);
const CAM_AUTH = liveAddress(11);
const WEB = liveAddress(12);
const TCP = liveAddress(13);
const SNMP_V2 = liveAddress(20);
const SNMP_V3 = liveAddress(21);
const EMPTY = liveAddress(30); // answers ICMP, no service
const NOTHING = deadAddress(5); // nothing at all

describe.skipIf(skip !== undefined)('devices in the lab: every check kind up and down', () => {
  let lab: Lab;
  let v2: Snmpd;
  let v3: Snmpd;
  let dir: string;

  beforeAll(async () => {
    lab = await createLab({ name: 'devices' });
    dir = await mkdtemp(join(tmpdir(), 'cw-devices-lab-'));
    await addDeviceNet(lab);
    [v2, v3] = await Promise.all([
      startSnmpd({ netns: lab.ns.centre, agentAddress: `udp:${SNMP_V2}:161` }),
      startSnmpd({ netns: lab.ns.centre, agentAddress: `udp:${SNMP_V3}:161` }),
      startPeerIn(lab, 'rtsp', CAM, 554),
      startPeerIn(lab, 'rtsp', CAM_AUTH, 554, 401),
      startPeerIn(lab, 'http', WEB, 80),
      startPeerIn(lab, 'tcp', TCP, 22),
    ]);
  }, 60_000);

  afterAll(async () => {
    await v2?.stop();
    await v3?.stop();
    await lab?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('probe devices --json from the school namespace', async () => {
    const snmpFast = { timeoutMs: 500, retries: 0 };
    const config = {
      school: { id: 'lab-school', name: '实验学校' },
      collector: { url: 'http://127.0.0.1:9' },
      state: join(dir, 'state'),
      probes: { reachability: { pingCount: 2, tcpTimeoutMs: 1000, timeoutS: 20 } },
      inventory: { snmp: { community: v2?.community, ...snmpFast } },
      rooms: [
        {
          name: '录播室 1',
          type: 'recording',
          devices: [
            { name: 'cam', type: 'camera', address: CAM },
            { name: 'cam-auth', type: 'camera', address: CAM_AUTH },
            { name: 'cam-dead', type: 'camera', address: NOTHING },
            { name: 'cam-nortsp', type: 'camera', address: EMPTY },
            { name: 'rec', type: 'recorder', address: WEB, checks: ['icmp', { http: {} }, { tcp: 80 }] },
            { name: 'rec-nohttp', type: 'recorder', address: EMPTY, checks: [{ http: {} }] },
          ],
        },
        {
          name: '网络中心',
          type: 'core',
          devices: [
            { name: 'sw-v2c', type: 'switch', address: SNMP_V2 },
            {
              name: 'sw-v2c-wrong',
              type: 'switch',
              address: SNMP_V2,
              checks: [{ snmp: { community: 'wrong-community' } }],
            },
            { name: 'sw-silent', type: 'switch', address: EMPTY },
            {
              name: 'sw-v3',
              type: 'switch',
              address: SNMP_V3,
              checks: [
                {
                  snmp: { version: '3', user: v3?.v3.user, authKey: v3?.v3.authKey, privKey: v3?.v3.privKey },
                },
              ],
            },
            {
              name: 'sw-v3-badkey',
              type: 'switch',
              address: SNMP_V3,
              checks: [
                {
                  snmp: {
                    version: '3',
                    user: v3?.v3.user,
                    authKey: 'not-the-auth-key',
                    privKey: v3?.v3.privKey,
                  },
                },
              ],
            },
            { name: 'srv-ssh', type: 'server', address: TCP, checks: ['icmp', { tcp: 22 }] },
            { name: 'srv-dead', type: 'server', address: NOTHING, checks: [{ tcp: 22 }] },
            { name: 'srv-closed', type: 'server', address: EMPTY, checks: [{ tcp: 22 }] },
          ],
        },
      ],
    };
    const file = join(dir, 'agent.yaml');
    await writeFile(file, JSON.stringify(config));
    const out = await lab.exec(
      'school',
      [
        process.execPath,
        '--import',
        'tsx',
        'agent/src/cli.ts',
        'probe',
        'devices',
        '--config',
        file,
        '--json',
      ],
      {
        cwd: join(import.meta.dirname, '..', '..'),
        timeoutMs: 60_000,
        env: { ...process.env, CAMPUSWATCH_LOG_LEVEL: 'warn' },
      },
    );
    expect(out.code, out.stderr).toBe(3); // devices are down: problems found
    const parsed = JSON.parse(out.stdout) as {
      devices: { name: string; up: boolean; authFailure: boolean }[];
      rooms: { name: string; up: boolean; criticalDown: string[] }[];
      results: ReachabilityResult[];
    };
    for (const r of parsed.results) expect(schema.problems(r), JSON.stringify(r)).toEqual([]);
    const one = (device: string, check: ReachabilityResult['check'], port?: number) => {
      const f = parsed.results.filter(
        (r) => r.device.name === device && r.check === check && (port === undefined || r.port === port),
      );
      expect(f, `${device} ${check}`).toHaveLength(1);
      return f[0]!;
    };
    // icmp
    expect(one('cam', 'icmp')).toMatchObject({ up: true, sent: 2, received: 2, lossPct: 0 });
    expect(one('cam-dead', 'icmp')).toMatchObject({ up: false, outcome: 'timeout', lossPct: 100 });
    // rtsp
    expect(one('cam', 'rtsp')).toMatchObject({ up: true, status: 200, port: 554, address: CAM });
    expect(one('cam-auth', 'rtsp')).toMatchObject({ up: true, status: 401 });
    expect(one('cam-nortsp', 'rtsp')).toMatchObject({ up: false, outcome: 'refused' });
    expect(one('cam-dead', 'rtsp')).toMatchObject({ up: false, outcome: 'timeout' });
    // http
    expect(one('rec', 'http')).toMatchObject({ up: true, status: 200, url: `http://${WEB}/` });
    expect(one('rec-nohttp', 'http')).toMatchObject({ up: false, outcome: 'refused' });
    // tcp
    expect(one('srv-ssh', 'tcp', 22)).toMatchObject({ up: true, outcome: 'ok' });
    expect(one('srv-closed', 'tcp', 22)).toMatchObject({ up: false, outcome: 'refused' });
    expect(one('srv-dead', 'tcp', 22)).toMatchObject({ up: false, outcome: 'timeout' });
    // snmp
    expect(one('sw-v2c', 'snmp')).toMatchObject({ up: true, outcome: 'ok' });
    expect(one('sw-v2c', 'snmp').uptimeS).toBeGreaterThanOrEqual(0);
    expect(one('sw-v3', 'snmp')).toMatchObject({ up: true, outcome: 'ok' });
    expect(one('sw-v2c-wrong', 'snmp')).toMatchObject({ up: false, outcome: 'timeout' });
    expect(one('sw-v2c-wrong', 'snmp').error).toContain('wrong community or unreachable');
    expect(one('sw-silent', 'snmp')).toMatchObject({ up: false, outcome: 'timeout' });
    const bad = one('sw-v3-badkey', 'snmp');
    expect(bad).toMatchObject({ up: false, outcome: 'error', authFailure: true });
    expect(bad.error).toContain('SNMP v3 authentication failed');
    expect(out.stdout).not.toContain('not-the-auth-key');
    expect(out.stdout).not.toContain(v3.v3.privKey);
    // devices and rooms
    const dev = Object.fromEntries(parsed.devices.map((d) => [d.name, d]));
    expect(dev.cam).toMatchObject({ up: true });
    expect(dev['sw-v3-badkey']).toMatchObject({ up: false, authFailure: true });
    expect(parsed.rooms.find((r) => r.name === '录播室 1')?.criticalDown).toEqual([
      'cam-dead',
      'cam-nortsp',
      'rec-nohttp',
    ]);
  }, 90_000);
});
