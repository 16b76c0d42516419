import { request } from 'node:http';
import { gzipSync } from 'node:zlib';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../protocol/report.js';
import { makeReport } from '../helpers/reports.js';
import { manyRooms, roomsReport } from '../helpers/rooms-report.js';
import { World, XINGHAI } from '../helpers/world.js';

const OTHER = { ...XINGHAI, id: 'sz-parts-school', name: '分包测试学校' };

/** The value of one sample of /metrics (0 when absent). */
function sample(metrics: string, name: string, labels: string): number {
  const line = metrics.split('\n').find((l) => l.startsWith(`${name}{${labels}}`));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

/** POST over a real socket (the way an agent or an attacker sends it), with the answer's status and JSON. */
function post(
  url: string,
  token: string,
  body: Buffer,
  headers: Record<string, string>,
): Promise<{ status: number; json: Record<string, unknown>; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/api/v1/reports`,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': String(body.length),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            json: JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>,
            ms: performance.now() - t0,
          }),
        );
      },
    );
    // the collector may answer before the whole body was sent and close: that is the point
    req.on('error', reject);
    req.end(body);
  });
}

describe('gzip-compressed report bodies', () => {
  const w = new World({ schools: [XINGHAI, OTHER] });
  let token = '';
  let agentId = '';
  beforeAll(async () => {
    await w.startCollector();
    ({ token, agentId } = w.enrollDirect());
  });
  afterAll(() => w.cleanup());
  const metrics = async () => (await w.app!.inject({ method: 'GET', url: '/metrics' })).body;

  it('a gzip body is inflated and stored; the bytes on the wire and inflated are counted', async () => {
    const before = await metrics();
    const report = makeReport({ agentId, schoolId: XINGHAI.id });
    const json = Buffer.from(JSON.stringify(report));
    const gz = gzipSync(json);
    const res = await post(w.url, token, gz, { 'content-encoding': 'gzip' });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ status: 'stored', reportId: report.reportId });
    const after = await metrics();
    const delta = (name: string, labels: string) =>
      sample(after, name, labels) - sample(before, name, labels);
    expect(delta('campuswatch_ingest_bodies_total', 'encoding="gzip"')).toBe(1);
    expect(delta('campuswatch_ingest_body_bytes_total', 'encoding="gzip",form="wire"')).toBe(gz.length);
    expect(delta('campuswatch_ingest_body_bytes_total', 'encoding="gzip",form="decoded"')).toBe(json.length);
  });

  it('a gzip bomb (~1 MB inflating to ~1 GB) is refused with 413 naming the limit, after inflating ~4 MiB; the collector stays healthy', async () => {
    // 64 gzip members of 16 MiB of JSON whitespace each: valid gzip, ~1 GiB once inflated
    const member = gzipSync(Buffer.alloc(16 * 1_048_576, 0x20), { level: 9 });
    const members = Math.floor((1_048_576 - 1024) / member.length);
    const bomb = Buffer.concat(Array.from({ length: members }, () => member));
    expect(bomb.length).toBeLessThan(1_048_576); // under the wire limit: only the inflated size is over
    const inflated = members * 16 * 1_048_576;
    expect(inflated).toBeGreaterThan(900 * 1_048_576);
    const before = await metrics();
    const res = await post(w.url, token, bomb, { 'content-encoding': 'gzip' });
    expect(res.status).toBe(413);
    expect(res.json.message).toMatch(
      /inflates to more than the limit of 4194304 bytes \(ingest\.decodedBodyLimitBytes\)/,
    );
    const after = await metrics();
    const decoded =
      sample(after, 'campuswatch_ingest_body_bytes_total', 'encoding="gzip",form="decoded"') -
      sample(before, 'campuswatch_ingest_body_bytes_total', 'encoding="gzip",form="decoded"');
    // stopped at the limit (plus the chunk in flight), nowhere near the ~1 GiB it would have become
    expect(decoded).toBeGreaterThan(4_194_304);
    expect(decoded).toBeLessThan(4_194_304 + 1_048_576);
    expect(sample(after, 'campuswatch_reports_rejected_total', 'reason="too_large"')).toBeGreaterThan(
      sample(before, 'campuswatch_reports_rejected_total', 'reason="too_large"'),
    );
    console.log(
      `[gzip-bodies] bomb: ${bomb.length} bytes on the wire (${inflated} inflated), refused after ${decoded} inflated bytes in ${Math.round(res.ms)} ms`,
    );
    expect((await w.anonymous({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    const next = makeReport({ agentId, schoolId: XINGHAI.id });
    const ok = await post(w.url, token, gzipSync(JSON.stringify(next)), { 'content-encoding': 'gzip' });
    expect(ok.status).toBe(200);
  });

  it('over the wire limit, not gzip, or another encoding: 413, 400, 415 naming what', async () => {
    const big = gzipSync(Buffer.from(JSON.stringify({ pad: 'x'.repeat(10) })));
    const overWire = Buffer.concat([big, Buffer.alloc(1_048_576)]);
    const r1 = await post(w.url, token, overWire, { 'content-encoding': 'gzip' });
    expect(r1.status).toBe(413);
    expect(r1.json.message).toMatch(/larger than the limit of 1048576 bytes \(ingest\.bodyLimitBytes\)/);
    const r2 = await post(w.url, token, Buffer.from('{"not":"gzip"}'), { 'content-encoding': 'gzip' });
    expect(r2.status).toBe(400);
    expect(r2.json.message).toMatch(/not valid gzip/);
    const r3 = await post(w.url, token, Buffer.from('{}'), { 'content-encoding': 'br' });
    expect(r3.status).toBe(415);
    expect(r3.json.message).toMatch(/content-encoding "br" is not supported/);
    // a plain body is still held to the wire limit although the inflated limit is larger
    const plain = Buffer.from(JSON.stringify({ pad: 'x'.repeat(2 * 1_048_576) }));
    const r4 = await post(w.url, token, plain, {});
    expect(r4.status).toBe(413);
    expect(r4.json.message).toMatch(/ingest\.bodyLimitBytes/);
  });

  it('a cycle in several parts is evaluated as the one report would be (rooms across parts)', async () => {
    const other = w.enrollDirect(OTHER.id);
    const at = new Date();
    const rooms = [
      ...manyRooms('录播室', 'recording', 4, 3, 'recorder'),
      ...manyRooms('教室', 'classroom', 6, 6, 'pc'),
    ];
    const whole = roomsReport({ agentId, schoolId: XINGHAI.id, at, rooms });
    expect((await w.postReport(token, whole)).statusCode).toBe(200);
    const split = roomsReport({ agentId: other.agentId, schoolId: OTHER.id, at, rooms });
    const cycleId = uuidv7();
    const cut = [0, 2, 5, split.results.length];
    for (let p = 0; p < 3; p++) {
      const part: Report = {
        ...split,
        reportId: p === 0 ? cycleId : uuidv7(),
        cycle: { id: cycleId, part: p + 1, parts: 3, results: split.results.length },
        results: split.results.slice(cut[p], cut[p + 1]),
      };
      const res = await w.postReport(other.token, part);
      expect(res.statusCode, res.body).toBe(200);
    }
    const rows = async (id: string) =>
      (
        (await w.app!.inject({ method: 'GET', url: `/api/v1/schools/${id}` })).json() as {
          compliance: { target: string; state: string; value: number | null; goal: number | null }[];
        }
      ).compliance.map(({ target, state, value, goal }) => ({ target, state, value, goal }));
    const wholeRows = await rows(XINGHAI.id);
    expect(wholeRows.find((r) => r.target === 'recording_room')).toMatchObject({ value: 3 });
    expect(await rows(OTHER.id)).toEqual(wholeRows);
  });
});
