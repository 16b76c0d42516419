import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Forwarder, parseRetryAfter } from '../../agent/src/forwarder.js';
import { silentLogger } from '../../agent/src/log.js';
import { Spool } from '../../agent/src/spool/spool.js';
import { SENT_AT_HEADER } from '../../protocol/version.js';
import { makeReport } from '../helpers/reports.js';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function collector(handler: Handler): Promise<{ url: string; server: Server; received: string[] }> {
  const received: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => {
      body += c;
    });
    req.on('end', () => {
      received.push(body);
      handler(req, body, res);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, received };
}

function spool(): Spool {
  const dir = mkdtempSync(join(tmpdir(), 'cw-fwd-'));
  const s = new Spool(join(dir, 'spool.sqlite'), 100);
  cleanups.push(() => {
    s.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return s;
}

/** The collector's acknowledgement of the report in `body`, as it answers on 2xx. */
function ack(res: ServerResponse, body: string): void {
  const { reportId } = JSON.parse(body) as { reportId: string };
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify({ status: 'stored', reportId, clockOffsetS: 0, shifted: false }));
}

/** The collector's error answer `{ statusCode, error, message }`. */
function apiError(res: ServerResponse, statusCode: number, error: string, message: string): void {
  res.writeHead(statusCode, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify({ statusCode, error, message }));
}

const forwarder = (url: string, s: Spool, extra: Partial<ConstructorParameters<typeof Forwarder>[0]> = {}) =>
  new Forwarder({ collectorUrl: url, token: 'cw1.ag_x.secret', spool: s, log: silentLogger(), ...extra });

describe('Forwarder', () => {
  it('sends oldest first with the token and its send time, deleting each only after a 2xx', async () => {
    const seen: { auth?: string; sentAt?: string }[] = [];
    const c = await collector((req, body, res) => {
      seen.push({ auth: req.headers.authorization, sentAt: req.headers[SENT_AT_HEADER] as string });
      ack(res, body);
    });
    const s = spool();
    const reports = [makeReport(), makeReport(), makeReport()];
    for (const r of reports) s.enqueue(r);
    const result = await forwarder(c.url, s).flush();
    expect(result).toEqual({ delivered: 3, rejected: 0 });
    expect(c.received.map((b) => (JSON.parse(b) as { reportId: string }).reportId)).toEqual(
      reports.map((r) => r.reportId),
    );
    expect(seen[0]!.auth).toBe('Bearer cw1.ag_x.secret');
    expect(Math.abs(Date.parse(seen[0]!.sentAt!) - Date.now())).toBeLessThan(5000);
    expect(s.counters()).toMatchObject({ depth: 0, delivered: 3 });
  });

  it('keeps the report and honours Retry-After on 503', async () => {
    const c = await collector((_r, _b, res) => {
      res.writeHead(503, { 'retry-after': '7', 'content-type': 'application/json' });
      res.end(
        '{"statusCode":503,"error":"Service Unavailable","message":"the time-series store is unavailable"}',
      );
    });
    const s = spool();
    s.enqueue(makeReport());
    const f = forwarder(c.url, s, { random: () => 0.5 });
    const result = await f.flush();
    expect(result.delivered).toBe(0);
    expect(result.stopped).toEqual({
      kind: 'unavailable',
      status: 503,
      retryAfterMs: 7000,
      message: 'the time-series store is unavailable',
    });
    expect(s.counters().depth).toBe(1);
    const delay = f.delayAfter(result.stopped!);
    expect(delay).toBeGreaterThanOrEqual(7000);
    expect(delay).toBeLessThanOrEqual(7000 * 1.1 + 1);
  });

  it('backs off exponentially with full jitter while the collector is away', async () => {
    const c = await collector(() => undefined);
    const url = c.url;
    await new Promise<void>((r) => c.server.close(() => r())); // nothing listens there now
    const s = spool();
    s.enqueue(makeReport());
    const f = forwarder(url, s, { random: () => 0.999999, backoffBaseMs: 100, backoffMaxMs: 1000 });
    const ceilings: number[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await f.flush();
      expect(r.stopped?.kind).toBe('network');
      ceilings.push(Math.round(f.delayAfter(r.stopped!) / 100) * 100);
    }
    expect(ceilings).toEqual([200, 400, 800, 1000, 1000]);
    expect(s.counters().depth).toBe(1);
    const zero = forwarder(url, s, { random: () => 0 });
    expect(zero.delayAfter({ kind: 'network', message: 'x' })).toBe(0);
  });

  it('sets a report the collector refuses for good (400) aside and goes on with the next', async () => {
    let n = 0;
    const c = await collector((_r, body, res) => {
      n++;
      if (n === 1) apiError(res, 400, 'Bad Request', 'results/0/durationMs: must be >= 0');
      else ack(res, body);
    });
    const s = spool();
    s.enqueue(makeReport());
    s.enqueue(makeReport());
    const result = await forwarder(c.url, s).flush();
    expect(result).toEqual({ delivered: 1, rejected: 1 });
    expect(s.counters()).toMatchObject({ depth: 0, rejected: 1, delivered: 1 });
  });

  it('sets a report aside only on the collector’s own 413; a proxy’s 413 page keeps it spooled', async () => {
    let proxy = true;
    const c = await collector((_r, _b, res) => {
      if (proxy)
        res.writeHead(413, { 'content-type': 'text/html' }).end('<h1>413 Request Entity Too Large</h1>');
      else apiError(res, 413, 'Payload Too Large', 'request body is larger than the limit of 1048576 bytes');
    });
    const s = spool();
    s.enqueue(makeReport());
    const f = forwarder(c.url, s);
    expect(await f.flush()).toEqual({
      delivered: 0,
      rejected: 0,
      stopped: {
        kind: 'foreign',
        status: 413,
        message: 'a proxy or captive portal answered instead of the collector: HTTP 413 text/html',
      },
    });
    expect(s.counters()).toMatchObject({ depth: 1, rejected: 0 });
    proxy = false;
    expect(await f.flush()).toEqual({ delivered: 0, rejected: 1 });
    expect(s.counters()).toMatchObject({ depth: 0, rejected: 1 });
  });

  it('keeps reports on 401/403 (a token problem is not the report’s fault)', async () => {
    const c = await collector((_r, _b, res) => apiError(res, 401, 'Unauthorized', 'invalid agent token'));
    const s = spool();
    s.enqueue(makeReport());
    const result = await forwarder(c.url, s).flush();
    expect(result.stopped).toEqual({ kind: 'auth', status: 401, message: 'invalid agent token' });
    expect(s.counters().depth).toBe(1);
  });

  it('run() delivers once the collector comes back, and a kick wakes it when idle', async () => {
    let up = false;
    const delivered: string[] = [];
    let notify: (() => void) | undefined;
    const c = await collector((_r, body, res) => {
      if (!up) {
        up = true; // refuses once, then it is back
        res.writeHead(503).end('{"message":"starting"}');
        return;
      }
      ack(res, body);
    });
    const s = spool();
    const first = makeReport();
    s.enqueue(first);
    const f = forwarder(c.url, s, {
      backoffBaseMs: 5,
      backoffMaxMs: 20,
      onDelivered: (id) => {
        delivered.push(id);
        notify?.();
      },
    });
    const stop = new AbortController();
    const waitFor = (count: number) =>
      new Promise<void>((resolve) => {
        notify = () => {
          if (delivered.length >= count) resolve();
        };
      });
    const firstDelivered = waitFor(1);
    const running = f.run(stop.signal, 60_000);
    await firstDelivered;
    const second = makeReport();
    const secondDelivered = waitFor(2);
    s.enqueue(second);
    f.kick();
    await secondDelivered;
    stop.abort();
    await running;
    expect(delivered).toEqual([first.reportId, second.reportId]);
    expect(c.received.length).toBeGreaterThan(2); // it was refused at least once before

    expect(s.counters().depth).toBe(0);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates, caps at an hour', () => {
    const now = Date.parse('2026-11-23T01:00:00Z');
    expect(parseRetryAfter('30', now)).toBe(30_000);
    expect(parseRetryAfter('Mon, 23 Nov 2026 01:00:10 GMT', now)).toBe(10_000);
    expect(parseRetryAfter('999999', now)).toBe(3_600_000);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });
});
