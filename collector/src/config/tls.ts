/** `tls`: the collector's certificate and key, checked when the config is loaded and read when it starts. */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { type Static, Type } from 'typebox';
import { readConfiguredFile } from '../../../protocol/config-file.js';
import type { Problem } from '../../../protocol/validate.js';

export const TlsConfig = Type.Object(
  {
    /** PEM certificate of the collector (with its intermediates, or give those in caFile). */
    certFile: Type.String({ minLength: 1 }),
    /** PEM private key of that certificate. */
    keyFile: Type.String({ minLength: 1 }),
    /** PEM intermediate CA certificate(s) sent with the certificate to complete its chain. */
    caFile: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);
export type TlsConfig = Static<typeof TlsConfig>;

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
}

/** The configured files' contents, or a problem naming the field and the path of each that cannot be read. */
export function readTls(
  tls: TlsConfig,
): { ok: true; material: TlsMaterial } | { ok: false; problems: Problem[] } {
  const problems: Problem[] = [];
  const read = (field: 'certFile' | 'keyFile' | 'caFile'): Buffer | undefined => {
    const file = tls[field];
    if (file === undefined) return undefined;
    const r = readConfiguredFile(`tls/${field}`, file);
    if (r.ok) return r.content;
    problems.push(r.problem);
    return undefined;
  };
  const cert = read('certFile');
  const key = read('keyFile');
  const ca = read('caFile');
  if (!cert || !key || problems.length > 0) return { ok: false, problems };
  return { ok: true, material: { cert, key, ...(ca ? { ca } : {}) } };
}

/** The files exist, hold a PEM certificate and key, and the key belongs to the certificate. */
export function checkTls(tls: TlsConfig): Problem[] {
  const r = readTls(tls);
  if (!r.ok) return r.problems;
  const { cert, key, ca } = r.material;
  const problems: Problem[] = [];
  try {
    new X509Certificate(cert);
  } catch {
    problems.push({ path: 'tls/certFile', message: `${tls.certFile} holds no PEM certificate` });
  }
  try {
    createPrivateKey(key);
  } catch {
    problems.push({
      path: 'tls/keyFile',
      message: `${tls.keyFile} holds no PEM private key (or it is encrypted)`,
    });
  }
  if (ca && tls.caFile) {
    try {
      new X509Certificate(ca);
    } catch {
      problems.push({ path: 'tls/caFile', message: `${tls.caFile} holds no PEM certificate` });
    }
  }
  if (problems.length > 0) return problems;
  try {
    createSecureContext({ cert, key, ...(ca ? { ca } : {}) });
  } catch (err) {
    problems.push({
      path: 'tls/keyFile',
      message: `does not go with the certificate in tls.certFile (${(err as Error).message})`,
    });
  }
  return problems;
}
