import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseAgentConfig } from '../../agent/src/config.js';
import { parseCollectorConfig } from '../../collector/src/config.js';
import { issueCert, makeCa, opensslAvailable } from '../helpers/certs.js';
import { type CliResult, runCommand } from '../helpers/cli.js';
import { skipping } from '../helpers/skip.js';
import { sqliteOf, WORLD_ADMIN_TOKEN, World, XINGHAI } from '../helpers/world.js';

/**
 * deploy/: the agent installer run for real (into a --prefix, without systemd) against a real collector,
 * and the systemd units, the Dockerfile and the compose file checked against the repository.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEPLOY = join(ROOT, 'deploy');
const SCRIPT = join(DEPLOY, 'install-agent.sh');

function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

function installSkipReason(): string | undefined {
  if (process.platform !== 'linux') return 'the installer targets Debian/Ubuntu (Linux)';
  if (process.getuid?.() !== 0) return 'not root: deploy/install-agent.sh runs as root on a school box';
  for (const tool of ['bash', 'ping', 'fping', 'find', 'cp']) {
    if (!which(tool)) return `\`${tool}\` not found (the installer would install or need it)`;
  }
  if (!existsSync(join(ROOT, 'dist/agent-bundle/cli.js')))
    return 'no dist/: run `npm run build` first (the test installs the built package with --no-build)';
  if (!existsSync(join(ROOT, 'node_modules/better-sqlite3'))) return 'no node_modules: run `npm ci` first';
  return undefined;
}

type Run = CliResult;

function install(args: string[]): Promise<Run> {
  return runCommand('bash', [SCRIPT, ...args]);
}

function run(file: string, args: string[]): Run {
  const r = spawnSync(file, args, {
    encoding: 'utf8',
    env: { ...process.env, CAMPUSWATCH_LOG_LEVEL: 'warn' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const mode = (file: string) => statSync(file).mode & 0o777;
const explain = (r: Run) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

interface SchoolDetail {
  agents: { id: string; hostname: string }[];
}

async function enrolledAgents(baseUrl: string, schoolId: string, ca?: string): Promise<string[]> {
  const dispatcher = ca ? new Agent({ connect: { ca } }) : undefined;
  try {
    const res = await request(`${baseUrl}/api/v1/schools/${schoolId}`, {
      headers: { authorization: `Bearer ${WORLD_ADMIN_TOKEN}` },
      ...(dispatcher ? { dispatcher } : {}),
    });
    expect(res.statusCode).toBe(200);
    return ((await res.body.json()) as SchoolDetail).agents.map((a) => a.id);
  } finally {
    await dispatcher?.close();
  }
}

/** The paths an install below `prefix` writes. */
function layout(prefix: string) {
  const state = join(prefix, 'var/lib/campuswatch-agent');
  return {
    opt: join(prefix, 'opt/campuswatch'),
    bin: join(prefix, 'usr/local/bin/campuswatch-agent'),
    etc: join(prefix, 'etc/campuswatch'),
    config: join(prefix, 'etc/campuswatch/agent.yaml'),
    state,
    token: join(state, 'token'),
    identity: join(state, 'identity.json'),
  };
}

const skip = installSkipReason();
if (skip) console.warn(`[install-agent.test] SKIPPED the installer runs: ${skip}`);

const schoolName = `${XINGHAI.name} (安装测试)`;

