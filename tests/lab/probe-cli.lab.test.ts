// `campuswatch-agent probe bandwidth --config FILE` with `method: iperf3` runs iperf3 (issue 29): the built
// CLI in the school namespace, an iperf3 server in the centre's, the uplink shaped with tbf as in
// bandwidth.lab.test.ts. The agent is never enrolled: iperf3 needs no token.
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { BandwidthResult } from '../../protocol/report.js';
import { createLab, iperf3Available, type Lab, labAvailable, PROJECT_ROOT } from './lab.js';

const CLI = join(PROJECT_ROOT, 'dist', 'agent', 'src', 'cli.js');
const skip =
  labAvailable() ??
  iperf3Available() ??
  (existsSync(CLI) ? undefined : `${CLI} is missing: run 'npm run build' first`);
if (skip) console.warn(`[probe-cli.lab.test] SKIPPED: ${skip}`);

const RATE_MBIT = 300;
const PORT = 5299;

describe.skipIf(skip !== undefined)(
  `probe bandwidth --config with method iperf3 runs iperf3${skip ? ` (SKIPPED: ${skip})` : ''}`,
  () => {
    let lab: Lab;
    let dir: string;
    let server: ChildProcess;
    let serverLog = '';

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'cw-lab-probe-cli-'));
      lab = await createLab({ name: 'probecli' });
      await lab.shape(RATE_MBIT);
      // --forceflush: the server's lines arrive as they happen, so its listening and each test can be awaited
      server = lab.spawn('centre', ['iperf3', '-s', '--forceflush', '-B', lab.centreV4, '-p', String(PORT)], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.once('exit', (code) => reject(new Error(`iperf3 -s exited (${code}): ${serverLog}`)));
        server.stdout!.on('data', (d: Buffer) => {
          serverLog += d.toString();
          if (serverLog.includes('Server listening')) resolve();
        });
      });
    }, 120_000);
    afterAll(async () => {
      await lab?.destroy();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it(`at ${RATE_MBIT} Mbit (tbf): both directions measured by iperf3 near the shaped rate`, async () => {
      const configFile = join(dir, 'agent.yaml');
      writeFileSync(
        configFile,
        stringify({
          school: { id: 'sz-lab-probe-cli', name: '苏州实验学校, 小学部' },
          collector: { url: `http://${lab.centreV4}:1`, allowPlainHttp: true },
          state: join(dir, 'never-enrolled'),
          probes: {
            bandwidth: {
              method: 'iperf3',
              iperf3: { host: lab.centreV4, port: PORT },
              streams: 4,
              durationS: 5,
              omitS: 2,
            },
          },
        }),
      );
      const before = serverLog.match(/Accepted connection from/g)?.length ?? 0;
      const r = await lab.exec(
        'school',
        [process.execPath, CLI, 'probe', 'bandwidth', '--config', configFile, '--json'],
        { timeoutMs: 120_000 },
      );
      expect(r.code, r.stderr + r.stdout).toBe(0);
      const out = JSON.parse(r.stdout) as {
        method: string;
        target: string;
        outcome: string;
        download_mbps: number;
        upload_mbps: number;
        results: BandwidthResult[];
      };
      console.info(
        `[lab probe-cli ${RATE_MBIT} Mbit] method ${out.method} against ${out.target}: down ${out.download_mbps} up ${out.upload_mbps} Mbps`,
      );
      expect(out).toMatchObject({ method: 'iperf3', target: `${lab.centreV4}:${PORT}`, outcome: 'ok' });
      expect(out.results.map((x) => [x.direction, x.method, x.outcome, x.streams])).toEqual([
        ['down', 'iperf3', 'ok', 4],
        ['up', 'iperf3', 'ok', 4],
      ]);
      // iperf3's TCP goodput behind tbf is ≈ 0.956 × the rate (lab.ts, tbfParams); the bandwidth lab's tolerance
      for (const mbps of [out.download_mbps, out.upload_mbps]) {
        expect(mbps).toBeGreaterThan(RATE_MBIT * 0.85);
        expect(mbps).toBeLessThanOrEqual(RATE_MBIT);
      }
      // the iperf3 server in the centre took one test per direction from the school
      const accepted = serverLog.match(/Accepted connection from (\S+),/g) ?? [];
      expect(accepted.length - before).toBe(2);
      for (const line of accepted) expect(line).toContain(lab.schoolV4);
    }, 180_000);
  },
);
