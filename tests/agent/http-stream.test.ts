import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ChunkedCounter, httpStream } from '../../agent/src/probes/http-stream.js';

/** A chunked body of the given chunk sizes, with an extension and a trailer thrown in. */
function chunked(sizes: number[]): Buffer {
  const parts: Buffer[] = [];
  sizes.forEach((n, i) => {
    parts.push(
      Buffer.from(`${n.toString(16)}${i % 2 ? ';ext=1' : ''}\r\n`),
      Buffer.alloc(n, 0x61),
      Buffer.from('\r\n'),
    );
  });
  parts.push(Buffer.from('0\r\nx-trailer: 1\r\n\r\n'));
  return Buffer.concat(parts);
}

describe('ChunkedCounter', () => {
  it('counts the payload whatever the read boundaries', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 70_000 }), { maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 9000 }), { minLength: 1, maxLength: 50 }),
        (sizes, cuts) => {
          const body = chunked(sizes);
          const c = new ChunkedCounter();
          let total = 0;
          let at = 0;
          let i = 0;
          while (at < body.length) {
            const end = Math.min(body.length, at + cuts[i++ % cuts.length]!);
            total += c.feed(body, at, end);
            at = end;
          }
          expect(total).toBe(sizes.reduce((a, b) => a + b, 0));
          expect(c.done).toBe(true);
        },
      ),
    );
  });

  it('rejects a malformed frame', () => {
    expect(() => new ChunkedCounter().feed(Buffer.from('zz\r\n'), 0, 4)).toThrow('malformed chunk size');
    expect(() => new ChunkedCounter().feed(Buffer.from('2\r\nabXY'), 0, 7)).toThrow(
      'chunk data not followed by CRLF',
    );
  });
});

describe('httpStream download against a real server', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/length') {
        res.writeHead(200, { 'content-length': '300000' });
        res.end(Buffer.alloc(300_000, 1));
      } else if (req.url === '/chunked') {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        for (let i = 0; i < 20; i++) res.write(Buffer.alloc(100_003, 2));
        res.end();
      } else {
        res.writeHead(403, { 'content-type': 'application/json' });
        res.end('{"message":"no"}');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('counts a Content-Length body and a chunked body exactly, byte for byte as they arrive', async () => {
    for (const [path, size] of [
      ['/length', 300_000],
      ['/chunked', 2_000_060],
    ] as const) {
      let seen = 0;
      const r = await httpStream({
        url: new URL(base + path),
        headers: {},
        signal: AbortSignal.timeout(10_000),
        onBody: (n) => {
          seen += n;
        },
      });
      expect(r).toEqual({ status: 200, bytes: size, aborted: false });
      expect(seen).toBe(size);
    }
  });

  it('reports the status of a refusal, and a refused connection as an error with its code', async () => {
    const r = await httpStream({
      url: new URL(`${base}/other`),
      headers: {},
      signal: AbortSignal.timeout(10_000),
    });
    expect(r.status).toBe(403);
    const closed = createServer();
    await new Promise<void>((res) => closed.listen(0, '127.0.0.1', res));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((res) => closed.close(() => res()));
    await expect(
      httpStream({
        url: new URL(`http://127.0.0.1:${port}/`),
        headers: {},
        signal: AbortSignal.timeout(10_000),
      }),
    ).rejects.toMatchObject({ name: 'HttpStreamError', code: 'ECONNREFUSED' });
  });
});
