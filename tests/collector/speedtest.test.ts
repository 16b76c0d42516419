import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../agent/src/log.js';
import { runSpeedtest, steadyFigures } from '../../agent/src/probes/bandwidth/speedtest-client.js';
import { parseCollectorConfig } from '../../collector/src/config.js';
import { type RunningCollector, startCollector } from '../../collector/src/server.js';
import { SlotScheduler } from '../../collector/src/speedtest/slots.js';
import { sqliteOf, World, XINGHAI } from '../helpers/world.js';

describe('SlotScheduler', () => {
  it('grants at most N at once, refuses with a retry time, frees on release and on expiry', () => {
    let t = 0;
    const s = new SlotScheduler(2, 10_000, 100, () => t);
    const a = s.request('a', 's1');
    const b = s.request('b', 's2');
    const c = s.request('c', 's3');
    expect('granted' in a && 'granted' in b).toBe(true);
    expect(c).toMatchObject({ reason: 'all 2 speed-test slots are busy' });
    expect(s.request('a', 's1')).toMatchObject({ reason: 'this agent already holds a slot' });
    if (!('granted' in a) || !('granted' in b)) throw new Error('unreachable');
    expect(s.release(a.granted.id, 'b')).toBe(false); // only its holder releases it
    expect(s.release(a.granted.id, 'a')).toBe(true);
    expect('granted' in s.request('c', 's3')).toBe(true);
    t = 10_001; // b and c expire
    expect(s.stats()).toMatchObject({
      active: 0,
      maxActive: 2,
      granted: 3,
      refused: 2,
      released: 1,
      expired: 2,
    });
    expect(s.get(b.granted.id, 'b')).toBeUndefined();
  });

  it('counts upload bytes into time slices from the first byte', () => {
    let t = 1000;
    const s = new SlotScheduler(1, 60_000, 100, () => t);
    const r = s.request('a', 's');
    if (!('granted' in r)) throw new Error('no slot');
    s.countUpload(r.granted, 10);
    t = 1050;
    s.countUpload(r.granted, 5);
    t = 1250;
    s.countUpload(r.granted, 7);
    expect(r.granted.upload).toEqual({ epochMs: 1000, slices: [15, 0, 7], bytes: 22 });
  });
});

describe('steadyFigures', () => {
  it('leaves out the warm-up and the last partial slice; p90 over 500 ms windows', () => {
    // 10 slices of 100 ms: 2 warm-up slices of 1 byte, then 125000 bytes each (10 Mbps), last partial
    const slices = [1, 1, 125_000, 125_000, 125_000, 125_000, 125_000, 125_000, 125_000, 3];
    expect(steadyFigures(slices, 100, 0.2)).toEqual({ mbps: 10, p90Mbps: 10, seconds: 0.7, bytes: 875_000 });
  });
});

