import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encodeRequestLine } from '../../collector/src/raw-url.js';
import { issueCert, makeCa, opensslAvailable } from '../helpers/certs.js';
import { type Influxd, influxdAvailable, startInfluxd } from '../helpers/influxd.js';
import { WORLD_ADMIN_TOKEN, World, XINGHAI } from '../helpers/world.js';

// /healthz when InfluxDB is away, and request lines with raw UTF-8: a real collector on loopback.

const INFLUXD_SKIP = influxdAvailable();
if (INFLUXD_SKIP) console.warn(`health-query.test: the real-InfluxDB case skipped: ${INFLUXD_SKIP}`);

interface Health {
  status: string;
  reason?: string;
  influx: string;
  acceptingReports: boolean;
}

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const worlds: World[] = [];
afterEach(async () => {
  await Promise.all(worlds.splice(0).map((w) => w.cleanup()));
});

async function health(w: World): Promise<{ code: number; body: Health }> {
  const res = await w.anonymous({ method: 'GET', url: '/healthz' });
  return { code: res.statusCode, body: res.json() as Health };
}

describe('/healthz', () => {
  it('InfluxDB configured on a closed port, no outbox: 503 degraded, naming InfluxDB', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const w = new World({ influxUrl: url });
    worlds.push(w);
    await w.startCollector();
    const h = await health(w);
    expect(h.code).toBe(503);
    expect(h.body).toMatchObject({ status: 'degraded', influx: 'unavailable', acceptingReports: false });
    expect(h.body.reason).toContain(`InfluxDB at ${url} does not answer`);
    expect(h.body.reason).toContain('refused');
  });

  it('with the outbox: 200 degraded, reports still accepted', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const w = new World({
      collector: { influx: { url, timeoutMs: 1000, outbox: { enabled: true } } },
    });
    worlds.push(w);
    await w.startCollector();
    const h = await health(w);
    expect(h.code).toBe(200);
    expect(h.body).toMatchObject({ status: 'degraded', influx: 'unavailable', acceptingReports: true });
    expect(h.body.reason).toContain(`InfluxDB at ${url} does not answer`);
    expect(h.body.reason).toContain('outbox');
  });

  it('no InfluxDB configured: ok', async () => {
    const w = new World();
    worlds.push(w);
    await w.startCollector();
    const h = await health(w);
    expect(h.code).toBe(200);
    expect(h.body).toMatchObject({ status: 'ok', influx: 'not configured', acceptingReports: true });
    expect(h.body.reason).toBeUndefined();
  });

  describe.skipIf(INFLUXD_SKIP !== undefined)('with a real InfluxDB', () => {
    let influxd: Influxd;
    beforeAll(async () => {
      influxd = await startInfluxd();
    });
    afterAll(async () => {
      await influxd?.stop();
    });

    it('ok while it answers; 503 degraded naming InfluxDB once it is stopped', async () => {
      const w = new World({ influxUrl: influxd.url });
      worlds.push(w);
      await w.startCollector();
      const up = await health(w);
      expect(up.code).toBe(200);
      expect(up.body).toMatchObject({ status: 'ok', influx: 'ok', acceptingReports: true });
      await influxd.stop();
      const down = await health(w);
      expect(down.code).toBe(503);
      expect(down.body).toMatchObject({ status: 'degraded', influx: 'unavailable', acceptingReports: false });
      expect(down.body.reason).toContain(`InfluxDB at ${influxd.url} does not answer`);
    });
  });
});

/** Writes raw bytes on one connection, half-closes it and reads everything until the server closes. */
function rawExchange(port: number, request: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port }, () => socket.end(request));
    const chunks: Buffer[] = [];
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', reject);
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

function bodies(raw: string): Array<{ status: number; body: string }> {
  const out: Array<{ status: number; body: string }> = [];
  let rest = raw;
  while (rest.startsWith('HTTP/1.1 ')) {
    const head = rest.indexOf('\r\n\r\n');
    const headers = rest.slice(0, head);
    const len = Number(/content-length: (\d+)/i.exec(headers)?.[1] ?? '0');
    const bodyBytes = Buffer.from(rest.slice(head + 4), 'utf8').subarray(0, len);
    const body = bodyBytes.toString('utf8');
    out.push({ status: Number(headers.slice(9, 12)), body });
    rest = rest.slice(head + 4 + body.length);
  }
  return out;
}

