import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { createLab, firstJsonLine, iperf3, iperf3Available, type Lab, labAvailable } from './lab.js';

const skip = labAvailable() ?? iperf3Available();
if (skip) console.warn(`[bandwidth.lab.test] SKIPPED: ${skip}`);

const SCHOOL = {
  id: 'sz-lab-school',
  name: '苏州实验学校, 小学部',
  district: '苏州工业园区',
  tier: 'small', // 300 Mbps target
  area: 'rural',
};

describe.skipIf(skip !== undefined)(
  `uplink speed test in the lab agrees with iperf3${skip ? ` (SKIPPED: ${skip})` : ''}`,
  () => {
    let lab: Lab;
    let dir: string;
    let url: string;
    const stateDir = () => join(dir, 'agent');

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'cw-lab-bw-'));
      lab = await createLab({ uplinkMbit: 300, name: 'bw' });
      const collector = lab.nodeIn('centre', 'tests/lab/collector-main.ts', [
        join(dir, 'collector'),
        lab.centreV4,
        stateDir(),
        JSON.stringify(SCHOOL),
      ]);
      ({ url } = await firstJsonLine<{ url: string }>(collector));
    }, 120_000);
    afterAll(async () => {
      await lab?.destroy();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    async function agentSpeedtest(durationS: number): Promise<Record<string, number>> {
      const r = await lab.exec(
        'school',
        [
          process.execPath,
          '--import',
          'tsx',
          'agent/src/cli.ts',
          'probe',
          'bandwidth',
          '--server',
          url,
          '--token-file',
          join(stateDir(), 'token'),
          '--streams',
          '4',
          '--duration',
          String(durationS),
          '--json',
        ],
        { timeoutMs: 120_000 },
      );
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as Record<string, number>;
    }

    for (const rate of [300, 500, 1000]) {
      it(`at ${rate} Mbit (tbf): download and upload each within ±5% of iperf3`, async () => {
        await lab.shape(rate);
        const down = await iperf3(lab, { direction: 'down', seconds: 5, streams: 4, omit: 2 });
        const up = await iperf3(lab, { direction: 'up', seconds: 5, streams: 4, omit: 2 });
        const agent = await agentSpeedtest(5);
        const ratios = { down: agent.download_mbps! / down.mbps, up: agent.upload_mbps! / up.mbps };
        console.info(
          `[lab ${rate} Mbit] iperf3 down ${down.mbps.toFixed(1)} up ${up.mbps.toFixed(1)}; agent down ${agent.download_mbps} up ${agent.upload_mbps} (ratios ${ratios.down.toFixed(3)}, ${ratios.up.toFixed(3)}); rtt idle ${agent.rtt_idle_ms} ms loaded ${agent.rtt_loaded_ms} ms`,
        );
        expect(down.mbps).toBeGreaterThan(rate * 0.85);
        expect(ratios.down).toBeGreaterThanOrEqual(0.95);
        expect(ratios.down).toBeLessThanOrEqual(1.05);
        expect(ratios.up).toBeGreaterThanOrEqual(0.95);
        expect(ratios.up).toBeLessThanOrEqual(1.05);
        // a full queue behind tbf makes the loaded RTT larger than the idle one (bufferbloat is visible)
        expect(agent.rtt_loaded_ms!).toBeGreaterThan(agent.rtt_idle_ms!);
      }, 180_000);
    }

    it('a school shaped to 250 Mbit with a 300 Mbps target: uplink_bandwidth not met, with value and goal', async () => {
      await lab.shape(250);
      const configFile = join(dir, 'agent.yaml');
      writeFileSync(
        configFile,
        stringify({
          school: SCHOOL,
          collector: { url, allowPlainHttp: true },
          state: stateDir(),
          probes: {
            host: { enabled: false },
            reachability: { enabled: false },
            ipv6: { enabled: false },
            bandwidth: { enabled: true, durationS: 3, omitS: 1, streams: 4 },
          },
        }),
      );
      for (let i = 0; i < 3; i++) {
        const once = await lab.exec(
          'school',
          [process.execPath, '--import', 'tsx', 'agent/src/cli.ts', 'once', '--config', configFile],
          {
            timeoutMs: 120_000,
          },
        );
        expect(once.code, once.stderr).toBe(0);
        expect(once.stdout).toMatch(/2 results; delivered 1/);
      }
      const api = await lab.exec(
        'school',
        [
          process.execPath,
          '-e',
          `fetch(${JSON.stringify(`${url}/api/v1/schools/${SCHOOL.id}`)}, { headers: { authorization: 'Bearer lab-admin-token-not-a-secret-0123' } }).then((r) => r.text()).then((t) => process.stdout.write(t))`,
        ],
        { timeoutMs: 30_000 },
      );
      const detail = JSON.parse(api.stdout) as {
        compliance: { target: string; state: string; value: number; goal: number; reason: string }[];
      };
      const row = detail.compliance.find((c) => c.target === 'uplink_bandwidth')!;
      console.info(`[lab 250 Mbit] ${JSON.stringify(row)}`);
      expect(row.state).toBe('not_met');
      expect(row.goal).toBe(300);
      expect(row.value).toBeGreaterThan(250 * 0.9);
      expect(row.value).toBeLessThan(270);
      expect(row.reason).toContain('the last 3 tests were all below');
    }, 300_000);
  },
);
