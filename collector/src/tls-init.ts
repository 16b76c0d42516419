import { execFile } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import { UsageError } from '../../protocol/cli.js';

// `campuswatch-collector tls init`: for a district without its own PKI, a private CA and a server
// certificate it signs, made with the `openssl` command (Node has no API that issues X.509 certificates).
// The CA's certificate is what every agent is given to trust (collector.caFile, install-agent.sh --ca-file).

const run = promisify(execFile);

/** The files `tls init` writes in its directory. */
export const TLS_FILES = {
  caCert: 'ca.crt',
  caKey: 'ca.key',
  cert: 'collector.crt',
  key: 'collector.key',
} as const;

/** Validity of a CA made by `tls init`, in days (its server certificates are renewed under it). */
export const CA_DAYS = 3650;
/** Default validity of the collector's certificate, in days. */
export const DEFAULT_CERT_DAYS = 825;

export interface TlsInitOptions {
  dir: string;
  /** DNS names the agents use for the collector. */
  hosts: readonly string[];
  /** IP addresses the agents use for the collector. */
  ips: readonly string[];
  /** Validity of the collector's certificate. */
  days: number;
  /** Replace a collector certificate already in `dir` (the CA in `dir` is kept and signs the new one). */
  force: boolean;
  now?: Date;
}

export interface TlsInitResult {
  dir: string;
  caCertFile: string;
  caKeyFile: string;
  certFile: string;
  keyFile: string;
  /** The CA was already in the directory and signed the new certificate. */
  caReused: boolean;
  /** The names and addresses in the certificate (its subjectAltName), as given. */
  names: string[];
  notAfter: Date;
  caNotAfter: Date;
  caFingerprint256: string;
}

/** Something the operator can fix: a flag, a file in the way, a missing `openssl`. */
export class TlsInitError extends Error {
  override readonly name = 'TlsInitError';
}

// a DNS name (a leading `*.` for a wildcard); no ports, no schemes
const DNS_NAME =
  /^(\*\.)?(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** The checked names and addresses, or the problems, each naming its flag. */
export function checkSubjects(
  hosts: readonly string[],
  ips: readonly string[],
): { ok: true; hosts: string[]; ips: string[] } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const h = [...new Set(hosts.map((x) => x.trim()).filter((x) => x !== ''))];
  const i = [...new Set(ips.map((x) => x.trim()).filter((x) => x !== ''))];
  for (const name of h) {
    if (isIP(name) !== 0) problems.push(`--host ${name}: an IP address; give it with --ip ${name}`);
    else if (/^[a-z]+:\/\//i.test(name) || name.includes('/') || name.includes(':'))
      problems.push(
        `--host ${name}: a DNS name only, without scheme or port (e.g. collector.example.edu.cn)`,
      );
    else if (!DNS_NAME.test(name)) problems.push(`--host ${name}: not a DNS name`);
  }
  for (const ip of i) if (isIP(ip) === 0) problems.push(`--ip ${ip}: not an IPv4 or IPv6 address`);
  if (h.length === 0 && i.length === 0)
    problems.push('give the names the agents use for the collector: --host NAME[,NAME…] and/or --ip ADDR');
  return problems.length > 0 ? { ok: false, problems } : { ok: true, hosts: h, ips: i };
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd, encoding: 'utf8' });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT')
      throw new Error(
        'tls init needs the openssl command, which is not installed (Debian/Ubuntu: apt-get install openssl)',
      );
    throw new Error(
      `openssl ${args[0]} failed: ${(e.stderr ?? e.message).trim().split('\n').slice(0, 3).join(' / ')}`,
    );
  }
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A DN value for `-subj`: the characters openssl treats specially escaped. */
function subjValue(s: string): string {
  return s.replace(/([/\\+=,])/g, '\\$1');
}

/**
 * Makes (or reuses) the CA in `dir` and issues the collector's certificate for `hosts` and `ips`. Keys are
 * written mode 0600, certificates 0644; files appear only when all of them were made. An existing
 * collector certificate is replaced only with `force`; an existing CA is never replaced.
 */
