import { setMaxListeners } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { type AgentConfig, parseAgentConfig } from '../../agent/src/config.js';
import { silentLogger } from '../../agent/src/log.js';
import { reachabilityKind } from '../../agent/src/probes/reachability/index.js';
import { reachabilityProbe } from '../../agent/src/probes/reachability/probe.js';
import { createUplinkSnmpProbe } from '../../agent/src/probes/uplink-snmp/probe.js';
import { RESULT_SCHEMAS, type ReachabilityResult, type UplinkSnmpResult } from '../../protocol/report.js';
import { checker } from '../../protocol/validate.js';
import { type Peer, startTcpListener } from '../helpers/device-peers.js';
import { type EndlessSnmpAgent, startEndlessSnmpAgent } from '../helpers/endless-snmp.js';

// Real UDP on 127.0.0.1: SNMP agents whose ifOperStatus table never ends (tests/helpers/endless-snmp.ts)
// against the agent's reachability probe, as it runs in a cycle.

const schema = checker<ReachabilityResult>(RESULT_SCHEMAS.reachability);
const peers: Array<EndlessSnmpAgent | Peer> = [];
afterAll(async () => {
  await Promise.all(peers.map((p) => p.close()));
});

function config(reachability: Record<string, unknown>, devices: unknown[]): AgentConfig {
  return parseAgentConfig(
    JSON.stringify({
      school: { id: 'test-school', name: '测试学校' },
      collector: { url: 'http://127.0.0.1:9' },
      probes: { reachability: { tcpTimeoutMs: 1500, ...reachability } },
      rooms: [{ name: '网络中心', type: 'core', devices }],
    }),
  );
}

const snmpDevice = (name: string, agent: EndlessSnmpAgent) => ({
  name,
  type: 'switch',
  address: '127.0.0.1',
  checks: [{ snmp: { community: agent.community, port: agent.port, timeoutMs: 1000, retries: 0 } }],
});

/** Runs one sweep under the probe's own deadline (timeoutS), as the scheduler does. */
async function sweep(c: AgentConfig): Promise<{ results: ReachabilityResult[]; startedAt: number }> {
  const startedAt = Date.now();
  const signal = AbortSignal.timeout(c.probes.reachability.timeoutS * 1000);
  setMaxListeners(10_000, signal); // as the scheduler does: every check in flight waits on the deadline
  const results = await reachabilityProbe.run(reachabilityKind.slice(c), {
    signal,
    log: silentLogger(),
    now: () => new Date(),
  });
  return {
    startedAt,
    results: results.map((r) => {
      if (r.probe !== 'reachability') throw new Error(`unexpected ${r.probe}`);
      expect(schema.problems(r), JSON.stringify(r)).toEqual([]);
      return r;
    }),
  };
}

/** When a check ended, in ms after the sweep started. */
const endedAfter = (r: ReachabilityResult, startedAt: number) => Date.parse(r.at) + r.durationMs - startedAt;

