import {
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
} from 'node:http';
import {
  Agent as HttpsAgent,
  type AgentOptions as HttpsAgentOptions,
  request as httpsRequest,
} from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { describeReadFailure, readBoundedFile } from '../../protocol/bounded-read.js';

/** The CA bundle the agent trusts for the collector could not be read. */
export class CaFileError extends Error {
  override readonly name = 'CaFileError';
}

/**
 * Reads a PEM CA bundle named by a setting (`collector.caFile`, `--ca-file`); the error names the setting
 * and the path.
 */
export function readCaFile(file: string, setting = 'collector.caFile'): Buffer {
  const read = readBoundedFile(file);
  if (read.ok) return read.content;
  if (read.code !== undefined) throw new CaFileError(`cannot read ${setting} ${file} (${read.code})`);
  throw new CaFileError(`${setting}: ${describeReadFailure(read, file)}`);
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

/**
 * The agent was given a CA (`--ca-file`, `collector.caFile`) and the collector's certificate does not chain
 * to it: said in words, naming the file, instead of OpenSSL's code alone (a subset of the codes above: not a
 * name mismatch). A district's CA comes from `campuswatch-collector tls init` (its ca.crt).
 */
/** TLS verification codes that mean: no chain from the server's certificate to the CA trusted. */
const NOT_SIGNED_BY_CA: ReadonlySet<string> = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
]);

/**
 * `the collector at URL is not trusted: its TLS certificate is not signed by the CA in FILE (CODE: text)`
 * when `err` is such a failure, else undefined. `setting` is how the user named the file (--ca-file or
 * collector.caFile), for the fix.
 */
export function notSignedByCa(
  err: unknown,
  caFile: string,
  collectorUrl: string,
  setting = '--ca-file',
): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === undefined || !NOT_SIGNED_BY_CA.has(code)) return undefined;
  const text = err instanceof Error ? err.message : String(err);
  return `the collector at ${collectorUrl} is not trusted: its TLS certificate is not signed by the CA in ${caFile} (${code}: ${text}); give ${setting} the CA that signed the collector's certificate (the ca.crt written by 'campuswatch-collector tls init')`;
}

export interface SmallRequest {
  method?: 'GET' | 'POST' | 'DELETE';
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** The caller's deadline: aborting it ends the exchange (the promise rejects with an AbortError). */
  signal: AbortSignal;
  /**
   * Keep-alive agent (one per use: the speed test reuses one connection for its pings, the forwarder its
   * connection to the collector); `false`: a connection of its own, closed after the exchange.
   */
  agent?: HttpAgent | HttpsAgent | false;
  /** PEM CA bundle to verify an https server against instead of the system's roots. */
  ca?: string | Buffer;
  /** No connection (TCP and, for https, TLS) within this many ms: rejects with HttpTimeoutError('connect'). */
  connectTimeoutMs?: number;
  /**
   * No response head this many ms after the connection was there (or a kept-alive one was taken):
   * rejects with HttpTimeoutError('headers').
   */
  headersTimeoutMs?: number;
  /**
   * Read at most this many bytes of the body, then close the connection: a device's page may never end (an
   * MJPEG stream). Default: read to the end, keeping the first MiB.
   */
  maxBody?: number;
  /**
   * A body that breaks off after the response head arrived resolves with what was read (`bodyError` set)
   * instead of rejecting: for checks that only want the status.
   */
  partialBody?: boolean;
}

export interface SmallResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** `performance.now()` when the response head arrived (a check's round-trip time ends there). */
  headAt: number;
  /** The body as read (cut at `maxBody`, or at 1 MiB). */
  bytes: Buffer;
  /** The body as UTF-8 text. */
  readonly text: string;
  /** With `partialBody`: why the body ended early. */
  bodyError?: Error;
}

/** Bodies larger than this are cut (the API answers small JSON documents). */
const MAX_BODY = 1024 * 1024;

/** A connect or response-head timeout of smallRequest; `code` ETIMEDOUT, as a socket timeout has. */
export class HttpTimeoutError extends Error {
  override readonly name = 'HttpTimeoutError';
  readonly code = 'ETIMEDOUT';
  constructor(
    readonly phase: 'connect' | 'headers',
    readonly timeoutMs: number,
  ) {
    super(
      phase === 'connect'
        ? `no connection within ${timeoutMs} ms`
        : `no response head within ${timeoutMs} ms of connecting`,
    );
  }
}

/**
 * One small HTTP(S) exchange with Node's own client (its parser is native: no WebAssembly to compile at
 * start, and no second HTTP stack in the daemon's memory). Rejects with the socket's error (its `code`
 * kept), an AbortError when `signal` aborts, or an HttpTimeoutError.
 */
