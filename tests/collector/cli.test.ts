import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatCsv, formatTable } from '../../protocol/cli.js';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'cw-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const data = join(dir, 'collector');

describe('campuswatch-collector CLI', () => {
  it('school add, enroll-code and report (table, csv, json) work on a data dir; exit codes 0 and 2', async () => {
    const add = await runCli('collector', [
      'school',
      'add',
      '--data',
      data,
      '--id',
      'sz-xinghai-junior',
      '--name',
      '苏州工业园区星海实验中学, 初中部',
      '--district',
      '苏州工业园区',
      '--group',
      '星海教育集团',
      '--pupils',
      '2600',
      '--area',
      'urban',
      '--stage',
      'junior',
    ]);
    expect(add.code).toBe(0);
    expect(add.stdout).toBe('school sz-xinghai-junior (苏州工业园区星海实验中学, 初中部) saved\n');

    const bad = await runCli('collector', [
      'school',
      'add',
      '--data',
      data,
      '--id',
      'bad id',
      '--name',
      'x',
      '--tier',
      'huge',
      '--stage',
      'middle',
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--id: must match the pattern');
    expect(bad.stderr).toContain('--tier: must be one of: "small", "medium", "large"');
    expect(bad.stderr).toContain(
      '--stage: must be one of: "primary", "junior", "senior", "nine-year", "twelve-year"',
    );

    const code = await runCli('collector', ['enroll-code', '--data', data, '--school', 'sz-xinghai-junior']);
    expect(code.code).toBe(0);
    expect(code.stdout.trim()).toMatch(/^[A-Z2-9]{5}-[A-Z2-9]{5}-[A-Z2-9]{5}$/);
    const unknown = await runCli('collector', ['enroll-code', '--data', data, '--school', 'nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown school "nope"');

    const table = await runCli('collector', ['report', '--data', data]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(
      /sz-xinghai-junior\s+苏州工业园区星海实验中学, 初中部\s+苏州工业园区\s+large\s+never/,
    );
    const csv = await runCli('collector', ['report', '--data', data, '--format', 'csv']);
    expect(csv.stdout.startsWith('\uFEFFschool,name,district,')).toBe(true);
    // one column per target of the plan, live_class the last added (14 targets with school_connected)
    expect(csv.stdout.split('\r\n')[0]).toMatch(/,live_class$/);
    expect(csv.stdout.split('\r\n')[1]).toBe(
      // 校校通 first: registered, no agent reporting is not connected (never no_data)
      `sz-xinghai-junior,"苏州工业园区星海实验中学, 初中部",苏州工业园区,large,never,not_met${',no_data'.repeat(13)}\n`,
    );
    const json = await runCli('collector', [
      'report',
      '--data',
      data,
      '--format',
      'json',
      '--district',
      '苏州工业园区',
    ]);
    const parsed = JSON.parse(json.stdout) as {
      schools: { id: string; compliance: { target: string; state: string }[] }[];
    };
    expect(parsed.schools.map((s) => s.id)).toEqual(['sz-xinghai-junior']);
    expect(parsed.schools[0]!.compliance.filter((c) => c.state !== 'no_data')).toMatchObject([
      { target: 'school_connected', state: 'not_met' },
    ]);
    const other = await runCli('collector', [
      'report',
      '--data',
      data,
      '--format',
      'json',
      '--district',
      '太仓市',
    ]);
    expect((JSON.parse(other.stdout) as { schools: unknown[] }).schools).toEqual([]);
    const badFormat = await runCli('collector', ['report', '--data', data, '--format', 'xml']);
    expect(badFormat.code).toBe(2);
    expect(badFormat.stderr).toContain('--format must be one of: table, json, csv');
  });

  it('usage errors exit 2, --help exits 0, a bad config file exits 2 naming the field', async () => {
    const help = await runCli('collector', ['run', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--influx-url <url>');
    const unknownOpt = await runCli('collector', ['run', '--bogus']);
    expect(unknownOpt.code).toBe(2);
    expect(unknownOpt.stderr).toContain("unknown option '--bogus'");
    const none = await runCli('collector', []);
    expect(none.code).toBe(2);
    const cfg = await runCli('collector', [
      'run',
      '--config',
      'tests/fixtures/config/collector-unknown-key.yaml',
    ]);
    expect(cfg.code).toBe(2);
    expect(cfg.stderr).toBe('tests/fixtures/config/collector-unknown-key.yaml: influxdb: unknown key\n');
    const listen = await runCli('collector', ['run', '--data', data, '--listen', 'nowhere']);
    expect(listen.code).toBe(2);
    expect(listen.stderr).toContain('listen: must match the pattern');
  });
});

describe('campuswatch-collector silence', () => {
  it('add, list, expire; usage errors exit 2', async () => {
    const add = await runCli('collector', [
      'silence',
      'add',
      '--data',
      data,
      '--school',
      'sz-xinghai-junior',
      '--for',
      '2h',
      '--reason',
      '机房维护',
    ]);
    expect(add.code).toBe(0);
    const id = /^silence (\d+) until \d{4}-/.exec(add.stdout)?.[1];
    expect(id).toBeDefined();
    const list = await runCli('collector', ['silence', 'list', '--data', data]);
    expect(list.stdout).toMatch(
      new RegExp(`^${id}\\s+sz-xinghai-junior\\s+\\*\\s+\\S+\\s+\\S+\\s+机房维护$`, 'm'),
    );
    const bad = await runCli('collector', [
      'silence',
      'add',
      '--data',
      data,
      '--school',
      'sz-xinghai-junior',
      '--for',
      'soon',
      '--reason',
      'x y z',
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--for must look like 90m, 2h or 7d');
    const expire = await runCli('collector', ['silence', 'expire', '--data', data, '--id', id!]);
    expect(expire.stdout).toBe(`silence ${id} expired\n`);
    expect((await runCli('collector', ['silence', 'list', '--data', data])).stdout).toBe('no silences\n');
  });
});

describe('terminal tables', () => {
  it('pads by display width so Chinese names line up', () => {
    const t = formatTable(
      ['name', 'n'],
      [
        ['星海', '1'],
        ['abcd', '2'],
      ],
    ).split('\n');
    expect(t).toEqual(['name  n', '----  -', '星海  1', 'abcd  2']);
  });
  it('quotes CSV cells with commas and quotes', () => {
    expect(formatCsv(['a'], [['x, "y"']])).toBe('a\r\n"x, ""y"""');
  });
});