describe('an SNMP device whose ifOperStatus walk never ends', () => {
  it('is cut after snmpWalkMaxRows rows: up, ifDown of the rows read, the result says why; nothing more is asked', async () => {
    const agent = await startEndlessSnmpAgent();
    peers.push(agent);
    const { results } = await sweep(config({ snmpWalkMaxRows: 1000 }, [snmpDevice('核心交换机', agent)]));
    expect(results).toHaveLength(1);
    const r = results[0]!;
    expect(r).toMatchObject({ check: 'snmp', outcome: 'ok', up: true, ifDown: 1000, uptimeS: 4242.42 });
    expect(r.error).toBe(
      'ifOperStatus walk cut after 1000 rows (at most 1000 rows per walk): ifDown counts the 1000 interface(s) read',
    );
    // 40 rows per GETBULK: 25 requests for the 1000 rows, and the one whose first row was past the limit
    expect(agent.walkRequests).toBe(26);
    const asked = agent.walkRequests;
    // the session is closed: a later sweep of another device does not make this one asked again
    const other = await startEndlessSnmpAgent();
    peers.push(other);
    await sweep(config({ snmpWalkMaxRows: 100 }, [snmpDevice('接入交换机', other)]));
    expect(agent.walkRequests).toBe(asked);
  });

  it('16 of them no longer hold every check slot until the probe deadline: another device is checked after their time share', async () => {
    const endless = await Promise.all(
      Array.from({ length: 16 }, () => startEndlessSnmpAgent({ answerDelayMs: 100 })),
    );
    const tcp = await startTcpListener();
    peers.push(...endless, tcp);
    const devices = [
      ...endless.map((a, i) => snmpDevice(`楼层交换机 ${i + 1}`, a)),
      { name: '录播主机', type: 'recorder', address: '127.0.0.1', checks: [{ tcp: tcp.port }] },
    ];
    const timeoutS = 30;
    const share = 0.1;
    const { results, startedAt } = await sweep(
      config({ timeoutS, concurrency: 16, snmpWalkTimeShare: share }, devices),
    );
    const other = results.find((r) => r.check === 'tcp')!;
    const snmp = results.filter((r) => r.check === 'snmp');
    expect(snmp).toHaveLength(16);
    const budgetMs = timeoutS * 1000 * share;
    for (const r of snmp) {
      expect(r, r.device.name).toMatchObject({ outcome: 'ok', up: true });
      const m =
        /^ifOperStatus walk cut after (\d+\.\d) s and (\d+) rows \(at most 3\.0 s per device\): ifDown counts the (\d+) interface\(s\) read$/.exec(
          r.error ?? '',
        );
      expect(m, r.error).not.toBeNull();
      expect(Number(m![2])).toBeGreaterThan(0);
      expect(r.ifDown).toBe(Number(m![3]));
      // the whole check (GET + walk) stays within its share, give or take one answer's delay
      expect(r.durationMs).toBeGreaterThanOrEqual(budgetMs - 50);
      expect(r.durationMs).toBeLessThan(budgetMs + 1000);
    }
    expect(other).toMatchObject({ outcome: 'ok', up: true });
    const otherDoneMs = endedAfter(other, startedAt);
    // it waited for a slot (all 16 were taken by the endless walks) and got one once their share ran out,
    // far from the 30 s deadline that held it before
    expect(otherDoneMs).toBeGreaterThanOrEqual(budgetMs - 50);
    expect(otherDoneMs).toBeLessThan(timeoutS * 1000 * 0.25);
    const rows = snmp.map((r) => r.ifDown ?? 0);
    console.log(
      `16 endless SNMP devices, concurrency 16, timeoutS ${timeoutS}, snmpWalkTimeShare ${share}: ` +
        `the other device's check ended ${Math.round(otherDoneMs)} ms after the sweep began; ` +
        `walks cut after ${Math.round(Math.min(...snmp.map((r) => r.durationMs)))}–${Math.round(Math.max(...snmp.map((r) => r.durationMs)))} ms, ` +
        `${Math.min(...rows)}–${Math.max(...rows)} rows each`,
    );
  });
});

describe('a border router whose ifName walk never ends', () => {
  it('uplink-snmp cuts the walk after 10,000 rows and says so in the result of the interface it did not find', async () => {
    const agent = await startEndlessSnmpAgent({ column: 'ifName' });
    peers.push(agent);
    const c = parseAgentConfig(
      JSON.stringify({
        school: { id: 'test-school', name: '测试学校' },
        collector: { url: 'http://127.0.0.1:9' },
        probes: {
          'uplink-snmp': {
            enabled: true,
            timeoutS: 40,
            device: { name: '出口路由器', address: '127.0.0.1' },
            snmp: { community: agent.community, port: agent.port, timeoutMs: 1000, retries: 0 },
            uplink: { ifName: 'Te1/0/1' },
          },
        },
        rooms: [],
      }),
    );
    const results = await createUplinkSnmpProbe({ firstPollPauseMs: 0, samples: new Map() }).run(
      c.probes['uplink-snmp'],
      {
        signal: AbortSignal.timeout(40_000),
        log: silentLogger(),
        now: () => new Date(),
      },
    );
    expect(results).toHaveLength(1);
    const r = results[0] as UplinkSnmpResult;
    expect(r).toMatchObject({ role: 'uplink', outcome: 'error' });
    expect(r.error).toBe(
      'interface "Te1/0/1" not found on 出口路由器 (looked in ifName and ifDescr of 10000 interface(s); ifName walk cut after 10000 rows (at most 10000 rows per walk))',
    );
    expect(agent.rowsSent).toBeLessThanOrEqual(10_000 + 40);
    expect(r.durationMs).toBeLessThan(15_000);
  });
});
