import type { IncomingMessage, Server } from 'node:http';
import { Socket } from 'node:net';
import { apiError } from '../errors.js';
import { loadSockopt, receiveLowWater, setReceiveLowWater } from './sockopt.js';

/** The Upgrade token an agent sends to start an upload stream. */
export const UPLOAD_PROTOCOL = 'campuswatch-speedtest';
export const UPLOAD_PATH = '/api/v1/speedtest/upload';

const READ_BUFFER = 256 * 1024;

export type Admission =
  | {
      count: (n: number) => void;
      /** Called once when the stream's connection has closed (the slot counts its open streams). */
      closed?: () => void;
    }
  | { status: 401 | 403 | 429; reason: string };

export interface UploadSinkOptions {
  /**
   * The slot this request may upload into (token, `slot` and the slot's open streams checked), or a
   * reason to refuse. `socket` is the connection: destroying it ends the stream (at the slot's end).
   */
  admit(req: IncomingMessage, slotId: string, socket: Socket): Admission | Promise<Admission>;
  maxSeconds: number;
  onError?: (err: Error) => void;
  /** Logged once, at debug: whether upload sockets get SO_RCVLOWAT (the optional addon). */
  onDebug?: (fields: Record<string, unknown>, msg: string) => void;
}

/**
 * The upload half of the speed test, as an HTTP/1.1 Upgrade (like a WebSocket): the agent sends
 * `GET /api/v1/speedtest/upload?slot=… Upgrade: campuswatch-speedtest`, gets `101`, then raw bytes
 * until it closes. The bytes are counted as they arrive and never parsed.
 *
 * Why not a POST body: at ~100 MB/s a request body costs a 64 KiB allocation per read, and the
 * external memory it adds starts a full (mark-compact) garbage collection several times a second —
 * measured as the collector's main cost of an upload test (bench/bandwidth). Here the socket reads
 * into one buffer per stream (`onread`), so an upload allocates nothing per read.
 *
 * When the agent half-closes, the sink answers with one JSON line `{"bytes":N}` and closes.
 */
export function attachUploadSink(server: Server, opts: UploadSinkOptions): void {
  const lowWater = receiveLowWater();
  let logged = false;
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://collector');
    if (url.pathname !== UPLOAD_PATH || req.headers.upgrade?.toLowerCase() !== UPLOAD_PROTOCOL) {
      refuse(socket, 400, `unsupported upgrade; ${UPLOAD_PATH} accepts Upgrade: ${UPLOAD_PROTOCOL}`);
      return;
    }
    const admission = opts.admit(req, url.searchParams.get('slot') ?? '', socket);
    if (!(admission instanceof Promise)) {
      start(socket, head, admission);
      return;
    }
    // an agent sends nothing before the 101: no bytes can be missed while the state store answers; a
    // reset meanwhile must not be an unhandled 'error' (the HTTP server no longer listens on the socket)
    const early = () => socket.destroy();
    socket.on('error', early);
    admission.then(
      (a) => {
        socket.off('error', early);
        if (!socket.destroyed) start(socket, head, a);
        else if ('count' in a) a.closed?.();
      },
      (err: unknown) => {
        opts.onError?.(err as Error);
        socket.destroy();
      },
    );
  });

  function start(socket: Socket, head: Buffer, admitted: Admission): void {
    if ('status' in admitted) {
      refuse(socket, admitted.status, admitted.reason);
      return;
    }
    if (admitted.closed) socket.once('close', admitted.closed);
    socket.write(
      `HTTP/1.1 101 Switching Protocols\r\nupgrade: ${UPLOAD_PROTOCOL}\r\nconnection: upgrade\r\n\r\n`,
    );
    let bytes = 0;
    const until = performance.now() + opts.maxSeconds * 1000;
    const count = (n: number) => {
      bytes += n;
      admitted.count(n);
    };
    if (head.length > 0) count(head.length);
    // a stream that stops sending is ended on time too, not only at its next read
    const deadline = setTimeout(() => socket.destroy(), opts.maxSeconds * 1000);
    deadline.unref();
    socket.once('close', () => clearTimeout(deadline));
    const stream = adoptWithReadBuffer(socket, (n, raw) => {
      count(n);
      if (performance.now() > until) raw.destroy();
    });
    if (lowWater > 0) {
      const set = setReceiveLowWater(stream, lowWater);
      if (!logged) {
        logged = true;
        const s = loadSockopt();
        opts.onDebug?.(
          s.addon ? { addon: s.path, rcvlowat: lowWater, set } : { reason: s.reason },
          s.addon ? 'speed test: SO_RCVLOWAT on uploads' : 'speed test: no SO_RCVLOWAT (reads as they come)',
        );
      }
    }
    stream.on('end', () => stream.end(`${JSON.stringify({ bytes })}\n`));
    stream.on('error', (err) => {
      // an agent ends its test by closing the connection: ECONNRESET here is the normal end
      if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') opts.onError?.(err);
      stream.destroy();
    });
  }
}

/** The API's error shape, written by hand: an upgrade request never reaches Fastify's reply. */
function refuse(socket: Socket, status: 400 | 401 | 403 | 429, reason: string): void {
  const error = apiError(status, reason);
  const body = JSON.stringify(error);
  socket.end(
    `HTTP/1.1 ${status} ${error.error}\r\n` +
      `content-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

/**
 * Reads the upgraded socket into one reused buffer. Node only offers that (`onread`) when a socket is
 * constructed, and the HTTP server constructed this one, so its handle is moved into a new Socket. That
 * relies on the undocumented `_handle` property: where it is missing the socket is read the ordinary
 * way (same counts, more garbage).
 */
function adoptWithReadBuffer(socket: Socket, onBytes: (n: number, s: Socket) => void): Socket {
  const inner = socket as unknown as { _handle?: unknown };
  const handle = inner._handle;
  if (handle && typeof handle === 'object' && 'readStart' in handle) {
    inner._handle = null;
    const adopted: Socket = new Socket({
      handle,
      onread: {
        buffer: Buffer.allocUnsafe(READ_BUFFER),
        callback: (n: number) => {
          onBytes(n, adopted);
          return true;
        },
      },
    } as ConstructorParameters<typeof Socket>[0]);
    adopted.resume();
    // the server counts the connection by the first socket's 'close' (server.close() waits for it), and
    // shuts connections down through it: tie the two together
    adopted.once('close', () => socket.destroy());
    socket.once('close', () => adopted.destroy());
    return adopted;
  }
  socket.on('data', (chunk: Buffer) => onBytes(chunk.length, socket));
  return socket;
}