export function smallRequest(url: URL, opts: SmallRequest): Promise<SmallResponse> {
  const https = url.protocol === 'https:';
  const send = https ? httpsRequest : httpRequest;
  const maxBody = opts.maxBody ?? MAX_BODY;
  const cutAtLimit = opts.maxBody !== undefined;
  return new Promise<SmallResponse>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const arm = (phase: HttpTimeoutError['phase'], ms: number | undefined) => {
      if (timer) clearTimeout(timer);
      timer = undefined;
      if (ms !== undefined) timer = setTimeout(() => req.destroy(new HttpTimeoutError(phase, ms)), ms);
    };
    const disarm = () => arm('headers', undefined);
    const fail = (err: Error) => {
      disarm();
      reject(err);
    };
    const req = send(
      url,
      {
        method: opts.method ?? 'GET',
        headers: {
          ...(opts.body !== undefined ? { 'content-length': String(Buffer.byteLength(opts.body)) } : {}),
          ...opts.headers,
        },
        signal: opts.signal,
        ...(opts.agent !== undefined ? { agent: opts.agent } : {}),
        ...(opts.ca ? { ca: opts.ca } : {}),
      },
      (res) => {
        const headAt = performance.now();
        disarm();
        readBody(res, maxBody, cutAtLimit, opts.partialBody === true).then(({ bytes, error }) => {
          const out: SmallResponse = {
            status: res.statusCode ?? 0,
            headers: res.headers,
            headAt,
            bytes,
            get text() {
              return bytes.toString('utf8');
            },
          };
          if (error) out.bodyError = error;
          resolve(out);
        }, reject);
      },
    );
    if (opts.connectTimeoutMs !== undefined || opts.headersTimeoutMs !== undefined) {
      req.once('socket', (socket: Socket) => {
        if (!socket.connecting) return arm('headers', opts.headersTimeoutMs);
        arm('connect', opts.connectTimeoutMs);
        socket.once(https ? 'secureConnect' : 'connect', () => arm('headers', opts.headersTimeoutMs));
      });
    }
    req.on('error', fail);
    if (!https) req.end(opts.body);
    else {
      // The request goes out once the TLS handshake is done (a kept-alive connection: at once): a
      // handshake failure then surfaces as OpenSSL's own error (ERR_SSL_WRONG_VERSION_NUMBER, a
      // certificate code), not as the EPROTO of a write into a failed handshake.
      req.once('socket', (socket: TLSSocket) => {
        const protocol = socket.connecting ? null : socket.getProtocol();
        if (protocol !== null && protocol !== 'unknown') req.end(opts.body);
        else socket.once('secureConnect', () => req.end(opts.body));
      });
    }
  });
}

function readBody(
  res: IncomingMessage,
  maxBody: number,
  cutAtLimit: boolean,
  partial: boolean,
): Promise<{ bytes: Buffer; error?: Error }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (error?: Error) => {
      if (done) return;
      done = true;
      const bytes = Buffer.concat(chunks);
      const cut = bytes.length > maxBody ? bytes.subarray(0, maxBody) : bytes;
      if (error && !partial) reject(error);
      else resolve(error ? { bytes: cut, error } : { bytes: cut });
    };
    res.on('data', (c: Buffer) => {
      if (size < maxBody) chunks.push(c);
      size += c.length;
      if (cutAtLimit && size >= maxBody) {
        finish();
        res.destroy(); // the rest is not wanted: closes the connection
      }
    });
    res.on('end', () => finish());
    res.on('error', (err) => finish(err));
    // A connection that closes before the body ended ('aborted' in Node 20, without an 'error' on `res`).
    res.on('close', () => {
      if (!res.complete)
        finish(
          Object.assign(new Error('the connection closed before the body ended'), { code: 'ECONNRESET' }),
        );
    });
  });
}

/**
 * Keep-alive agents for http: and https: URLs with the same options (each made when first needed);
 * `destroy()` closes their connections.
 */
export class AgentPair {
  private http: HttpAgent | undefined;
  private https: HttpsAgent | undefined;

  constructor(private readonly options: HttpsAgentOptions) {}

  for(url: URL): HttpAgent | HttpsAgent {
    if (url.protocol === 'https:') {
      this.https ??= new HttpsAgent(this.options);
      return this.https;
    }
    this.http ??= new HttpAgent(this.options);
    return this.http;
  }

  destroy(): void {
    this.http?.destroy();
    this.https?.destroy();
  }
}
