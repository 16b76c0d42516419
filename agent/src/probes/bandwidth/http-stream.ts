import { isIP, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { findSockopt, type SockoptLoad, setLowWater } from '../../../../protocol/sockopt.js';

export type { SockoptAddon, SockoptLoad } from '../../../../protocol/sockopt.js';

/**
 * One HTTP/1.1 exchange on its own connection for the speed test's byte streams, without an HTTP
 * client library's per-chunk machinery: the test moves ~100 MB per second through few sockets, and the
 * cost that matters is per read, not per byte. A download is a GET whose (chunked) body is counted;
 * an upload is a GET with `Upgrade`, after whose 101 raw bytes flow until the caller aborts.
 *
 * Plain-HTTP reads go into one reused buffer (`onread`): no allocation per read, so no garbage.
 */

const READ_BUFFER = 256 * 1024;

/**
 * Where scripts/build-native.sh puts the addon (protocol/sockopt.ts), relative to this module: beside the
 * agent bundle (dist/agent-bundle/sockopt.node, for cli.js or a chunk in chunks/), or in the checkout
 * (native/sockopt/build/, from agent/src/probes/bandwidth or dist/agent/src/probes/bandwidth).
 */
const SOCKOPT_PATHS = [
  './sockopt.node',
  '../sockopt.node',
  '../../../../native/sockopt/build/sockopt.node',
  '../../../../../native/sockopt/build/sockopt.node',
];
let sockopt: SockoptLoad | undefined;

/** Loads the addon once; when it is not built or does not load, says why (the speed test works without it). */
export function loadSockopt(): SockoptLoad {
  sockopt ??= findSockopt(SOCKOPT_PATHS.map((rel) => new URL(rel, import.meta.url)));
  return sockopt;
}

/** SO_RCVLOWAT on a download socket (protocol/sockopt.ts setLowWater); false without the addon. */
export function setReceiveLowWater(socket: Socket, bytes: number): boolean {
  return setLowWater(loadSockopt(), socket, bytes);
}

export interface HttpStreamOptions {
  url: URL;
  headers: Record<string, string>;
  signal: AbortSignal;
  /** Body bytes of the response, as they arrive (framing excluded). */
  onBody?: (n: number) => void;
  /**
   * An upload stream: the request asks for `Upgrade: <protocol>` and, once the server answers 101,
   * `chunk` is sent over and over until `signal` aborts; `onSent` counts what was written.
   */
  upload?: { protocol: string; chunk: Buffer; onSent: (n: number) => void };
  /** https: PEM CA bundle to verify the server against instead of the system's roots. */
  ca?: string | Buffer;
  /** https: the TLS server name (SNI and certificate check); default the URL's host name (none for an IP). */
  servername?: string;
  /**
   * Plain HTTP download: once the response head is read, SO_RCVLOWAT of this many bytes on the socket
   * (setReceiveLowWater; ignored without the addon). The last bytes before the server's FIN still arrive.
   */
  receiveLowWater?: number;
}

export interface HttpStreamResult {
  status: number;
  /** Body bytes received. */
  bytes: number;
  /** The exchange was cut short by `signal` (the normal end of an upload or a timed download). */
  aborted: boolean;
}

export class HttpStreamError extends Error {
  override readonly name = 'HttpStreamError';
  constructor(
    message: string,
    readonly code?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Counts the payload of a chunked body (RFC 9112, section 7.1), chunk extensions and trailers ignored. */
export class ChunkedCounter {
  private state: 'size' | 'ext' | 'sizeLf' | 'data' | 'dataCr' | 'dataLf' | 'trailer' | 'done' = 'size';
  private size = 0;
  private remaining = 0;
  private sawDigit = false;
  private trailerLineEmpty = true;

  get done(): boolean {
    return this.state === 'done';
  }

  /** Feeds bytes; returns the payload bytes among them. Throws on a malformed frame. */
  feed(buf: Buffer, start: number, end: number): number {
    let payload = 0;
    let i = start;
    while (i < end && this.state !== 'done') {
      switch (this.state) {
        case 'data': {
          const n = Math.min(this.remaining, end - i);
          payload += n;
          this.remaining -= n;
          i += n;
          if (this.remaining === 0) this.state = 'dataCr';
          break;
        }
        case 'size': {
          const c = buf[i++]!;
          const d = hexDigit(c);
          if (d >= 0) {
            this.size = this.size * 16 + d;
            this.sawDigit = true;
            if (this.size > Number.MAX_SAFE_INTEGER / 32) throw new Error('chunk size too large');
          } else if (c === 0x3b /* ; */ || c === 0x20 || c === 0x09) this.state = 'ext';
          else if (c === 0x0d) this.state = 'sizeLf';
          else throw new Error('malformed chunk size');
          break;
        }
        case 'ext':
          if (buf[i++] === 0x0d) this.state = 'sizeLf';
          break;
        case 'sizeLf':
          if (buf[i++] !== 0x0a || !this.sawDigit) throw new Error('malformed chunk header');
          if (this.size === 0) {
            this.state = 'trailer';
            this.trailerLineEmpty = true;
          } else {
            this.remaining = this.size;
            this.state = 'data';
          }
          this.size = 0;
          this.sawDigit = false;
          break;
        case 'dataCr':
          if (buf[i++] !== 0x0d) throw new Error('chunk data not followed by CRLF');
          this.state = 'dataLf';
          break;
        case 'dataLf':
          if (buf[i++] !== 0x0a) throw new Error('chunk data not followed by CRLF');
          this.state = 'size';
          break;
        case 'trailer': {
          const c = buf[i++]!;
          if (c === 0x0a) {
            if (this.trailerLineEmpty) this.state = 'done';
            this.trailerLineEmpty = true;
          } else if (c !== 0x0d) this.trailerLineEmpty = false;
          break;
        }
      }
    }
    return payload;
  }
}

function hexDigit(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

interface ResponseHead {
  status: number;
  chunked: boolean;
  contentLength: number | undefined;
}

function parseHead(text: string): ResponseHead {
  const lines = text.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  if (!m) throw new Error(`not an HTTP/1.1 response: ${JSON.stringify((lines[0] ?? '').slice(0, 60))}`);
  let chunked = false;
  let contentLength: number | undefined;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === 'transfer-encoding') chunked = /(^|,)\s*chunked\s*$/i.test(value);
    else if (name === 'content-length') contentLength = Number(value);
  }
  return { status: Number(m[1]), chunked, contentLength };
}

/**
 * Runs one exchange. Resolves with the status and the counted body (status 0 when `signal` ended it
 * before a response, as at the end of an upload); rejects when the connection failed otherwise.
 */
export function httpStream(opts: HttpStreamOptions): Promise<HttpStreamResult> {
  const { url } = opts;
  const secure = url.protocol === 'https:';
  const port = Number(url.port || (secure ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return new Promise<HttpStreamResult>((resolve, reject) => {
    let head: ResponseHead | undefined;
    let headBuf: Buffer = Buffer.alloc(0);
    let bytes = 0;
    let chunked: ChunkedCounter | undefined;
    let settled = false;
    let onUpgrade: (() => void) | undefined;

    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      opts.signal.removeEventListener('abort', onAbort);
      socket.destroy();
      if (head) resolve({ status: head.status, bytes, aborted: opts.signal.aborted });
      else if (opts.signal.aborted) resolve({ status: 0, bytes, aborted: true });
      else reject(err ?? new HttpStreamError('the connection closed before a response', 'ECONNRESET'));
    };
    const onAbort = () => finish(new HttpStreamError('aborted', 'ABORT_ERR', { cause: opts.signal.reason }));

    const onData = (buf: Buffer, start: number, end: number): void => {
      if (!head) {
        const joined = Buffer.concat([headBuf, buf.subarray(start, end)]);
        const at = joined.indexOf('\r\n\r\n');
        if (at < 0) {
          if (joined.length > 64 * 1024) finish(new HttpStreamError('response header too large'));
          headBuf = joined;
          return;
        }
        try {
          head = parseHead(joined.subarray(0, at).toString('latin1'));
        } catch (err) {
          finish(new HttpStreamError((err as Error).message, undefined, { cause: err }));
          return;
        }
        if (head.status === 101 && opts.upload) {
          onUpgrade?.();
          return;
        }
        if (head.chunked) chunked = new ChunkedCounter();
        if (opts.receiveLowWater && !secure && head.status === 200)
          setReceiveLowWater(socket, opts.receiveLowWater);
        const rest = joined.subarray(at + 4);
        headBuf = Buffer.alloc(0);
        count(rest, 0, rest.length);
        return;
      }
      count(buf, start, end);
    };
    const count = (buf: Buffer, start: number, end: number) => {
      let n: number;
      if (chunked) {
        try {
          n = chunked.feed(buf, start, end);
        } catch (err) {
          finish(
            new HttpStreamError(`bad chunked body: ${(err as Error).message}`, undefined, { cause: err }),
          );
          return;
        }
      } else n = end - start;
      bytes += n;
      if (n > 0) opts.onBody?.(n);
      if (chunked?.done || (head?.contentLength !== undefined && !chunked && bytes >= head.contentLength))
        finish();
    };
    let socket: Socket;
    if (secure) {
      const servername = opts.servername ?? (isIP(host) ? undefined : host);
      socket = tlsConnect({
        host,
        port,
        ...(servername ? { servername } : {}),
        ...(opts.ca ? { ca: opts.ca } : {}),
      });
      socket.on('data', (b: Buffer) => {
        onData(b, 0, b.length);
      });
    } else {
      socket = netConnect({
        host,
        port,
        onread: {
          buffer: Buffer.allocUnsafe(READ_BUFFER),
          callback: (n: number, buf: Uint8Array) => {
            onData(buf as Buffer, 0, n);
            return true;
          },
        },
      });
    }
    socket.setNoDelay(true);
    socket.on('error', (err: NodeJS.ErrnoException) =>
      finish(new HttpStreamError(err.message, err.code, { cause: err })),
    );
    socket.on('end', () => finish());
    socket.on('close', () => finish());
    if (opts.signal.aborted) {
      onAbort();
      return;
    }
    opts.signal.addEventListener('abort', onAbort, { once: true });

    const lines = [
      `GET ${url.pathname}${url.search} HTTP/1.1`,
      `host: ${url.host}`,
      ...(opts.upload ? ['connection: upgrade', `upgrade: ${opts.upload.protocol}`] : ['connection: close']),
      ...Object.entries(opts.headers).map(([k, v]) => `${k}: ${v}`),
    ];
    socket.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (!opts.upload) return;
    const { chunk, onSent } = opts.upload;
    const pump = () => {
      while (!settled && !opts.signal.aborted) {
        const more = socket.write(chunk, (err) => {
          if (!err) onSent(chunk.length);
        });
        if (!more) {
          socket.once('drain', pump);
          return;
        }
      }
    };
    onUpgrade = pump;
  });
}
