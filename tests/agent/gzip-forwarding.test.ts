import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadAgentConfig } from '../../agent/src/config.js';
import { Forwarder } from '../../agent/src/forwarder.js';
import { Spool } from '../../agent/src/spool/spool.js';
import { makeReport } from '../helpers/reports.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Seen {
  encoding: string | undefined;
  bytes: number;
}

/**
 * A collector that predates compressed bodies: it parses the bytes as they come as JSON, so a gzip body
 * is answered with its own 400 (`Body is not valid JSON`), as such a collector answers it.
 */
async function oldCollector(): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ encoding: req.headers['content-encoding'], bytes: body.length });
      res.setHeader('content-type', 'application/json; charset=utf-8');
      try {
        const { reportId } = JSON.parse(body.toString()) as { reportId: string };
        res.end(JSON.stringify({ status: 'stored', reportId, clockOffsetS: 0, shifted: false }));
      } catch {
        res.statusCode = 400;
        res.end(JSON.stringify({ statusCode: 400, error: 'Bad Request', message: 'Body is not valid JSON' }));
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

function spool(): Spool {
  const dir = mkdtempSync(join(tmpdir(), 'cw-gzip-fwd-'));
  const s = new Spool(join(dir, 'spool.sqlite'), 100);
  cleanups.push(() => {
    s.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return s;
}

describe('gzip-compressed reports', () => {
  it('the agent sends gzip by default and keeps the body limit of the collector’s default (config)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cw-gzip-cfg-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'agent.yaml');
    writeFileSync(
      file,
      'school: { id: sz-x, name: 学校, district: 区, pupils: 100, area: urban, timezone: Asia/Shanghai }\ncollector: { url: "http://127.0.0.1:9" }\n',
    );
    expect(loadAgentConfig(file).collector).toMatchObject({ gzip: true, maxReportBytes: 1_048_576 });
  });

  it('a collector that reads only plain JSON: the report goes again uncompressed at once, and plain from then on (logged once)', async () => {
    const c = await oldCollector();
    const s = spool();
    const lines: { msg: string }[] = [];
    const log = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _enc, done) {
          for (const l of chunk.toString().split('\n').filter(Boolean))
            lines.push(JSON.parse(l) as { msg: string });
          done();
        },
      }),
    );
    const reports = [makeReport(), makeReport(), makeReport()];
    for (const r of reports) s.enqueue(r);
    const f = new Forwarder({ collectorUrl: c.url, token: 'cw1.ag_x.secret', spool: s, log, gzip: true });
    const result = await f.flush();
    await f.close();
    expect(result).toEqual({ delivered: 3, rejected: 0 });
    expect(c.seen.map((x) => x.encoding ?? 'identity')).toEqual(['gzip', 'identity', 'identity', 'identity']);
    expect(s.counters()).toMatchObject({ depth: 0, delivered: 3, rejected: 0 });
    expect(lines.filter((l) => l.msg.includes('does not take gzip-compressed reports'))).toHaveLength(1);
  });

  it('the body on the wire is the report, gzip-compressed', async () => {
    const bodies: Buffer[] = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (x: Buffer) => chunks.push(x));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        bodies.push(body);
        const { reportId } = JSON.parse(gunzipSync(body).toString()) as { reportId: string };
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ status: 'stored', reportId }));
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const s = spool();
    const report = makeReport();
    s.enqueue(report);
    const f = new Forwarder({
      collectorUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      token: 'cw1.ag_x.secret',
      spool: s,
      log: pino({ level: 'silent' }),
      gzip: true,
    });
    expect(await f.flush()).toEqual({ delivered: 1, rejected: 0 });
    await f.close();
    expect(JSON.parse(gunzipSync(bodies[0]!).toString())).toEqual(report);
  });
});
