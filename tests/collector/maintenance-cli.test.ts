import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStateStore } from '../../collector/src/store/sqlite-state.js';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'cw-maint-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const data = join(dir, 'collector');
const SCHOOL = 'sz-xinghai-junior';
const HOUR = 3_600_000;

const maintenance = (...args: string[]) => runCli('collector', ['maintenance', ...args]);

describe('campuswatch-collector maintenance', () => {
  beforeAll(async () => {
    const add = await runCli('collector', [
      'school',
      'add',
      '--data',
      data,
      '--id',
      SCHOOL,
      '--name',
      '星海实验中学',
    ]);
    expect(add.code).toBe(0);
  });

  let weeklyId: string;
  let onceId: string;
  // times relative to the real clock: the CLI declares windows from now on
  const from = new Date(Math.ceil(Date.now() / HOUR) * HOUR + HOUR);
  const to = new Date(from.getTime() + 2 * HOUR);

  it('adds a weekly room window and a one-off device window', async () => {
    const weekly = await maintenance(
      'add',
      '--data',
      data,
      '--school',
      SCHOOL,
      '--room',
      '录播室 1',
      '--weekly',
      'sun 02:00-04:00',
      '--reason',
      '每周日重启录播主机',
      '--by',
      '张老师',
    );
    expect(weekly.stderr).toBe('');
    expect(weekly.code).toBe(0);
    const m =
      /^maintenance window (\d+) for room 录播室 1 of sz-xinghai-junior: sun 02:00-04:00 \(Asia\/Shanghai\) from \S+ until ended(?: \(on now\))?\n$/.exec(
        weekly.stdout,
      );
    expect(m, weekly.stdout).not.toBeNull();
    weeklyId = m![1]!;

    const once = await maintenance(
      'add',
      '--data',
      data,
      '--school',
      SCHOOL,
      '--device',
      '录播主机 A1',
      '--from',
      from.toISOString(),
      '--to',
      to.toISOString().replace('Z', '+00:00'),
      '--reason',
      '固件升级',
    );
    expect(once.code).toBe(0);
    expect(once.stdout).toMatch(
      new RegExp(
        `^maintenance window \\d+ for device 录播主机 A1 of ${SCHOOL}: ${from.toISOString()} until ${to.toISOString()}\\n$`,
      ),
    );
    onceId = /^maintenance window (\d+)/.exec(once.stdout)![1]!;

    // as stored: what the collector reads
    const store = new SqliteStateStore(data);
    try {
      expect(await store.maintenanceWindows({ schoolId: SCHOOL })).toEqual([
        expect.objectContaining({
          id: Number(weeklyId),
          room: '录播室 1',
          weekly: { days: ['sun'], start: '02:00', end: '04:00' },
          endsAt: null,
          reason: '每周日重启录播主机',
          createdBy: '张老师',
        }),
        expect.objectContaining({
          id: Number(onceId),
          device: '录播主机 A1',
          startsAt: from.toISOString(),
          endsAt: to.toISOString(),
        }),
      ]);
    } finally {
      await store.close();
    }
  });

  it('lists the windows that have not ended, of all schools or one', async () => {
    const list = await maintenance('list', '--data', data);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(
      new RegExp(
        `^${weeklyId}\\s+${SCHOOL}\\s+room 录播室 1\\s+weekly sun 02:00-04:00\\s+\\S+\\s+-\\s+(on\\s+)?张老师\\s+每周日重启录播主机$`,
        'm',
      ),
    );
    expect(list.stdout).toMatch(
      new RegExp(
        `^${onceId}\\s+${SCHOOL}\\s+device 录播主机 A1\\s+once\\s+${from.toISOString()}\\s+${to.toISOString()}\\s+\\S+\\s+固件升级$`,
        'm',
      ),
    );
    expect((await maintenance('list', '--data', data, '--school', 'other')).stdout).toBe(
      'no maintenance windows\n',
    );
  });

  it.each([
    [['--weekly', 'sunday 02:00-04:00'], '--weekly: unknown day "sunday"'],
    [['--weekly', 'sun 02:00-02:00'], '--weekly: start and end are the same time of day'],
    [['--to', '2099-01-01T10:00'], '--to: "2099-01-01T10:00" is not a time with its zone'],
    [[], '--to: give an end, or a weekly recurrence'],
    [['--from', '2020-01-01T00:00Z', '--to', '2020-01-02T00:00Z'], '--to: is already past'],
    [['--weekly', 'sun 02:00-04:00', '--reason', 'x'], '--reason: say why'],
    [['--weekly', 'sun 02:00-04:00', '--room', ' '], '--room: must not be empty'],
  ])('refuses %j with exit 2, naming the flag', async (flags, message) => {
    const args = ['add', '--data', data, '--school', SCHOOL, '--reason', '计划维护', ...flags];
    const r = await maintenance(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe('');
  });

  it('refuses an unknown school', async () => {
    const r = await maintenance(
      'add',
      '--data',
      data,
      '--school',
      'nope',
      '--weekly',
      'sun 02:00-04:00',
      '--reason',
      '计划维护',
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--school: unknown school "nope"');
  });

  it('ends a window once; then it is listed only with --all', async () => {
    const end = await maintenance('end', '--data', data, '--id', onceId);
    expect(end.code).toBe(0);
    expect(end.stdout).toBe(`maintenance window ${onceId} ended\n`);
    const again = await maintenance('end', '--data', data, '--id', onceId);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain(`--id: no maintenance window ${onceId} that has not ended`);
    const bad = await maintenance('end', '--data', data, '--id', 'last');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--id must be a whole number');
    const list = await maintenance('list', '--data', data);
    expect(list.stdout).toContain('每周日重启录播主机');
    expect(list.stdout).not.toContain('固件升级');
    expect((await maintenance('list', '--data', data, '--all')).stdout).toContain('固件升级');
  });
});