export async function tlsInit(opts: TlsInitOptions): Promise<TlsInitResult> {
  const subjects = checkSubjects(opts.hosts, opts.ips);
  if (!subjects.ok) throw new TlsInitError(subjects.problems.join('\n'));
  if (!Number.isInteger(opts.days) || opts.days < 1 || opts.days > CA_DAYS)
    throw new TlsInitError(`--days must be a whole number from 1 to ${CA_DAYS}`);
  const dir = resolve(opts.dir);
  const path = (f: string) => join(dir, f);
  const caCertFile = path(TLS_FILES.caCert);
  const caKeyFile = path(TLS_FILES.caKey);
  const certFile = path(TLS_FILES.cert);
  const keyFile = path(TLS_FILES.key);

  const hasCaCert = existsSync(caCertFile);
  const hasCaKey = existsSync(caKeyFile);
  if (hasCaCert !== hasCaKey)
    throw new TlsInitError(
      `${dir} holds ${hasCaCert ? TLS_FILES.caCert : TLS_FILES.caKey} without ${hasCaCert ? TLS_FILES.caKey : TLS_FILES.caCert}: restore the missing file, or choose an empty --dir`,
    );
  const caReused = hasCaCert;
  const existing = [certFile, keyFile].filter((f) => existsSync(f));
  if (existing.length > 0 && !opts.force)
    throw new TlsInitError(
      `${existing.join(' and ')} already exist${existing.length === 1 ? 's' : ''}: pass --force to replace the collector's certificate (the CA in ${dir} is kept, agents keep trusting it)`,
    );

  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // made in a private directory beside the result, moved in place when all is made
  const work = mkdtempSync(join(dir, '.tls-init-'));
  chmodSync(work, 0o700);
  try {
    const firstName = subjects.hosts[0] ?? subjects.ips[0]!;
    if (caReused) {
      let ca: X509Certificate;
      try {
        ca = new X509Certificate(readFileSync(caCertFile));
      } catch {
        throw new TlsInitError(`${caCertFile} holds no PEM certificate`);
      }
      if (!ca.ca) throw new TlsInitError(`${caCertFile} is not a CA certificate`);
    } else {
      await openssl(
        ['req', '-x509', ...EC_KEY, '-keyout', TLS_FILES.caKey, '-out', TLS_FILES.caCert]
          .concat(['-subj', `/O=campuswatch/CN=${subjValue(`campuswatch private CA for ${firstName}`)}`])
          .concat(['-days', String(CA_DAYS), '-sha256'])
          .concat(['-addext', 'basicConstraints=critical,CA:TRUE,pathlen:0'])
          .concat(['-addext', 'keyUsage=critical,keyCertSign,cRLSign'])
          .concat(['-addext', 'subjectKeyIdentifier=hash']),
        work,
      );
    }
    const caCertIn = caReused ? caCertFile : join(work, TLS_FILES.caCert);
    const caKeyIn = caReused ? caKeyFile : join(work, TLS_FILES.caKey);
    await openssl(
      ['req', '-new', ...EC_KEY, '-keyout', TLS_FILES.key, '-out', 'collector.csr'].concat([
        '-subj',
        `/O=campuswatch/CN=${subjValue(firstName)}`,
      ]),
      work,
    );
    const san = [...subjects.hosts.map((h) => `DNS:${h}`), ...subjects.ips.map((ip) => `IP:${ip}`)];
    writeFileSync(
      join(work, 'collector.ext'),
      [
        'basicConstraints=critical,CA:FALSE',
        'keyUsage=critical,digitalSignature,keyEncipherment',
        'extendedKeyUsage=serverAuth',
        'subjectKeyIdentifier=hash',
        'authorityKeyIdentifier=keyid',
        `subjectAltName=${san.join(',')}`,
        '',
      ].join('\n'),
    );
    await openssl(
      ['x509', '-req', '-in', 'collector.csr', '-CA', caCertIn, '-CAkey', caKeyIn]
        .concat([
          '-set_serial',
          `0x${randomBytes(16)
            .toString('hex')
            .replace(/^[89a-f]/, '7')}`,
        ])
        .concat(['-days', String(opts.days), '-sha256'])
        .concat(['-extfile', 'collector.ext', '-out', TLS_FILES.cert]),
      work,
    );

    // check what was made before it replaces anything: signed by the CA, for the names asked
    const ca = new X509Certificate(readFileSync(caCertIn));
    const cert = new X509Certificate(readFileSync(join(work, TLS_FILES.cert)));
    if (!cert.verify(ca.publicKey) || !cert.checkIssued(ca))
      throw new Error('the certificate openssl made is not signed by the CA: nothing was written');
    for (const h of subjects.hosts)
      if (!h.startsWith('*.') && cert.checkHost(h) === undefined)
        throw new Error(`the certificate openssl made does not name ${h}: nothing was written`);
    for (const ip of subjects.ips)
      if (cert.checkIP(ip) === undefined)
        throw new Error(`the certificate openssl made does not name ${ip}: nothing was written`);

    const moves: [string, string, number][] = [
      [TLS_FILES.key, keyFile, 0o600],
      [TLS_FILES.cert, certFile, 0o644],
    ];
    if (!caReused) moves.push([TLS_FILES.caKey, caKeyFile, 0o600], [TLS_FILES.caCert, caCertFile, 0o644]);
    for (const [name, , mode] of moves) chmodSync(join(work, name), mode);
    for (const [name, dest] of moves) renameSync(join(work, name), dest);
    return {
      dir,
      caCertFile,
      caKeyFile,
      certFile,
      keyFile,
      caReused,
      names: [...subjects.hosts, ...subjects.ips],
      notAfter: new Date(cert.validTo),
      caNotAfter: new Date(ca.validTo),
      caFingerprint256: ca.fingerprint256,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** What to do with the files: the collector's `tls:` lines, and how each agent is told to trust the CA. */
export function tlsInitInstructions(r: TlsInitResult, port = 8443): string {
  const first = r.names[0] ?? 'collector.example.edu.cn';
  const file = (f: string) => f.padEnd(14);
  const url = `https://${first.includes(':') ? `[${first}]` : first}:${port}`;
  const day = (d: Date) => d.toISOString().slice(0, 10);
  return [
    `${r.caReused ? 'issued by the existing CA' : 'made a private CA and'} a certificate for the collector in ${r.dir}:`,
    `  ${file(TLS_FILES.caCert)}the CA certificate, valid until ${day(r.caNotAfter)}: give it to every agent (it is public)`,
    `  ${file(TLS_FILES.caKey)}the CA's private key (0600): keep it safe, offline if you can; it signs the next certificate`,
    `  ${file(TLS_FILES.cert)}the collector's certificate for ${r.names.join(', ')}, valid until ${day(r.notAfter)}`,
    `  ${file(TLS_FILES.key)}its private key (0600): only the collector's service user may read it`,
    `  CA fingerprint (SHA-256): ${r.caFingerprint256}`,
    '',
    'collector config (e.g. /etc/campuswatch/collector.yaml):',
    '  tls:',
    `    certFile: ${r.certFile}`,
    `    keyFile: ${r.keyFile}`,
    `  and let the service user reach the key (the directory is 0700): chown campuswatch ${r.dir} ${r.keyFile}`,
    '  (docker: copy collector.crt and collector.key to deploy/docker/tls/, the key owned by uid 10001)',
    '',
    `agents: copy ${r.caCertFile} to each school, then install with`,
    `  deploy/install-agent.sh --collector ${url} --code CODE --ca-file ca.crt`,
    '  or, on an agent already installed, point collector.caFile in agent.yaml at the copy:',
    '  collector:',
    `    url: ${url}`,
    '    caFile: /etc/campuswatch/collector-ca.pem',
    '  (enrolling by hand: campuswatch-agent enroll --ca-file /etc/campuswatch/collector-ca.pem …)',
    '',
    `renewal before ${day(r.notAfter)}: run the same command with --force; the CA stays, agents need nothing new`,
    '',
  ].join('\n');
}

/** `tls init`: registered on the collector's program. */
export function addTlsCommands(program: Command): void {
  const tls = program.command('tls').description('TLS for a district without its own PKI');
  tls
    .command('init')
    .description(
      "make a private CA and the collector's certificate signed by it (with the openssl command); prints the collector's tls: settings and how agents trust the CA",
    )
    .requiredOption(
      '--dir <dir>',
      'where to write ca.crt, ca.key, collector.crt, collector.key (e.g. /etc/campuswatch/tls)',
    )
    .option(
      '--host <names>',
      'DNS names agents use for the collector, comma-separated or repeated',
      (v: string, prev: string[]) => [...prev, ...v.split(',')],
      [] as string[],
    )
    .option(
      '--ip <addrs>',
      'IP addresses agents use for the collector, comma-separated or repeated',
      (v: string, prev: string[]) => [...prev, ...v.split(',')],
      [] as string[],
    )
    .option(
      '--days <n>',
      `validity of the collector's certificate in days (CA: ${CA_DAYS})`,
      String(DEFAULT_CERT_DAYS),
    )
    .option('--port <n>', 'the collector port, for the agent URL printed', '8443')
    .option('--force', "replace the collector's certificate in --dir (an existing CA is kept and signs it)")
    .action(
      async (opts: {
        dir: string;
        host: string[];
        ip: string[];
        days: string;
        port: string;
        force?: boolean;
      }) => {
        if (!/^\d+$/.test(opts.days))
          throw new UsageError(`--days must be a whole number from 1 to ${CA_DAYS}`);
        if (!/^\d+$/.test(opts.port) || Number(opts.port) < 1 || Number(opts.port) > 65535)
          throw new UsageError('--port must be a port number from 1 to 65535');
        let result: TlsInitResult;
        try {
          result = await tlsInit({
            dir: opts.dir,
            hosts: opts.host,
            ips: opts.ip,
            days: Number(opts.days),
            force: opts.force === true,
          });
        } catch (err) {
          if (err instanceof TlsInitError) throw new UsageError(err.message);
          throw err;
        }
        process.stdout.write(tlsInitInstructions(result, Number(opts.port)));
      },
    );
}
