import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createLab,
  iperf3,
  iperf3Available,
  type Lab,
  type LabRole,
  labAvailable,
  PROJECT_ROOT,
  pingRtt,
  removeStaleLabs,
  tbfParams,
} from './lab.js';

// Every packet these tests send stays inside the lab's own network namespaces.

const skip = labAvailable();
if (skip !== undefined) console.warn(`[lab.test] SKIPPED: ${skip}`);
const skipIperf = iperf3Available();
if (skip === undefined && skipIperf !== undefined)
  console.warn(`[lab.test] iperf3 tests SKIPPED: ${skipIperf}`);

/** Namespaces listed by `ip netns list` now. */
function netnsList(): string[] {
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((n) => n !== '');
}

function nsNames(lab: Lab): string[] {
  return [lab.ns.school, lab.ns.router, lab.ns.centre];
}

/** `ping -c1 -W1` inside a namespace; returns the output when answered. */
async function ping(lab: Lab, from: LabRole, to: string): Promise<string> {
  const r = await lab.exec(from, ['ping', '-n', '-c1', '-W1', to]);
  expect(r.code, `${from} → ${to}: ${r.stdout}${r.stderr}`).toBe(0);
  return r.stdout;
}

function processGone(pid: number): boolean {
  try {
    // A zombie waiting for init to reap it counts as gone.
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

async function waitFor(what: string, cond: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await delay(20);
  }
}

/** A separate Node process that builds a lab, starts `sleep` in it, prints both, and idles. */
function labProcess(label: string): {
  child: ChildProcess;
  info: Promise<{ ns: string[]; sleepPid: number }>;
} {
  const script = `
    import { createLab } from './tests/lab/lab.ts';
    const lab = await createLab({ name: ${JSON.stringify(label)} });
    const sleeper = lab.spawn('centre', ['sleep', '60'], { stdio: 'ignore' });
    console.log(JSON.stringify({ ns: Object.values(lab.ns), sleepPid: sleeper.pid }));
    setInterval(() => {}, 1_000);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const info = (async () => {
    const lines = createInterface({ input: child.stdout! });
    for await (const line of lines) {
      const v: unknown = JSON.parse(line);
      lines.close();
      return v as { ns: string[]; sleepPid: number };
    }
    throw new Error(`lab process exited (${child.exitCode ?? child.signalCode}) without a lab`);
  })();
  return { child, info };
}

describe.skipIf(skip !== undefined)(`network lab${skip === undefined ? '' : ` (SKIPPED: ${skip})`}`, () => {
  describe('without shaping', () => {
    let lab: Lab;
    beforeAll(async () => {
      lab = await createLab({ name: 'basic', globalV6: true });
    });
    afterAll(async () => {
      await lab?.destroy();
    });

    it('routes school ↔ centre through the router over IPv4 and IPv6, both ways', async () => {
      // One hop: TTL / hop limit 64 arrives as 63.
      expect(await ping(lab, 'school', lab.centreV4)).toMatch(/ttl=63/);
      expect(await ping(lab, 'school', lab.centreV6)).toMatch(/ttl=63/);
      expect(await ping(lab, 'school', lab.centreGlobalV6!)).toMatch(/ttl=63/);
      expect(await ping(lab, 'centre', lab.schoolV4)).toMatch(/ttl=63/);
      expect(await ping(lab, 'centre', lab.schoolV6)).toMatch(/ttl=63/);
      await ping(lab, 'router', lab.schoolV4);
      await ping(lab, 'router', lab.centreV6);
      const rtt = await pingRtt(lab, 'school', lab.centreV4, 3);
      expect(rtt).toBeGreaterThan(0);
      expect(rtt).toBeLessThan(50);
      const routes = await lab.exec('school', ['ip', '-6', 'route', 'show', 'default'], { check: true });
      expect(routes.stdout).toContain(`via ${lab.routerLanV6}`);
    });

    it('uses only 10.203/16, fd00:cafe::/48 and 2001:db8::/32 (and link-local, loopback)', async () => {
      const seen: string[] = [];
      for (const role of ['school', 'router', 'centre'] as const) {
        const r = await lab.exec(role, ['ip', '-j', 'addr', 'show'], { check: true });
        const links = JSON.parse(r.stdout) as {
          ifname: string;
          addr_info: { local: string; scope: string }[];
        }[];
        for (const link of links) {
          for (const a of link.addr_info) {
            seen.push(a.local);
            if (a.scope === 'host') expect(['127.0.0.1', '::1']).toContain(a.local);
            else if (a.scope === 'link') expect(a.local).toMatch(/^fe80:/);
            else
              expect(a.local).toMatch(
                /^(10\.203\.\d+\.\d+|fd00:cafe:[0-9a-f]+::\d+|2001:db8:[0-9a-f]+::\d+)$/,
              );
          }
        }
      }
      expect(seen).toEqual(expect.arrayContaining([lab.schoolV4, lab.centreV6, lab.routerWanGlobalV6!]));
      for (const dev of [lab.schoolIf, lab.routerLanIf, lab.routerWanIf, lab.centreIf]) {
        expect(dev.length).toBeLessThanOrEqual(15);
      }
      for (const ns of nsNames(lab)) expect(ns).toContain(lab.id);
      expect(lab.schoolV4).toBe(`10.203.${lab.index}.2`);
      expect(lab.centreV4).toBe(`10.203.${lab.index + 1}.2`);
    });
  });

  describe.skipIf(skipIperf !== undefined)('shaped uplink (tbf)', () => {
    let lab: Lab;
    beforeAll(async () => {
      lab = await createLab({ uplinkMbit: 300, name: 'shaped' });
    });
    afterAll(async () => {
      await lab?.destroy();
    });

    async function measure(rate: number, direction: 'up' | 'down'): Promise<number> {
      const { mbps, retransmits } = await iperf3(lab, { direction, seconds: 3, streams: 1, omit: 1 });
      const p = tbfParams(rate);
      console.log(
        `[lab.test] tbf ${rate} Mbit (burst ${p.burstBytes} B, latency ${p.latencyMs} ms) ${direction}: ` +
          `${mbps.toFixed(1)} Mbps = ${(mbps / rate).toFixed(3)} × rate, ${retransmits ?? '?'} retransmits`,
      );
      return mbps;
    }

    it('gives ≈ 0.957 × 300 Mbit up and down, then ≈ 0.957 × 100 after shape(100)', async () => {
      const qdisc = await lab.exec('router', ['tc', '-j', 'qdisc', 'show', 'dev', lab.routerWanIf], {
        check: true,
      });
      expect(qdisc.stdout).toContain('"kind":"tbf"');
      expect(lab.uplinkMbit).toBe(300);
      for (const direction of ['up', 'down'] as const) {
        const mbps = await measure(300, direction);
        expect(mbps).toBeGreaterThan(0.9 * 300);
        expect(mbps).toBeLessThan(1.0 * 300);
      }
      await lab.shape(100);
      expect(lab.uplinkMbit).toBe(100);
      for (const direction of ['up', 'down'] as const) {
        const mbps = await measure(100, direction);
        expect(mbps).toBeGreaterThan(0.9 * 100);
        expect(mbps).toBeLessThan(1.0 * 100);
      }
      await lab.unshape();
      expect(lab.uplinkMbit).toBeUndefined();
      for (const dev of [lab.routerWanIf, lab.routerLanIf]) {
        const r = await lab.exec('router', ['tc', '-j', 'qdisc', 'show', 'dev', dev], { check: true });
        expect(r.stdout).not.toContain('"kind":"tbf"');
      }
    });
  });

  describe('cleanup', () => {
    it('destroy() deletes the namespaces and kills what the lab started, also when the test throws', async () => {
      let names: string[] = [];
      let sleeper: ChildProcess | undefined;
      await expect(
        (async () => {
          const lab = await createLab({ name: 'throws' });
          names = nsNames(lab);
          try {
            expect(netnsList()).toEqual(expect.arrayContaining(names));
            sleeper = lab.spawn('centre', ['sleep', '60'], { stdio: 'ignore' });
            throw new Error('boom');
          } finally {
            await lab.destroy();
          }
        })(),
      ).rejects.toThrow('boom');
      expect(names).toHaveLength(3);
      for (const n of names) expect(netnsList()).not.toContain(n);
      expect(sleeper).toBeDefined();
      expect(sleeper!.exitCode ?? sleeper!.signalCode).not.toBeNull();
    });

    it('a process interrupted by SIGTERM deletes its lab on the way out', async () => {
      const { child, info } = labProcess('sigterm');
      const { ns, sleepPid } = await info;
      expect(netnsList()).toEqual(expect.arrayContaining(ns));
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
      expect({ code, signal }).toEqual({ code: null, signal: 'SIGTERM' });
      for (const n of ns) expect(netnsList()).not.toContain(n);
      await waitFor(`sleep ${sleepPid} to end`, () => processGone(sleepPid));
    });

    it('removeStaleLabs() deletes the lab of a SIGKILLed process', async () => {
      const { child, info } = labProcess('sigkill');
      const { ns, sleepPid } = await info;
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
      // Nothing ran in the killed process: its namespaces stay until someone removes stale labs
      // (this test, or createLab() in a parallel worker).
      removeStaleLabs();
      for (const n of ns) expect(netnsList()).not.toContain(n);
      await waitFor(`sleep ${sleepPid} to end`, () => processGone(sleepPid));
    });
  });

  it('two labs at once get distinct names, interfaces and addresses, and stay apart', async () => {
    const [a, b] = await Promise.all([createLab({ name: 'twina' }), createLab({ name: 'twinb' })]);
    try {
      expect(Math.abs(a.index - b.index)).toBeGreaterThanOrEqual(2);
      expect(new Set([...nsNames(a), ...nsNames(b)]).size).toBe(6);
      expect(a.routerWanIf).not.toBe(b.routerWanIf);
      expect(new Set([a.schoolV4, a.centreV4, b.schoolV4, b.centreV4]).size).toBe(4);
      expect(new Set([a.schoolV6, a.centreV6, b.schoolV6, b.centreV6]).size).toBe(4);
      await Promise.all([ping(a, 'school', a.centreV4), ping(b, 'school', b.centreV6)]);
      // A's router has no route to B's centre (it answers "network unreachable" at once).
      const cross = await a.exec('school', ['ping', '-n', '-c1', '-W1', b.centreV4]);
      expect(cross.code).not.toBe(0);
    } finally {
      await Promise.all([a.destroy(), b.destroy()]);
    }
    for (const n of [...nsNames(a), ...nsNames(b)]) expect(netnsList()).not.toContain(n);
  });
});
