// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${env:…}` / `${file:…}` in plain strings are config references, not placeholders
import { type ChildProcess, spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { type CliResult, programArgs, runCli } from '../helpers/cli.js';
import { telnetReport } from '../helpers/reports.js';
import { XINGHAI } from '../helpers/world.js';

/**
 * Tokens and secrets never reach a log. Real processes, logging at debug level: a collector whose admin
 * token comes from the environment, whose InfluxDB password and webhook secret come from files, writing to
 * a stand-in InfluxDB that refuses the first write, alerting a webhook (with a key in its URL) that fails
 * once; an enrolment with a one-time code; `agent once` runs whose SNMP community and v3 keys come from
 * the environment; a proxy that echoes the agent's Authorization header and the enrolment code back in
 * its error. Everything the processes wrote to stdout and stderr is then searched for every secret.
 */

const hex = (n: number) => randomBytes(n).toString('hex');
const SECRETS = {
  adminToken: `admin-${hex(12)}`,
  influxPassword: `influx-${hex(12)}`,
  webhookSecret: `whsec-${hex(12)}`,
  webhookUrlKey: hex(12), // a path segment of the webhook URL (robots carry their key in the URL)
  webhookUrlToken: `tok${hex(10)}`, // and in the query
  snmpCommunity: `comm-${hex(8)}`,
  snmpAuthKey: `auth-${hex(8)}`,
  snmpPrivKey: `priv-${hex(8)}`,
  accountPassword: `Pw-${hex(10)}`,
  // filled in as they are issued
  apiToken: '',
  enrollCode: '',
  agentToken: '',
  echoedCode: 'ECHXE-DXCXD-E2345', // well formed: the agent sends it (a malformed one it refuses itself)
};

interface Fake {
  url: string;
  server: Server;
  requests: { method: string; url: string; headers: IncomingMessage['headers']; body: string }[];
}

async function fakeServer(
  handle: (req: IncomingMessage, body: string, res: ServerResponse, n: number) => void,
): Promise<Fake> {
  const requests: Fake['requests'] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
    });
    req.on('end', () => {
      requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      handle(req, body, res, requests.length);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, requests };
}

