import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { afterEach, describe, expect, it } from 'vitest';
import { type FlushResult, Forwarder, MIN_PART_BYTES } from '../../agent/src/forwarder.js';
import { reportParts } from '../../agent/src/report-parts.js';
import { Spool } from '../../agent/src/spool/spool.js';
import type { HostResult, Report } from '../../protocol/report.js';
import { roomsReport } from '../helpers/rooms-report.js';
import { sqliteOf, World, XINGHAI } from '../helpers/world.js';

// A collector whose ingest.bodyLimitBytes is lower than the agent's collector.maxReportBytes: its 413
// teaches the agent a smaller part size, the refused report goes again in parts, and every result arrives
// exactly once (plain bodies, so that the size bites).

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const MAX_REPORT_BYTES = 1_048_576;
const BODY_LIMIT_BYTES = 150_000;

interface Exchange {
  bytes: number;
  report: Report | undefined;
  status: number;
  answer: { status?: string; reportId?: string };
}

/**
 * A loopback HTTP relay in front of the collector that keeps every request body and the collector's answer;
 * `lose` may drop an answer (the connection closed instead), as a network does after the collector stored it.
 */
async function recordingRelay(
  target: string,
  lose: (x: Exchange) => boolean = () => false,
): Promise<{ url: string; seen: Exchange[] }> {
  const seen: Exchange[] = [];
  const to = new URL(target);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const out = request(
        { host: to.hostname, port: to.port, path: req.url, method: req.method, headers: req.headers },
        (answer) => {
          const back: Buffer[] = [];
          answer.on('data', (c: Buffer) => back.push(c));
          answer.on('end', () => {
            const text = Buffer.concat(back).toString();
            let report: Report | undefined;
            try {
              report = JSON.parse(body.toString()) as Report;
            } catch {
              report = undefined;
            }
            const x: Exchange = {
              bytes: body.length,
              report,
              status: answer.statusCode ?? 0,
              answer: JSON.parse(text) as Exchange['answer'],
            };
            seen.push(x);
            if (lose(x)) {
              res.socket?.destroy();
              return;
            }
            res.writeHead(answer.statusCode ?? 502, answer.headers).end(text);
          });
        },
      );
      // a collector answering 413 closes the connection, and may do so before the relay wrote the whole
      // body: then the relay cannot answer, and the agent sees the connection closed (it tries again)
      out.on('error', () => res.socket?.destroy());
      out.end(body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

/**
 * Flushes until the spool is empty, as the agent's loop does: a connection closed on the way (see the
 * relay) is tried again at once; any other stop ends it.
 */
async function flushAll(f: Forwarder): Promise<FlushResult> {
  const total: FlushResult = { delivered: 0, rejected: 0 };
  for (let i = 0; i < 20; i++) {
    const r = await f.flush();
    total.delivered += r.delivered;
    total.rejected += r.rejected;
    if (r.stopped?.kind !== 'network') return r.stopped ? { ...total, stopped: r.stopped } : total;
  }
  return { ...total, stopped: { kind: 'network', message: 'still closed after 20 tries' } };
}

function spool(): Spool {
  const dir = mkdtempSync(join(tmpdir(), 'cw-body-limit-'));
  const s = new Spool(join(dir, 'spool.sqlite'), 100);
  cleanups.push(() => {
    s.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return s;
}

function capture(): { log: pino.Logger; lines: { level: number; msg: string }[] } {
  const lines: { level: number; msg: string }[] = [];
  const log = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n').filter(Boolean))
          lines.push(JSON.parse(l) as { level: number; msg: string });
        done();
      },
    }),
  );
  return { log, lines };
}

/** A cycle of `devices` devices in rooms of 40, with Chinese names, as the agent spools it (1 MiB parts). */
function cycle(agentId: string, devices: number, prefix: string): Report {
  return roomsReport({
    agentId,
    schoolId: XINGHAI.id,
    at: new Date(),
    rooms: Array.from({ length: Math.ceil(devices / 40) }, (_, r) => ({
      name: `${prefix}教学楼 ${r} 号教室`,
      type: 'classroom',
      devices: Array.from({ length: Math.min(40, devices - r * 40) }, (_, d) => ({
        name: `${prefix}班级终端 ${r}-${d}（东楼）`,
        type: 'pc',
        up: d % 7 !== 0,
      })),
    })),
  });
}

