import { readFileSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenFile } from '../../agent/src/identity.js';
import type { Report } from '../../protocol/report.js';
import { type Influxd, influxdAvailable, startInfluxd } from '../helpers/influxd.js';
import { makeReport } from '../helpers/reports.js';
import { sqliteOf, World, XINGHAI } from '../helpers/world.js';

const skip = influxdAvailable();
if (skip) console.warn(`[ingest.test] SKIPPED: ${skip}`);

const OTHER = {
  id: 'tc-shaxi-primary',
  name: '太仓市沙溪第一小学',
  district: '太仓市',
  area: 'rural',
  timezone: 'Asia/Shanghai',
} as const;

describe.skipIf(skip !== undefined)(
  `POST /api/v1/reports rejects bad input and writes nothing${skip ? ` (SKIPPED: ${skip})` : ''}`,
  () => {
    let influx: Influxd;
    let w: World;
    let tokenA: string;
    let tokenB: string;
    let agentA: string;
    beforeAll(async () => {
      influx = await startInfluxd();
      w = new World({ influxUrl: influx.url, database: 'cw_ingest', schools: [XINGHAI, OTHER] });
      await w.startCollector();
      const a = await w.agent('a');
      agentA = a.identity.agentId;
      tokenA = readFileSync(tokenFile(a.config.state), 'utf8').trim();
      const b = await w.agent('b', { config: { school: OTHER } });
      tokenB = readFileSync(tokenFile(b.config.state), 'utf8').trim();
    });
    afterAll(async () => {
      await w?.cleanup();
      await influx?.cleanup();
    });

    const post = (payload: string | object, token = tokenA, contentType = 'application/json') =>
      w.anonymous({
        method: 'POST',
        url: '/api/v1/reports',
        headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), 'content-type': contentType },
        payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
      });
    const valid = (over: Partial<Report> = {}) => ({
      ...makeReport({ agentId: agentA, schoolId: XINGHAI.id }),
      ...over,
    });

    const cases: [string, () => Promise<{ statusCode: number; json(): unknown }>, number, RegExp][] = [
      ['malformed JSON', () => post('{"schema":1,'), 400, /JSON/],
      [
        'NaN in JSON',
        () => post(JSON.stringify(valid()).replace('"durationMs":1', '"durationMs":NaN')),
        400,
        /JSON/,
      ],
      [
        'missing field',
        () => {
          const { reportId: _r, ...rest } = valid();
          return post(rest);
        },
        400,
        /^reportId: is required$/,
      ],
      ['wrong type', () => post({ ...valid(), startedAt: 42 }), 400, /^startedAt: must be string$/],
      [
        'negative duration',
        () => {
          const r = valid();
          return post({ ...r, results: [{ ...r.results[0]!, durationMs: -5 }] });
        },
        400,
        /^results\/0\/durationMs: must be >= 0$/,
      ],
      [
        'negative health number',
        () => post({ ...valid(), health: { ...valid().health, cycleMs: -1 } }),
        400,
        /^health\/cycleMs: must be >= 0$/,
      ],
      ['unknown schema version', () => post({ ...valid(), schema: 7 }), 400, /accepts schema versions: 1$/],
      [
        'body over 1 MiB',
        () => post({ ...valid(), pad: 'x'.repeat(1_100_000) }),
        413,
        /larger than the limit of 1048576 bytes/,
      ],
      ['no token', () => post(valid(), ''), 401, /missing bearer token/],
      ['wrong token', () => post(valid(), `cw1.${agentA}.${'A'.repeat(43)}`), 401, /invalid agent token/],
      ['garbage token', () => post(valid(), 'hunter2'), 401, /invalid agent token/],
      [
        'school A token posting for school B',
        () => post({ ...valid(), schoolId: OTHER.id }),
        403,
        /bound to school "sz-xinghai-junior", not "tc-shaxi-primary"/,
      ],
      [
        'school B token posting school A report',
        () => post(valid(), tokenB),
        403,
        /does not match the token's agent/,
      ],
      [
        'result time outside the window',
        () => {
          const r = valid();
          const late = new Date(Date.parse(r.finishedAt) + 60_000).toISOString();
          return post({ ...r, results: [{ ...r.results[0]!, at: late }] });
        },
        400,
        /^results\/0\/at: .* is outside the report's window/,
      ],
      [
        'finishedAt before startedAt',
        () => {
          const r = valid();
          return post({
            ...r,
            finishedAt: new Date(Date.parse(r.startedAt) - 1000).toISOString(),
            results: [],
          });
        },
        400,
        /^finishedAt: is before startedAt/,
      ],
      [
        'tag value ending in a backslash',
        () => {
          const r = makeReport({ agentId: agentA, schoolId: XINGHAI.id, device: 'cam\\' });
          return post(r);
        },
        400,
        /results\/0\/target: .*must not end with a backslash/,
      ],
      [
        'not JSON content type',
        () => post('schema=1', tokenA, 'text/plain'),
        415,
        /content-type must be application\/json/,
      ],
    ];

    for (const [name, send, status, message] of cases) {
      it(`${name} → ${status}, naming the problem`, async () => {
        const res = await send();
        expect(res.statusCode).toBe(status);
        const body = res.json() as { statusCode: number; error: string; message: string };
        expect(body.statusCode).toBe(status);
        expect(body.message).toMatch(message);
      });
    }

    it('after all of that, nothing was written anywhere', async () => {
      expect(await influx.query('SHOW MEASUREMENTS', 'cw_ingest')).toEqual([]);
      const state = sqliteOf(w.app!);
      expect(state.ingestOrder(agentA)).toEqual([]);
      expect(state.latestResults(XINGHAI.id)).toEqual([]);
      expect(state.latestResults(OTHER.id)).toEqual([]);
    });

    it('and a valid report is then accepted (the test could fail)', async () => {
      const res = await post(valid());
      expect(res.statusCode).toBe(200);
      expect((await influx.query('SHOW MEASUREMENTS', 'cw_ingest')).map((r) => r.name)).toContain('agent');
    });
  },
);