describe.skipIf(skip !== undefined)(
  `deploy/install-agent.sh --no-systemd --prefix against a real collector${skip ? ` (SKIPPED: ${skip})` : ''}`,
  () => {
    // made in beforeAll: a skipped suite's body still runs (collection) and must leave nothing behind
    let world: World;
    let dir: string;
    let prefix: string;
    let p: ReturnType<typeof layout>;
    let common: string[];
    let firstCode = '';

    beforeAll(async () => {
      world = new World();
      dir = mkdtempSync(join(tmpdir(), 'cw-install-'));
      prefix = join(dir, 'root');
      p = layout(prefix);
      // --skip-packages: the test never reaches for apt (no network); the script still checks the binaries
      common = ['--no-systemd', '--skip-packages', '--prefix', prefix, '--from-dir', ROOT, '--no-build'];
      await world.startCollector();
    });
    afterAll(async () => {
      await world?.cleanup();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const newCode = () => sqliteOf(world.app!).createEnrollCode(XINGHAI.id, 3_600_000).code;
    const identity = () =>
      JSON.parse(readFileSync(p.identity, 'utf8')) as { agentId: string; schoolId: string };

    it('refuses a first install without --code with the exact message, and touches nothing', async () => {
      const r = await install([
        ...common,
        '--collector',
        world.url,
        '--school-id',
        XINGHAI.id,
        '--school-name',
        schoolName,
      ]);
      expect(r.code, explain(r)).toBe(2);
      expect(r.stderr).toBe(
        "install-agent.sh: missing --code CODE (the one-time enrolment code: run 'campuswatch-collector enroll-code --school ID' on the collector)\n",
      );
      expect(r.stdout).toBe('');
      expect(existsSync(prefix)).toBe(false);
    });

    it('installs the package, writes agent.yaml, enrols (token 0600) and passes check-config', async () => {
      firstCode = newCode();
      const r = await install([
        ...common,
        '--collector',
        world.url,
        '--code',
        firstCode,
        '--school-id',
        XINGHAI.id,
        '--school-name',
        schoolName,
        '--district',
        XINGHAI.district!,
        '--pupils',
        String(XINGHAI.pupils),
      ]);
      expect(r.code, explain(r)).toBe(0);
      expect(r.stdout).toContain(`==> enrolling with ${world.url}`);

      // the package: built code, packaged config, deploy files, production dependencies only
      for (const f of [
        'package.json',
        'dist/agent-bundle/cli.js',
        'dist/collector/src/cli.js',
        'dist/protocol/version.js',
        'config/targets.yaml',
        'config/baseline.yaml',
        'config/agent.example.yaml',
        'deploy/systemd/campuswatch-agent.service',
        'deploy/lib/agent-config.mjs',
        'node_modules/better-sqlite3/package.json',
        'node_modules/yaml/package.json',
      ]) {
        expect(existsSync(join(p.opt, f)), f).toBe(true);
      }
      for (const dev of ['typescript', 'vitest', '@biomejs/biome', 'tsx']) {
        expect(existsSync(join(p.opt, 'node_modules', dev)), `dev dependency ${dev} installed`).toBe(false);
      }
      expect(existsSync(`${p.opt}.new`)).toBe(false);
      expect(mode(p.bin) & 0o111).toBe(0o111);

      // the configuration: this school, this collector, the prefixed state dir; readable by root (and group)
      expect(mode(p.config)).toBe(0o640);
      const config = parseAgentConfig(readFileSync(p.config, 'utf8'), p.config);
      expect(config.school).toMatchObject({
        id: XINGHAI.id,
        name: schoolName,
        district: XINGHAI.district,
        pupils: XINGHAI.pupils,
      });
      expect(config.collector.url).toBe(world.url);
      expect(config.state).toBe(p.state);
      expect(config.rooms).toEqual([]); // the example's 127.0.0.1 rooms would fake a compliant school
      expect(mode(join(p.etc, 'agent.env'))).toBe(0o600);

      // the enrolment: token 0600 in a 0700 state dir, and the collector lists exactly this agent
      expect(mode(p.state)).toBe(0o700);
      expect(mode(p.token)).toBe(0o600);
      expect(readFileSync(p.token, 'utf8').trim()).toMatch(/^\S{20,}$/);
      expect(identity().schoolId).toBe(XINGHAI.id);
      expect(await enrolledAgents(world.url, XINGHAI.id)).toEqual([identity().agentId]);

      // check-config, through the installed command, as the school IT officer runs it
      const check = run(p.bin, ['check-config', '--config', p.config]);
      expect(check.code, explain(check)).toBe(0);
      expect(check.stdout).toContain(`${p.config}: OK`);
      expect(check.stdout).toContain(XINGHAI.id);
      expect(r.stdout).toContain(`${p.config}: OK`); // the installer ran it too
    });

    it('running it again upgrades the package in place, keeps agent.yaml and does not enrol again', async () => {
      const token = readFileSync(p.token, 'utf8');
      const { agentId } = identity();
      writeFileSync(join(p.opt, 'left-from-the-old-version'), 'x');
      writeFileSync(p.config, `${readFileSync(p.config, 'utf8')}# edited by the IT officer\n`);

      // the same (now used) code: an attempt to enrol again would fail
      const r = await install([
        ...common,
        '--collector',
        world.url,
        '--code',
        firstCode,
        '--school-id',
        XINGHAI.id,
        '--school-name',
        schoolName,
      ]);
      expect(r.code, explain(r)).toBe(0);
      expect(r.stdout).toContain(
        `already enrolled as agent ${agentId} of school ${XINGHAI.id}; not enrolling again`,
      );
      expect(r.stdout).not.toContain('==> enrolling');
      expect(readFileSync(p.token, 'utf8')).toBe(token);
      expect(await enrolledAgents(world.url, XINGHAI.id)).toEqual([agentId]);
      expect(existsSync(join(p.opt, 'left-from-the-old-version'))).toBe(false);
      expect(existsSync(join(p.opt, 'dist/agent-bundle/cli.js'))).toBe(true);
      expect(readFileSync(p.config, 'utf8')).toContain('# edited by the IT officer');
    });

    it('--re-enroll with a new code replaces the token with a new agent (the rest comes from the files)', async () => {
      const before = identity().agentId;
      const token = readFileSync(p.token, 'utf8');
      // no --collector / --school-*: agent.yaml exists, the URL comes from it
      const r = await install([...common, '--re-enroll', '--code', newCode()]);
      expect(r.code, explain(r)).toBe(0);
      const after = identity().agentId;
      expect(after).not.toBe(before);
      expect(readFileSync(p.token, 'utf8')).not.toBe(token);
      expect(mode(p.token)).toBe(0o600);
      expect((await enrolledAgents(world.url, XINGHAI.id)).sort()).toEqual([before, after].sort());
    });

    const cli = existsSync(join(ROOT, 'dist/agent-bundle/cli.js'))
      ? readFileSync(join(ROOT, 'dist/agent-bundle/cli.js'), 'utf8')
      : '';
    const tlsSkip =
      opensslAvailable() ??
      (cli.includes('--ca-file')
        ? undefined
        : 'dist/ predates `enroll --ca-file` (collector TLS): run `npm run build`');
    it.skipIf(skipping(tlsSkip))(
      `--ca-file: enrols over HTTPS with a private CA and pins it in agent.yaml${tlsSkip ? ` (SKIPPED: ${tlsSkip})` : ''}`,
      async () => {
        const certs = join(dir, 'certs');
        mkdirSync(certs);
        const ca = makeCa(certs, 'district-ca');
        const server = issueCert(certs, ca, 'collector');
        const tlsWorld = new World({
          collector: { tls: { certFile: server.certFile, keyFile: server.keyFile } },
        });
        try {
          await tlsWorld.startCollector();
          const url = `https://127.0.0.1:${tlsWorld.port}`;
          const code = sqliteOf(tlsWorld.app!).createEnrollCode(XINGHAI.id, 3_600_000).code;
          const tlsPrefix = join(dir, 'tls-root');
          const t = layout(tlsPrefix);
          const r = await install([
            '--no-systemd',
            '--skip-packages',
            '--prefix',
            tlsPrefix,
            '--from-dir',
            ROOT,
            '--no-build',
            '--collector',
            url,
            '--code',
            code,
            '--school-id',
            XINGHAI.id,
            '--school-name',
            XINGHAI.name,
            '--ca-file',
            ca.certFile,
          ]);
          expect(r.code, explain(r)).toBe(0);
          const pinned = join(t.etc, 'collector-ca.pem');
          expect(readFileSync(pinned, 'utf8')).toBe(ca.cert);
          const config = parseAgentConfig(readFileSync(t.config, 'utf8'), t.config);
          expect(config.collector).toMatchObject({ url, caFile: pinned });
          expect(mode(t.token)).toBe(0o600);
          const { agentId } = JSON.parse(readFileSync(t.identity, 'utf8')) as { agentId: string };
          expect(await enrolledAgents(url, XINGHAI.id, ca.cert)).toEqual([agentId]);
        } finally {
          await tlsWorld.cleanup();
        }
      },
    );
  },
);

// ------------------------------------------------------------------------------------------------------
// The systemd units, the Dockerfile and the compose file (no Docker engine and no systemd as PID 1 here:
// these checks read the files; systemd-analyze verify runs when it is installed).

/** `[Service]` (or another section) of a unit file: every key with all its values in order. */
function unitSection(file: string, section: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current = '';
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = header[1]!;
      continue;
    }
    if (current !== section) continue;
    const i = line.indexOf('=');
    const key = line.slice(0, i);
    out.set(key, [...(out.get(key) ?? []), line.slice(i + 1)]);
  }
  return out;
}

