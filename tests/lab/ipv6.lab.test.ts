import { spawnSync } from 'node:child_process';
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { evaluateIpv6 } from '../../collector/src/evaluate/ipv6.js';
import { DEFAULT_TARGETS_FILE, loadTargets } from '../../collector/src/targets.js';
import { type Ipv6Result, RESULT_SCHEMAS } from '../../protocol/report.js';
import { checker } from '../../protocol/validate.js';
import { skipping } from '../helpers/skip.js';
import {
  createLab,
  firstJsonLine,
  LAB_PREFIX,
  type Lab,
  labAvailable,
  labNamespaces,
  PROJECT_ROOT,
} from './lab.js';

/**
 * Acceptance 1-6 of the IPv6 probe, each in a lab of its own (school ── router ── centre namespaces with
 * 10.203.x, fd00:cafe:x::/64 and 2001:db8:x::/64): a real dnsmasq in the centre namespace is the only
 * resolver the school knows (/etc/netns/<school>/resolv.conf, which `ip netns exec` bind-mounts over
 * /etc/resolv.conf), real HTTP servers in the centre answer, and the agent's CLI runs the probe inside
 * the school namespace. No packet and no DNS query leaves the lab's namespaces.
 */

function which(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

const DNSMASQ = which('dnsmasq');
const NFT = which('nft');
const OPENSSL = which('openssl');
const skip = labAvailable() ?? (DNSMASQ ? undefined : '`dnsmasq` not found (apt-get install dnsmasq-base)');
if (skip) console.warn(`[ipv6.lab.test] SKIPPED: ${skip}`);
const noNft = NFT
  ? undefined
  : '`nft` not found (apt-get install nftables): cannot drop ICMPv6 Packet Too Big';
const noOpenssl = OPENSSL ? undefined : '`openssl` not found: cannot make test certificates';

const schema = checker<Ipv6Result>(RESULT_SCHEMAS.ipv6);
const DOMAIN = 'campuswatch.test';
const fqdn = (host: string) => `${host}.${DOMAIN}`;
const NETNS_ETC = '/etc/netns';

/** The HTTP(S) servers of the centre: one port per server, the same port on each of its listeners. */
const SERVER_JS = `
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
const spec = JSON.parse(process.argv[2]);
const big = Buffer.alloc(4000, 'x');
const handler = (body) => (req, res) => {
  const data = req.url === '/big' ? big : Buffer.from(body);
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(data.length) });
  res.end(data);
};
const listen = (server, host, port) =>
  new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => resolve(server.address().port));
  });
const ports = {};
for (const s of spec) {
  let port = 0;
  for (const l of s.listeners) {
    const h = handler(l.body ?? 'campuswatch lab: ok\\n');
    const server = l.tls
      ? createTlsServer({ key: readFileSync(l.tls.key), cert: readFileSync(l.tls.cert) }, h)
      : createServer(h);
    port = await listen(server, l.host, port);
  }
  ports[s.id] = port;
}
process.stdout.write(JSON.stringify(ports) + '\\n');
`;

interface Listener {
  host: string;
  body?: string;
  tls?: { key: string; cert: string };
}
interface ServerSpec {
  id: string;
  listeners: Listener[];
}

/** Which of the centre's addresses a name gets: A, AAAA or both. */
type Rr = 'a' | 'aaaa' | 'both';

interface WorldOptions {
  label: string;
  records?: Record<string, Rr>;
  servers?: (lab: Lab, dir: string) => ServerSpec[];
}

interface World {
  lab: Lab;
  dir: string;
  ports: Record<string, number>;
  dnsmasqLog: string;
  destroy(): Promise<void>;
}

interface ProbeRun {
  code: number | null;
  results: Ipv6Result[];
  score: Ipv6Result;
  one(check: Ipv6Result['check'], target?: string): Ipv6Result;
}

const STANDARD_RECORDS: Record<string, Rr> = {
  centre: 'both',
  ds: 'both',
  mtu: 'both',
  www: 'both',
  v6only: 'aaaa',
};

/** /etc/netns/<ns> directories of lab namespaces that no longer exist (left by a killed run). */
function removeStaleNetnsEtc(): void {
  let entries: string[];
  try {
    entries = readdirSync(NETNS_ETC);
  } catch {
    return;
  }
  const live = new Set(labNamespaces());
  for (const e of entries) {
    if (e.startsWith(LAB_PREFIX) && !live.has(e))
      rmSync(join(NETNS_ETC, e), { recursive: true, force: true });
  }
}

async function waitFor(what: string, ms: number, test: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${ms} ms`);
    await delay(20);
  }
}

async function buildWorld(opts: WorldOptions): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'cw-lab-v6-'));
  let lab: Lab | undefined;
  let etcDir: string | undefined;
  const destroy = async () => {
    if (etcDir) {
      rmSync(etcDir, { recursive: true, force: true });
      try {
        rmdirSync(NETNS_ETC); // only when empty: the directory did not exist before
      } catch {
        // other labs' entries are still there
      }
    }
    await lab?.destroy(); // kills dnsmasq and the servers
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    lab = await createLab({ globalV6: true, name: opts.label });
    const l = lab;
    const centreV6 = l.centreGlobalV6!;

    // HTTP servers in the centre.
    const script = join(dir, 'servers.mjs');
    writeFileSync(script, SERVER_JS);
    const specs: ServerSpec[] = [
      { id: 'main', listeners: [{ host: l.centreV4 }, { host: centreV6 }] },
      { id: 'v4only', listeners: [{ host: l.centreV4 }] },
      ...(opts.servers?.(l, dir) ?? []),
    ];
    const server = l.nodeIn('centre', script, [JSON.stringify(specs)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const ports = await firstJsonLine<Record<string, number>>(server);

    // dnsmasq in the centre: answers only from its own records (`local=`), never forwards.
    const records = { ...STANDARD_RECORDS, ...opts.records };
    const lines = [
      'no-resolv',
      'no-hosts',
      'port=53',
      `listen-address=${l.centreV4},${centreV6}`,
      'bind-interfaces',
      `local=/${DOMAIN}/`,
      `pid-file=${join(dir, 'dnsmasq.pid')}`,
      `dhcp-leasefile=${join(dir, 'dnsmasq.leases')}`,
      `log-facility=${join(dir, 'dnsmasq.log')}`,
      'log-queries',
      'user=root',
      ...Object.entries(records).map(([host, rr]) => {
        const addrs = rr === 'a' ? [l.centreV4] : rr === 'aaaa' ? [centreV6] : [l.centreV4, centreV6];
        return `host-record=${fqdn(host)},${addrs.join(',')}`;
      }),
    ];
    const conf = join(dir, 'dnsmasq.conf');
    writeFileSync(conf, `${lines.join('\n')}\n`);
    const dnsmasq = l.spawn('centre', [DNSMASQ!, '--keep-in-foreground', `--conf-file=${conf}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let dnsmasqErr = '';
    dnsmasq.stderr?.on('data', (d: Buffer) => {
      dnsmasqErr += d.toString();
    });
    await waitFor('dnsmasq', 5_000, async () => {
      if (dnsmasq.exitCode !== null) throw new Error(`dnsmasq exited ${dnsmasq.exitCode}: ${dnsmasqErr}`);
      const ss = await l.exec('centre', ['ss', '-Hlnu'], { timeoutMs: 5_000 });
      return ss.stdout.includes(`${l.centreV4}:53 `) && ss.stdout.includes(`[${centreV6}]:53 `);
    });

    // The school's only resolver: the lab's dnsmasq, over IPv6 first, then IPv4.
    etcDir = join(NETNS_ETC, l.ns.school);
    mkdirSync(etcDir, { recursive: true });
    writeFileSync(join(etcDir, 'resolv.conf'), `nameserver ${centreV6}\nnameserver ${l.centreV4}\n`);

    return { lab: l, dir, ports, dnsmasqLog: join(dir, 'dnsmasq.log'), destroy };
  } catch (err) {
    await destroy();
    throw err;
  }
}