describe('speed-test service on loopback', () => {
  const w = new World();
  beforeAll(() => w.startCollector());
  afterAll(() => w.cleanup());

  const tokenFor = (host: string) => w.enrollDirect(XINGHAI.id, host).token;
  const opts = (token: string) => ({
    server: w.url,
    token,
    streams: 2,
    maxStreams: 4,
    durationS: 0.6,
    omitS: 0.2,
    signal: AbortSignal.timeout(120_000),
    now: () => new Date(),
    log: silentLogger(),
  });

  it('measures both directions with several streams, idle and loaded RTT, and releases its slot', async () => {
    const results = await runSpeedtest(opts(tokenFor('one')));
    expect(results.map((r) => r.direction)).toEqual(['down', 'up']);
    for (const r of results) {
      expect(r.outcome).toBe('ok');
      expect(r.mbps).toBeGreaterThan(10);
      expect(r.bytes).toBeGreaterThan(0);
      expect(r.streams).toBeGreaterThanOrEqual(2);
      expect(r.rttIdleMs).toBeGreaterThan(0);
      expect(r.rttLoadedMs).toBeGreaterThan(0);
      // mean over the steady phase: bytes / seconds
      expect(Math.abs(r.mbps - (r.bytes * 8) / r.durationS / 1e6)).toBeLessThan(r.mbps * 0.01 + 0.01);
    }
    expect(w.app!.campuswatch.slots.stats()).toMatchObject({ active: 0, released: 1 });
  });

  it('a second request while the slot is held gets 429 with Retry-After', async () => {
    const token = tokenFor('two');
    const post = () =>
      w.app!.inject({
        method: 'POST',
        url: '/api/v1/speedtest/slots',
        headers: { authorization: `Bearer ${token}` },
      });
    const first = await post();
    expect(first.statusCode).toBe(201);
    const again = await post();
    expect(again.statusCode).toBe(429);
    expect(Number(again.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((again.json() as { message: string }).message).toMatch(/already holds a slot/);
    const id = (first.json() as { slotId: string }).slotId;
    const noAuth = await w.app!.inject({ method: 'GET', url: `/api/v1/speedtest/download?slot=${id}` });
    expect(noAuth.statusCode).toBe(401);
    const other = await w.app!.inject({
      method: 'GET',
      url: `/api/v1/speedtest/download?slot=${id}&seconds=0.1`,
      headers: { authorization: `Bearer ${tokenFor('three')}` },
    });
    expect(other.statusCode).toBe(403); // a slot serves only the agent that holds it
    const del = await w.app!.inject({
      method: 'DELETE',
      url: `/api/v1/speedtest/slots/${id}`,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(del.statusCode).toBe(204);
  });

  it('20 agents asking at once with N=2: never more than 2 concurrent, all 20 finish', async () => {
    const before = w.app!.campuswatch.slots.stats();
    const tokens = Array.from({ length: 20 }, (_, i) => tokenFor(`agent-${i}`));
    const all = await Promise.all(
      tokens.map((t) => runSpeedtest({ ...opts(t), durationS: 0.3, omitS: 0.1 })),
    );
    expect(all).toHaveLength(20);
    expect(all.every((r) => r.length === 2 && r.every((x) => x.outcome === 'ok' && x.mbps > 0))).toBe(true);
    const after = w.app!.campuswatch.slots.stats();
    expect(after.maxActive).toBe(2);
    expect(after.granted - before.granted).toBe(20);
    expect(after.refused - before.refused).toBeGreaterThan(0);
    expect(after.active).toBe(0);
  }, 180_000);
});

describe('speed-test streams on their own listener', () => {
  const w = new World();
  let running: RunningCollector;
  beforeAll(async () => {
    const config = parseCollectorConfig(
      JSON.stringify({ ...w.config, listen: '127.0.0.1:0', speedtest: { listen: '127.0.0.1:0' } }),
    );
    running = await startCollector(config, { log: silentLogger() });
  });
  afterAll(async () => {
    await running.close();
    await w.cleanup();
  });

  it('hands out the stream URL with the slot; the API itself does not serve the streams', async () => {
    const state = sqliteOf(running.app);
    const { code } = state.createEnrollCode(XINGHAI.id, 60_000);
    const r = state.enroll(code, { hostname: 'x', version: '0.1.0' });
    if ('error' in r) throw new Error(r.error);
    const slot = await running.app.inject({
      method: 'POST',
      url: '/api/v1/speedtest/slots',
      headers: { authorization: `Bearer ${r.token}` },
    });
    const { url, slotId } = slot.json() as { url: string; slotId: string };
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(url).not.toBe(running.url);
    const onApi = await running.app.inject({
      method: 'GET',
      url: `/api/v1/speedtest/download?slot=${slotId}&seconds=0.1`,
      headers: { authorization: `Bearer ${r.token}` },
    });
    expect(onApi.statusCode).toBe(404);
    await running.app.inject({
      method: 'DELETE',
      url: `/api/v1/speedtest/slots/${slotId}`,
      headers: { authorization: `Bearer ${r.token}` },
    });
    const results = await runSpeedtest({
      server: running.url,
      token: r.token,
      streams: 2,
      maxStreams: 2,
      durationS: 0.4,
      omitS: 0.1,
      signal: AbortSignal.timeout(60_000),
      now: () => new Date(),
      log: silentLogger(),
    });
    expect(results.every((x) => x.outcome === 'ok' && x.mbps > 0)).toBe(true);
  });
});

describe('upload stream (HTTP Upgrade) on a real listener', () => {
  const w = new World();
  beforeAll(() => w.startCollector());
  afterAll(() => w.cleanup());

  /** Speaks the upgrade by hand: request, then `bytes` raw bytes, half-close, read everything back. */
  function rawUpload(
    path: string,
    headers: Record<string, string>,
    bytes: number,
  ): Promise<{ head: string; rest: string }> {
    const { hostname, port } = new URL(w.url);
    return new Promise((resolve, reject) => {
      const sock = connect({ host: hostname, port: Number(port) });
      const chunks: Buffer[] = [];
      let sent = false;
      sock.on('data', (d: Buffer) => {
        chunks.push(d);
        const text = Buffer.concat(chunks).toString('utf8');
        if (!sent && text.startsWith('HTTP/1.1 101') && text.includes('\r\n\r\n')) {
          sent = true;
          const block = Buffer.alloc(64 * 1024, 0x5a);
          let left = bytes;
          while (left > 0) {
            const n = Math.min(left, block.length);
            sock.write(block.subarray(0, n));
            left -= n;
          }
          sock.end();
        }
      });
      sock.on('error', reject);
      sock.on('close', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const at = text.indexOf('\r\n\r\n');
        resolve({ head: text.slice(0, at), rest: text.slice(at + 4) });
      });
      const lines = [
        `GET ${path} HTTP/1.1`,
        `host: ${hostname}`,
        ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
      ];
      sock.write(`${lines.join('\r\n')}\r\n\r\n`);
    });
  }

  it('counts every byte into the slot and answers the count after the agent half-closes', async () => {
    const { token } = w.enrollDirect(XINGHAI.id, 'uploader');
    const slot = await w.app!.inject({
      method: 'POST',
      url: '/api/v1/speedtest/slots',
      headers: { authorization: `Bearer ${token}` },
    });
    const { slotId } = slot.json() as { slotId: string };
    const size = 5 * 1024 * 1024 + 17;
    const r = await rawUpload(
      `/api/v1/speedtest/upload?slot=${slotId}`,
      { authorization: `Bearer ${token}`, connection: 'upgrade', upgrade: 'campuswatch-speedtest' },
      size,
    );
    expect(r.head).toMatch(/^HTTP\/1\.1 101 /);
    expect(JSON.parse(r.rest)).toEqual({ bytes: size });
    const stats = await w.app!.inject({
      method: 'GET',
      url: `/api/v1/speedtest/slots/${slotId}`,
      headers: { authorization: `Bearer ${token}` },
    });
    const upload = (stats.json() as { upload: { bytes: number; slices: number[] } }).upload;
    expect(upload.bytes).toBe(size);
    expect(upload.slices.reduce((a, b) => a + b, 0)).toBe(size);
  });

  it('refuses a bad token (401), a slot of another agent (403), another upgrade (400); a plain request gets 426', async () => {
    const { token } = w.enrollDirect(XINGHAI.id, 'holder');
    const { token: other } = w.enrollDirect(XINGHAI.id, 'intruder');
    const slot = await w.app!.inject({
      method: 'POST',
      url: '/api/v1/speedtest/slots',
      headers: { authorization: `Bearer ${token}` },
    });
    const { slotId } = slot.json() as { slotId: string };
    const up = { connection: 'upgrade', upgrade: 'campuswatch-speedtest' };
    const path = `/api/v1/speedtest/upload?slot=${slotId}`;
    const bad = await rawUpload(path, { ...up, authorization: 'Bearer cw1.nope.nope' }, 0);
    expect(bad.head).toMatch(/^HTTP\/1\.1 401 /);
    expect(JSON.parse(bad.rest)).toMatchObject({
      statusCode: 401,
      message: 'invalid or missing agent token',
    });
    const foreign = await rawUpload(path, { ...up, authorization: `Bearer ${other}` }, 0);
    expect(foreign.head).toMatch(/^HTTP\/1\.1 403 /);
    expect(JSON.parse(foreign.rest)).toMatchObject({ message: 'no live speed-test slot' });
    const ws = await rawUpload(
      path,
      { connection: 'upgrade', upgrade: 'websocket', authorization: `Bearer ${token}` },
      0,
    );
    expect(ws.head).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(ws.rest).message).toMatch(/Upgrade: campuswatch-speedtest/);
    const plain = await w.app!.inject({
      method: 'POST',
      url: path,
      headers: { authorization: `Bearer ${token}` },
    });
    expect(plain.statusCode).toBe(426);
    expect(plain.headers.upgrade).toBe('campuswatch-speedtest');
    expect((plain.json() as { message: string }).message).toMatch(/reverse proxy .* must pass Upgrade/);
  });
});