describe('no secrets in logs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cw-nosecrets-'));
  const logs: { source: string; text: string }[] = [];
  const servers: Server[] = [];
  let collector: ChildProcess | undefined;
  const snmpSilent = createSocket('udp4'); // an SNMP "device" that never answers

  afterAll(async () => {
    if (collector && collector.exitCode === null && collector.signalCode === null) {
      collector.kill('SIGKILL');
      await once(collector, 'exit');
    }
    for (const s of servers) s.close();
    snmpSilent.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const keep = (source: string, r: CliResult, opts: { stdoutIsLog?: boolean } = {}) => {
    logs.push({ source: `${source} (stderr)`, text: r.stderr });
    if (opts.stdoutIsLog !== false) logs.push({ source: `${source} (stdout)`, text: r.stdout });
    return r;
  };
  const debug = { CAMPUSWATCH_LOG_LEVEL: 'debug' };

  it('a full flow at debug level leaves none of them in any log', async () => {
    // --- peers: InfluxDB stand-in (first write refused), webhook (first delivery fails), echoing proxy
    let signalSecondDelivery!: () => void;
    const secondDelivery = new Promise<void>((r) => {
      signalSecondDelivery = r;
    });
    let writes = 0;
    const influx = await fakeServer((req, body, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      if (path === '/ping') return res.writeHead(204, { 'x-influxdb-version': '1.8.10' }).end();
      if (path === '/write') {
        // the first write of a report fails (the alert pass's agent_status points may come before it)
        if (!/^agent,/m.test(body)) return res.writeHead(204).end();
        writes++;
        if (writes === 1)
          return res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"timeout"}');
        return res.writeHead(204).end();
      }
      return res
        .writeHead(200, { 'content-type': 'application/json' })
        .end('{"results":[{"statement_id":0}]}');
    });
    const webhook = await fakeServer((_req, _body, res, n) => {
      if (n === 1) return res.writeHead(500, { 'content-type': 'text/plain' }).end('upstream overloaded');
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      if (n === 2) signalSecondDelivery();
    });
    const echo = await fakeServer((req, body, res) => {
      // a misbehaving proxy: its error repeats what it was sent
      const what = req.headers.authorization ?? body;
      res.writeHead(req.url === '/api/v1/enroll' ? 403 : 401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: `rejected request with ${what}` }));
    });
    servers.push(influx.server, webhook.server, echo.server);
    snmpSilent.bind(0, '127.0.0.1');
    await once(snmpSilent, 'listening');
    const snmpPort = snmpSilent.address().port;

    // --- the collector: secrets from a file and from the environment
    writeFileSync(join(dir, 'influx-password'), `${SECRETS.influxPassword}\n`, { mode: 0o600 });
    writeFileSync(join(dir, 'webhook-secret'), `${SECRETS.webhookSecret}\n`, { mode: 0o600 });
    const collectorYaml = join(dir, 'collector.yaml');
    const collectorEnv = { ...debug, CW_E2E_ADMIN_TOKEN: SECRETS.adminToken };
    writeFileSync(
      collectorYaml,
      stringify({
        listen: '127.0.0.1:0',
        dataDir: join(dir, 'collector'),
        influx: {
          url: influx.url,
          database: 'cw_nosecrets',
          username: 'cw',
          password: '${file:influx-password}',
          timeoutMs: 2000,
        },
        ingest: { retryAfterS: 1 },
        adminToken: '${env:CW_E2E_ADMIN_TOKEN}',
        alerts: {
          evaluateS: 1,
          channels: [
            {
              name: 'ops',
              type: 'webhook',
              url: `${webhook.url}/hook/${SECRETS.webhookUrlKey}?token=${SECRETS.webhookUrlToken}`,
              secret: '${file:webhook-secret}',
              language: 'en',
            },
          ],
        },
        schools: [XINGHAI],
      }),
    );
    collector = spawn(process.execPath, [...programArgs('collector'), 'run', '--config', collectorYaml], {
      env: { ...process.env, ...collectorEnv },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collectorLog = { source: 'collector run', stdout: '', stderr: '' };
    collector.stderr!.on('data', (d: Buffer) => {
      collectorLog.stderr += d.toString();
    });
    const listening = new Promise<string>((resolve, reject) => {
      collector!.stdout!.on('data', (d: Buffer) => {
        collectorLog.stdout += d.toString();
        const m = /campuswatch collector listening on (\S+) /.exec(collectorLog.stdout);
        if (m) resolve(m[1]!);
      });
      collector!.once('exit', (code) =>
        reject(new Error(`collector exited (${code}):\n${collectorLog.stdout}\n${collectorLog.stderr}`)),
      );
    });
    const url = await listening;

    // --- enrolment with a one-time code (the code is the command's product on stdout, not a log)
    const codeRun = keep(
      'collector enroll-code',
      await runCli(
        'collector',
        ['enroll-code', '--config', collectorYaml, '--school', XINGHAI.id],
        collectorEnv,
      ),
      {
        stdoutIsLog: false,
      },
    );
    expect(codeRun.code, codeRun.stderr).toBe(0);
    SECRETS.enrollCode = codeRun.stdout.trim();
    const state = join(dir, 'agent');
    const enrolled = keep(
      'agent enroll',
      await runCli(
        'agent',
        ['enroll', '--collector', url, '--code', SECRETS.enrollCode, '--state', state],
        debug,
      ),
    );
    expect(enrolled.code, enrolled.stderr).toBe(0);
    SECRETS.agentToken = readFileSync(join(state, 'token'), 'utf8').trim();

    // --- agent cycles: SNMP credentials from the environment; the first report meets a refused write (503)
    const agentYaml = (name: string, collectorUrl: string) => {
      const file = join(dir, `${name}.yaml`);
      writeFileSync(
        file,
        stringify({
          school: XINGHAI,
          collector: { url: collectorUrl, requestTimeoutS: 5 },
          state,
          probes: { host: { enabled: false }, ipv6: { enabled: false } },
          inventory: {
            snmp: {
              version: '2c',
              community: '${env:CW_E2E_SNMP_COMMUNITY}',
              port: snmpPort,
              timeoutMs: 300,
              retries: 0,
            },
          },
          rooms: [
            {
              name: '网络中心',
              type: 'core',
              devices: [
                { name: '核心交换机', type: 'switch', address: '127.0.0.1', checks: [{ snmp: {} }] },
                {
                  name: '汇聚交换机',
                  type: 'switch',
                  address: '127.0.0.1',
                  checks: [
                    {
                      snmp: {
                        version: '3',
                        user: 'cw',
                        authKey: '${env:CW_E2E_SNMP_AUTH}',
                        privKey: '${env:CW_E2E_SNMP_PRIV}',
                      },
                    },
                  ],
                },
              ],
            },
          ],
        }),
      );
      return file;
    };
    const agentEnv = {
      ...debug,
      CW_E2E_SNMP_COMMUNITY: SECRETS.snmpCommunity,
      CW_E2E_SNMP_AUTH: SECRETS.snmpAuthKey,
      CW_E2E_SNMP_PRIV: SECRETS.snmpPrivKey,
    };
    const agentConfig = agentYaml('agent', url);
    const first = keep('agent once #1', await runCli('agent', ['once', '--config', agentConfig], agentEnv));
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/delivered 0, spooled 1 \(collector: the time-series store is unavailable/);
    const second = keep('agent once #2', await runCli('agent', ['once', '--config', agentConfig], agentEnv));
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/: 2 results; delivered 2, spooled 0\n$/);
    // the InfluxDB password came from its file: Basic auth with it
    expect(
      influx.requests.some(
        (r) =>
          r.headers.authorization ===
          `Basic ${Buffer.from(`cw:${SECRETS.influxPassword}`).toString('base64')}`,
      ),
    ).toBe(true);

    // --- a finding → an alert → the webhook fails once, then takes it (signed with the file's secret)
    const { agentId } = JSON.parse(readFileSync(join(state, 'identity.json'), 'utf8')) as { agentId: string };
    const finding = telnetReport({ agentId, schoolId: XINGHAI.id, at: new Date(), open: true });
    const posted = await request(`${url}/api/v1/reports`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SECRETS.agentToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(finding),
    });
    expect(posted.statusCode).toBe(200);
    await posted.body.dump();
    await secondDelivery;
    const delivered = webhook.requests[1]!;
    expect(delivered.url).toBe(`/hook/${SECRETS.webhookUrlKey}?token=${SECRETS.webhookUrlToken}`);
    expect(delivered.headers['x-campuswatch-signature']).toBe(
      `sha256=${createHmac('sha256', SECRETS.webhookSecret).update(delivered.body).digest('hex')}`,
    );

    // --- the admin API with the token from the environment
    const silences = await request(`${url}/api/v1/silences`, {
      headers: { authorization: `Bearer ${SECRETS.adminToken}` },
    });
    expect(silences.statusCode).toBe(200);
    await silences.body.dump();
    const wrongAdmin = await request(`${url}/api/v1/silences`, {
      headers: { authorization: 'Bearer not-the-admin-token' },
    });
    expect(wrongAdmin.statusCode).toBe(401);
    await wrongAdmin.body.dump();

    // --- a person's account and a script's token: sign-in, a findings read, a silence, an export, a revoke
    writeFileSync(join(dir, 'pw'), `${SECRETS.accountPassword}\n`, { mode: 0o600 });
    const cli = async (name: string, args: string[], stdoutIsLog = true) =>
      keep(name, await runCli('collector', [...args, '--config', collectorYaml], collectorEnv), {
        stdoutIsLog,
      });
    const added = await cli('collector user add', [
      'user',
      'add',
      '--name',
      '值班员',
      '--role',
      'oncall',
      '--scope',
      'city',
      '--password-file',
      join(dir, 'pw'),
    ]);
    expect(added.code, added.stderr).toBe(0);
    const tokenRun = await cli(
      'collector token add',
      ['token', 'add', '--name', 'script', '--user', '值班员'],
      false,
    );
    SECRETS.apiToken = /^token \(shown once\): (\S+)$/m.exec(tokenRun.stdout)![1]!;
    const post = (path: string, body: object, headers: Record<string, string> = {}) =>
      request(`${url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      });
    const wrongLogin = await post('/api/v1/login', {
      name: '值班员',
      password: `${SECRETS.accountPassword}x`,
    });
    expect(wrongLogin.statusCode).toBe(401);
    await wrongLogin.body.dump();
    const login = await post('/api/v1/login', { name: '值班员', password: SECRETS.accountPassword });
    expect(login.statusCode).toBe(200);
    await login.body.dump();
    const findings = await request(`${url}/api/v1/findings`, {
      headers: { authorization: `Bearer ${SECRETS.apiToken}` },
    });
    expect(findings.statusCode).toBe(200);
    await findings.body.dump();
    const silence = await post(
      '/api/v1/silences',
      { school: XINGHAI.id, duration: '1h', reason: '机房维护' },
      { authorization: `Bearer ${SECRETS.apiToken}` },
    );
    expect(silence.statusCode).toBe(201);
    await silence.body.dump();
    expect((await cli('collector report (export)', ['report', '--format', 'csv'], false)).code).toBe(0);
    const tokenId = SECRETS.apiToken.split('.')[1]!;
    expect((await cli('collector token revoke', ['token', 'revoke', '--id', tokenId])).code).toBe(0);
    const audit = await cli('collector audit', ['audit']);
    for (const action of [
      'login.failed',
      'login',
      'findings.read',
      'silence.add',
      'report.export',
      'token.revoke',
    ])
      expect(audit.stdout, action).toMatch(new RegExp(`\\s${action.replace('.', '\\.')}\\s`));
    // who, from where: the script's token and the loopback address
    expect(audit.stdout).toMatch(/token:script\s+127\.0\.0\.1\s+findings\.read/);

    // --- a proxy that echoes the Authorization header and the enrolment code in its errors
    const echoed = keep(
      'agent once via echoing proxy',
      await runCli('agent', ['once', '--config', agentYaml('agent-echo', echo.url)], agentEnv),
    );
    expect(echoed.code, echoed.stderr).toBe(0);
    // not the collector's error shape: a proxy's answer, kept spooled, shown (redacted) as what it said
    expect(echoed.stdout).toContain(
      'answered instead of the collector: HTTP 401 application/json: rejected request with Bearer [redacted])',
    );
    expect(echo.requests.some((r) => r.headers.authorization === `Bearer ${SECRETS.agentToken}`)).toBe(true);
    const echoedEnroll = keep(
      'agent enroll via echoing proxy',
      await runCli(
        'agent',
        ['enroll', '--collector', echo.url, '--code', SECRETS.echoedCode, '--state', join(dir, 'echo-agent')],
        debug,
      ),
    );
    expect(echoedEnroll.code).toBe(1);
    expect(echoedEnroll.stderr).toContain(
      'enrolment refused (HTTP 403): rejected request with {"code":"[redacted]"',
    );

    // --- stop the collector and read everything it wrote
    const exited = once(collector, 'exit');
    collector.kill('SIGTERM');
    expect((await exited)[0]).toBe(0);
    logs.push({ source: 'collector run (stdout)', text: collectorLog.stdout });
    logs.push({ source: 'collector run (stderr)', text: collectorLog.stderr });

    // the logs are real and cover the failure paths (debug level, refused write, failed notification)
    const collectorText = collectorLog.stdout + collectorLog.stderr;
    expect(collectorText).toContain('"msg":"incoming request"');
    expect(collectorText).toContain('InfluxDB unavailable; asking the agent to retry');
    expect(collectorText).toContain('notification failed, will retry');
    expect(logs.find((l) => l.source === 'agent once #1 (stderr)')!.text).toContain(
      'collector did not take the reports; they stay spooled',
    );

    const leaks = Object.entries(SECRETS).flatMap(([name, value]) =>
      logs.filter((l) => value !== '' && l.text.includes(value)).map((l) => `${name} in ${l.source}`),
    );
    expect(leaks).toEqual([]);
  }, 120_000);
});
