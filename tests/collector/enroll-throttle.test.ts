import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, describe, expect, it } from 'vitest';
import { FailureDigest } from '../../collector/src/access/failure-digest.js';
import { buildApp } from '../../collector/src/app.js';
import { parseCollectorConfig } from '../../collector/src/config.js';
import { createCollectorLogger } from '../../collector/src/log.js';
import { XINGHAI } from '../helpers/world.js';

// Real HTTP on loopback against the real collector app; its log lines (pino, JSON) are captured and counted.

const dir = mkdtempSync(join(tmpdir(), 'cw-enroll-throttle-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface LogLine {
  level: number;
  msg: string;
  req?: { url?: string };
  remoteAddress?: string;
  failures?: number;
  throttled?: number;
  [key: string]: unknown;
}

/** A pino destination that keeps every line and says when one arrives. */
function capture() {
  const lines: LogLine[] = [];
  const events = new EventEmitter();
  const stream = {
    write(s: string) {
      for (const l of s.split('\n').filter(Boolean)) {
        const line = JSON.parse(l) as LogLine;
        lines.push(line);
        events.emit('line', line);
      }
    },
  };
  /** Resolves with the first line (already written or to come) that matches. */
  const waitFor = (match: (l: LogLine) => boolean): Promise<LogLine> => {
    const found = lines.find(match);
    if (found) return Promise.resolve(found);
    return new Promise((resolve) => {
      const on = (l: LogLine) => {
        if (!match(l)) return;
        events.off('line', on);
        resolve(l);
      };
      events.on('line', on);
    });
  };
  return { lines, stream, waitFor };
}

/** One real HTTP POST from `localAddress` (any 127.x address is loopback on Linux). */
function post(
  port: number,
  path: string,
  body: unknown,
  localAddress = '127.0.0.1',
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        localAddress,
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

async function start(windowS: number) {
  const log = capture();
  const config = parseCollectorConfig(
    JSON.stringify({
      listen: '127.0.0.1:0',
      dataDir: join(dir, `collector-${windowS}`),
      schools: [XINGHAI],
      enrollment: { failureLogWindowS: windowS },
    }),
  );
  const app: FastifyInstance = await buildApp(config, { log: createCollectorLogger('info', log.stream) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return { app, port, log };
}

const enrolLines = (lines: LogLine[]) =>
  lines.filter((l) => l.req?.url === '/api/v1/enroll' || /enrol/i.test(l.msg));

describe('enrolment attempts from one address', () => {
  it('250 guesses: a few are checked (403), the rest get 429 + Retry-After; the log has two lines, not 500', async () => {
    const { app, port, log } = await start(600);
    const statuses = new Map<number, number>();
    let retryAfter: string | undefined;
    const guesses = 250;
    const startedAt = performance.now();
    for (let i = 0; i < guesses; i++) {
      const res = await post(port, '/api/v1/enroll', {
        code: `GUESS-${String(i).padStart(5, '0')}-AAAAA`,
        hostname: 'guesser',
        agentVersion: '0.1.0',
      });
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      if (res.status === 429) retryAfter ??= String(res.headers['retry-after']);
    }
    const seconds = (performance.now() - startedAt) / 1000;
    // 5 free tries, then a back-off of 1 s doubling: the few a slow loop lets through after a wait are checked
    const checked = statuses.get(403) ?? 0;
    expect(checked).toBeGreaterThanOrEqual(5);
    expect(checked).toBeLessThan(15);
    expect(statuses.get(429)).toBe(guesses - checked);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);

    // a real agent from another address enrols, and that is logged
    const { code } = (
      app.campuswatch.state as unknown as {
        sync: { createEnrollCode(s: string, t: number): { code: string } };
      }
    ).sync.createEnrollCode(XINGHAI.id, 60_000);
    const ok = await post(
      port,
      '/api/v1/enroll',
      { code, hostname: 'real', agentVersion: '0.1.0' },
      '127.0.0.2',
    );
    expect(ok.status, ok.body).toBe(201);

    // other routes still log their requests: logging is on, only the enrolment route is quiet
    const health = await new Promise<number>((resolve, reject) => {
      request({ host: '127.0.0.1', port, path: '/healthz', agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      })
        .on('error', reject)
        .end();
    });
    expect(health).toBe(200);
    await log.waitFor((l) => l.msg === 'incoming request' && l.req?.url === '/healthz');

    // the window is still open: stopping the collector writes the burst's line
    await app.close();
    const lines = enrolLines(log.lines);
    console.info(
      `[enroll-throttle] ${guesses} guesses in ${seconds.toFixed(1)} s (${Math.round(guesses / seconds)}/s): ` +
        `${JSON.stringify([...statuses])}; ${lines.length} enrolment log lines: ${lines.map((l) => l.msg).join(' | ')}`,
    );
    expect(lines.filter((l) => l.msg === 'incoming request' || l.msg === 'request completed')).toEqual([]);
    expect(lines.map((l) => l.msg)).toEqual([
      'enrolment: a failed attempt from 127.0.0.1 (unknown enrolment code); further ones from it are summed up over 600 s',
      'agent enrolled',
      expect.stringMatching(
        new RegExp(
          `^enrolment: ${guesses} failed attempts from 127\\.0\\.0\\.1 in the last \\d+(\\.\\d)? s \\(${guesses - checked} refused with 429\\)$`,
        ),
      ),
    ]);
    expect(lines[1]).toMatchObject({ remoteAddress: '127.0.0.2' });
    expect(lines[2]).toMatchObject({
      remoteAddress: '127.0.0.1',
      failures: guesses,
      throttled: guesses - checked,
    });
  });

  it('the burst line is written when its window ends, without waiting for anything else', async () => {
    const { app, port, log } = await start(0.5);
    try {
      for (let i = 0; i < 3; i++) {
        const res = await post(port, '/api/v1/enroll', {
          code: `WRONG-${i}0000-AAAAA`,
          hostname: 'typo',
          agentVersion: '0.1.0',
        });
        expect(res.status).toBe(403);
      }
      const summary = await log.waitFor((l) => /^enrolment: \d+ failed attempts/.test(l.msg));
      expect(summary).toMatchObject({ remoteAddress: '127.0.0.1', failures: 3, throttled: 0 });
      expect(summary.msg).toMatch(
        /^enrolment: 3 failed attempts from 127\.0\.0\.1 in the last 0\.5 s \(0 refused with 429\)$/,
      );
      // a later failure opens a new window: it is logged at once again
      await post(port, '/api/v1/enroll', {
        code: 'WRONG-90000-AAAAA',
        hostname: 'typo',
        agentVersion: '0.1.0',
      });
      expect(
        enrolLines(log.lines).filter((l) => l.msg.startsWith('enrolment: a failed attempt')),
      ).toHaveLength(2);
    } finally {
      await app.close();
    }
  });
});

describe('FailureDigest', () => {
  it('a single failure is one line; open windows are bounded (the oldest is closed and logged early)', async () => {
    const log = capture();
    const digest = new FailureDigest(createCollectorLogger('info', log.stream), {
      what: 'enrolment',
      windowMs: 600_000,
      maxAddresses: 2,
    });
    digest.failed('10.0.0.1', { throttled: false, reason: 'unknown enrolment code' });
    digest.failed('10.0.0.1', { throttled: true, reason: 'backing off' });
    digest.failed('10.0.0.2', { throttled: false, reason: 'unknown enrolment code' });
    digest.failed('10.0.0.3', { throttled: false, reason: 'unknown enrolment code' });
    expect(digest.size).toBe(2);
    const early = await log.waitFor((l) => l.remoteAddress === '10.0.0.1' && l.failures === 2);
    expect(early.msg).toMatch(
      /^enrolment: 2 failed attempts from 10\.0\.0\.1 in the last [\d.]+ s \(1 refused with 429\)$/,
    );
    digest.flush();
    expect(digest.size).toBe(0);
    // 10.0.0.2 and .3 failed once each: their first line was all
    expect(log.lines.map((l) => l.remoteAddress)).toEqual(['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.1']);
  });
});
