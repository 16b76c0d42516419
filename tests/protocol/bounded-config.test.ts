// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${file:…}` in plain strings is the config syntax under test
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAgentConfig } from '../../agent/src/config.js';
import { readCaFile } from '../../agent/src/http-client.js';
import { loadBaseline } from '../../collector/src/baseline.js';
import { loadCollectorConfig, parseCollectorConfig } from '../../collector/src/config.js';
import { loadTargets } from '../../collector/src/targets.js';
import { MAX_CONFIG_FILE_BYTES, readBoundedFile } from '../../protocol/bounded-read.js';
import { MAX_YAML_ALIAS_COUNT } from '../../protocol/config-file.js';
import { runCli } from '../helpers/cli.js';
import { errorOf } from '../helpers/config-error.js';

const dir = mkdtempSync(join(tmpdir(), 'cw-bounded-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LOADERS: [string, (file: string) => unknown][] = [
  ['agent config', loadAgentConfig],
  ['collector config', loadCollectorConfig],
  ['targets.yaml', loadTargets],
  ['baseline.yaml', loadBaseline],
];

// a sparse file: 100 MB long, no disk used
const big = join(dir, 'big.yaml');
writeFileSync(big, 'listen: 127.0.0.1:0\n');
truncateSync(big, 100 * 1000 * 1000);

const fifo = join(dir, 'config.fifo');
execFileSync('mkfifo', [fifo]);

// nine levels of nine: 9^9 ≈ 387 million strings once expanded
const bomb = join(dir, 'bomb.yaml');
writeFileSync(
  bomb,
  [
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
    ...'bcdefghi'.split('').map((c, i) => `${c}: &${c} [${Array(9).fill(`*${'abcdefghi'[i]}`).join(',')}]`),
    '',
  ].join('\n'),
);

describe('configuration files are read within a size limit', () => {
  it('the limit is 4 MiB', () => {
    expect(MAX_CONFIG_FILE_BYTES).toBe(4 * 1024 * 1024);
  });

  for (const [what, load] of LOADERS) {
    it(`${what}: /dev/zero, a FIFO and a 100 MB file are refused naming the file and the limit`, () => {
      expect(errorOf(() => load('/dev/zero')).message).toBe(
        '/dev/zero: the file is a character device, not a regular file: refused (a configuration file is a regular file of at most 4 MiB)',
      );
      // no writer ever opens the FIFO: a blocking open would hang here
      expect(errorOf(() => load(fifo)).message).toBe(
        `${fifo}: the file is a FIFO (named pipe), not a regular file: refused (a configuration file is a regular file of at most 4 MiB)`,
      );
      expect(errorOf(() => load(big)).message).toBe(
        `${big}: the file is larger than the limit of 4 MiB (95.4 MiB): refused`,
      );
      expect(errorOf(() => load(dir)).message).toBe(`${dir}: cannot read the file (EISDIR)`);
    });
  }

  it('a file of exactly the limit is read whole, one byte more is refused', () => {
    const file = join(dir, 'edge.bin');
    writeFileSync(file, Buffer.alloc(1000, 0x61));
    const whole = readBoundedFile(file, 1000);
    expect(whole.ok && whole.content.length).toBe(1000);
    const over = readBoundedFile(file, 999);
    expect(over).toEqual({ ok: false, refused: 'is larger than the limit of 999 B (1000 B): refused' });
  });

  it('a file that says it is empty but is not (as in /proc) is still read only up to the limit', () => {
    const small = readBoundedFile('/proc/self/status', 4 * 1024 * 1024);
    expect(small.ok && small.content.toString('utf8')).toMatch(/^Name:/);
    const bounded = readBoundedFile('/proc/self/status', 16);
    expect(bounded).toEqual({ ok: false, refused: 'is larger than the limit of 16 B: refused' });
  });

  it('${file:…} references and certificate files are bounded too, naming the field and the file', () => {
    expect(
      errorOf(() =>
        parseCollectorConfig(
          'listen: 127.0.0.1:0\ninfluxdb: { url: "http://127.0.0.1:8086", token: "${file:/dev/zero}" }\n',
        ),
      ).message,
    ).toBe(
      '<inline>: influxdb.token: the file /dev/zero is a character device, not a regular file: refused (a configuration file is a regular file of at most 4 MiB)',
    );
    expect(() => readCaFile('/dev/zero')).toThrow(
      'collector.caFile: the file /dev/zero is a character device, not a regular file: refused (a configuration file is a regular file of at most 4 MiB)',
    );
  });

  it('the programs exit 2 naming the file and the limit', async () => {
    const collector = await runCli('collector', ['run', '--config', '/dev/zero']);
    expect(collector.code).toBe(2);
    expect(collector.stderr).toContain('/dev/zero: the file is a character device, not a regular file');
    expect(collector.stderr).toContain('at most 4 MiB');
    const agent = await runCli('agent', ['check-config', '--config', big]);
    expect(agent.code).toBe(2);
    expect(agent.stderr).toBe(`${big}: the file is larger than the limit of 4 MiB (95.4 MiB): refused\n`);
  });
});

describe('YAML alias bombs are refused naming the file', () => {
  const expected = `${bomb}: YAML aliases exceed the limit (one alias may stand for at most ${MAX_YAML_ALIAS_COUNT} nodes): refused as a likely alias bomb`;

  for (const [what, load] of LOADERS) {
    it(`${what}`, () => {
      expect(errorOf(() => load(bomb)).message).toBe(expected);
    });
  }

  it('a configuration that reuses a block with aliases still loads', () => {
    const config = parseCollectorConfig(
      [
        'listen: 127.0.0.1:0',
        'schools:',
        '  - { id: sz-a, name: 学校甲, district: &district 苏州工业园区, pupils: 900, area: urban }',
        '  - { id: sz-b, name: 学校乙, district: *district, pupils: 900, area: urban }',
        '',
      ].join('\n'),
    );
    expect(config.schools.map((s) => [s.id, s.name, s.district])).toEqual([
      ['sz-a', '学校甲', '苏州工业园区'],
      ['sz-b', '学校乙', '苏州工业园区'],
    ]);
  });

  it('the programs exit 2 (a configuration error), not 1, naming the file', async () => {
    const agent = await runCli('agent', ['check-config', '--config', bomb]);
    expect(agent.code).toBe(2);
    expect(agent.stderr).toBe(`${expected}\n`);
    const collector = await runCli('collector', ['run', '--config', bomb]);
    expect(collector.code).toBe(2);
    expect(collector.stderr).toBe(`${expected}\n`);
  });
});
