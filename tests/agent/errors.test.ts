import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { stringify } from 'yaml';
import type { AgentConfig } from '../../agent/src/config.js';
import { inSpeedtestWindow } from '../../agent/src/scheduler.js';
import { ENROLL_CODE_ALPHABET } from '../../collector/src/store/state-store.js';
import { ENROLL_CODE_ALPHABET as AGENT_ALPHABET, parseEnrollCode } from '../../protocol/enroll-code.js';
import { issueCert, makeCa, opensslAvailable } from '../helpers/certs.js';
import { type CliResult, runCli, runCommand } from '../helpers/cli.js';
import { skipping } from '../helpers/skip.js';
import { sqliteOf, World, XINGHAI } from '../helpers/world.js';

// The messages of the IT officer's first hour: a permissions problem says the path, the user and the fix
// (never "not enrolled"), TLS/plain HTTP mismatches are said in words, a mistyped code differs from an
// unknown, used or expired one, a URL without a scheme says what it must start with. Through the CLI.

// every case starts the CLI (a Node process) a few times: slow on a shared machine
vi.setConfig({ testTimeout: 240_000, hookTimeout: 120_000 });

/** The user the permission cases run as: `nobody`, from the passwd file. */
function nobody(): { uid: number; gid: number; name: string } | undefined {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const [name, , uid, gid] = line.split(':');
    if (name === 'nobody' && uid && gid) return { name, uid: Number(uid), gid: Number(gid) };
  }
  return undefined;
}

const other = nobody();
const permissionSkip =
  process.getuid?.() !== 0
    ? 'not root: cannot give the state directory to another user'
    : spawnSync('setpriv', ['--version']).status !== 0
      ? 'setpriv not found'
      : other === undefined
        ? 'no user nobody'
        : undefined;

/** The agent CLI as `nobody` (no groups), from source like runCli. */
function asNobody(args: string[]): Promise<CliResult> {
  return runCommand(
    'setpriv',
    [
      `--reuid=${other!.uid}`,
      `--regid=${other!.gid}`,
      '--clear-groups',
      process.execPath,
      '--import',
      'tsx',
      'agent/src/cli.ts',
      ...args,
    ],
    { HOME: '/tmp' },
  );
}

function writeConfig(w: World, name: string, config: AgentConfig | Record<string, unknown>): string {
  const file = join(w.dir, `${name}.yaml`);
  writeFileSync(file, stringify(config), { mode: 0o644 });
  return file;
}

