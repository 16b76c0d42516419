import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { identityFile, tokenFile } from '../../agent/src/identity.js';
import { runCli } from '../helpers/cli.js';
import { sqliteOf, World, XINGHAI } from '../helpers/world.js';

/** What stands between the agent and the collector, one behaviour at a time. */
type Mode = 'portal-200' | 'other-id' | 'proxy-400' | 'proxy-413' | 'pass';

const PORTAL_PAGE =
  '<!DOCTYPE html><html><head><title>校园网认证</title></head><body>请先登录 / please log in</body></html>';
const NGINX_PAGE = (status: number, text: string) =>
  `<html>\r\n<head><title>${status} ${text}</title></head>\r\n<body>\r\n<center><h1>${status} ${text}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;

/** A body as bytes (reports travel gzip-compressed). */
function readRaw(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function readBody(req: IncomingMessage): Promise<string> {
  return readRaw(req).then((b) => b.toString('utf8'));
}

/** Forwards one request to the real collector and gives its answer back. */
function relay(
  target: string,
  req: IncomingMessage,
  body: Buffer,
): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers))
      if (typeof v === 'string' && k !== 'host' && k !== 'connection') headers[k] = v;
    const out = request(new URL(req.url ?? '/', target), { method: req.method, headers }, (res) => {
      readBody(res).then(
        (text) =>
          resolve({
            status: res.statusCode ?? 0,
            headers: { 'content-type': String(res.headers['content-type'] ?? '') },
            body: text,
          }),
        reject,
      );
    });
    out.on('error', reject);
    out.end(body);
  });
}

describe('only the collector’s own answer counts', () => {
  const w = new World();
  let mode: Mode = 'pass';
  let front = '';
  const seenByFront: Mode[] = [];
  const frontServer = createServer((req, res: ServerResponse) => {
    void (async () => {
      const body = await readRaw(req);
      seenByFront.push(mode);
      switch (mode) {
        case 'portal-200':
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PORTAL_PAGE);
          return;
        case 'proxy-400':
          res.writeHead(400, { 'content-type': 'text/html' }).end(NGINX_PAGE(400, 'Bad Request'));
          return;
        case 'proxy-413':
          res
            .writeHead(413, { 'content-type': 'text/html' })
            .end(NGINX_PAGE(413, 'Request Entity Too Large'));
          return;
        case 'other-id': {
          // a caching proxy in between: the collector stored the report, the answer names another one
          const answer = await relay(w.url, req, body);
          const other = JSON.stringify({ ...JSON.parse(answer.body), reportId: uuidv7() });
          res.writeHead(answer.status, answer.headers).end(other);
          return;
        }
        case 'pass': {
          const answer = await relay(w.url, req, body);
          res.writeHead(answer.status, answer.headers).end(answer.body);
          return;
        }
      }
    })().catch((err: Error) => res.destroy(err));
  });

  beforeAll(async () => {
    await w.startCollector();
    frontServer.listen(0, '127.0.0.1');
    await once(frontServer, 'listening');
    front = `http://127.0.0.1:${(frontServer.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    frontServer.closeAllConnections();
    await new Promise<void>((r) => frontServer.close(() => r()));
    await w.cleanup();
  });

  const stored = async () => {
    const metrics = (await w.app!.inject({ method: 'GET', url: '/metrics' })).body;
    const count = (outcome: string) =>
      Number(new RegExp(`campuswatch_reports_total\\{outcome="${outcome}"\\} (\\d+)`).exec(metrics)?.[1]);
    return { stored: count('stored'), duplicate: count('duplicate'), rejected: count('rejected') };
  };

  it('an HTML 200, JSON for another report and a proxy’s 400/413 page keep every report spooled; the collector then gets each once', async () => {
    const lines: { level: number; msg: string; status?: number }[] = [];
    const log = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _enc, done) {
          for (const line of chunk.toString().split('\n').filter(Boolean))
            lines.push(JSON.parse(line) as (typeof lines)[number]);
          done();
        },
      }),
    );
    const agent = await w.agent('foreign', {
      log,
      config: { collector: { url: front, requestTimeoutS: 5, allowPlainHttp: false } },
    });
    expect(agent.config.collector.url).toBe(front);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await agent.cycle({ all: true })).reportId);
    const before = await stored();
    const foreignLines = () => lines.filter((l) => l.msg.includes('answered instead of the collector'));

    for (const m of ['portal-200', 'other-id', 'proxy-400', 'proxy-413', 'portal-200'] as const) {
      mode = m;
      const r = await agent.forwarder.flush();
      expect(r, m).toMatchObject({ delivered: 0, rejected: 0, stopped: { kind: 'foreign' } });
      expect(agent.spool.counters(), m).toMatchObject({ depth: 3, rejected: 0, delivered: 0 });
      expect(agent.spool.oldest(3).map((s) => s.reportId)).toEqual(ids);
    }
    expect(seenByFront).toEqual(['portal-200', 'other-id', 'proxy-400', 'proxy-413', 'portal-200']);
    // one burst, one line, with its cause in words
    expect(foreignLines()).toHaveLength(1);
    expect(foreignLines()[0]!.msg).toContain(
      'a proxy or captive portal answered instead of the collector: HTTP 200 text/html',
    );
    // the relayed one was stored by the collector, though its answer named another report
    expect(await stored()).toEqual({ ...before, stored: before.stored + 1 });

    mode = 'pass';
    const r = await agent.forwarder.flush();
    expect(r).toEqual({ delivered: 3, rejected: 0 });
    expect(agent.spool.counters()).toMatchObject({ depth: 0, rejected: 0, delivered: 3 });
    // each report stored exactly once: the one the proxy had relayed comes back as a duplicate
    expect(await stored()).toEqual({
      stored: before.stored + 3,
      duplicate: before.duplicate + 1,
      rejected: before.rejected,
    });
    for (const id of ids) expect((await sqliteOf(w.app!).getIngest(id))?.state).toBe('done');

    // a new burst is logged again, once
    const next = await agent.cycle({ all: true });
    mode = 'proxy-413';
    expect((await agent.forwarder.flush()).stopped?.kind).toBe('foreign');
    expect((await agent.forwarder.flush()).stopped?.kind).toBe('foreign');
    expect(foreignLines()).toHaveLength(2);
    expect(foreignLines()[1]!.msg).toContain(': HTTP 413 text/html');
    mode = 'pass';
    expect(await agent.forwarder.flush()).toEqual({ delivered: 1, rejected: 0 });
    expect((await sqliteOf(w.app!).getIngest(next.reportId))?.state).toBe('done');
    expect((await stored()).stored).toBe(before.stored + 4);
  });

  describe('enrolment', () => {
    let fake = '';
    let fakeRequests = 0;
    let fakeAnswer: { status: number; type: string; body: string } = {
      status: 201,
      type: 'application/json',
      body: '{}',
    };
    const fakeServer = createServer((req, res) => {
      void readBody(req).then(() => {
        fakeRequests++;
        res.writeHead(fakeAnswer.status, { 'content-type': fakeAnswer.type }).end(fakeAnswer.body);
      });
    });
    beforeAll(async () => {
      fakeServer.listen(0, '127.0.0.1');
      await once(fakeServer, 'listening');
      fake = `http://127.0.0.1:${(fakeServer.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((r) => fakeServer.close(() => r())));

    const enrolledState = (name: string) => {
      const dir = join(w.dir, name);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      writeFileSync(tokenFile(dir), 'cw1.ag_old.the-old-secret-token\n', { mode: 0o600 });
      writeFileSync(
        identityFile(dir),
        `${JSON.stringify({ agentId: 'ag_old', schoolId: XINGHAI.id, collectorUrl: w.url, enrolledAt: '2026-09-01T00:00:00.000Z' }, null, 2)}\n`,
        { mode: 0o600 },
      );
      return { dir, token: readFileSync(tokenFile(dir)), identity: readFileSync(identityFile(dir)) };
    };
    const enrollCli = (collector: string, dir: string, ...extra: string[]) =>
      runCli('agent', [
        'enroll',
        '--collector',
        collector,
        '--code',
        'ABCDE-FGHJK-LMNPQ',
        '--state',
        dir,
        ...extra,
      ]);

    it('an answer of 201 {} fails with exit 1 and leaves the existing token byte-identical', async () => {
      const s = enrolledState('enroll-201');
      fakeAnswer = { status: 201, type: 'application/json', body: '{}' };
      const r = await enrollCli(fake, s.dir, '--force');
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain("is not the collector's");
      expect(r.stderr).toContain('agentId');
      expect(r.stderr).not.toContain('undefined');
      expect(readFileSync(tokenFile(s.dir)).equals(s.token)).toBe(true);
      expect(readFileSync(identityFile(s.dir)).equals(s.identity)).toBe(true);
      expect(readdirSync(s.dir).sort()).toEqual(['identity.json', 'token']); // no temporary file left

      // a captive portal's page, status 200
      fakeAnswer = { status: 200, type: 'text/html; charset=utf-8', body: PORTAL_PAGE };
      const portal = await enrollCli(fake, s.dir, '--force');
      expect(portal.code).toBe(1);
      expect(portal.stderr).toContain("(HTTP 200 text/html) is not the collector's: not JSON");
      expect(readFileSync(tokenFile(s.dir)).equals(s.token)).toBe(true);

      // nothing there before: nothing written either
      const fresh = join(w.dir, 'enroll-fresh');
      fakeAnswer = { status: 201, type: 'application/json', body: '{}' };
      const f = await enrollCli(fake, fresh);
      expect(f.code).toBe(1);
      expect(existsSync(tokenFile(fresh))).toBe(false);
      expect(existsSync(identityFile(fresh))).toBe(false);
    });

    it('an enrolled agent is not enrolled again without --force (the code is not spent), and is with it', async () => {
      const s = enrolledState('enroll-again');
      const requestsBefore = fakeRequests;
      const r = await enrollCli(fake, s.dir);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`${tokenFile(s.dir)}: this agent is already enrolled`);
      expect(r.stderr).toContain('--force');
      expect(fakeRequests).toBe(requestsBefore);
      expect(readFileSync(tokenFile(s.dir)).equals(s.token)).toBe(true);

      const { code } = sqliteOf(w.app!).createEnrollCode(XINGHAI.id, 60_000);
      const forced = await runCli('agent', [
        'enroll',
        '--collector',
        w.url,
        '--code',
        code,
        '--state',
        s.dir,
        '--force',
      ]);
      expect(forced.stderr).toBe('');
      expect(forced.code).toBe(0);
      expect(forced.stdout).toMatch(/^enrolled as agent ag_\S+ for school sz-xinghai-junior\n$/);
      const token = readFileSync(tokenFile(s.dir), 'utf8');
      expect(token).not.toBe(s.token.toString());
      expect(token).toMatch(/^\S{8,}\n$/);
      expect(statSync(tokenFile(s.dir)).mode & 0o777).toBe(0o600);
      expect(statSync(identityFile(s.dir)).mode & 0o777).toBe(0o600);
      expect(readdirSync(s.dir).sort()).toEqual(['identity.json', 'token']);
    });
  });
});
