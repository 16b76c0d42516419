import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tierOf } from '../../collector/src/evaluate/targets/tier.js';
import { DEFAULT_TARGETS_FILE, loadTargets } from '../../collector/src/targets.js';
import { programArgs, runCli } from '../helpers/cli.js';

// The collector CLI refuses what would silently do something else: contradictory flags, a validity the
// message does not allow, a --data directory without state (a typo would become a new, empty state).

const dir = mkdtempSync(join(tmpdir(), 'cw-cli-errors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const noState = (data: string) =>
  `no campuswatch state in ${data} (no state.sqlite there): check --data (or dataDir in the config), or pass --init to create a new state there\n`;

describe('campuswatch-collector refuses what it would otherwise do silently', () => {
  it('school add --pupils N --tier T that disagree: refused naming both flags; agreeing ones are saved', async () => {
    const data = join(dir, 'tiers');
    const targets = loadTargets(DEFAULT_TARGETS_FILE);
    const implied = tierOf({ pupils: 1800 }, targets);
    const other = (['small', 'medium', 'large'] as const).find((t) => t !== implied)!;
    const add = (tier: string) =>
      runCli('collector', [
        'school',
        'add',
        '--data',
        data,
        '--id',
        'sz-tiers',
        '--name',
        '星海实验中学',
        '--pupils',
        '1800',
        '--tier',
        tier,
      ]);
    const bad = await add(other);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe(
      `--pupils 1800 and --tier ${other} contradict each other: 1800 pupils make a ${implied} school (uplink.tiers of ${DEFAULT_TARGETS_FILE}); give --pupils (the tier follows from it) or --tier, not both\n`,
    );
    expect(existsSync(join(data, 'state.sqlite'))).toBe(false); // nothing written, not even a state
    const ok = await add(implied);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe('school sz-tiers (星海实验中学) saved\n');
    // school update the same way
    const update = await runCli('collector', [
      'school',
      'update',
      'sz-tiers',
      '--data',
      data,
      '--pupils',
      '1800',
      '--tier',
      other,
    ]);
    expect(update.code).toBe(2);
    expect(update.stderr).toBe(bad.stderr);
  }, 180_000);

  it('enroll-code --ttl-hours: the message states the range it enforces', async () => {
    const data = join(dir, 'ttl');
    const add = await runCli('collector', [
      'school',
      'add',
      '--data',
      data,
      '--id',
      'sz-ttl',
      '--name',
      '学校',
    ]);
    expect(add.code, add.stderr).toBe(0);
    const code = (ttl: string) =>
      runCli('collector', ['enroll-code', '--data', data, '--school', 'sz-ttl', '--ttl-hours', ttl]);
    const message =
      '--ttl-hours must be a number of hours above 0 and at most 720 (30 days), e.g. 24 or 0.5\n';
    for (const ttl of ['0', '720.5']) {
      const r = await code(ttl);
      expect(r.code, ttl).toBe(2);
      expect(r.stderr, ttl).toBe(message);
    }
    for (const ttl of ['0.5']) {
      const r = await code(ttl);
      expect(r.code, `${ttl}: ${r.stderr}`).toBe(0);
      expect(r.stdout).toMatch(/^[A-Z2-9]{5}-[A-Z2-9]{5}-[A-Z2-9]{5}\n$/);
    }
  }, 240_000);

  it('--data DIR without state is refused (nothing created) unless --init; run and school add create it', async () => {
    const data = join(dir, 'mistyped');
    for (const args of [['report'], ['school', 'list'], ['user', 'list']]) {
      const r = await runCli('collector', [...args, '--data', data]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(noState(data));
    }
    expect(existsSync(data)).toBe(false);

    const init = await runCli('collector', ['silence', 'list', '--data', data, '--init']);
    expect(init.code, init.stderr).toBe(0);
    expect(init.stderr).toBe(`created a new campuswatch state in ${data}\n`);
    expect(init.stdout).toBe('no silences\n');
    // now it holds one: no --init needed, nothing said
    const list = await runCli('collector', ['silence', 'list', '--data', data]);
    expect(list.code).toBe(0);
    expect(list.stderr).toBe('');

    // school add starts a registry (README, scripts/start.sh) and says it made a new state
    const fresh = join(dir, 'fresh');
    const add = await runCli('collector', [
      'school',
      'add',
      '--data',
      fresh,
      '--id',
      'sz-1',
      '--name',
      '学校',
    ]);
    expect(add.code, add.stderr).toBe(0);
    expect(add.stderr).toBe(`created a new campuswatch state in ${fresh}\n`);
    expect((await runCli('collector', ['school', 'list', '--data', fresh])).code).toBe(0);
  }, 300_000);

  it('run on a new --data directory creates its state (the service starts on an empty StateDirectory)', async () => {
    const data = join(dir, 'run');
    const child = spawn(
      process.execPath,
      [...programArgs('collector'), 'run', '--data', data, '--listen', '127.0.0.1:0'],
      { env: { ...process.env, CAMPUSWATCH_LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    child.stdout.setEncoding('utf8');
    const listening = new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: string) => {
        out += d;
        if (out.includes('listening on')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`run exited ${code} before listening: ${out}`)));
    });
    try {
      await listening;
      expect(existsSync(join(data, 'state.sqlite'))).toBe(true);
    } finally {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
  }, 180_000);
});
