import { type ChildProcess, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { parseAgentConfig } from '../../agent/src/config.js';
import { enrolledCredentials } from '../../agent/src/credentials.js';
import { Forwarder } from '../../agent/src/forwarder.js';
import { smallRequest } from '../../agent/src/http-client.js';
import { loadIdentity } from '../../agent/src/identity.js';
import { silentLogger } from '../../agent/src/log.js';
import { runSpeedtest, SpeedtestError } from '../../agent/src/probes/bandwidth/speedtest-client.js';
import { PROBES } from '../../agent/src/probes/registry.js';
import { Spool } from '../../agent/src/spool/spool.js';
import { hashPassword } from '../../collector/src/access/passwords.js';
import { parseCollectorConfig } from '../../collector/src/config.js';
import { type RunningCollector, startCollector } from '../../collector/src/server.js';
import { ConfigError } from '../../protocol/config-file.js';
import { type CertPair, issueCert, makeCa, opensslAvailable } from '../helpers/certs.js';
import { programArgs, runCli } from '../helpers/cli.js';
import { makeReport } from '../helpers/reports.js';
import { sqliteOf, WORLD_ADMIN_TOKEN, XINGHAI } from '../helpers/world.js';

// The collector serves HTTPS from its configured certificate and key; agents trust only the CA they are
// given (collector.caFile / --ca-file) for the API, enrolment, status and the speed-test streams.
// Certificates are made with openssl in a temp dir: a CA, a server certificate it issues for
// 127.0.0.1/::1/localhost, and a second, unrelated CA whose trust must not be enough.

const SKIP = opensslAvailable();
if (SKIP) console.warn(`[tls.test] SKIPPED: ${SKIP}`);

const dir = mkdtempSync(join(tmpdir(), 'cw-tls-'));
let ca: CertPair;
let otherCa: CertPair;
let server: CertPair;

beforeAll(() => {
  if (SKIP) return;
  ca = makeCa(dir, 'ca');
  otherCa = makeCa(dir, 'other-ca');
  server = issueCert(dir, ca, 'collector');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function collectorConfig(name: string, extra: Record<string, unknown> = {}) {
  return parseCollectorConfig(
    JSON.stringify({
      listen: '127.0.0.1:0',
      dataDir: join(dir, name),
      schools: [XINGHAI],
      tls: { certFile: server.certFile, keyFile: server.keyFile },
      adminToken: WORLD_ADMIN_TOKEN,
      ...extra,
    }),
    `${name}.yaml`,
  );
}

function enrollDirect(running: RunningCollector): { agentId: string; token: string } {
  const state = sqliteOf(running.app);
  const { code } = state.createEnrollCode(XINGHAI.id, 60_000);
  const r = state.enroll(code, { hostname: 'tls-test', version: '0.1.0' });
  if ('error' in r) throw new Error(r.error);
  return { agentId: r.agent.id, token: r.token };
}

/** The certificate the server presents, by fingerprint. */
async function presentedFingerprint(url: string, caPem: string): Promise<string> {
  const u = new URL(url);
  const socket = tlsConnect({ host: u.hostname, port: Number(u.port), ca: caPem });
  try {
    await once(socket, 'secureConnect');
    return socket.getPeerX509Certificate()!.fingerprint256;
  } finally {
    socket.destroy();
  }
}

describe.skipIf(SKIP !== undefined)('collector over HTTPS (in process)', () => {
  let running: RunningCollector;
  let agent: { agentId: string; token: string };
  const spools: Spool[] = [];
  beforeAll(async () => {
    running = await startCollector(collectorConfig('inproc', { speedtest: { listen: '127.0.0.1:0' } }), {
      log: silentLogger(),
    });
    agent = enrollDirect(running);
  });
  afterAll(async () => {
    for (const s of spools) s.close();
    await running?.close();
  });

  const spool = () => {
    const s = new Spool(join(mkdtempSync(join(dir, 'spool-')), 'spool.sqlite'), 100);
    spools.push(s);
    return s;
  };

  it('listens on https:// with the configured certificate; plain HTTP to that port gets no answer', async () => {
    expect(running.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(await presentedFingerprint(running.url, ca.cert)).toBe(
      new X509Certificate(server.cert).fingerprint256,
    );
    const health = await smallRequest(new URL('/healthz', running.url), {
      signal: AbortSignal.timeout(10_000),
      ca: ca.cert,
    });
    expect(health.status).toBe(200);
    const plain = smallRequest(new URL('/healthz', running.url.replace('https:', 'http:')), {
      signal: AbortSignal.timeout(10_000),
    });
    await expect(plain).rejects.toMatchObject({ code: 'ECONNRESET' });
  });

  it('a forwarder pinned to the right CA delivers; pinned to another CA (or with the system roots) the report stays spooled', async () => {
    const s = spool();
    const report = makeReport({ agentId: agent.agentId, schoolId: XINGHAI.id });
    s.enqueue(report);
    const forwarder = (opts: { caFile?: string }) =>
      new Forwarder({
        collectorUrl: running.url,
        token: agent.token,
        spool: s,
        log: silentLogger(),
        ...opts,
      });

    for (const wrong of [forwarder({ caFile: otherCa.certFile }), forwarder({})]) {
      const r = await wrong.flush();
      expect(r).toMatchObject({
        delivered: 0,
        stopped: { kind: 'network', code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' },
      });
      expect(r.stopped).toMatchObject({
        message: expect.stringMatching(
          /^the collector's TLS certificate is not trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE: /,
        ),
      });
      expect(s.counters().depth).toBe(1);
      await wrong.close();
    }
    const right = forwarder({ caFile: ca.certFile });
    expect(await right.flush()).toEqual({ delivered: 1, rejected: 0 });
    await right.close();
    expect(s.counters()).toMatchObject({ depth: 0, delivered: 1 });
    const school = await running.app.inject({
      method: 'GET',
      url: `/api/v1/schools/${XINGHAI.id}`,
      headers: { authorization: `Bearer ${WORLD_ADMIN_TOKEN}` },
    });
    expect(JSON.stringify(school.json())).toContain(agent.agentId);
  });

  it('over HTTPS the session cookie is also Secure', async () => {
    const access = running.app.campuswatch.state.access;
    await access.addAccount(
      {
        name: 'tls-user',
        role: 'viewer',
        scope: { level: 'city' },
        passwordHash: await hashPassword('Secure-Pass-42'),
      },
      new Date(),
    );
    const login = await running.app.inject({
      method: 'POST',
      url: '/api/v1/login',
      payload: { name: 'tls-user', password: 'Secure-Pass-42' },
    });
    expect(login.statusCode, login.body).toBe(200);
    expect(String(login.headers['set-cookie'])).toMatch(/; HttpOnly; Secure; SameSite=Strict$/);
  });

  it('speed test over HTTPS, streams on their own HTTPS listener, trusting only the pinned CA', async () => {
    const opts = {
      server: running.url,
      token: agent.token,
      streams: 2,
      maxStreams: 2,
      durationS: 1,
      omitS: 0.2,
      now: () => new Date(),
      log: silentLogger(),
    };
    const slot = await running.app.inject({
      method: 'POST',
      url: '/api/v1/speedtest/slots',
      headers: { authorization: `Bearer ${agent.token}` },
    });
    const { url: streamUrl, slotId } = slot.json() as { url: string; slotId: string };
    expect(streamUrl).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(streamUrl).not.toBe(running.url);
    await running.app.inject({
      method: 'DELETE',
      url: `/api/v1/speedtest/slots/${slotId}`,
      headers: { authorization: `Bearer ${agent.token}` },
    });

    const results = await runSpeedtest({ ...opts, ca: ca.cert, signal: AbortSignal.timeout(60_000) });
    expect(results.map((r) => [r.direction, r.outcome])).toEqual([
      ['down', 'ok'],
      ['up', 'ok'],
    ]);
    expect(results.every((r) => r.mbps > 0 && r.bytes > 0)).toBe(true);

    const refused = runSpeedtest({ ...opts, ca: otherCa.cert, signal: AbortSignal.timeout(60_000) });
    await expect(refused).rejects.toBeInstanceOf(SpeedtestError);
    await expect(refused).rejects.toMatchObject({
      outcome: 'error',
      message: expect.stringContaining('UNABLE_TO_VERIFY_LEAF_SIGNATURE'),
    });
  });

  it('the bandwidth probe takes collector.caFile from the agent config', async () => {
    const state = mkdtempSync(join(dir, 'bw-agent-'));
    writeFileSync(join(state, 'token'), `${agent.token}\n`);
    writeFileSync(
      join(state, 'identity.json'),
      JSON.stringify({
        agentId: agent.agentId,
        schoolId: XINGHAI.id,
        collectorUrl: running.url,
        enrolledAt: '',
      }),
    );
    const config = (caFile: string) =>
      parseAgentConfig(
        JSON.stringify({
          school: XINGHAI,
          collector: { url: running.url, caFile },
          state,
          probes: { bandwidth: { enabled: true, durationS: 2, omitS: 0, streams: 1, maxStreams: 1 } },
        }),
      );
    // the credentials as the agent hands them to the probe: the state directory's token, collector.caFile's PEM
    const ctx = (c: ReturnType<typeof config>) => ({
      signal: AbortSignal.timeout(60_000),
      log: silentLogger(),
      now: () => new Date(),
      credentials: enrolledCredentials(c),
    });
    const ok = await PROBES.bandwidth.run(config(ca.certFile), ctx(config(ca.certFile)));
    expect(ok.map((r) => r.outcome)).toEqual(['ok', 'ok']);
    const wrong = await PROBES.bandwidth.run(config(otherCa.certFile), ctx(config(otherCa.certFile)));
    expect(wrong.map((r) => r.outcome)).toEqual(['error', 'error']);
    expect(wrong[0]!.error).toContain('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });
});

/** `campuswatch-collector run --config FILE` as a process; resolves once it says where it listens. */
async function runCollectorProcess(
  configFile: string,
): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn(process.execPath, [...programArgs('collector'), 'run', '--config', configFile], {
    env: { ...process.env, CAMPUSWATCH_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const lines: string[] = [];
  for await (const line of createInterface({ input: child.stdout! })) {
    lines.push(line);
    const m = /^campuswatch collector listening on (\S+) /.exec(line);
    if (m) return { child, url: m[1]!, output: () => `${lines.join('\n')}\n${stderr}` };
  }
  throw new Error(`the collector exited without listening:\n${lines.join('\n')}\n${stderr}`);
}

describe.skipIf(SKIP !== undefined)('collector and agent processes over HTTPS', () => {
  let collector: Awaited<ReturnType<typeof runCollectorProcess>>;
  let collectorYaml: string;
  const state = join(dir, 'cli-agent');
  beforeAll(async () => {
    collectorYaml = join(dir, 'collector.yaml');
    writeFileSync(
      collectorYaml,
      stringify({
        listen: '127.0.0.1:0',
        dataDir: join(dir, 'cli-collector'),
        tls: { certFile: server.certFile, keyFile: server.keyFile },
        schools: [XINGHAI],
      }),
    );
    collector = await runCollectorProcess(collectorYaml);
  });
  afterAll(async () => {
    const child = collector?.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }
  });

  const enrollCode = async () => {
    const r = await runCli('collector', ['enroll-code', '--config', collectorYaml, '--school', XINGHAI.id]);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout.trim();
  };

  it('prints an https:// URL', () => {
    expect(collector.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('enroll --ca-file works; without it the certificate is refused and nothing is saved; a missing CA file is a usage error', async () => {
    const code = await enrollCode();
    const args = ['enroll', '--collector', collector.url, '--code', code, '--state', state];
    const unpinned = await runCli('agent', args);
    expect(unpinned.code).toBe(1);
    expect(unpinned.stderr).toBe(
      `error: cannot reach the collector at ${collector.url}: the collector's TLS certificate is not trusted (UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate); check collector.caFile / --ca-file\n`,
    );
    expect(existsSync(join(state, 'token'))).toBe(false);
    const missing = await runCli('agent', [...args, '--ca-file', join(dir, 'nope.pem')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(`cannot read --ca-file ${join(dir, 'nope.pem')} (ENOENT)\n`);

    const pinned = await runCli('agent', [...args, '--ca-file', ca.certFile]);
    expect(pinned.code, pinned.stderr).toBe(0);
    expect(pinned.stdout).toMatch(/^enrolled as agent ag_\S+ for school sz-xinghai-junior\n$/);
    expect(loadIdentity(state)?.identity.collectorUrl).toBe(collector.url);
    expect(statSync(join(state, 'token')).mode & 0o777).toBe(0o600);
  });

  it('once and status with collector.caFile: delivered and answering; with another CA: spooled and not answering', async () => {
    const agentYaml = (caFile: string) => {
      const file = join(dir, `agent-${caFile === ca.certFile ? 'ca' : 'other'}.yaml`);
      writeFileSync(
        file,
        stringify({
          school: XINGHAI,
          collector: { url: collector.url, caFile, requestTimeoutS: 5 },
          state,
          probes: { host: { enabled: false }, ipv6: { enabled: false }, reachability: { enabled: false } },
        }),
      );
      return file;
    };
    const wrong = agentYaml(otherCa.certFile);
    const spooled = await runCli('agent', ['once', '--config', wrong]);
    expect(spooled.code, spooled.stderr).toBe(0);
    expect(spooled.stdout).toMatch(
      /^report [0-9a-f-]{36}: 0 results; delivered 0, spooled 1 \(collector: the collector's TLS certificate is not trusted \(UNABLE_TO_VERIFY_LEAF_SIGNATURE: /,
    );
    const notAnswering = await runCli('agent', ['status', '--config', wrong]);
    expect(notAnswering.code).toBe(1);
    expect(notAnswering.stdout).toContain(
      `collector    ${collector.url} does not answer (the collector's TLS certificate is not trusted (UNABLE_TO_VERIFY_LEAF_SIGNATURE: `,
    );
    expect(notAnswering.stdout).toContain('spool        1 waiting, 0 delivered');

    const right = agentYaml(ca.certFile);
    const delivered = await runCli('agent', ['once', '--config', right]);
    expect(delivered.code, delivered.stderr).toBe(0);
    expect(delivered.stdout).toMatch(/^report [0-9a-f-]{36}: 0 results; delivered 2, spooled 0\n$/);
    const answering = await runCli('agent', ['status', '--config', right, '--json']);
    expect(answering.code, answering.stdout).toBe(0);
    expect(JSON.parse(answering.stdout)).toMatchObject({
      collector: 'answers',
      spool: { depth: 0, delivered: 2 },
    });
  });
});

describe.skipIf(SKIP !== undefined)('collector TLS settings', () => {
  it('tls.caFile completes the chain of a certificate issued by an intermediate CA', async () => {
    const intermediate = issueCert(dir, ca, 'intermediate', { isCa: true });
    const leaf = issueCert(dir, intermediate, 'leaf-of-intermediate');
    const tls = { certFile: leaf.certFile, keyFile: leaf.keyFile };
    const chained = await startCollector(
      collectorConfig('chained', { tls: { ...tls, caFile: intermediate.certFile } }),
      { log: silentLogger() },
    );
    const bare = await startCollector(collectorConfig('bare', { tls }), { log: silentLogger() });
    try {
      const get = (url: string) =>
        smallRequest(new URL('/healthz', url), { signal: AbortSignal.timeout(10_000), ca: ca.cert });
      expect((await get(chained.url)).status).toBe(200);
      await expect(get(bare.url)).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    } finally {
      await Promise.all([chained.close(), bare.close()]);
    }
  });

  it('a key that does not belong to the certificate is refused at load, naming both fields', () => {
    let err: unknown;
    try {
      collectorConfig('mismatch', { tls: { certFile: server.certFile, keyFile: otherCa.keyFile } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(
      /^mismatch\.yaml: tls\.keyFile: does not go with the certificate in tls\.certFile \(.*key values mismatch\)$/,
    );
  });

  it('a certificate removed after the config was loaded: the start fails naming the field and the path', async () => {
    const moved = issueCert(dir, ca, 'short-lived');
    const config = collectorConfig('removed', { tls: { certFile: moved.certFile, keyFile: moved.keyFile } });
    rmSync(moved.certFile);
    await expect(startCollector(config, { log: silentLogger() })).rejects.toThrow(
      `collector config: tls.certFile: cannot read the file ${moved.certFile} (ENOENT)`,
    );
  });

  it('`run --listen 0.0.0.0:0` without tls is a configuration error (exit 2) naming tls and allowPlainHttp', async () => {
    const r = await runCli('collector', ['run', '--data', join(dir, 'refused'), '--listen', '0.0.0.0:0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'command-line flags: listen: plain HTTP on the non-loopback address 0.0.0.0: configure tls (certFile, keyFile) or set allowPlainHttp: true\n',
    );
  });
});