describe('deploy/systemd units', () => {
  const agentUnit = join(DEPLOY, 'systemd/campuswatch-agent.service');
  const collectorUnit = join(DEPLOY, 'systemd/campuswatch-collector.service');

  it('give CAP_NET_RAW to the agent only, and name the paths the programs default to', () => {
    const agent = unitSection(agentUnit, 'Service');
    const collector = unitSection(collectorUnit, 'Service');
    expect(agent.get('AmbientCapabilities')).toEqual(['CAP_NET_RAW']);
    expect(agent.get('CapabilityBoundingSet')).toEqual(['CAP_NET_RAW']);
    expect(collector.get('AmbientCapabilities')).toEqual(['']);
    expect(collector.get('CapabilityBoundingSet')).toEqual(['']);
    expect(agent.get('RestrictAddressFamilies')?.[0]?.split(' ').sort()).toEqual(
      ['AF_INET', 'AF_INET6', 'AF_NETLINK', 'AF_UNIX'].sort(),
    );
    expect(collector.get('RestrictAddressFamilies')?.[0]?.split(' ')).not.toContain('AF_NETLINK');
    for (const [unit, name] of [
      [agent, 'agent'],
      [collector, 'collector'],
    ] as const) {
      expect(unit.get('StateDirectory')).toEqual([`campuswatch-${name}`]);
      expect(unit.get('ConfigurationDirectory')).toEqual(['campuswatch']);
      expect(unit.get('EnvironmentFile')).toEqual([`-/etc/campuswatch/${name}.env`]);
      expect(unit.get('ExecStart')?.[0]).toBe(
        name === 'agent'
          ? '/usr/bin/node --lite-mode --no-expose-wasm /opt/campuswatch/dist/agent-bundle/cli.js run --config /etc/campuswatch/agent.yaml'
          : '/usr/bin/node /opt/campuswatch/dist/collector/src/cli.js run --config /etc/campuswatch/collector.yaml',
      );
      for (const [k, v] of Object.entries({
        NoNewPrivileges: 'yes',
        ProtectSystem: 'strict',
        ProtectHome: 'yes',
        PrivateTmp: 'yes',
        Restart: 'on-failure',
        RestartPreventExitStatus: '2',
      })) {
        expect(unit.get(k), `${name}: ${k}`).toEqual([v]);
      }
      expect(unit.get('MemoryMax')?.[0]).toMatch(/^\d+[MG]$/);
      expect(unit.get('TimeoutStopSec')?.[0]).toMatch(/^\d+s$/);
      expect(unit.has('MemoryDenyWriteExecute'), 'V8 needs W+X memory').toBe(false);
    }
    expect(unitSection(agentUnit, 'Unit').get('StartLimitBurst')).toBeDefined();
    // the defaults of the programs are the unit's directories
    expect(parseCollectorConfig('').dataDir).toBe('/var/lib/campuswatch-collector');
    expect(
      parseAgentConfig('school: { id: a, name: b }\ncollector: { url: "http://127.0.0.1:1" }\n').state,
    ).toBe('/var/lib/campuswatch-agent');
  });

  const verifySkip = which('systemd-analyze') ? undefined : '`systemd-analyze` not installed';
  it.skipIf(skipping(verifySkip))(
    `pass systemd-analyze verify without a warning${verifySkip ? ` (SKIPPED: ${verifySkip})` : ''}`,
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'cw-units-'));
      try {
        // the units name /usr/bin/node (the installer rewrites it): verify checks that the binary exists
        const files = [agentUnit, collectorUnit].map((f) => {
          const out = join(dir, f.slice(f.lastIndexOf('/') + 1));
          writeFileSync(out, readFileSync(f, 'utf8').replaceAll('/usr/bin/node ', `${process.execPath} `));
          return out;
        });
        const r = spawnSync('systemd-analyze', ['verify', ...files], { encoding: 'utf8', cwd: dir });
        expect(r.status, r.stderr).toBe(0);
        expect(r.stderr.trim()).toBe('');
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});

