import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';

/**
 * Raw UTF-8 in a request line (`GET /api/v1/compliance?district=示范区 HTTP/1.1`, as curl and scripts
 * send what they are given) is refused by Node's HTTP parser before any route sees it ("Invalid char in
 * url query", 400 "Client Error"), even with insecureHTTPParser. Browsers and HTTP libraries
 * percent-encode it; this does the same on the way in: in the request line of each request, and only
 * there, every byte ≥ 0x80 becomes `%XX`, which the router and the query-string parser decode back to
 * the same UTF-8 text. Headers and bodies are never touched.
 *
 * The request line is the first line a connection sends, and the first line after a request was read to
 * its end and answered (keep-alive). A request pipelined behind another one in the same packet is not
 * rewritten (it gets the parser's 400, as before). Such connections are read through Node's JavaScript
 * path instead of the native one.
 */
export function acceptRawUtf8Urls(server: Server): void {
  const atLineStart = new WeakMap<Socket, { inRequestLine: boolean }>();
  const event = server instanceof TlsServer ? 'secureConnection' : 'connection';
  // Added after Node's own listener: the parser exists; adding a 'data' listener makes Node feed it
  // from JavaScript ('data' events) rather than straight from the socket's handle.
  server.on(event, (socket: Socket) => {
    const state = { inRequestLine: true };
    atLineStart.set(socket, state);
    const push = socket.push;
    socket.push = function pushEncoded(this: Socket, chunk: unknown, encoding?: BufferEncoding) {
      if (state.inRequestLine && Buffer.isBuffer(chunk)) {
        const { out, lineEnded } = encodeRequestLine(chunk);
        if (lineEnded) state.inRequestLine = false;
        return push.call(this, out, encoding);
      }
      return push.call(this, chunk, encoding);
    };
    const noop = () => {};
    socket.on('data', noop);
    socket.removeListener('data', noop);
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const state = atLineStart.get(req.socket);
    if (!state) return;
    res.once('finish', () => {
      // the next bytes begin the next request once this one was read to its end
      if (req.complete) state.inRequestLine = true;
      else req.once('end', () => (state.inRequestLine = true));
    });
  });
}

/** Percent-encodes bytes ≥ 0x80 up to the first LF (the request line); the rest is copied. */
export function encodeRequestLine(chunk: Buffer): { out: Buffer; lineEnded: boolean } {
  const lf = chunk.indexOf(0x0a);
  const end = lf === -1 ? chunk.length : lf;
  let high = 0;
  for (let i = 0; i < end; i++) if ((chunk[i] as number) >= 0x80) high++;
  if (high === 0) return { out: chunk, lineEnded: lf !== -1 };
  const out = Buffer.allocUnsafe(chunk.length + 2 * high);
  let o = 0;
  for (let i = 0; i < end; i++) {
    const b = chunk[i] as number;
    if (b >= 0x80) {
      out[o++] = 0x25; // %
      out[o++] = HEX.charCodeAt(b >> 4);
      out[o++] = HEX.charCodeAt(b & 15);
    } else out[o++] = b;
  }
  o += chunk.copy(out, o, end);
  return { out: out.subarray(0, o), lineEnded: lf !== -1 };
}

const HEX = '0123456789ABCDEF';
