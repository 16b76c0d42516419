/**
 * Small real peers for the device checks: an RTSP server (answers OPTIONS with a status line, as a
 * camera or encoder does), an HTTP server with a chosen status, and a plain TCP listener. All listen
 * on a given host (default 127.0.0.1) and an ephemeral port unless told otherwise. Also runnable as a
 * script inside a lab namespace: `node --import tsx tests/helpers/device-peers.ts <kind> <host> <port> [status]`
 * prints `listening <port>` once ready.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

export interface Peer {
  readonly host: string;
  readonly port: number;
  /** Requests or connections seen so far. */
  readonly hits: () => number;
  close(): Promise<void>;
}

function listen(server: Server | HttpServer, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      const a = server.address();
      resolve(typeof a === 'object' && a ? a.port : port);
    });
  });
}

function closer(server: Server | HttpServer, sockets: Set<Socket>): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
}

function track(server: Server | HttpServer): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('error', () => {});
    s.once('close', () => sockets.delete(s));
  });
  return sockets;
}

const REASONS: Record<number, string> = {
  200: 'OK',
  401: 'Unauthorized',
  404: 'Not Found',
  500: 'Internal Server Error',
};

/**
 * An RTSP server: reads a request up to the blank line and answers `RTSP/1.0 <status> <reason>` with
 * the request's CSeq. `mode: 'garbage'` answers with a non-RTSP line instead.
 */
export async function startRtspServer(
  opts: { host?: string; port?: number; status?: number; mode?: 'rtsp' | 'garbage' } = {},
): Promise<Peer> {
  const host = opts.host ?? '127.0.0.1';
  const status = opts.status ?? 200;
  let hits = 0;
  const server = createServer((socket) => {
    let buf = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      buf += d;
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      hits++;
      const head = buf.slice(0, end);
      buf = buf.slice(end + 4);
      const cseq = /^CSeq:\s*(\S+)/im.exec(head)?.[1] ?? '0';
      if (opts.mode === 'garbage') {
        socket.end('HTTP/1.1 400 Bad Request\r\n\r\n');
        return;
      }
      const extra = status === 401 ? 'WWW-Authenticate: Digest realm="camera", nonce="abc"\r\n' : '';
      const publicLine = status === 200 ? 'Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n' : '';
      socket.write(
        `RTSP/1.0 ${status} ${REASONS[status] ?? 'Status'}\r\nCSeq: ${cseq}\r\n${publicLine}${extra}\r\n`,
      );
    });
  });
  const sockets = track(server);
  const port = await listen(server, host, opts.port ?? 0);
  return { host, port, hits: () => hits, close: closer(server, sockets) };
}

/** An HTTP server answering every request with `status` (default 200). */
export async function startHttpServer(
  opts: { host?: string; port?: number; status?: number } = {},
): Promise<Peer> {
  const host = opts.host ?? '127.0.0.1';
  let hits = 0;
  const server = createHttpServer((req, res) => {
    hits++;
    req.resume();
    res.writeHead(opts.status ?? 200, { 'content-type': 'text/plain' });
    res.end('campuswatch test device\n');
  });
  const sockets = track(server);
  const port = await listen(server, host, opts.port ?? 0);
  return { host, port, hits: () => hits, close: closer(server, sockets) };
}

/** A TCP listener that accepts and closes every connection. */
export async function startTcpListener(opts: { host?: string; port?: number } = {}): Promise<Peer> {
  const host = opts.host ?? '127.0.0.1';
  let hits = 0;
  const server = createServer((socket) => {
    hits++;
    socket.on('error', () => {});
    socket.end();
  });
  const sockets = track(server);
  const port = await listen(server, host, opts.port ?? 0);
  return { host, port, hits: () => hits, close: closer(server, sockets) };
}

/** A port on `host` that was free a moment ago (nothing listens on it). */
export async function closedPort(host = '127.0.0.1'): Promise<number> {
  const p = await startTcpListener({ host });
  await p.close();
  return p.port;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [kind, host = '0.0.0.0', portText = '0', statusText] = process.argv.slice(2);
  const port = Number(portText);
  const status = statusText === undefined ? undefined : Number(statusText);
  const start =
    kind === 'rtsp'
      ? startRtspServer({ host, port, ...(status !== undefined ? { status } : {}) })
      : kind === 'http'
        ? startHttpServer({ host, port, ...(status !== undefined ? { status } : {}) })
        : startTcpListener({ host, port });
  const peer = await start;
  process.stdout.write(`listening ${peer.port}\n`);
  for (const sig of ['SIGTERM', 'SIGINT'] as const)
    process.once(sig, () => void peer.close().then(() => process.exit(0)));
}