async function withWorld(opts: WorldOptions, fn: (w: World) => Promise<void>): Promise<void> {
  const w = await buildWorld(opts);
  try {
    await fn(w);
  } finally {
    await w.destroy();
  }
}

function baseIpv6(w: World, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    connectTimeoutMs: 2000,
    timeoutS: 30,
    v6OnlyName: fqdn('v6only'),
    dualStackUrl: `http://${fqdn('ds')}:${w.ports.main}/`,
    mtuUrl: `http://${fqdn('mtu')}:${w.ports.main}/big`,
    services: [{ name: 'website', url: `http://${fqdn('www')}:${w.ports.main}/` }],
    ...extra,
  };
}

const IN_LAB = /^(10\.203\.|fd00:cafe:|2001:db8:|fe80:)/;

/** `campuswatch-agent probe ipv6 --config FILE --json` inside the school namespace. */
async function runProbe(
  w: World,
  ipv6: Record<string, unknown>,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ProbeRun> {
  const file = join(w.dir, `agent-${Date.now()}.yaml`);
  writeFileSync(
    file,
    stringify({
      school: { id: `lab-v6-${w.lab.id}`, name: '苏州实验学校 IPv6' },
      collector: { url: `http://${fqdn('centre')}:${w.ports.main}`, allowPlainHttp: true },
      state: join(w.dir, 'state'),
      probes: { host: { enabled: false }, reachability: { enabled: false }, ipv6 },
    }),
  );
  const r = await w.lab.exec(
    'school',
    [process.execPath, '--import', 'tsx', 'agent/src/cli.ts', 'probe', 'ipv6', '--config', file, '--json'],
    { cwd: PROJECT_ROOT, timeoutMs: 60_000, env },
  );
  expect([0, 3], r.stderr).toContain(r.code);
  const out = JSON.parse(r.stdout) as {
    probe: string;
    score_v6: number;
    score_v4only: number;
    symptoms: string[];
    results: unknown[];
  };
  expect(out.probe).toBe('ipv6');
  for (const [i, res] of out.results.entries()) {
    expect(schema.problems(res, `results/${i}`)).toEqual([]);
  }
  const results = out.results as Ipv6Result[];
  for (const res of results) {
    if (res.address !== undefined) expect(res.address).toMatch(IN_LAB);
  }
  const score = results.find((x) => x.check === 'score');
  if (!score) throw new Error('no score row');
  // the CLI lifts the score row to the top: score_v6, score_v4only, symptoms
  expect([out.score_v6, out.score_v4only, out.symptoms]).toEqual([
    score.scoreV6,
    score.scoreV4only,
    score.symptoms,
  ]);
  return {
    code: r.code,
    results,
    score,
    one(check, target) {
      const found = results.filter((x) => x.check === check && (target === undefined || x.target === target));
      expect(found, `${check} ${target ?? ''}`).toHaveLength(1);
      return found[0]!;
    },
  };
}

function report(name: string, run: ProbeRun): void {
  const s = run.score;
  const rows = run.results
    .filter((r) => r.check !== 'score')
    .map((r) => `${r.check}${r.service ? `(${r.service})` : ''}=${r.ok ? 'ok' : r.error ? 'n/a' : r.outcome}`)
    .join(' ');
  console.info(
    `[ipv6 lab] ${name}: score ${s.scoreV6}/${s.scoreV4only}, symptoms ${JSON.stringify(s.symptoms)}; ${rows}; ${s.detail ?? ''}`,
  );
}

/** The collector's verdict on these real results (the ipv6 target of config/targets.yaml). */
const targets = loadTargets(DEFAULT_TARGETS_FILE);
const verdict = (results: Ipv6Result[]) => evaluateIpv6(results, targets);

describe.skipIf(skip !== undefined)(`IPv6 probe in the lab${skip ? ` (SKIPPED: ${skip})` : ''}`, () => {
  beforeAll(() => {
    removeStaleNetnsEtc();
  });

  it('1. a healthy dual stack scores 10/10 with no symptom', async () => {
    await withWorld({ label: 'v6ok' }, async (w) => {
      const run = await runProbe(w, baseIpv6(w));
      report('1 dual stack', run);
      expect(run.score).toMatchObject({ scoreV6: 10, scoreV4only: 10, symptoms: [], ok: true });
      expect(verdict(run.results)).toMatchObject({ target: 'ipv6', state: 'met', value: 10 });
      for (const r of run.results) expect(r.ok, `${r.check} ${r.target}: ${r.detail ?? r.error}`).toBe(true);
      expect(run.code).toBe(0);

      const host = run.one('host-address');
      expect(host.address).toBe(w.lab.schoolGlobalV6);
      expect(host.detail).toContain('obtained by static');
      expect(run.one('default-route').address).toBe(w.lab.routerLanV6);
      expect(run.one('dns-aaaa', fqdn('centre')).address).toBe(w.lab.centreGlobalV6);
      expect(run.one('dns-resolver-v6').address).toBe(w.lab.centreGlobalV6);
      expect(run.one('tcp-v6')).toMatchObject({ family: 6, address: w.lab.centreGlobalV6 });
      expect(run.one('tcp-v4')).toMatchObject({ family: 4, address: w.lab.centreV4 });
      expect(run.one('tcp-v6').ms).toBeGreaterThan(0);
      // Happy Eyeballs (autoSelectFamily) prefers IPv6 when it works
      expect(run.one('dual-stack')).toMatchObject({ family: 6, address: w.lab.centreGlobalV6 });
      expect(run.one('pmtu').detail).toMatch(/^4000 bytes arrived over IPv6/);
      const svc = run.one('service');
      expect(svc).toMatchObject({ service: 'website', symptoms: [] });
      expect(svc.detail).toContain('same content over IPv4 and IPv6');
      expect(typeof run.score.degradation).toBe('number');

      // The school's queries went to the lab's dnsmasq, over IPv6.
      const log = readFileSync(w.dnsmasqLog, 'utf8');
      expect(log).toContain(`query[AAAA] ${fqdn('centre')} from ${w.lab.schoolGlobalV6}`);
    });
  }, 90_000);

  it('2. an IPv4-only school scores 0: "no global IPv6 address"', async () => {
    await withWorld({ label: 'v4only' }, async (w) => {
      const { lab } = w;
      await lab.exec('school', ['ip', 'addr', 'del', `${lab.schoolGlobalV6}/64`, 'dev', lab.schoolIf], {
        check: true,
      });
      await lab.exec('school', ['ip', 'addr', 'del', `${lab.schoolV6}/64`, 'dev', lab.schoolIf], {
        check: true,
      });
      await lab.exec('school', ['ip', '-6', 'route', 'flush', 'default']);
      const run = await runProbe(w, baseIpv6(w));
      report('2 IPv4-only', run);
      expect(run.score.scoreV6).toBe(0);
      expect(run.score.scoreV4only).toBe(0);
      expect(run.score.symptoms).toContain('no global IPv6 address');
      expect(run.score.symptoms).toEqual(['no global IPv6 address', 'no IPv6 default route']);
      const v = verdict(run.results);
      expect(v).toMatchObject({ state: 'not_met', value: 0 });
      expect(v.reason).toContain('no global IPv6 address');
      expect(run.one('host-address')).toMatchObject({ ok: false, outcome: 'unreachable' });
      expect(run.one('host-address').detail).toContain('only link-local/ULA: fe80:');
      // the dual-stack name still loads, over IPv4
      expect(run.one('dual-stack')).toMatchObject({ ok: true, family: 4 });
      expect(run.one('tcp-v4').ok).toBe(true);
    });
  }, 90_000);

  it('3. an IPv6 address without a default route is broken: "no IPv6 default route"', async () => {
    await withWorld({ label: 'noroute' }, async (w) => {
      await w.lab.exec('school', ['ip', '-6', 'route', 'del', 'default'], { check: true });
      const run = await runProbe(w, baseIpv6(w));
      report('3 no default route', run);
      expect(run.score).toMatchObject({ scoreV6: 0, scoreV4only: 0, symptoms: ['no IPv6 default route'] });
      expect(verdict(run.results).reason).toContain('no IPv6 default route');
      expect(run.one('host-address').ok).toBe(true);
      expect(run.one('default-route')).toMatchObject({ ok: false, outcome: 'unreachable' });
      expect(run.one('tcp-v6')).toMatchObject({ ok: false, outcome: 'unreachable' });
      // Happy Eyeballs falls back to IPv4 at once (ENETUNREACH)
      expect(run.one('dual-stack')).toMatchObject({ ok: true, family: 4 });
    });
  }, 90_000);

  it('4. the resolver returns no AAAA for the collector name: the symptom names it', async () => {
    await withWorld({ label: 'noaaaa', records: { centre: 'a' } }, async (w) => {
      const run = await runProbe(w, baseIpv6(w));
      report('4 no AAAA', run);
      expect(run.score.symptoms).toEqual([`resolver returns no AAAA for ${fqdn('centre')}`]);
      expect([run.score.scoreV6, run.score.scoreV4only]).toEqual([10, 0]);
      expect(run.one('dns-aaaa').detail).toContain('ENODATA');
      // nothing to connect to over IPv6: not checked, not a symptom
      expect(run.one('tcp-v6').error).toContain(`no IPv6 address for ${fqdn('centre')}`);
      expect(run.one('tcp-v4').ok).toBe(true);
    });
  }, 90_000);

  it('5. a school service reachable over IPv4 only: "service <name> not reachable over IPv6"', async () => {
    await withWorld({ label: 'svc', records: { platform: 'both', library: 'a' } }, async (w) => {
      const run = await runProbe(
        w,
        baseIpv6(w, {
          services: [
            { name: 'website', url: `http://${fqdn('www')}:${w.ports.main}/` },
            // AAAA published, but the server listens on the centre's IPv4 address only
            { name: 'platform', url: `http://${fqdn('platform')}:${w.ports.v4only}/` },
            { name: 'library', url: `http://${fqdn('library')}:${w.ports.main}/` },
          ],
        }),
      );
      report('5 IPv4-only service', run);
      expect(run.score.symptoms).toEqual([
        'service platform not reachable over IPv6',
        'service library has no AAAA',
      ]);
      expect([run.score.scoreV6, run.score.scoreV4only]).toEqual([5, 0]);
      const v = verdict(run.results);
      expect(v.state).toBe('not_met');
      expect(v.reason).toContain('service platform not reachable over IPv6');
      const platform = run.results.find((r) => r.service === 'platform')!;
      expect(platform).toMatchObject({ ok: false, outcome: 'refused', address: w.lab.centreGlobalV6 });
      expect(platform.detail).toContain('ECONNREFUSED');
      expect(run.results.find((r) => r.service === 'website')).toMatchObject({ ok: true });
    });
  }, 90_000);

  it.skipIf(skipping(noNft))(
    `6. path MTU: ICMPv6 Packet Too Big dropped in the router → large responses never arrive${noNft ? ` (SKIPPED: ${noNft})` : ''}`,
    async () => {
      await withWorld({ label: 'mtu' }, async (w) => {
        const { lab } = w;
        // The router's link towards the school gets the IPv6 minimum MTU; the school and the centre keep
        // 1500 (so TCP's MSS does not hide the problem): the router must send Packet Too Big to the centre.
        await lab.exec('router', ['ip', 'link', 'set', 'dev', lab.routerLanIf, 'mtu', '1280'], {
          check: true,
        });
        const rules = [
          'table inet cwlab_ptb {',
          '  chain ptb_out { type filter hook output priority 0; icmpv6 type packet-too-big counter drop; }',
          '  chain ptb_fwd { type filter hook forward priority 0; icmpv6 type packet-too-big counter drop; }',
          '}',
        ].join('\n');
        await lab.exec('router', [NFT!, '-f', '-'], { input: `${rules}\n`, check: true });

        const run = await runProbe(w, baseIpv6(w));
        report('6 PTB dropped', run);
        const pmtu = run.one('pmtu');
        expect(pmtu).toMatchObject({ ok: false, outcome: 'timeout', family: 6 });
        expect(pmtu.error).toBeUndefined();
        expect(pmtu.detail).toContain('Packet Too Big');
        expect(run.score.symptoms).toEqual(['large IPv6 responses do not arrive (path MTU)']);
        expect([run.score.scoreV6, run.score.scoreV4only]).toEqual([1, 1]);
        // the small responses still arrive
        expect(run.one('http-v6').ok).toBe(true);
        const counted = await lab.exec('router', [NFT!, 'list', 'chain', 'inet', 'cwlab_ptb', 'ptb_out'], {
          check: true,
        });
        const dropped = Number(/counter packets (\d+)/.exec(counted.stdout)?.[1] ?? 0);
        expect(dropped).toBeGreaterThan(0);
        console.info(`[ipv6 lab] 6: the router dropped ${dropped} Packet Too Big message(s) it generated`);

        // Control: let Packet Too Big through and path-MTU discovery works.
        await lab.exec('router', [NFT!, 'delete', 'table', 'inet', 'cwlab_ptb'], { check: true });
        const again = await runProbe(w, baseIpv6(w));
        report('6 PTB allowed', again);
        expect(again.one('pmtu')).toMatchObject({ ok: true, outcome: 'ok' });
        expect(again.score).toMatchObject({ scoreV6: 10, scoreV4only: 10, symptoms: [] });
      });
    },
    90_000,
  );

  it.skipIf(skipping(noOpenssl))(
    `services over HTTPS: another certificate and other content over IPv6${noOpenssl ? ` (SKIPPED: ${noOpenssl})` : ''}`,
    async () => {
      const host = fqdn('secure');
      const certs = mkdtempSync(join(tmpdir(), 'cw-lab-v6-tls-'));
      try {
        const make = (id: string) => {
          const key = join(certs, `${id}.key`);
          const cert = join(certs, `${id}.crt`);
          const r = spawnSync(
            OPENSSL!,
            [
              'req',
              '-x509',
              '-newkey',
              'ec',
              '-pkeyopt',
              'ec_paramgen_curve:prime256v1',
              '-nodes',
              '-keyout',
              key,
              '-out',
              cert,
              '-days',
              '2',
              '-subj',
              `/CN=${host}`,
              '-addext',
              `subjectAltName=DNS:${host}`,
            ],
            { encoding: 'utf8' },
          );
          if (r.status !== 0) throw new Error(`openssl: ${r.stderr}`);
          return { key, cert };
        };
        const trusted = make('trusted');
        const other = make('other');
        expect(existsSync(trusted.cert)).toBe(true);
        await withWorld(
          {
            label: 'tls',
            records: { secure: 'both' },
            servers: (lab) => [
              {
                id: 'secure',
                listeners: [
                  { host: lab.centreV4, tls: trusted, body: 'school website\n' },
                  // a forgotten IPv6 reverse proxy: its own self-signed certificate, a default page
                  { host: lab.centreGlobalV6!, tls: other, body: 'default page\n' },
                ],
              },
            ],
          },
          async (w) => {
            const run = await runProbe(
              w,
              baseIpv6(w, { services: [{ name: 'portal', url: `https://${host}:${w.ports.secure}/` }] }),
              { ...process.env, NODE_EXTRA_CA_CERTS: trusted.cert },
            );
            report('HTTPS service', run);
            expect(run.score.symptoms).toEqual([
              'service portal TLS invalid over IPv6',
              'service portal differs over IPv4 and IPv6',
            ]);
            expect([run.score.scoreV6, run.score.scoreV4only]).toEqual([1, 1]);
            const portal = run.one('service');
            expect(portal.detail).toContain(
              'TLS over IPv6 invalid (DEPTH_ZERO_SELF_SIGNED_CERT), over IPv4 valid',
            );
            expect(portal.detail).toContain('content differs');
          },
        );
      } finally {
        rmSync(certs, { recursive: true, force: true });
      }
    },
    90_000,
  );
});
