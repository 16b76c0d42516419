import { X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadIdentity } from '../../agent/src/identity.js';
import { parseCollectorConfig } from '../../collector/src/config.js';
import { createCollectorLogger, type RunningCollector, startCollector } from '../../collector/src/server.js';
import { opensslAvailable } from '../helpers/certs.js';
import { runCli } from '../helpers/cli.js';
import { sqliteOf, XINGHAI } from '../helpers/world.js';

// `campuswatch-collector tls init` for a district without PKI: a private CA and the collector's
// certificate. The collector runs (a real HTTPS listener on loopback) with the settings the command
// prints; an agent given that CA enrols, one given the CA of another `tls init` is refused in words.

const SKIP = opensslAvailable();
if (SKIP) console.warn(`[tls-init.test] SKIPPED: ${SKIP}`);

const root = mkdtempSync(join(tmpdir(), 'cw-tls-init-'));
const district = join(root, 'district-tls');
const other = join(root, 'other-tls');
afterAll(() => rmSync(root, { recursive: true, force: true }));

const mode = (f: string) => statSync(f).mode & 0o777;
/** Each of these runs the programs a few times (from source): more than the default on a busy machine. */
const CLI_TIMEOUT = 240_000;

/** The `tls:` block the command printed for the collector config, read as YAML. */
function printedTlsSettings(stdout: string): unknown {
  const lines = stdout.split('\n');
  const start = lines.indexOf('  tls:');
  expect(start, stdout).toBeGreaterThan(0);
  const block = lines.slice(start, start + 3).map((l) => l.slice(2));
  return (parse(block.join('\n')) as { tls: unknown }).tls;
}