describe.skipIf(skipping(permissionSkip, 'errors permission cases'))(
  'a state directory the agent user cannot use: the path, the user and the fix, never "not enrolled"',
  () => {
    const w = new World();
    let state: string;
    let configFile: string;
    const who = () => `user ${other!.name} (uid ${other!.uid})`;
    const rootOwned = () =>
      `state directory ${state}: ${who()} cannot read and write it (owned by root, mode 0700); fix: sudo chown -R ${other!.name}: ${state} && sudo chmod 0700 ${state}, or, under systemd, StateDirectory=campuswatch-agent in the unit (it creates the directory and gives it to the unit's User=)`;

    beforeAll(async () => {
      await w.startCollector();
      chmodSync(w.dir, 0o755); // nobody may read the config beside it
      const config = w.agentConfig('perm');
      state = config.state;
      configFile = writeConfig(w, 'agent', config);
      // enrolled by root: the state directory is root's, mode 0700 (what a first try with sudo leaves)
      const { code } = sqliteOf(w.app!).createEnrollCode(XINGHAI.id, 60_000);
      const e = await runCli('agent', ['enroll', '--collector', w.url, '--code', code, '--state', state]);
      expect(e.code, e.stderr).toBe(0);
      chmodSync(state, 0o700);
    });
    afterAll(() => w.cleanup());

    it('once, status and run exit 2 with the path, the user and the chown / StateDirectory= fix', async () => {
      for (const command of ['once', 'status', 'run']) {
        const r = await asNobody([command, '--config', configFile]);
        expect(r.code, `${command}: ${r.stderr}`).toBe(2);
        expect(r.stderr).toBe(`${rootOwned()}\n`);
        expect(r.stdout).not.toContain('enrolled');
        expect(r.stderr).not.toContain('not enrolled');
      }
    });

    it('enroll refuses before the code is spent: the same code then enrols root', async () => {
      const { code } = sqliteOf(w.app!).createEnrollCode(XINGHAI.id, 60_000);
      const r = await asNobody(['enroll', '--collector', w.url, '--code', code, '--state', state, '--force']);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`${rootOwned()}\n`);
      const again = await runCli('agent', [
        'enroll',
        '--collector',
        w.url,
        '--code',
        code,
        '--state',
        join(w.dir, 'root-agent'),
      ]);
      expect(again.code, again.stderr).toBe(0);
    });

    it('check-config fails naming the state directory; as root it passes and says who may write it', async () => {
      const r = await asNobody(['check-config', '--config', configFile]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`${configFile}: state: ${rootOwned()}\n`);
      const root = await runCli('agent', ['check-config', '--config', configFile]);
      expect(root.code, root.stderr).toBe(0);
      expect(root.stdout).toContain(`state       ${state} (readable and writable by user root (uid 0))`);
    });

    it('a spool or token file left to root inside the user’s own directory is named', async () => {
      const dir = join(w.dir, 'mixed');
      mkdirSync(dir, { mode: 0o700 });
      writeFileSync(join(dir, 'spool.sqlite'), '', { mode: 0o600 });
      chownSync(dir, other!.uid, other!.gid);
      const file = writeConfig(w, 'mixed', w.agentConfig('mixed', { state: dir }));
      const r = await asNobody(['once', '--config', file]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(
        `state directory ${dir}: ${who()} cannot read and write ${dir}/spool.sqlite (owned by root, mode 0600); fix: sudo chown -R ${other!.name}: ${dir} && sudo chmod 0700 ${dir}, or, under systemd, StateDirectory=campuswatch-agent in the unit (it creates the directory and gives it to the unit's User=)\n`,
      );
    });

    it('a read-only state directory of the user itself: check-config and run name it, with chmod', async () => {
      const dir = join(w.dir, 'readonly');
      mkdirSync(dir, { mode: 0o500 });
      chmodSync(dir, 0o500);
      chownSync(dir, other!.uid, other!.gid);
      const file = writeConfig(w, 'readonly', w.agentConfig('readonly', { state: dir }));
      const message = `state directory ${dir}: ${who()} cannot read and write it (owned by ${other!.name}, mode 0500); fix: chmod -R u+rwX ${dir}`;
      const check = await asNobody(['check-config', '--config', file]);
      expect(check.code).toBe(2);
      expect(check.stderr).toBe(`${file}: state: ${message}\n`);
      const run = await asNobody(['run', '--config', file]);
      expect(run.code).toBe(2);
      expect(run.stderr).toBe(`${message}\n`);
    });

    it('a state directory on a read-only file system: check-config and run say so at once, with the path', async (ctx) => {
      const dir = join(w.dir, 'ro-fs');
      mkdirSync(dir);
      const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', dir], {
        encoding: 'utf8',
      });
      if (
        skipping(
          mount.status !== 0 && `mount failed: ${mount.stderr.trim()}`,
          'errors read-only file system case',
        )
      ) {
        ctx.skip();
      }
      try {
        const file = writeConfig(w, 'ro-fs', w.agentConfig('ro-fs', { state: dir }));
        const message = `state directory ${dir} is on a read-only file system: user root (uid 0) cannot write its token and spool there; fix: mount it read-write, or, under systemd with ProtectSystem=strict, give the unit StateDirectory=campuswatch-agent (or ReadWritePaths=${dir})`;
        const check = await runCli('agent', ['check-config', '--config', file]);
        expect(check.code).toBe(2);
        expect(check.stderr).toBe(`${file}: state: ${message}\n`);
        const run = await runCli('agent', ['run', '--config', file]);
        expect(run.code).toBe(2);
        expect(run.stderr).toBe(`${message}\n`);
      } finally {
        spawnSync('umount', [dir]);
        rmdirSync(dir);
      }
    });
  },
);

