/**
 * Real peers for the security-baseline lab test, run inside a lab namespace:
 * `node --import tsx tests/lab/security-peers.ts <spec.json>`. The spec lists the peers (kind, host,
 * port …); once every one listens it prints one JSON line `{"listening":<count>}`. SIGTERM closes them.
 *
 * Kinds: `tcp` (accepts and closes: a Telnet or RDP port), `ftp` (220 greeting), `tftp` (UDP; answers
 * every read request with ERROR 1 from a new port, as a TFTP server does), `http` (a fixed HTML page),
 * `rtsp` (DESCRIBE → 200 + SDP, or 401 Digest), `tls` (a TLS server with a certificate and key from
 * files, optionally restricted to protocol versions).
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type SecureVersion } from 'node:tls';

export type PeerSpec =
  | { kind: 'tcp' | 'ftp'; host: string; port: number }
  | { kind: 'tftp'; host: string; port: number }
  | { kind: 'http'; host: string; port: number; html: string }
  | { kind: 'rtsp'; host: string; port: number; mode: 'open' | 'auth' }
  | {
      kind: 'tls';
      host: string;
      port: number;
      keyFile: string;
      certFile: string;
      minVersion?: SecureVersion;
      maxVersion?: SecureVersion;
      ciphers?: string;
    };

const SDP =
  'v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=Classroom 101\r\nt=0 0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\nm=audio 0 RTP/AVP 97\r\n';

const closers: Array<() => Promise<void>> = [];

function listen(server: Server | HttpServer, host: string, port: number): Promise<void> {
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('error', () => {});
    s.once('close', () => sockets.delete(s));
  });
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function rtspServer(mode: 'open' | 'auth'): Server {
  return createServer((s) => {
    let buf = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      buf += d;
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.slice(0, end);
      buf = buf.slice(end + 4);
      const cseq = /^CSeq:\s*(\S+)/im.exec(head)?.[1] ?? '0';
      s.write(
        mode === 'auth'
          ? `RTSP/1.0 401 Unauthorized\r\nCSeq: ${cseq}\r\nWWW-Authenticate: Digest realm="IP Camera", nonce="abc"\r\n\r\n`
          : `RTSP/1.0 200 OK\r\nCSeq: ${cseq}\r\nContent-Type: application/sdp\r\nContent-Length: ${Buffer.byteLength(SDP)}\r\n\r\n${SDP}`,
      );
    });
  });
}

async function tftpServer(host: string, port: number): Promise<void> {
  const server = createSocket('udp4');
  const replies = new Set<UdpSocket>();
  server.on('message', (msg, rinfo) => {
    if (msg.length < 4 || msg.readUInt16BE(0) !== 1) return;
    const reply = createSocket('udp4');
    replies.add(reply);
    const err = Buffer.concat([Buffer.from([0, 5, 0, 1]), Buffer.from('File not found\0', 'ascii')]);
    reply.bind(0, host, () =>
      reply.send(err, rinfo.port, rinfo.address, () => {
        reply.close();
        replies.delete(reply);
      }),
    );
  });
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        for (const r of replies) r.close();
        server.close(() => resolve());
      }),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.bind(port, host, () => resolve());
  });
}

async function start(p: PeerSpec): Promise<void> {
  switch (p.kind) {
    case 'tcp':
      return listen(
        createServer((s) => s.end()),
        p.host,
        p.port,
      );
    case 'ftp':
      return listen(
        createServer((s) => {
          s.write('220 (vsFTPd 3.0.3) lab camera\r\n');
          s.on('data', (d) => {
            if (d.toString().startsWith('QUIT')) s.end('221 Goodbye.\r\n');
          });
        }),
        p.host,
        p.port,
      );
    case 'tftp':
      return tftpServer(p.host, p.port);
    case 'http':
      return listen(
        createHttpServer((req, res) => {
          req.resume();
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
          res.end(p.html);
        }),
        p.host,
        p.port,
      );
    case 'rtsp':
      return listen(rtspServer(p.mode), p.host, p.port);
    case 'tls': {
      const server = createTlsServer(
        {
          key: readFileSync(p.keyFile),
          cert: readFileSync(p.certFile),
          ...(p.minVersion ? { minVersion: p.minVersion } : {}),
          ...(p.maxVersion ? { maxVersion: p.maxVersion } : {}),
          ...(p.ciphers ? { ciphers: p.ciphers } : {}),
        },
        (s) => s.end(),
      );
      server.on('tlsClientError', () => {});
      return listen(server as unknown as Server, p.host, p.port);
    }
  }
}

const specFile = process.argv[2];
if (!specFile) throw new Error('usage: security-peers.ts <spec.json>');
const peers = JSON.parse(readFileSync(specFile, 'utf8')) as PeerSpec[];
await Promise.all(peers.map(start));
process.stdout.write(`${JSON.stringify({ listening: peers.length })}\n`);
for (const sig of ['SIGTERM', 'SIGINT'] as const)
  process.once(sig, () => void Promise.all(closers.map((c) => c())).then(() => process.exit(0)));
