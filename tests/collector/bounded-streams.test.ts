import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SENT_AT_HEADER } from '../../protocol/version.js';
import { makeReport } from '../helpers/reports.js';
import { World, XINGHAI } from '../helpers/world.js';

/** A socket on the collector and what became of it: the answer's head, and a promise of its close. */
interface Stream {
  sock: Socket;
  /** The status line's code once a head arrived; undefined while none has. */
  status: () => number | undefined;
  /** Resolves when the socket has closed, with the time (performance.now()) and the bytes it got. */
  closed: Promise<{ at: number; bytes: number }>;
  /** Resolves with the status code of the answer's head (or 0 if the socket closed without one). */
  answered: Promise<number>;
}

function open(w: World, head: string | undefined): Stream {
  const { hostname, port } = new URL(w.url);
  const sock = connect({ host: hostname, port: Number(port) });
  sock.on('error', () => undefined); // a refused connection is reset: 'close' follows
  let text = '';
  let bytes = 0;
  let status: number | undefined;
  let answer: (code: number) => void = () => undefined;
  const answered = new Promise<number>((resolve) => {
    answer = resolve;
  });
  sock.on('data', (d: Buffer) => {
    bytes += d.length;
    if (status !== undefined) return;
    text += d.toString('latin1');
    const m = /^HTTP\/1\.1 (\d{3}) [^\r]*\r\n/.exec(text);
    if (m && text.includes('\r\n\r\n')) {
      status = Number(m[1]);
      answer(status);
    }
  });
  const closed = new Promise<{ at: number; bytes: number }>((resolve) => {
    sock.on('close', () => {
      answer(status ?? 0);
      resolve({ at: performance.now(), bytes });
    });
  });
  if (head !== undefined) sock.write(head);
  return { sock, status: () => status, closed, answered };
}

const upgrade = (slotId: string, token: string) =>
  `GET /api/v1/speedtest/upload?slot=${slotId} HTTP/1.1\r\nhost: collector\r\nauthorization: Bearer ${token}\r\n` +
  'connection: upgrade\r\nupgrade: campuswatch-speedtest\r\n\r\n';

/** Rejects after `ms`: a bounded wait for events that must come. */
const within = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([
    p,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms).unref(),
    ),
  ]);

async function grantSlot(w: World, token: string): Promise<{ slotId: string; expiresAt: number }> {
  const res = await w.app!.inject({
    method: 'POST',
    url: '/api/v1/speedtest/slots',
    headers: { authorization: `Bearer ${token}` },
  });
  expect(res.statusCode, res.body).toBe(201);
  const body = res.json() as { slotId: string; expiresAt: string };
  return { slotId: body.slotId, expiresAt: Date.parse(body.expiresAt) };
}

