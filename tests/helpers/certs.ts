import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

// Throwaway certificates made with the `openssl` command in a test's temp dir: a CA, certificates it
// issues (with subjectAltNames), self-signed and expired ones for the security probe.

/** Why certificate tests cannot run here, or undefined when `openssl` is there. */
export function opensslAvailable(): string | undefined {
  return spawnSync('openssl', ['version'], { encoding: 'utf8' }).status === 0
    ? undefined
    : '`openssl` not found';
}

export function openssl(args: string[], cwd: string): void {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')} failed: ${r.stderr}`);
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A key and certificate on disk, and their PEM text. */
export interface CertPair {
  keyFile: string;
  certFile: string;
  key: string;
  cert: string;
}

function pair(dir: string, name: string): CertPair {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.crt`);
  return { keyFile, certFile, key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8') };
}

/** A self-signed CA certificate (`<name>.crt`, `<name>.key`) with the CA basic constraint. */
export function makeCa(dir: string, name: string, commonName = `campuswatch test CA ${name}`): CertPair {
  openssl(
    ['req', '-x509', ...EC, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-subj', `/CN=${commonName}`]
      .concat(['-days', '30'])
      .concat(['-addext', 'basicConstraints=critical,CA:TRUE'])
      .concat(['-addext', 'keyUsage=critical,keyCertSign,cRLSign']),
    dir,
  );
  return pair(dir, name);
}

/**
 * A certificate issued by `ca`: a server certificate for `san` (default 127.0.0.1, ::1 and localhost),
 * or with `isCa` an intermediate CA that may issue further certificates.
 */
export function issueCert(
  dir: string,
  ca: CertPair,
  name: string,
  opts: { san?: string[]; isCa?: boolean; days?: number } = {},
): CertPair {
  const san = opts.san ?? ['IP:127.0.0.1', 'IP:::1', 'DNS:localhost'];
  openssl(
    ['req', '-new', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`],
    dir,
  );
  const ext = opts.isCa
    ? 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n'
    : `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=${san.join(',')}\n`;
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(
    ['x509', '-req', '-in', `${name}.csr`, '-CA', ca.certFile, '-CAkey', ca.keyFile]
      .concat(['-set_serial', `0x${randomBytes(8).toString('hex')}`, '-days', String(opts.days ?? 30)])
      .concat(['-extfile', `${name}.ext`, '-out', `${name}.crt`]),
    dir,
  );
  return pair(dir, name);
}

/**
 * Certificates for the security probe's TLS rules, with common names under `.<domain>` and a CA called
 * `Campus <Domain> CA` (the tests look for those names in the evidence).
 */
export function securityCertificates(domain: 'test' | 'lab' = 'test') {
  const caName = `Campus ${domain === 'lab' ? 'Lab' : 'Test'} CA`;
  return {
    /** Self-signed, valid `days` from now. */
    selfSigned(dir: string, name: string, days: number): CertPair {
      openssl(
        [
          'req',
          '-x509',
          ...EC,
          '-keyout',
          `${name}.key`,
          '-out',
          `${name}.crt`,
          '-subj',
          `/CN=${name}.${domain}`,
        ].concat(['-days', String(days)]),
        dir,
      );
      return pair(dir, name);
    },

    /** Self-signed, valid 2020-01-01 … 2021-01-01 (`openssl ca -selfsign` sets the dates; no faketime). */
    expiredCert(dir: string): CertPair {
      writeFileSync(join(dir, 'index.txt'), '');
      writeFileSync(join(dir, 'serial'), '1000\n');
      writeFileSync(
        join(dir, 'ca.cnf'),
        `[ca]\ndefault_ca = d\n[d]\ndatabase = ${dir}/index.txt\nnew_certs_dir = ${dir}\nserial = ${dir}/serial\ndefault_md = sha256\npolicy = p\nunique_subject = no\n[p]\ncommonName = supplied\n`,
      );
      openssl(
        [
          'req',
          '-new',
          ...EC,
          '-keyout',
          'expired.key',
          '-out',
          'expired.csr',
          '-subj',
          `/CN=expired.${domain}`,
        ],
        dir,
      );
      openssl(
        ['ca', '-batch', '-notext', '-config', 'ca.cnf', '-selfsign', '-keyfile', 'expired.key']
          .concat(['-in', 'expired.csr', '-out', 'expired.crt'])
          .concat(['-startdate', '20200101000000Z', '-enddate', '20210101000000Z']),
        dir,
      );
      return pair(dir, 'expired');
    },

    /** A leaf valid 200 days, signed by a CA (issuer ≠ subject: not self-signed). */
    caSigned(dir: string): CertPair {
      openssl(
        ['req', '-x509', ...EC, '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', `/CN=${caName}`].concat([
          '-days',
          '365',
        ]),
        dir,
      );
      openssl(
        ['req', '-new', ...EC, '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', `/CN=leaf.${domain}`],
        dir,
      );
      openssl(
        ['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial'].concat([
          '-days',
          '200',
          '-out',
          'leaf.crt',
        ]),
        dir,
      );
      return pair(dir, 'leaf');
    },
  };
}
