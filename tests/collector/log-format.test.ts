import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { enroll } from '../../agent/src/identity.js';
import { createLogger } from '../../agent/src/log.js';
import { createCollectorLogger } from '../../collector/src/log.js';
import { logDestination, resolveLogFormat } from '../../protocol/log-format.js';
import { programArgs, runCli } from '../helpers/cli.js';
import { sqliteOf, World, XINGHAI } from '../helpers/world.js';

// Log lines of both programs: JSON lines for log shippers, or one readable line each (pino-pretty) on a
// terminal, in the journal (the systemd units set CAMPUSWATCH_LOG_FORMAT=pretty) or with --log-format
// pretty. Chinese names stay readable and secrets stay redacted in either.

const dir = mkdtempSync(join(tmpdir(), 'cw-log-format-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const isJson = (line: string) => {
  try {
    JSON.parse(line);
    return true;
  } catch {
    return false;
  }
};

describe('choosing the format', () => {
  it('the flag, else CAMPUSWATCH_LOG_FORMAT, else pretty on a terminal only; other values are refused by name', () => {
    expect(resolveLogFormat('json', { env: { CAMPUSWATCH_LOG_FORMAT: 'pretty' }, isTty: true })).toBe('json');
    expect(resolveLogFormat(undefined, { env: { CAMPUSWATCH_LOG_FORMAT: 'pretty' }, isTty: false })).toBe(
      'pretty',
    );
    expect(resolveLogFormat(undefined, { env: { CAMPUSWATCH_LOG_FORMAT: 'json' }, isTty: true })).toBe(
      'json',
    );
    expect(resolveLogFormat(undefined, { env: {}, isTty: true })).toBe('pretty');
    expect(resolveLogFormat(undefined, { env: {}, isTty: false })).toBe('json');
    expect(() => resolveLogFormat('text', { env: {}, isTty: false })).toThrow(
      '--log-format must be pretty or json, not "text"',
    );
    expect(() =>
      resolveLogFormat(undefined, { env: { CAMPUSWATCH_LOG_FORMAT: 'yaml' }, isTty: false }),
    ).toThrow('CAMPUSWATCH_LOG_FORMAT must be pretty or json, not "yaml"');
  });

  it('a bad --log-format is a usage error of either program', async () => {
    const r = await runCli('collector', ['run', '--log-format', 'text', '--data', join(dir, 'bad')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('--log-format must be pretty or json, not "text"\n');
  }, 120_000);
});

describe('pretty lines', () => {
  it('one readable line per entry, Chinese intact, secrets redacted, for the collector and the agent logger', async () => {
    for (const [name, make] of [
      ['collector', createCollectorLogger],
      ['agent', createLogger],
    ] as const) {
      const file = join(dir, `${name}.log`);
      const fd = openSync(file, 'w');
      const log = make('info', await logDestination('pretty', fd));
      log.info({ school: '苏州工业园区星海实验中学', token: 'cwt1.secret-value' }, '学校已登记 school saved');
      log.warn({ community: 'private-community' }, 'device 录播主机 A1 answers slowly');
      log.flush();
      closeSync(fd);
      const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
      expect(lines, name).toHaveLength(2);
      expect(lines.some(isJson)).toBe(false);
      expect(lines[0]).toMatch(
        new RegExp(
          `^\\[\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{3} [+-]\\d{4}\\] INFO \\(campuswatch-${name}\\): 学校已登记 school saved `,
        ),
      );
      expect(lines[0]).toContain('"school":"苏州工业园区星海实验中学"');
      expect(lines[0]).toContain('"token":"[redacted]"');
      expect(lines[1]).toMatch(/ WARN \(campuswatch-\w+\): device 录播主机 A1 answers slowly /);
      expect(lines.join('\n')).not.toMatch(/secret-value|private-community/);
      // no colour codes into a file
      expect(lines.join('\n')).not.toContain('\u001b[');
    }
  });
});

/** A collector process with these flags; its stdout lines as they come. */
class Collector {
  readonly child: ChildProcess;
  readonly lines: string[] = [];
  readonly url: Promise<string>;
  constructor(args: string[]) {
    this.child = spawn(process.execPath, [...programArgs('collector'), ...args], {
      env: { ...process.env, CAMPUSWATCH_LOG_LEVEL: 'info', CAMPUSWATCH_LOG_FORMAT: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.url = new Promise((resolve, reject) => {
      createInterface({ input: this.child.stdout! }).on('line', (line) => {
        this.lines.push(line);
        const m = /^campuswatch collector listening on (http:\/\/\S+) /.exec(line);
        if (m) resolve(m[1]!);
      });
      this.child.once('exit', (code) => reject(new Error(`collector exited ${code}`)));
    });
  }
  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGTERM');
    await exited;
  }
}

describe('through the real command line', () => {
  const config = join(dir, 'collector.yaml');
  writeFileSync(config, stringify({ listen: '127.0.0.1:0', dataDir: join(dir, 'data'), schools: [XINGHAI] }));

  for (const format of ['pretty', 'json'] as const) {
    it(`collector run --log-format ${format}: ${format === 'pretty' ? 'readable lines with the level word' : 'JSON lines'}; a token in a URL is redacted`, async () => {
      const c = new Collector(['run', '--config', config, '--log-format', format]);
      try {
        const url = await c.url;
        const res = await fetch(`${url}/wall?token=cwt1.abc.topsecret&lang=zh`, { redirect: 'manual' });
        await res.arrayBuffer();
        await c.stop();
        const logLines = c.lines.filter((l) => !l.startsWith('campuswatch collector listening on'));
        const listening = logLines.find((l) => l.includes('collector listening'));
        expect(listening, c.lines.join('\n')).toBeDefined();
        const wall = logLines.find((l) => l.includes('/wall?token='));
        expect(wall, c.lines.join('\n')).toContain('/wall?token=[redacted]&lang=zh');
        expect(c.lines.join('\n')).not.toContain('topsecret');
        if (format === 'pretty') {
          expect(logLines.filter(isJson)).toEqual([]);
          expect(listening).toMatch(
            /^\[[^\]]+\] INFO \(campuswatch-collector\): collector listening \{"url":"http:/,
          );
          expect(
            logLines.some((l) => /\] WARN \(campuswatch-collector\): no InfluxDB configured/.test(l)),
          ).toBe(true);
        } else {
          expect(logLines.every(isJson)).toBe(true);
          expect(JSON.parse(listening!)).toMatchObject({
            level: 30,
            name: 'campuswatch-collector',
            msg: 'collector listening',
          });
        }
      } finally {
        await c.stop();
      }
    }, 180_000);
  }

  it('agent once --log-format pretty and json: the cycle line on stderr', async () => {
    const w = new World();
    try {
      await w.startCollector();
      const agentConfig = w.agentConfig('log');
      const file = join(w.dir, 'agent.yaml');
      writeFileSync(file, stringify(agentConfig));
      const { code } = sqliteOf(w.app!).createEnrollCode(XINGHAI.id, 60_000);
      await enroll({ collectorUrl: w.url, code, stateDir: agentConfig.state });
      const env = { CAMPUSWATCH_LOG_LEVEL: 'info', CAMPUSWATCH_LOG_FORMAT: '' };

      const pretty = await runCli('agent', ['once', '--config', file, '--log-format', 'pretty'], env);
      expect(pretty.code, pretty.stderr).toBe(0);
      const prettyLines = pretty.stderr.trimEnd().split('\n');
      expect(prettyLines.filter(isJson)).toEqual([]);
      expect(
        prettyLines.some((l) => /\] INFO \(campuswatch-agent\): cycle spooled \{"reportId":/.test(l)),
      ).toBe(true);

      const json = await runCli('agent', ['--log-format', 'json', 'once', '--config', file], env);
      expect(json.code, json.stderr).toBe(0);
      const entries = json.stderr
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l) as { msg: string; level: number });
      expect(entries.find((e) => e.msg === 'cycle spooled')).toMatchObject({ level: 30 });

      // the environment chooses when no flag does
      const byEnv = await runCli('agent', ['once', '--config', file], {
        ...env,
        CAMPUSWATCH_LOG_FORMAT: 'pretty',
      });
      expect(byEnv.stderr).toMatch(/\] INFO \(campuswatch-agent\): cycle spooled /);
    } finally {
      await w.cleanup();
    }
    // three agent processes, each a cycle: more than the default on a loaded machine
  }, 240_000);
});