describe('TLS and plain HTTP mismatches, said in words', () => {
  const plain = new World();
  const certSkip = opensslAvailable();
  let tls: World | undefined;
  beforeAll(async () => {
    await plain.startCollector();
    if (certSkip) return;
    const ca = makeCa(plain.dir, 'ca');
    const server = issueCert(plain.dir, ca, 'collector');
    tls = new World({ collector: { tls: { certFile: server.certFile, keyFile: server.keyFile } } });
    await tls.startCollector();
  });
  afterAll(async () => {
    await tls?.cleanup();
    await plain.cleanup();
  });

  it('https:// to the plain HTTP port: enroll and status say the port does not speak TLS', async () => {
    const port = plain.port;
    const message = `the collector at https://127.0.0.1:${port} does not speak TLS on this port; use http://127.0.0.1:${port} or check the port`;
    const { code } = sqliteOf(plain.app!).createEnrollCode(XINGHAI.id, 60_000);
    const state = join(plain.dir, 'tls-to-plain');
    const e = await runCli('agent', [
      'enroll',
      '--collector',
      `https://127.0.0.1:${port}`,
      '--code',
      code,
      '--state',
      state,
    ]);
    expect(e.code).toBe(1);
    expect(e.stderr).toBe(`error: ${message}\n`);
    expect(existsSync(join(state, 'token'))).toBe(false);
    const config = plain.agentConfig('tls-to-plain');
    const file = writeConfig(plain, 'tls-to-plain', {
      ...config,
      collector: { ...config.collector, url: `https://127.0.0.1:${port}` },
    });
    const s = await runCli('agent', ['status', '--config', file]);
    expect(s.code).toBe(1);
    expect(s.stdout).toContain(`collector    https://127.0.0.1:${port} does not answer (${message})`);
    // an agent enrolled over http:// whose config then says https://: once keeps the report, says why
    const again = sqliteOf(plain.app!).createEnrollCode(XINGHAI.id, 60_000);
    const e2 = await runCli('agent', [
      'enroll',
      '--collector',
      plain.url,
      '--code',
      again.code,
      '--state',
      config.state,
    ]);
    expect(e2.code, e2.stderr).toBe(0);
    const o = await runCli('agent', ['once', '--config', file]);
    expect(o.code, o.stderr).toBe(0);
    expect(o.stdout).toContain(`delivered 0, spooled 1 (collector: ${message})\n`);
  });

  it.skipIf(skipping(certSkip, 'certificate cases'))(
    'http:// to the TLS port: enroll and status say the port speaks TLS',
    async () => {
      const port = tls!.port;
      const message = `the collector at http://127.0.0.1:${port} speaks TLS (HTTPS) on this port, not plain HTTP; use https://127.0.0.1:${port} or check the port`;
      const { code } = sqliteOf(tls!.app!).createEnrollCode(XINGHAI.id, 60_000);
      const e = await runCli('agent', [
        'enroll',
        '--collector',
        `http://127.0.0.1:${port}`,
        '--code',
        code,
        '--state',
        join(tls!.dir, 'plain-to-tls'),
      ]);
      expect(e.code).toBe(1);
      expect(e.stderr).toBe(`error: ${message}\n`);
      const config = tls!.agentConfig('plain-to-tls');
      const file = writeConfig(tls!, 'plain-to-tls', {
        ...config,
        collector: { ...config.collector, url: `http://127.0.0.1:${port}` },
      });
      const s = await runCli('agent', ['status', '--config', file]);
      expect(s.code).toBe(1);
      expect(s.stdout).toContain(`collector    http://127.0.0.1:${port} does not answer (${message})`);
    },
  );
});

describe('enrolment codes: a mistyped code differs from an unknown, used or expired one', () => {
  const w = new World();
  beforeAll(() => w.startCollector());
  afterAll(() => w.cleanup());
  const enroll = (code: string, state: string, ...extra: string[]) =>
    runCli('agent', [
      'enroll',
      '--collector',
      w.url,
      '--code',
      code,
      '--state',
      join(w.dir, state),
      ...extra,
    ]);
  const WHAT =
    'an enrolment code is 15 of the letters A-Z except I and O and the digits 2-9, in groups of five like ABCDE-FGHJK-LMNPQ';

  it('malformed: wrong characters or length, exit 2 before anything is sent', async () => {
    const chars = await enroll('WRONG-C0DE1-ABCDE', 'malformed');
    expect(chars.code).toBe(2);
    expect(chars.stderr).toBe(
      `--code: not an enrolment code: it contains "O", "0" and "1", which no enrolment code has (${WHAT}); retype it as 'campuswatch-collector enroll-code' printed it\n`,
    );
    const short = await enroll('ABCDE-FGHJK', 'malformed');
    expect(short.code).toBe(2);
    expect(short.stderr).toBe(
      `--code: not an enrolment code: it has 10 letters and digits, an enrolment code has 15 (${WHAT}); retype it as 'campuswatch-collector enroll-code' printed it\n`,
    );
    expect(existsSync(join(w.dir, 'malformed'))).toBe(false);
  });

  it('unknown, used and expired: the collector says which', async () => {
    const unknown = await enroll('ABCDE-FGHJK-LMNPQ', 'unknown');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe(
      'error: enrolment refused (HTTP 403): unknown enrolment code: this collector never issued it; check the code against what enroll-code printed, and the URL against the collector that printed it\n',
    );
    const { code } = sqliteOf(w.app!).createEnrollCode(XINGHAI.id, 60_000);
    // typed in lower case with spaces: the same code
    const typed = code.toLowerCase().replace(/-/g, ' ');
    expect((await enroll(typed, 'first')).code).toBe(0);
    const used = await enroll(code, 'second');
    expect(used.code).toBe(1);
    expect(used.stderr).toBe(
      'error: enrolment refused (HTTP 403): this enrolment code was already used; ask for a new one\n',
    );
    const expired = sqliteOf(w.app!).createEnrollCode(XINGHAI.id, 1, Date.now() - 10_000);
    const late = await enroll(expired.code, 'third');
    expect(late.code).toBe(1);
    expect(late.stderr).toBe(
      'error: enrolment refused (HTTP 403): this enrolment code has expired; ask for a new one\n',
    );
  });

  it('every code the collector issues is well formed to the agent', () => {
    expect(AGENT_ALPHABET).toBe(ENROLL_CODE_ALPHABET);
    for (let i = 0; i < 200; i++) {
      const { code } = sqliteOf(w.app!).createEnrollCode(XINGHAI.id, 60_000);
      expect(parseEnrollCode(code)).toEqual({ ok: true, code });
    }
  });
});