describe('raw UTF-8 in the query string', () => {
  it('encodeRequestLine: only the request line, only bytes ≥ 0x80', () => {
    const chunk = Buffer.from('GET /a?d=示 HTTP/1.1\r\nx-name: 示\r\n\r\n');
    const { out, lineEnded } = encodeRequestLine(chunk);
    expect(lineEnded).toBe(true);
    expect(out.toString('utf8')).toBe('GET /a?d=%E7%A4%BA HTTP/1.1\r\nx-name: 示\r\n\r\n');
    const partial = encodeRequestLine(Buffer.from('GET /a?d=区'));
    expect(partial).toEqual({ out: Buffer.from('GET /a?d=%E5%8C%BA'), lineEnded: false });
  });

  it('GET /api/v1/compliance?district=<raw UTF-8> answers as the percent-encoded request does', async () => {
    const w = new World();
    worlds.push(w);
    await w.startCollector();
    const district = XINGHAI.district as string;
    const encoded = await w.app!.inject({
      method: 'GET',
      url: `/api/v1/compliance?district=${encodeURIComponent(district)}`,
    });
    expect(encoded.statusCode).toBe(200);
    const other = await w.app!.inject({ method: 'GET', url: '/api/v1/compliance?district=nowhere' });
    expect(other.body).not.toBe(encoded.body); // the filter shows in the answer
    const get = (d: string) =>
      `GET /api/v1/compliance?district=${d} HTTP/1.1\r\nhost: collector\r\nauthorization: Bearer ${WORLD_ADMIN_TOKEN}\r\n\r\n`;
    const first = bodies(await rawExchange(w.port, Buffer.from(get(district), 'utf8')));
    expect(first).toHaveLength(1);
    expect(first[0]?.status, first[0]?.body).toBe(200);
    expect(first[0]?.body).toBe(encoded.body);
  });

  it('a second request on the same connection is read as well', async () => {
    const w = new World();
    worlds.push(w);
    await w.startCollector();
    const district = XINGHAI.district as string;
    const expected = (
      await w.app!.inject({
        method: 'GET',
        url: `/api/v1/compliance?district=${encodeURIComponent(district)}`,
      })
    ).body;
    const socket = connect({ host: '127.0.0.1', port: w.port });
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const req = Buffer.from(
      `GET /api/v1/compliance?district=${district} HTTP/1.1\r\nhost: collector\r\nauthorization: Bearer ${WORLD_ADMIN_TOKEN}\r\n\r\n`,
      'utf8',
    );
    let got = '';
    const answered = (n: number) =>
      new Promise<void>((resolve) => {
        const on = (d: Buffer) => {
          got += d.toString('utf8');
          if (bodies(got).length >= n && bodies(got)[n - 1]?.body.length === expected.length) {
            socket.off('data', on);
            resolve();
          }
        };
        socket.on('data', on);
        socket.once('close', () => resolve()); // a refused request line: the server answers 400 and closes
      });
    let wait = answered(1);
    socket.write(req);
    await wait;
    wait = answered(2);
    socket.write(req);
    await wait;
    socket.destroy();
    const all = bodies(got);
    expect(all.map((r) => r.status)).toEqual([200, 200]);
    expect(all.map((r) => r.body)).toEqual([expected, expected]);
  });

  const OPENSSL_SKIP = opensslAvailable();
  it.skipIf(OPENSSL_SKIP !== undefined)('over TLS as well', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cw-raw-tls-'));
    try {
      const ca = makeCa(dir, 'ca');
      const server = issueCert(dir, ca, 'collector');
      const w = new World({ collector: { tls: { certFile: server.certFile, keyFile: server.keyFile } } });
      worlds.push(w);
      await w.startCollector();
      const district = XINGHAI.district as string;
      const expected = (
        await w.app!.inject({
          method: 'GET',
          url: `/api/v1/compliance?district=${encodeURIComponent(district)}`,
        })
      ).body;
      const raw = await new Promise<string>((resolve, reject) => {
        const socket = tlsConnect({ host: '127.0.0.1', port: w.port, ca: ca.cert }, () =>
          socket.end(
            Buffer.from(
              `GET /api/v1/compliance?district=${district} HTTP/1.1\r\nhost: collector\r\nauthorization: Bearer ${WORLD_ADMIN_TOKEN}\r\nconnection: close\r\n\r\n`,
              'utf8',
            ),
          ),
        );
        const chunks: Buffer[] = [];
        socket.on('data', (d: Buffer) => chunks.push(d));
        socket.on('error', reject);
        socket.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
      });
      const got = bodies(raw);
      expect(got.map((r) => r.status)).toEqual([200]);
      expect(got[0]?.body).toBe(expected);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