describe('a collector whose body limit is lower than the agent’s collector.maxReportBytes', () => {
  it('413: the agent halves its part size, sends the report again in parts, every result exactly once, no dead letter; the size is kept and said once', async () => {
    const w = new World({ collector: { ingest: { retryAfterS: 1, bodyLimitBytes: BODY_LIMIT_BYTES } } });
    cleanups.push(() => w.cleanup());
    await w.startCollector();
    const { agentId, token } = w.enrollDirect();
    const relay = await recordingRelay(w.url);
    const s = spool();
    const { log, lines } = capture();
    const first = cycle(agentId, 2400, '');
    const second = cycle(agentId, 2400, '二期');
    for (const report of [first, second]) {
      const parts = [...reportParts(report, { maxBytes: MAX_REPORT_BYTES, newId: uuidv7 })];
      // each cycle fits the agent's own limit (one report) but is several times the collector's
      expect(parts).toHaveLength(1);
      expect(Buffer.byteLength(JSON.stringify(parts[0]))).toBeGreaterThan(4 * BODY_LIMIT_BYTES);
      s.enqueue(parts[0]!);
    }
    const f = new Forwarder({
      collectorUrl: relay.url,
      token,
      spool: s,
      log,
      gzip: false,
      maxReportBytes: MAX_REPORT_BYTES,
    });
    cleanups.push(() => f.close());

    const result = await flushAll(f);
    expect(result).toEqual({ delivered: 2, rejected: 0 });
    expect(s.counters()).toMatchObject({ depth: 0, rejected: 0, delivered: 2 });
    expect(s.deadLetters()).toEqual([]);

    const refused = relay.seen.filter((x) => x.status === 413);
    const stored = relay.seen.filter((x) => x.status === 200);
    expect(refused.length).toBeGreaterThan(0);
    expect(stored.length + refused.length).toBe(relay.seen.length);
    expect(stored.every((x) => x.answer.status === 'stored')).toBe(true);
    // the size learned is kept: the second cycle went straight in parts under it (no 413 after its first part)
    const learned = f.learnedPartBytes!;
    expect(learned).toBeLessThanOrEqual(BODY_LIMIT_BYTES);
    expect(learned).toBeGreaterThanOrEqual(MIN_PART_BYTES);
    const lastRefused = relay.seen.lastIndexOf(refused.at(-1)!);
    const firstOfSecond = relay.seen.findIndex((x) => x.report?.cycle?.id === second.reportId);
    expect(firstOfSecond).toBeGreaterThan(lastRefused);
    for (const x of stored) expect(x.bytes).toBeLessThanOrEqual(learned);

    // every result once, in order, each cycle's parts numbered and counted as the cycle's
    for (const report of [first, second]) {
      const parts = stored.map((x) => x.report!).filter((r) => r.cycle?.id === report.reportId);
      expect(parts.length).toBeGreaterThan(1);
      expect(parts.flatMap((p) => p.results)).toEqual(report.results);
      expect(parts.map((p) => p.cycle!.part)).toEqual(parts.map((_, i) => i + 1));
      for (const p of parts)
        expect(p.cycle).toMatchObject({ parts: parts.length, results: report.results.length });
      expect(new Set(parts.map((p) => p.reportId)).size).toBe(parts.length);
    }
    // the collector holds exactly those reports, and every device of both cycles (UTF-8 names kept)
    const ids = stored.map((x) => x.report!.reportId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(
      sqliteOf(w.app!)
        .ingestOrder(agentId)
        .map((r) => r.reportId)
        .sort(),
    ).toEqual([...ids].sort());
    const latest = sqliteOf(w.app!)
      .latestResults(XINGHAI.id)
      .map((r) => r.target)
      .sort();
    expect(latest).toEqual([...first.results, ...second.results].map((r) => r.target).sort());

    // said once, in words naming both settings and the size now used
    const said = lines.filter((l) => l.msg.includes('ingest.bodyLimitBytes'));
    expect(said).toHaveLength(1);
    expect(said[0]!.msg).toContain(`collector.maxReportBytes (${MAX_REPORT_BYTES} bytes)`);
    expect(said[0]!.msg).toContain(`parts of at most ${learned} bytes`);
  }, 120_000);

  it('a single result larger than the smallest part: a dead letter of its own naming the limit, the rest of its report exactly once', async () => {
    const bodyLimit = 80_000;
    const w = new World({ collector: { ingest: { retryAfterS: 1, bodyLimitBytes: bodyLimit } } });
    cleanups.push(() => w.cleanup());
    await w.startCollector();
    const { agentId, token } = w.enrollDirect();
    const relay = await recordingRelay(w.url);
    const s = spool();
    const report = cycle(agentId, 1200, '');
    // a host with 200 long mount points: one result larger than the smallest part the agent sends
    const at = report.startedAt;
    const host: HostResult = {
      probe: 'host',
      target: '录播服务器',
      outcome: 'ok',
      durationMs: 1,
      at,
      os: { platform: 'linux', distro: 'debian', release: '12', kernel: '6.1', arch: 'x64' },
      uptimeS: 1,
      cpu: { cores: 4, model: 'x', loadPct: 1 },
      memory: { totalBytes: 1, usedBytes: 1 },
      disks: Array.from({ length: 200 }, (_, i) => ({
        mount: `/srv/录播/${String(i).padStart(3, '0')}/${'课'.repeat(140)}`,
        sizeBytes: 1,
        usedBytes: 1,
      })),
      nics: [],
    };
    const hostBytes = Buffer.byteLength(JSON.stringify(host));
    expect(hostBytes).toBeGreaterThan(bodyLimit);
    report.results.splice(600, 0, host);
    s.enqueue(report);
    const { log } = capture();
    const f = new Forwarder({ collectorUrl: relay.url, token, spool: s, log, gzip: false });
    cleanups.push(() => f.close());

    expect(await flushAll(f)).toEqual({ delivered: 1, rejected: 0 });
    expect(f.learnedPartBytes).toBe(MIN_PART_BYTES);
    const dead = s.deadLetters();
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ status: 413 });
    expect(dead[0]!.reason).toContain(`${MIN_PART_BYTES} bytes`);
    expect(dead[0]!.reason).toContain('ingest.bodyLimitBytes');
    expect(s.counters()).toMatchObject({ depth: 0, rejected: 1 });
    // never sent alone once the floor was reached (the collector would refuse it), never stored
    const withHost = relay.seen.filter((x) => x.report?.results.some((r) => r.probe === 'host'));
    expect(withHost.every((x) => x.status === 413 && x.report!.results.length > 1)).toBe(true);
    const stored = relay.seen.filter((x) => x.status === 200).map((x) => x.report!);
    expect(stored.flatMap((p) => p.results)).toEqual(report.results.filter((r) => r.probe !== 'host'));
    const ids = stored.map((p) => p.reportId);
    expect(
      sqliteOf(w.app!)
        .ingestOrder(agentId)
        .map((r) => r.reportId)
        .sort(),
    ).toEqual([...ids].sort());
  }, 120_000);

  it('answers lost on the way back, then a restart: the parts go again under the same ids, the collector says duplicate, every result stored once', async () => {
    const w = new World({ collector: { ingest: { retryAfterS: 1, bodyLimitBytes: BODY_LIMIT_BYTES } } });
    cleanups.push(() => w.cleanup());
    await w.startCollector();
    const { agentId, token } = w.enrollDirect();
    let stored = 0;
    // the third part the collector stores: its answer never reaches the agent
    const relay = await recordingRelay(w.url, (x) => x.answer.status === 'stored' && ++stored === 3);
    const s = spool();
    const report = cycle(agentId, 2400, '');
    s.enqueue(report);
    const options = {
      collectorUrl: relay.url,
      token,
      spool: s,
      log: capture().log,
      gzip: false,
      maxReportBytes: MAX_REPORT_BYTES,
    };
    const before = new Forwarder(options);
    // until the lost answer: each try stops on a closed connection, the report still spooled
    for (let i = 0; i < 20 && stored < 3; i++)
      expect(await before.flush()).toMatchObject({ delivered: 0, rejected: 0, stopped: { kind: 'network' } });
    await before.close();
    expect(stored).toBe(3);
    expect(s.counters().depth).toBe(1);
    // a new process: nothing learned, the same report split the same way again
    const after = new Forwarder(options);
    cleanups.push(() => after.close());
    expect(await flushAll(after)).toEqual({ delivered: 1, rejected: 0 });
    expect(s.counters()).toMatchObject({ depth: 0, rejected: 0 });

    const duplicates = relay.seen.filter((x) => x.answer.status === 'duplicate');
    expect(duplicates).toHaveLength(3);
    const kept = relay.seen.filter((x) => x.answer.status === 'stored').map((x) => x.report!);
    expect(kept.flatMap((p) => p.results)).toEqual(report.results);
    const ids = kept.map((p) => p.reportId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(duplicates.map((x) => x.report!.reportId)).toEqual(ids.slice(0, 3));
    expect(
      sqliteOf(w.app!)
        .ingestOrder(agentId)
        .map((r) => r.reportId)
        .sort(),
    ).toEqual([...ids].sort());
  }, 120_000);
});