describe('deploy/docker (parsed here; no Docker engine on this machine)', () => {
  const dockerDir = join(DEPLOY, 'docker');

  it('docker-compose.yml parses and mounts only paths that exist in the repository', () => {
    const compose = parse(readFileSync(join(dockerDir, 'docker-compose.yml'), 'utf8')) as {
      services: Record<
        string,
        { image?: string; build?: { context: string; dockerfile: string }; volumes?: string[] }
      >;
      volumes: Record<string, unknown>;
    };
    expect(Object.keys(compose.services).sort()).toEqual(['collector', 'grafana', 'influxdb']);
    const build = compose.services.collector!.build!;
    expect(existsSync(join(resolve(dockerDir, build.context), build.dockerfile))).toBe(true);
    expect(compose.services.influxdb!.image).toContain('influxdb:1.8');

    const binds: string[] = [];
    for (const [name, service] of Object.entries(compose.services)) {
      for (const v of service.volumes ?? []) {
        const [source, target] = v.split(':');
        if (source!.startsWith('.')) {
          binds.push(source!);
          // ./tls holds the operator's own certificate and key: made at install time, never in git
          if (source === './tls') continue;
          expect(existsSync(resolve(dockerDir, source!)), `${name}: ${source}`).toBe(true);
        } else {
          expect(compose.volumes, `${name}: named volume ${source}`).toHaveProperty(source!);
        }
        expect(target, v).toMatch(/^\//);
      }
    }
    expect(binds).toContain('../../dashboards/provisioning/dashboards');
    expect(binds).toContain('../../dashboards/provisioning/alerting');

    // Grafana: the file provider reads the path the generated dashboards are mounted at, and the compose
    // data source keeps the uid every dashboard refers to
    const provider = parse(
      readFileSync(join(ROOT, 'dashboards/provisioning/dashboards/campuswatch.yaml'), 'utf8'),
    ) as { providers: { options: { path: string } }[] };
    expect(compose.services.grafana!.volumes).toContain(
      `../../dashboards/generated:${provider.providers[0]!.options.path}:ro`,
    );
    const uid = (f: string) =>
      (parse(readFileSync(f, 'utf8')) as { datasources: { uid: string }[] }).datasources[0]!.uid;
    expect(uid(join(dockerDir, 'grafana/datasources/campuswatch.yaml'))).toBe(
      uid(join(ROOT, 'dashboards/provisioning/datasources/campuswatch.yaml')),
    );
    const dashboards = readFileSync(join(ROOT, 'dashboards/generated/cw-overview.json'), 'utf8');
    expect(dashboards).toContain(uid(join(dockerDir, 'grafana/datasources/campuswatch.yaml')));
  });

  it('the Dockerfile copies only what exists, runs as a non-root user and checks /healthz', () => {
    const text = readFileSync(join(dockerDir, 'Dockerfile'), 'utf8');
    expect(text).toMatch(/^ARG NODE_IMAGE=node:20-slim$/m);
    expect(text).toMatch(/npm ci --omit=dev/);
    expect(text).toMatch(/^HEALTHCHECK .*\n?.*healthcheck\.mjs/m);
    const users = [...text.matchAll(/^USER (\S+)$/gm)].map((m) => m[1]);
    expect(users.at(-1)).toBe('campuswatch');
    const ignore = readFileSync(join(dockerDir, 'Dockerfile.dockerignore'), 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'));
    for (const m of text.matchAll(/^COPY (?!--from)(.+) (\S+)$/gm)) {
      for (const source of m[1]!.split(/\s+/)) {
        expect(existsSync(join(ROOT, source)), `COPY ${source}`).toBe(true);
        expect(
          ignore.some((pattern) => source === pattern || source.startsWith(`${pattern}/`)),
          `${source} is excluded by the .dockerignore`,
        ).toBe(false);
      }
    }
    expect(ignore).toEqual(expect.arrayContaining(['**/node_modules', 'dist', '.git']));
    const health = spawnSync(process.execPath, ['--check', join(dockerDir, 'healthcheck.mjs')]);
    expect(health.status).toBe(0);
  });

  const certSkip = opensslAvailable();
  it.skipIf(skipping(certSkip))(
    `collector.compose.yaml is a valid collector config once its secrets are set${certSkip ? ` (SKIPPED: ${certSkip})` : ''}`,
    () => {
      const dir = mkdtempSync(join(tmpdir(), 'cw-compose-'));
      const saved = {
        user: process.env.CAMPUSWATCH_INFLUX_USER,
        pass: process.env.CAMPUSWATCH_INFLUX_PASSWORD,
      };
      try {
        const ca = makeCa(dir, 'ca');
        issueCert(dir, ca, 'collector');
        process.env.CAMPUSWATCH_INFLUX_USER = 'cw-admin';
        process.env.CAMPUSWATCH_INFLUX_PASSWORD = 'from-the-environment';
        const text = readFileSync(join(dockerDir, 'collector.compose.yaml'), 'utf8').replaceAll(
          '/etc/campuswatch/tls/',
          `${dir}/`,
        );
        const config = parseCollectorConfig(text, 'collector.compose.yaml');
        expect(config.listen).toBe('0.0.0.0:8080');
        expect(config.dataDir).toBe('/var/lib/campuswatch-collector');
        expect(config.tls?.certFile).toBe(join(dir, 'collector.crt'));
        expect(config.influx).toMatchObject({
          url: 'http://influxdb:8086',
          database: 'campuswatch',
          username: 'cw-admin',
          password: 'from-the-environment',
          outbox: { enabled: true, maxPendingPoints: 100_000 },
        });
      } finally {
        if (saved.user === undefined) delete process.env.CAMPUSWATCH_INFLUX_USER;
        else process.env.CAMPUSWATCH_INFLUX_USER = saved.user;
        if (saved.pass === undefined) delete process.env.CAMPUSWATCH_INFLUX_PASSWORD;
        else process.env.CAMPUSWATCH_INFLUX_PASSWORD = saved.pass;
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
