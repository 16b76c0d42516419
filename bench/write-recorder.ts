// A pass-through HTTP proxy between the collector and InfluxDB for bench/ingest --record-writes: every
// request is forwarded unchanged (undici keep-alive Pool) and its answer sent back; while recording, the
// path and body of each `POST /write` are kept, and written as JSON lines on `GET /_recorder/stop?file=`.
// It lets bench/ingest replay the collector's own /write bodies straight to InfluxDB, so that InfluxDB's
// CPU per point for exactly what the collector writes can be compared with the raw reference's.
// Usage (started by bench/ingest): node --import tsx bench/write-recorder.ts INFLUX_URL
// Prints one JSON line `{ url }` on stdout once it listens; control: GET /_recorder/start, /_recorder/stop.
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';

const target = process.argv[2];
if (!target) {
  process.stderr.write('usage: write-recorder.ts INFLUX_URL\n');
  process.exit(2);
}
const pool = new Pool(target, { connections: 64, pipelining: 1, keepAliveTimeout: 60_000 });
let recording = false;
let recorded: { path: string; body: string }[] = [];

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

const server = createServer((req, res) => {
  const path = req.url ?? '/';
  if (path.startsWith('/_recorder/')) {
    const u = new URL(path, 'http://recorder');
    if (u.pathname === '/_recorder/start') {
      recorded = [];
      recording = true;
      res.end('{"recording":true}');
    } else if (u.pathname === '/_recorder/stop') {
      recording = false;
      const file = u.searchParams.get('file');
      if (file) writeFileSync(file, recorded.map((r) => JSON.stringify(r)).join('\n'));
      res.end(JSON.stringify({ writes: recorded.length }));
      recorded = [];
    } else {
      res.statusCode = 404;
      res.end();
    }
    return;
  }
  readBody(req)
    .then(async (body) => {
      if (recording && req.method === 'POST' && path.startsWith('/write'))
        recorded.push({ path, body: body.toString('utf8') });
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers))
        if (typeof v === 'string' && k !== 'host' && k !== 'connection' && k !== 'content-length')
          headers[k] = v;
      const up = await pool.request({
        path,
        method: (req.method ?? 'GET') as 'GET',
        headers,
        ...(body.length > 0 ? { body } : {}),
      });
      const answer = Buffer.from(await up.body.arrayBuffer());
      res.statusCode = up.statusCode;
      for (const [k, v] of Object.entries(up.headers))
        if (v !== undefined && k !== 'connection' && k !== 'transfer-encoding' && k !== 'content-length')
          res.setHeader(k, v);
      res.end(answer);
    })
    .catch((err: unknown) => {
      res.statusCode = 502;
      res.end(String(err));
    });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}` })}\n`);
});
process.once('SIGTERM', () => {
  server.close();
  void pool.close().finally(() => process.exit(0));
});
