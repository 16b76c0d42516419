import { spawn } from 'node:child_process';
import { unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import type { CampusAgent } from '../../agent/src/agent.js';
import { programArgs, runCli } from '../helpers/cli.js';
import { skipping } from '../helpers/skip.js';
import { fill, mountTmpfs, unmountTmpfs } from '../helpers/tmpfs.js';
import { sqliteOf, World } from '../helpers/world.js';

/**
 * Acceptance 3 of issue 27: the agent's state on a small tmpfs that fills up. The daemon (its real run loop)
 * keeps running, delivers what it held, says so in `status` and in its reports (the collector shows it),
 * and once space is freed stores and delivers every report, none lost that it had stored, none twice.
 */

/** Resolves once `cond` holds, checking every 20 ms (delivery happens in the agent's own loop). */
async function until(
  what: string,
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const mount = mountTmpfs('2m');

describe.skipIf(skipping('reason' in mount ? mount.reason : undefined, 'agent disk-full tests'))(
  'the agent with its state on a full disk',
  () => {
    const mnt = 'dir' in mount ? mount.dir : '';
    const w = new World();
    afterAll(async () => {
      await w.cleanup();
      unmountTmpfs(mnt);
    });

    it('keeps running, delivers what it holds, says so, and stores and delivers everything once space returns', async () => {
      await w.startCollector();
      const lines: { msg: string; held?: number }[] = [];
      const log = pino(
        { level: 'info' },
        new Writable({
          write(chunk: Buffer, _enc, done) {
            for (const line of chunk.toString().split('\n').filter(Boolean))
              lines.push(JSON.parse(line) as (typeof lines)[number]);
            done();
          },
        }),
      );
      const state = join(mnt, 'agent');
      const agent: CampusAgent = await w.agent('disk', {
        log,
        config: { state, cycle: { intervalS: 3600, jitterPct: 0 } },
      });
      const configFile = join(w.dir, 'agent.yaml');
      writeFileSync(
        configFile,
        JSON.stringify({ ...agent.config, collector: { ...agent.config.collector } }),
      );
      const collected = async (ids: Iterable<string>) => {
        for (const id of ids) if ((await sqliteOf(w.app!).getIngest(id))?.state !== 'done') return false;
        return true;
      };
      const metric = async (outcome: string) => {
        const text = (await w.app!.inject({ method: 'GET', url: '/metrics' })).body;
        return Number(
          new RegExp(`campuswatch_reports_total\\{outcome="${outcome}"\\} (\\d+)`).exec(text)?.[1] ?? 0,
        );
      };
      /** Every report the agent said it stored (in the spool file) or holds (in memory), by id. */
      const acknowledged = new Set<string>();
      const note = () => {
        for (const q of agent.spool.queued()) acknowledged.add(q.reportId);
      };

      // the collector away: three cycles stored in the spool
      await w.stopCollector();
      const stop = new AbortController();
      let running = true;
      const run = agent.run(stop.signal).finally(() => {
        running = false;
      });
      await until('the run loop’s first cycle', () => agent.spool.counters().depth >= 1);
      await agent.cycle({ all: true });
      await agent.cycle({ all: true });
      note();
      expect(agent.spool.counters()).toMatchObject({ depth: 3, held: 0, unstored: 0, failure: null });

      // the disk fills up: two cycles cannot be stored; they are held in memory and counted
      const filler = join(mnt, 'filler');
      fill(filler);
      await agent.cycle({ all: true });
      await agent.cycle({ all: true });
      note();
      const full = agent.spool.counters();
      expect(full).toMatchObject({ depth: 5, held: 2, unstored: 2 });
      expect(full.failure?.message).toContain('database or disk is full');
      expect(lines.filter((l) => l.msg.startsWith('cycle held in memory'))).toHaveLength(2);
      expect(lines.filter((l) => l.msg.startsWith('the spool cannot write'))).toHaveLength(1);
      expect(running).toBe(true);

      // status says so (the state directory's filesystem is full) and exits 1
      const status = await runCli('agent', ['status', '--json', '--config', configFile]);
      expect(status.code, status.stderr).toBe(0); // --json prints and exits 0 …
      const shown = JSON.parse(status.stdout) as {
        disk: { full: boolean; freeBytes: number };
        spool: { depth: number };
      };
      expect(shown.disk.full).toBe(true);
      expect(shown.disk.freeBytes).toBeLessThan(1048576);
      expect(shown.spool.depth).toBe(3); // what the file holds; the two in memory are the daemon's
      const text = await runCli('agent', ['status', '--config', configFile]);
      expect(text.code).toBe(1); // … the text form says what is wrong and exits 1
      expect(text.stdout).toMatch(/disk {9}\d+(\.\d+)? KiB free for .*: FULL, new reports cannot be stored/);

      // the collector back while the disk is still full: everything held is delivered, each once
      // (the collector's counters start at 0 with each start)
      await w.startCollector();
      await until('the five reports at the collector', () => collected(acknowledged));
      await until('the spool to be empty', () => agent.spool.counters().depth === 0);
      expect(await metric('stored')).toBe(5);
      expect(await metric('duplicate')).toBe(0);
      const whileFull = agent.spool.counters();
      expect(whileFull).toMatchObject({ depth: 0, delivered: 5, held: 0 });
      expect(whileFull.failure).not.toBeNull();
      // the collector saw the condition in the reports that could not be stored
      const seen = await sqliteOf(w.app!).getAgent(agent.identity.agentId);
      expect(seen?.spoolFailingSince).toBe(full.failure?.since);
      expect(seen?.spoolUnstored).toBe(2);
      const listed = await w.app!.inject({ method: 'GET', url: '/api/v1/agents' });
      expect(JSON.stringify(listed.json())).toContain(`"failingSince":"${full.failure?.since}"`);

      // one more cycle while full and the collector away: held
      await w.stopCollector();
      await agent.cycle({ all: true });
      note();
      expect(agent.spool.counters()).toMatchObject({ held: 1, unstored: 3 });

      // space returns: the next cycle is stored, and so is the one held; the failure is over
      unlinkSync(filler);
      await agent.cycle({ all: true });
      note();
      const after = agent.spool.counters();
      expect(after).toMatchObject({ depth: 2, held: 0, unremoved: 0, unstored: 3, failure: null });
      expect(lines.some((l) => l.msg.startsWith('the spool writes again'))).toBe(true);
      expect(agent.spool.queued().every((q) => !q.held)).toBe(true);

      await w.startCollector();
      await until('every report at the collector', () => collected(acknowledged));
      await until('the spool to be empty', () => agent.spool.counters().depth === 0);
      expect(acknowledged.size).toBe(7);
      // none lost, none twice: the two left stored once, none of the five delivered before came again
      expect(await metric('stored')).toBe(2);
      expect(await metric('duplicate')).toBe(0);
      expect(agent.spool.counters()).toMatchObject({ delivered: 7, unstored: 3, dropped: 0, failure: null });
      // the collector learns the spool writes again
      const recovered = await sqliteOf(w.app!).getAgent(agent.identity.agentId);
      expect(recovered).toMatchObject({ spoolFailingSince: null, spoolUnstored: 3 });

      expect(running).toBe(true);
      stop.abort();
      await run;
    }, 60_000);

    it('`run` started on a full disk (the restart loop of the issue) keeps running and delivers its spool', async () => {
      // an agent with two reports in its spool, stopped
      if (!w.app) await w.startCollector();
      const boot = await w.agent('boot', {
        config: { state: join(mnt, 'boot'), cycle: { intervalS: 3600, jitterPct: 0 } },
      });
      await w.stopCollector();
      const stored = [(await boot.cycle({ all: true })).reportId, (await boot.cycle({ all: true })).reportId];
      expect(boot.spool.counters()).toMatchObject({ depth: 2, failure: null });
      boot.close();
      const configFile = join(w.dir, 'boot.yaml');
      writeFileSync(configFile, JSON.stringify(boot.config));

      const filler = join(mnt, 'filler-boot');
      fill(filler);
      await w.startCollector();
      const child = spawn(process.execPath, [...programArgs('agent'), 'run', '--config', configFile], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, CAMPUSWATCH_LOG_LEVEL: 'info' },
      });
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => {
        out += c;
      });
      child.stderr.setEncoding('utf8').on('data', (c: string) => {
        out += c;
      });
      try {
        const state = sqliteOf(w.app!);
        // what it had stored is delivered, and so is its first cycle, held in memory, which says why
        await until(
          'the spooled reports and the held cycle at the collector',
          () =>
            stored.every((id) => state.getIngest(id)?.state === 'done') &&
            state.getAgent(boot.identity.agentId)?.spoolFailingSince != null,
          60_000,
        );
        expect(state.getAgent(boot.identity.agentId)).toMatchObject({ spoolUnstored: 1 });
        expect(out).toContain('the spool cannot write');
        expect(out).toContain('"operation":"open the spool (opened in exclusive mode)"');
        expect(out).toContain('cycle held in memory');
        expect(child.exitCode).toBeNull(); // still running
      } finally {
        child.kill('SIGTERM');
      }
      expect(await exited).toBe(0);
      unlinkSync(filler);
    }, 120_000);
  },
);