describe('collector URLs without a scheme say what they must start with', () => {
  const w = new World();
  afterAll(() => w.cleanup());

  it('enroll --collector host:port', async () => {
    const r = await runCli('agent', [
      'enroll',
      '--collector',
      'collector.example.edu.cn:8443',
      '--code',
      'ABCDE-FGHJK-LMNPQ',
      '--state',
      join(w.dir, 'a'),
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      '--collector: must start with https:// (or http:// for testing), e.g. https://collector.example.edu.cn:8443\n',
    );
    const ftp = await runCli('agent', [
      'enroll',
      '--collector',
      'ftp://collector.example.edu.cn',
      '--code',
      'ABCDE-FGHJK-LMNPQ',
      '--state',
      join(w.dir, 'a'),
    ]);
    expect(ftp.stderr).toBe('--collector: must start with https:// (or http:// for testing), not ftp://\n');
  });

  it('collector.url in agent.yaml: check-config names the field', async () => {
    const config = w.agentConfig('url', { rooms: [] }); // no collector started: no device on its port
    const file = writeConfig(w, 'url', {
      ...config,
      collector: { ...config.collector, url: 'collector.example.edu.cn' },
    });
    const r = await runCli('agent', ['check-config', '--config', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `${file}: collector.url: must start with https:// (or http:// for testing), e.g. https://collector.example.edu.cn\n`,
    );
  });
});

describe('check-config prints each probe’s schedule', () => {
  const w = new World();
  afterAll(() => w.cleanup());

  it("the speed test's window, this school's start and the next run, as the scheduler will run it", async () => {
    const base = w.agentConfig('schedule', { rooms: [] });
    const window = { start: '22:30', end: '02:00' }; // across midnight
    const file = writeConfig(w, 'schedule', {
      ...base,
      probes: {
        ...base.probes,
        bandwidth: { ...base.probes.bandwidth, enabled: true, window },
        host: { ...base.probes.host, enabled: true, intervalS: 300 },
        security: { ...base.probes.security, enabled: false },
      },
    });
    const before = Date.now();
    const r = await runCli('agent', ['check-config', '--config', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^host +yes +300s +20s +every 5 min$/m);
    expect(r.stdout).toMatch(/^security +no +\S+ +\S+ +off$/m);
    const m =
      /^bandwidth +yes +\S+ +\S+ +nightly in 22:30-02:00 Asia\/Shanghai, this school at (\d\d):(\d\d); next (.+)$/m.exec(
        r.stdout,
      );
    expect(m, r.stdout).not.toBeNull();
    const tz = 'Asia/Shanghai'; // UTC+8 all year
    const next = m![3]!;
    if (next === 'at the next cycle (its window is open now)') {
      expect(inSpeedtestWindow(XINGHAI.id, tz, window, undefined, Date.now())).toBe(true);
      return;
    }
    const at = Date.parse(`${next.replace(' ', 'T')}:00+08:00`);
    expect(next).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d$/);
    expect(`${m![1]}:${m![2]}`).toBe(next.slice(11));
    // the first minute the scheduler would start it, within the next day
    expect(at).toBeGreaterThan(before - 60_000);
    expect(at - before).toBeLessThanOrEqual(86_400_000);
    expect(inSpeedtestWindow(XINGHAI.id, tz, window, undefined, at)).toBe(true);
    expect(inSpeedtestWindow(XINGHAI.id, tz, window, undefined, at - 60_000)).toBe(false);
  });
});
