import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AddressInfo, createServer as createTcpServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AgentPair, HttpTimeoutError, smallRequest } from '../../agent/src/http-client.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Listens on 127.0.0.1; every socket it accepted is destroyed when the test ends. */
async function listen(
  server: Server,
): Promise<{ port: number; sockets: Set<Socket>; accepted: () => number }> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  server.on('connection', (s: Socket) => {
    accepted++;
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
  return { port: (server.address() as AddressInfo).port, sockets, accepted: () => accepted };
}

function http(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  return listen(createHttpServer(handler));
}

const never = () => new AbortController().signal;

describe('smallRequest', () => {
  it('a server that takes the request and never answers: HttpTimeoutError(headers), code ETIMEDOUT', async () => {
    const { port } = await http(() => undefined);
    const err = await smallRequest(new URL(`http://127.0.0.1:${port}/`), {
      signal: never(),
      connectTimeoutMs: 5000,
      headersTimeoutMs: 150,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpTimeoutError);
    expect(err).toMatchObject({ phase: 'headers', code: 'ETIMEDOUT', timeoutMs: 150 });
  });

  it('an https server that accepts TCP but never completes the handshake: HttpTimeoutError(connect)', async () => {
    const { port, sockets } = await listen(createTcpServer((s) => s.resume())); // reads (and so sees the close), never answers
    const err = await smallRequest(new URL(`https://127.0.0.1:${port}/`), {
      signal: never(),
      connectTimeoutMs: 150,
      headersTimeoutMs: 5000,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HttpTimeoutError);
    expect(err).toMatchObject({ phase: 'connect', code: 'ETIMEDOUT' });
    // the connection it gave up on is closed, not left open
    if (sockets.size > 0) await Promise.all([...sockets].map((s) => once(s, 'close')));
    expect(sockets.size).toBe(0);
  });

  it('the caller’s signal ends a hanging exchange with an AbortError', async () => {
    const { port } = await http(() => undefined);
    const controller = new AbortController();
    const pending = smallRequest(new URL(`http://127.0.0.1:${port}/`), { signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('maxBody: reads that much of an endless body, then closes the connection', async () => {
    let closed: Promise<unknown> | undefined;
    const { port } = await http((req, res) => {
      // the client resets the connection mid-stream: an 'error' (ECONNRESET), then 'close'
      req.socket.on('error', () => undefined);
      closed = new Promise((resolve) => req.socket.once('close', resolve));
      res.writeHead(200, { 'content-type': 'multipart/x-mixed-replace' });
      const chunk = Buffer.alloc(4096, 0x61);
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
      };
      res.on('drain', pump);
      pump();
    });
    const res = await smallRequest(new URL(`http://127.0.0.1:${port}/`), {
      signal: never(),
      maxBody: 10_000,
    });
    expect(res.status).toBe(200);
    expect(res.bytes.length).toBe(10_000);
    expect(res.bodyError).toBeUndefined();
    await closed;
  });

  it('a body that breaks off: rejects by default, resolves with what came and bodyError with partialBody', async () => {
    const { port } = await http((_req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('0123456789', () => res.destroy());
    });
    const url = new URL(`http://127.0.0.1:${port}/`);
    await expect(smallRequest(url, { signal: never() })).rejects.toMatchObject({ code: 'ECONNRESET' });
    const res = await smallRequest(url, { signal: never(), partialBody: true });
    expect(res.status).toBe(200);
    expect(res.text).toBe('0123456789');
    expect(res.bodyError).toBeInstanceOf(Error);
  });

  it('answers status, headers, body and the time the head came', async () => {
    const { port } = await http((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => {
        body += c;
      });
      req.on('end', () =>
        res.writeHead(201, { 'x-echo': req.headers['x-test'] as string }).end(`${req.method} ${body}`),
      );
    });
    const before = performance.now();
    const res = await smallRequest(new URL(`http://127.0.0.1:${port}/`), {
      method: 'POST',
      headers: { 'x-test': 'yes' },
      body: '{"a":1}',
      signal: never(),
    });
    expect(res).toMatchObject({ status: 201, text: 'POST {"a":1}' });
    expect(res.headers['x-echo']).toBe('yes');
    expect(res.headAt).toBeGreaterThanOrEqual(before);
    expect(res.headAt).toBeLessThanOrEqual(performance.now());
  });
});

describe('AgentPair', () => {
  it('keeps one connection for a run of requests and closes it on destroy()', async () => {
    const { port, sockets, accepted } = await http((_req, res) => res.end('ok'));
    const agents = new AgentPair({ keepAlive: true, timeout: 60_000 });
    const url = new URL(`http://127.0.0.1:${port}/`);
    for (let i = 0; i < 3; i++) {
      const res = await smallRequest(url, { signal: never(), agent: agents.for(url) });
      expect(res.text).toBe('ok');
    }
    expect(accepted()).toBe(1);
    expect(sockets.size).toBe(1);
    const [socket] = sockets;
    const closed = once(socket!, 'close');
    agents.destroy();
    await closed;
    expect(sockets.size).toBe(0);
  });

  it('hands out one agent per scheme', () => {
    const agents = new AgentPair({ keepAlive: true });
    const a = agents.for(new URL('http://127.0.0.1:1/'));
    expect(agents.for(new URL('http://127.0.0.1:2/x'))).toBe(a);
    const s = agents.for(new URL('https://127.0.0.1:1/'));
    expect(s).not.toBe(a);
    expect(agents.for(new URL('https://127.0.0.1:3/'))).toBe(s);
    agents.destroy();
  });
});