describe('upload and download streams per slot', () => {
  const MAX = 8;
  const w = new World({ collector: { speedtest: { maxStreamsPerSlot: MAX, slotTtlS: 10 } } });
  beforeAll(() => w.startCollector());
  afterAll(() => w.cleanup());

  it('500 upload streams on one slot: the configured number open, the rest refused (429); all closed within a second of the release', async () => {
    const { token } = w.enrollDirect(XINGHAI.id, 'flooder');
    const { slotId } = await grantSlot(w, token);
    const streams = Array.from({ length: 500 }, () => open(w, upgrade(slotId, token)));
    const codes = await within(Promise.all(streams.map((s) => s.answered)), 20_000, 'answers');
    expect(codes.filter((c) => c === 101)).toHaveLength(MAX);
    expect(codes.filter((c) => c === 429)).toHaveLength(500 - MAX);
    expect(w.app!.campuswatch.slots.openStreams(slotId)).toEqual({ upload: MAX, download: 0 });
    const refused = streams.find((s) => s.status() === 429)!;
    expect((await refused.closed).bytes).toBeGreaterThan(0);
    const live = streams.filter((s) => s.status() === 101);
    // still open while the slot lives
    expect(live.every((s) => !s.sock.destroyed)).toBe(true);
    const released = performance.now();
    const del = await w.app!.inject({
      method: 'DELETE',
      url: `/api/v1/speedtest/slots/${slotId}`,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(del.statusCode).toBe(204);
    const closes = await within(Promise.all(live.map((s) => s.closed)), 1000, 'streams closed');
    const lastMs = Math.max(...closes.map((c) => c.at)) - released;
    console.log(`${MAX} upload streams closed ${lastMs.toFixed(0)} ms after the slot's release`);
    expect(lastMs).toBeLessThan(1000);
    expect(w.app!.campuswatch.slots.openStreams(slotId)).toEqual({ upload: 0, download: 0 });
  });

  it('downloads are capped the same way and closed at the release', async () => {
    const { token } = w.enrollDirect(XINGHAI.id, 'downloader');
    const { slotId } = await grantSlot(w, token);
    const get = `GET /api/v1/speedtest/download?slot=${slotId} HTTP/1.1\r\nhost: collector\r\nauthorization: Bearer ${token}\r\n\r\n`;
    const streams = Array.from({ length: MAX + 3 }, () => open(w, get));
    const codes = await within(Promise.all(streams.map((s) => s.answered)), 10_000, 'answers');
    expect(codes.filter((c) => c === 200)).toHaveLength(MAX);
    expect(codes.filter((c) => c === 429)).toHaveLength(3);
    const live = streams.filter((s) => s.status() === 200);
    const released = performance.now();
    await w.app!.inject({
      method: 'DELETE',
      url: `/api/v1/speedtest/slots/${slotId}`,
      headers: { authorization: `Bearer ${token}` },
    });
    const closes = await within(Promise.all(live.map((s) => s.closed)), 1000, 'downloads closed');
    expect(Math.max(...closes.map((c) => c.at)) - released).toBeLessThan(1000);
  });

  it('a slot that expires closes its streams within a second of its end', async () => {
    const { token } = w.enrollDirect(XINGHAI.id, 'vanished');
    const { slotId, expiresAt } = await grantSlot(w, token);
    const streams = Array.from({ length: 4 }, () => open(w, upgrade(slotId, token)));
    expect(await Promise.all(streams.map((s) => s.answered))).toEqual([101, 101, 101, 101]);
    // never released: the slot's time-to-live (10 s) ends it
    const closes = await within(Promise.all(streams.map((s) => s.closed)), 12_000, 'streams closed');
    const lateMs = Math.max(...closes.map((c) => c.at)) - performance.now() + Date.now() - expiresAt;
    console.log(`upload streams closed ${lateMs.toFixed(0)} ms after the slot expired`);
    expect(lateMs).toBeGreaterThanOrEqual(-50);
    expect(lateMs).toBeLessThan(1000);
  }, 20_000);
});

describe('connections per listener', () => {
  const CAP = 24;
  const w = new World({
    collector: { http: { maxConnections: CAP }, speedtest: { maxStreamsPerSlot: 16 } },
  });
  beforeAll(() => w.startCollector());
  afterAll(() => w.cleanup());

  const connections = () =>
    new Promise<number>((resolve, reject) =>
      w.app!.server.getConnections((err, n) => (err ? reject(err) : resolve(n))),
    );

  it('refuses connections beyond the cap, reaps idle keep-alives, keeps live streams, and a report still gets in', async () => {
    const { token, agentId } = w.enrollDirect(XINGHAI.id, 'busy');
    const { slotId } = await grantSlot(w, token);
    // 16 live upload streams (requests being served) and 8 idle keep-alive connections: the cap
    const live = Array.from({ length: 16 }, () => open(w, upgrade(slotId, token)));
    expect(new Set(await Promise.all(live.map((s) => s.answered)))).toEqual(new Set([101]));
    const idle = Array.from({ length: CAP - 16 }, () =>
      open(w, 'GET /healthz HTTP/1.1\r\nhost: collector\r\n\r\n'),
    );
    expect((await Promise.all(idle.map((s) => s.answered))).every((c) => c > 0)).toBe(true);
    await within(
      (async () => {
        while ((await connections()) < CAP) await new Promise((r) => setImmediate(r));
      })(),
      5000,
      'idle connections accepted',
    );
    let dropped = 0;
    w.app!.server.on('drop', () => dropped++);
    // one more: closed at once, without a byte; the idle ones are closed to make room
    const beyond = open(w, undefined);
    const refused = await within(beyond.closed, 2000, 'refused connection closed');
    expect(refused.bytes).toBe(0);
    expect(dropped).toBe(1);
    await within(Promise.all(idle.map((s) => s.closed)), 2000, 'idle connections reaped');
    expect(live.every((s) => !s.sock.destroyed)).toBe(true);
    expect(await connections()).toBe(16);
    // ingest goes on: a report over a real connection is stored
    const report = makeReport({ agentId, schoolId: XINGHAI.id });
    const body = JSON.stringify(report);
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        `${w.url}/api/v1/reports`,
        {
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            [SENT_AT_HEADER]: new Date().toISOString(),
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
    expect(status).toBe(200);
    for (const s of live) s.sock.destroy();
  });
});