describe('enrolment', () => {
  let w: World;
  beforeAll(async () => {
    w = new World();
    await w.startCollector();
  });
  afterAll(async () => {
    await w.cleanup();
  });

  it('a code works once; the token is stored hashed and kept in a 0600 file', async () => {
    const agent = await w.agent('e');
    const file = tokenFile(agent.config.state);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const token = readFileSync(file, 'utf8').trim();
    expect(token).toMatch(/^cw1\.ag_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    const secret = token.split('.')[2]!;
    const rows = sqliteOf(w.app!).db.prepare('SELECT * FROM agents').all() as Record<string, unknown>[];
    expect(JSON.stringify(rows)).not.toContain(secret);
    expect(rows[0]!.token_hash).toBeInstanceOf(Buffer);

    const state = sqliteOf(w.app!);
    const { code } = state.createEnrollCode(XINGHAI.id, 60_000);
    const enrollWith = (c: string) =>
      w.app!.inject({
        method: 'POST',
        url: '/api/v1/enroll',
        payload: { code: c, hostname: 'nas', agentVersion: '0.1.0' },
      });
    const first = await enrollWith(code.toLowerCase());
    expect(first.statusCode).toBe(201);
    expect((first.json() as { schoolId: string }).schoolId).toBe(XINGHAI.id);
    const again = await enrollWith(code);
    expect(again.statusCode).toBe(403);
    expect((again.json() as { message: string }).message).toMatch(/already used/);
    const expired = state.createEnrollCode(XINGHAI.id, 1, Date.now() - 10_000);
    expect(((await enrollWith(expired.code)).json() as { message: string }).message).toMatch(/expired/);
    expect((await enrollWith('NOPE')).statusCode).toBe(403);
    const bad = await w.app!.inject({
      method: 'POST',
      url: '/api/v1/enroll',
      payload: { code: 5, hostname: 'x', agentVersion: '1' },
    });
    expect(bad.statusCode).toBe(400);
    expect((bad.json() as { message: string }).message).toBe('body/code: must be string');
    const extra = await w.app!.inject({
      method: 'POST',
      url: '/api/v1/enroll',
      payload: { code: 'X', hostname: 'x', agentVersion: '1', admin: true },
    });
    expect((extra.json() as { message: string }).message).toBe('body/admin: unknown key');
  });

  it('an agent enrolled for one school refuses to run with another school in its config', async () => {
    const config = w.agentConfig('e', { school: { ...XINGHAI, id: 'another' } });
    const { CampusAgent } = await import('../../agent/src/agent.js');
    expect(() => CampusAgent.open(config)).toThrow(
      /enrolled for school "sz-xinghai-junior" but its config says school.id "another"/,
    );
  });
});
