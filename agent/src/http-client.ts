import { readFileSync } from 'node:fs';
import { type Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { type Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/** The CA bundle the agent trusts for the collector could not be read. */
export class CaFileError extends Error {
  override readonly name = 'CaFileError';
}

/**
 * Reads a PEM CA bundle named by a setting (`collector.caFile`, `--ca-file`); the error names the setting
 * and the path.
 */
export function readCaFile(file: string, setting = 'collector.caFile'): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new CaFileError(
      `cannot read ${setting} ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      { cause: err },
    );
  }
}

/**
 * OpenSSL / Node codes of a server certificate that was not trusted (unknown CA, self-signed, expired,
 * wrong name): the socket error's `code`, never its text.
 */
export function isCertificateError(code: string | undefined): boolean {
  return (
    code !== undefined &&
    /^(UNABLE_TO_(GET|VERIFY|DECRYPT)_|CERT_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|HOSTNAME_MISMATCH$|ERR_TLS_CERT_ALTNAME_INVALID$)/.test(
      code,
    )
  );
}

/** A socket error as one line for a person: `certificate not trusted (CODE: text)` for TLS trust failures. */
export function describeConnectError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const text = e instanceof Error ? e.message : String(err);
  if (isCertificateError(e?.code)) {
    return `the collector's TLS certificate is not trusted (${e.code}: ${text}); check collector.caFile / --ca-file`;
  }
  return text;
}

export interface SmallRequest {
  method?: 'GET' | 'POST' | 'DELETE';
  headers?: Record<string, string>;
  body?: string | Buffer;
  signal: AbortSignal;
  /** Keep-alive agent (one per use: the speed test reuses one connection for its pings). */
  agent?: HttpAgent | HttpsAgent;
  /** PEM CA bundle to verify an https server against instead of the system's roots. */
  ca?: string | Buffer;
}

export interface SmallResponse {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** Bodies larger than this are cut (the API answers small JSON documents). */
const MAX_BODY = 1024 * 1024;

/**
 * One small HTTP(S) exchange with Node's own client (its parser is native: no WebAssembly to compile at
 * start, which matters for a short-lived CLI run). Rejects with the socket's error (its `code` kept).
 */
export function smallRequest(url: URL, opts: SmallRequest): Promise<SmallResponse> {
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<SmallResponse>((resolve, reject) => {
    const req = send(
      url,
      {
        method: opts.method ?? 'GET',
        headers: {
          ...(opts.body !== undefined ? { 'content-length': String(Buffer.byteLength(opts.body)) } : {}),
          ...opts.headers,
        },
        signal: opts.signal,
        ...(opts.agent ? { agent: opts.agent } : {}),
        ...(opts.ca ? { ca: opts.ca } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < MAX_BODY) chunks.push(c);
          size += c.length;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}