describe.skipIf(SKIP !== undefined)('tls init', () => {
  let made: { code: number | null; stdout: string; stderr: string };
  let running: RunningCollector | undefined;

  beforeAll(async () => {
    made = await runCli('collector', [
      'tls',
      'init',
      '--dir',
      district,
      '--host',
      'localhost',
      '--ip',
      '127.0.0.1',
    ]);
    const second = await runCli('collector', ['tls', 'init', '--dir', other, '--host', 'localhost,cw.test']);
    expect(second.code, second.stderr).toBe(0);
  }, CLI_TIMEOUT);
  afterAll(async () => {
    await running?.close();
  });

  it('writes a CA and a collector certificate it signed, for the names asked; keys 0600', () => {
    expect(made.code, made.stderr).toBe(0);
    expect(made.stderr).toBe('');
    expect(readdirSync(district).sort()).toEqual(['ca.crt', 'ca.key', 'collector.crt', 'collector.key']);
    expect(mode(district)).toBe(0o700);
    expect(mode(join(district, 'ca.key'))).toBe(0o600);
    expect(mode(join(district, 'collector.key'))).toBe(0o600);
    expect(mode(join(district, 'ca.crt'))).toBe(0o644);
    const ca = new X509Certificate(readFileSync(join(district, 'ca.crt')));
    const cert = new X509Certificate(readFileSync(join(district, 'collector.crt')));
    expect(ca.ca).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1');
    // 825 days by default
    const days = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 86_400_000;
    expect(Math.round(days)).toBe(825);
    // the other run made its own CA, which did not sign this certificate
    const otherCa = new X509Certificate(readFileSync(join(other, 'ca.crt')));
    expect(otherCa.fingerprint256).not.toBe(ca.fingerprint256);
    expect(cert.verify(otherCa.publicKey)).toBe(false);
  });

  it('prints the collector settings and how agents trust the CA', () => {
    expect(printedTlsSettings(made.stdout)).toEqual({
      certFile: join(district, 'collector.crt'),
      keyFile: join(district, 'collector.key'),
    });
    expect(made.stdout).toContain(
      `  deploy/install-agent.sh --collector https://localhost:8443 --code CODE --ca-file ca.crt\n`,
    );
    expect(made.stdout).toContain(`agents: copy ${join(district, 'ca.crt')} to each school`);
    expect(made.stdout).toContain('    caFile: /etc/campuswatch/collector-ca.pem\n');
  });

  it(
    'an agent given the CA enrols with the collector running on the new certificate; given another CA it is refused, saying so',
    async () => {
      const config = parseCollectorConfig(
        JSON.stringify({
          listen: '127.0.0.1:0',
          dataDir: join(root, 'collector-data'),
          schools: [XINGHAI],
          tls: printedTlsSettings(made.stdout),
        }),
        'collector.yaml',
      );
      running = await startCollector(config, { log: createCollectorLogger('silent') });
      expect(running.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
      const code = sqliteOf(running.app).createEnrollCode(XINGHAI.id, 600_000).code;
      const state = join(root, 'agent-state');
      const args = ['enroll', '--collector', running.url, '--code', code, '--state', state];

      const wrongCa = join(other, 'ca.crt');
      const refused = await runCli('agent', [...args, '--ca-file', wrongCa]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toBe(
        `error: the collector at ${running.url} is not trusted: its TLS certificate is not signed by the CA in ${wrongCa} (UNABLE_TO_VERIFY_LEAF_SIGNATURE: unable to verify the first certificate); give --ca-file the CA that signed the collector's certificate (the ca.crt written by 'campuswatch-collector tls init'). Nothing was saved\n`,
      );
      expect(existsSync(join(state, 'token'))).toBe(false);

      const trusted = await runCli('agent', [...args, '--ca-file', join(district, 'ca.crt')]);
      expect(trusted.code, trusted.stderr).toBe(0);
      expect(trusted.stdout).toMatch(/^enrolled as agent ag_\S+ for school sz-xinghai-junior\n$/);
      expect(loadIdentity(state)?.identity.collectorUrl).toBe(running.url);
    },
    CLI_TIMEOUT,
  );

  it(
    'refuses to replace the certificate without --force; with it, the CA stays and signs the new one',
    async () => {
      const before = readFileSync(join(district, 'collector.crt'), 'utf8');
      const caBefore = readFileSync(join(district, 'ca.crt'), 'utf8');
      const again = await runCli('collector', ['tls', 'init', '--dir', district, '--host', 'localhost']);
      expect(again.code).toBe(2);
      expect(again.stderr).toBe(
        `${join(district, 'collector.crt')} and ${join(district, 'collector.key')} already exist: pass --force to replace the collector's certificate (the CA in ${district} is kept, agents keep trusting it)\n`,
      );
      expect(readFileSync(join(district, 'collector.crt'), 'utf8')).toBe(before);

      const forced = await runCli('collector', [
        'tls',
        'init',
        '--dir',
        district,
        '--host',
        'collector.example.edu.cn',
        '--days',
        '30',
        '--force',
      ]);
      expect(forced.code, forced.stderr).toBe(0);
      expect(forced.stdout).toMatch(/^issued by the existing CA a certificate for the collector in /);
      expect(readFileSync(join(district, 'ca.crt'), 'utf8')).toBe(caBefore);
      const renewed = new X509Certificate(readFileSync(join(district, 'collector.crt')));
      expect(renewed.toString()).not.toBe(before);
      expect(renewed.subjectAltName).toBe('DNS:collector.example.edu.cn');
      expect(renewed.verify(new X509Certificate(caBefore).publicKey)).toBe(true);
      expect(mode(join(district, 'collector.key'))).toBe(0o600);
    },
    CLI_TIMEOUT,
  );

  it(
    'bad names and addresses are refused naming the flag; nothing is written',
    async () => {
      const dir = join(root, 'bad');
      const r = await runCli('collector', [
        'tls',
        'init',
        '--dir',
        dir,
        '--host',
        'https://collector.example.edu.cn:8443,10.0.0.5',
        '--ip',
        '10.0.0.256',
      ]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(
        [
          '--host https://collector.example.edu.cn:8443: a DNS name only, without scheme or port (e.g. collector.example.edu.cn)',
          '--host 10.0.0.5: an IP address; give it with --ip 10.0.0.5',
          '--ip 10.0.0.256: not an IPv4 or IPv6 address',
          '',
        ].join('\n'),
      );
      const none = await runCli('collector', ['tls', 'init', '--dir', dir]);
      expect(none.code).toBe(2);
      expect(none.stderr).toBe(
        'give the names the agents use for the collector: --host NAME[,NAME…] and/or --ip ADDR\n',
      );
      expect(existsSync(dir)).toBe(false);
    },
    CLI_TIMEOUT,
  );
});
