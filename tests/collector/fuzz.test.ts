/**
 * Hostile input: property-based fuzzing (fast-check) of POST /api/v1/reports and POST /api/v1/enroll
 * against a real collector (`app.inject`) writing to a real influxd.
 *
 * Properties: never a 5xx; every 4xx is `{ statusCode, error, message }` with a message naming the
 * problem; a 200 only for a report `checkReport` accepts; InfluxDB holds exactly the points of the
 * accepted reports (every run posts for a school of its own, so its points are told apart by the
 * `school` tag); `Object.prototype` is never polluted; no agent is created without a valid code.
 *
 * Fixed seed (override with FUZZ_SEED); fast-check prints the seed and the counterexample path on failure.
 */
import fc from 'fast-check';
import { Type } from 'typebox';
import { Compile } from 'typebox/compile';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkReport } from '../../protocol/report-check.js';
import { formatProblem } from '../../protocol/validate.js';
import { SENT_AT_HEADER } from '../../protocol/version.js';
import { type Influxd, influxdAvailable, startInfluxd } from '../helpers/influxd.js';
import { makeReport } from '../helpers/reports.js';
import { sqliteOf, World, XINGHAI } from '../helpers/world.js';

const skip = influxdAvailable();
if (skip) console.warn(`[fuzz.test] SKIPPED: ${skip}`);

const SEED = Number(process.env.FUZZ_SEED ?? 20_250_611);
const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const DB = 'cw_fuzz';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Path = (string | number)[];

interface Answer {
  statusCode: number;
  body: string;
}

// ---- nasty values ------------------------------------------------------------------------------

/** Raw JSON number tokens that JSON.stringify cannot produce (-0, overflow to Infinity, precision loss). */
const RAW_MARK = '\u0001RAW:';
const raw = (token: string) => `${RAW_MARK}${token}\u0001`;
const RAW_NUMBERS = [
  '-0',
  '-0.0',
  '1e400',
  '-1e400',
  '1e-400',
  '9007199254740993',
  '123456789012345678901234567890',
  '1E308',
  '0.0000000000000000000001',
];

function serialise(value: unknown): string {
  return JSON.stringify(value).replace(/"\\u0001RAW:([^"\\]+)\\u0001"/g, '$1');
}

const edgeNumbers = fc.constantFrom<number>(
  1e308,
  -1e308,
  -1,
  2 ** 53 + 1,
  2 ** 53,
  -(2 ** 53) - 1,
  Number.MIN_VALUE,
  1e-7,
  0.1,
  0,
  100,
  100.000001,
  4096,
  4097,
  65535,
  65536,
  86_400_000,
  86_400_001,
  1e10 + 1,
  1e12,
  1e12 + 1,
  1e18,
  2e18,
  2 ** 31,
  2 ** 31 + 1,
  2 ** 63,
  -1e9 - 1,
);

const edgeStrings = fc.constantFrom(
  '',
  ' ',
  '\\',
  'cam\\',
  'a\\\\',
  '\\\\\\',
  '\u0000',
  'x\u0000y',
  '\ud800',
  '\udfff',
  'a\ud800b',
  '\udfff\ud800',
  '\u202eevil\u202c',
  '\u200b',
  '\u200d',
  '\ufeff',
  '\u2028\u2029',
  'e\u0301',
  '\uffff',
  '\u007f',
  '\u0085',
  '\n',
  '\t',
  '😀',
  '👨‍👩‍👧‍👦',
  '录播主机 A1, 东楼',
  '"; DROP TABLE agents; --',
  'a,b=c d',
  'x\ny',
  'ag_\u0000',
  '../../etc/passwd',
  '%00',
  '\u0024{jndi:ldap://x}',
);

/** Date-ish strings on the edges of the `date-time` format, Date.parse and InfluxDB's time range. */
const edgeDates = fc.constantFrom(
  '2016-12-31T23:59:60Z',
  '2024-01-01T00:00:00Z[Asia/Shanghai]',
  '2024-01-01T00:00:00+08:00[Asia/Shanghai]',
  '2024-01-01t00:00:00z',
  '2024-02-29T00:00:00Z',
  '2023-02-29T00:00:00Z',
  '2024-01-01T00:00:00+23:59',
  '2024-01-01T00:00:00.123456789Z',
  '0000-01-01T00:00:00Z',
  '0001-01-01T00:00:00Z',
  '1677-09-21T00:12:43Z',
  '1970-01-01T00:00:00Z',
  '2262-04-11T23:47:17Z',
  '2263-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999Z',
  '+275760-09-13T00:00:00.000Z',
  '2024-01-01',
  '2024-01-01T00:00:00',
);

/** Times inside the report's window of a fresh `makeReport` (now), in other spellings: valid, so a 200. */
const HOUR = 3_600_000;
const recentDates = fc.constantFrom(0, -HOUR, HOUR).map((delta) => {
  const t = new Date(Date.now() + delta);
  return delta === 0 ? t.toISOString().replace('Z', '+00:00') : t.toISOString();
});

const hugeString = fc
  .tuple(fc.integer({ min: 1_000, max: 200_000 }), fc.constantFrom('x', '界', '😀', '\\', '\u0000', '\ud800'))
  .map(([n, c]) => c.repeat(Math.max(1, Math.floor(n / c.length))));

const protoObjects = fc.constantFrom<Json>(
  JSON.parse('{"__proto__":{"polluted":"yes"}}') as Json,
  JSON.parse('{"constructor":{"prototype":{"polluted":"yes"}}}') as Json,
  JSON.parse('{"prototype":{"polluted":"yes"}}') as Json,
  JSON.parse('[{"__proto__":{"polluted":"yes"}}]') as Json,
);

const nastyValue: fc.Arbitrary<Json> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json> },
  { weight: 1, arbitrary: hugeString },
  { weight: 3, arbitrary: edgeStrings },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }).map((s) => `${s}\\`) },
  { weight: 3, arbitrary: edgeNumbers },
  { weight: 1, arbitrary: fc.constantFrom(...RAW_NUMBERS).map(raw) },
  { weight: 1, arbitrary: fc.double() },
  { weight: 2, arbitrary: edgeDates },
  { weight: 1, arbitrary: recentDates },
  { weight: 1, arbitrary: protoObjects },
  { weight: 1, arbitrary: fc.constantFrom<Json>(null, true, false, [], {}, [[]], '1', 1) },
);

const nastyKey = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', ''),
  fc.string({ maxLength: 12 }),
  edgeStrings,
);

// ---- mutation of one path ----------------------------------------------------------------------

function paths(value: Json, prefix: Path = [], out: Path[] = []): Path[] {
  out.push(prefix);
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) paths(v, [...prefix, i], out);
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) paths(v, [...prefix, k], out);
  }
  return out;
}

function at(value: Json, path: Path): Json {
  let v: Json = value;
  for (const k of path) v = (v as Record<string | number, Json>)[k] as Json;
  return v;
}

/** Own-property assignment that never goes through the `__proto__` setter. */
function defineOwn(target: object, key: string | number, v: Json): void {
  Object.defineProperty(target, key, { value: v, enumerable: true, writable: true, configurable: true });
}

type Mutation =
  | { kind: 'replace'; pick: number; value: Json }
  | { kind: 'delete'; pick: number }
  | { kind: 'add'; pick: number; key: string; value: Json }
  | { kind: 'retime'; date: string; results: boolean };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant('replace' as const), pick: fc.nat(), value: nastyValue }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('add' as const),
      pick: fc.nat(),
      key: nastyKey,
      value: nastyValue,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('retime' as const),
      date: fc.oneof(edgeDates, recentDates),
      results: fc.boolean(),
    }),
  },
);

function mutate(base: Json, m: Mutation): { value: Json; where: string } {
  const value = JSON.parse(JSON.stringify(base)) as Json;
  if (m.kind === 'retime') {
    // a clock far off: the window starts at the edge date (and the results, too, when `results`)
    const r = value as Record<string, Json>;
    r.startedAt = m.date;
    if (m.results) for (const res of r.results as Record<string, Json>[]) res.at = m.date;
    return { value, where: `startedAt${m.results ? '+results/*/at' : ''}` };
  }
  const all = paths(value);
  if (m.kind === 'add') {
    const objects = all.filter((p) => {
      const v = at(value, p);
      return v !== null && typeof v === 'object' && !Array.isArray(v);
    });
    const p = objects[m.pick % objects.length]!;
    defineOwn(at(value, p) as object, m.key, m.value);
    return { value, where: [...p, m.key].join('/') };
  }
  const p = all[m.pick % all.length]!;
  if (p.length === 0)
    return m.kind === 'replace' ? { value: m.value, where: '(root)' } : { value, where: '-' };
  const parent = at(value, p.slice(0, -1)) as Record<string | number, Json> | Json[];
  const key = p[p.length - 1]!;
  if (m.kind === 'delete') {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
  } else defineOwn(parent, key, m.value);
  return { value, where: p.join('/') };
}

// ---- oracles -----------------------------------------------------------------------------------

const samples = new Map<string, Set<string>>();
const counts: Record<string, number> = {};
function note(label: string, res: Answer): void {
  const key = `${label} ${res.statusCode}`;
  counts[key] = (counts[key] ?? 0) + 1;
  if (res.statusCode < 400) return;
  let message = res.body;
  try {
    message = String((JSON.parse(res.body) as { message?: unknown }).message);
  } catch {
    // kept raw
  }
  const set = samples.get(key) ?? new Set<string>();
  if (set.size < 8) set.add(message.length > 160 ? `${message.slice(0, 160)}…` : message);
  samples.set(key, set);
}

/**
 * How a 400 names the problem: a `path: what` problem from the schema check (e.g. `results/0/at: …`,
 * `reportId: is required`, `body/code: must be string`), or a sentence about the body, its JSON or
 * the report (parse errors, an empty body, forbidden prototype keys, the schema version).
 */
const NAMES_PATH =
  /(^|: )(must |is required|unknown key|is before|.+ is outside|.+ is not a date-time|.+ is older than|.+ is [^:]+ in the future|.+ is not a usable time)/;
const NAMES_PROBLEM = /JSON|body|report|schema|prototype/i;
/**
 * An unknown key whose name is the empty string at the top level: `formatProblem` drops the empty
 * path, so the message is only "unknown key" (noted in the report as a cosmetic gap, accepted here).
 */
const EMPTY_KEY = /^unknown key$/;

function expectError(res: Answer): string {
  expect(res.statusCode, res.body).toBeLessThan(500);
  const body = JSON.parse(res.body) as Record<string, unknown>;
  expect(Object.keys(body).sort()).toEqual(['error', 'message', 'statusCode']);
  expect(body.statusCode).toBe(res.statusCode);
  expect(typeof body.error).toBe('string');
  expect((body.error as string).length).toBeGreaterThan(0);
  expect(typeof body.message).toBe('string');
  const message = body.message as string;
  expect(message.trim().length).toBeGreaterThan(0);
  if (res.statusCode === 400) {
    expect(NAMES_PATH.test(message) || NAMES_PROBLEM.test(message) || EMPTY_KEY.test(message), message).toBe(
      true,
    );
  }
  return message;
}

function expectNoPollution(): void {
  const probe = {} as Record<string, unknown>;
  expect(probe.polluted).toBeUndefined();
  expect(([] as unknown as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain('polluted');
  expect(Object.keys(Object.prototype)).toEqual([]);
  expect(Object.keys(Array.prototype)).toEqual([]);
  expect(typeof Object.prototype.toString).toBe('function');
  expect(typeof Object.prototype.hasOwnProperty).toBe('function');
}

/** The body limits (collector default for reports; the enrol route's own); larger bodies are a 413. */
const BODY_LIMIT = 1_048_576;
const ENROLL_BODY_LIMIT = 16_384;

/**
 * fast-check's report with the counterexample cut short (huge strings would flood the output);
 * the seed and path replay it: `fc.assert(…, { seed, path })`.
 */
function reporter<T>(details: fc.RunDetails<T>): void {
  if (!details.failed) return;
  const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s);
  const example = details.counterexample === null ? 'none' : fc.stringify(details.counterexample);
  const cause =
    details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  throw new Error(
    `Property failed after ${details.numRuns} runs (${details.numShrinks} shrinks)\n` +
      `{ seed: ${details.seed}, path: ${JSON.stringify(details.counterexamplePath)} }\n` +
      `Counterexample: ${cut(example, 1500)}\nCause: ${cut(cause, 1500)}`,
  );
}

const EnrollBody = Compile(
  Type.Object(
    {
      code: Type.String({ minLength: 1, maxLength: 64 }),
      hostname: Type.String({ minLength: 1, maxLength: 255 }),
      agentVersion: Type.String({ minLength: 1, maxLength: 64 }),
    },
    { additionalProperties: false },
  ),
);

describe.skipIf(skip !== undefined)(
  `hostile input to the collector (fast-check, seed ${SEED}, ${RUNS} runs)${skip ? ` (SKIPPED: ${skip})` : ''}`,
  () => {
    let influx: Influxd;
    let w: World;
    let schoolSeq = 0;
    /** School id → whether its one report was answered 200 "stored". */
    const outcome = new Map<string, boolean>();
    const started = performance.now();

    beforeAll(async () => {
      influx = await startInfluxd();
      // ingest only: the alert pass writes `agent_status` points for every enrolled agent, including the
      // fresh agents whose report was refused, and "nothing written for a refused report" is counted here
      w = new World({ influxUrl: influx.url, database: DB, collector: { alerts: { enabled: false } } });
      await w.startCollector();
    });
    afterAll(async () => {
      const lines = [`[fuzz.test] seed ${SEED}, ${RUNS} runs per property, answers by property and status:`];
      for (const [k, n] of Object.entries(counts).sort()) lines.push(`  ${k}: ${n}`);
      lines.push('[fuzz.test] sample 4xx messages:');
      for (const [k, set] of [...samples.entries()].sort()) {
        for (const m of set) lines.push(`  ${k}  ${JSON.stringify(m)}`);
      }
      lines.push(
        `[fuzz.test] ${outcome.size} reports posted in ${Math.round(performance.now() - started)} ms`,
      );
      console.log(lines.join('\n'));
      await w?.cleanup();
      await influx?.cleanup();
    });

    /** A school of its own and an agent enrolled for it, so this run's points are told apart by tag. */
    function freshAgent(): { agentId: string; token: string; schoolId: string } {
      const schoolId = `fz-${++schoolSeq}`;
      sqliteOf(w.app!).upsertSchool({ ...XINGHAI, id: schoolId, name: `模糊测试学校 ${schoolSeq}` });
      return { ...w.enrollDirect(schoolId, `fuzz-${schoolSeq}`), schoolId };
    }

    async function postRaw(
      token: string,
      payload: string | Buffer,
      headers: Record<string, string> = {},
    ): Promise<Answer> {
      const res = await w.app!.inject({
        method: 'POST',
        url: '/api/v1/reports',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
        payload,
      });
      return { statusCode: res.statusCode, body: res.body };
    }

    /**
     * Posts `payload` as a fresh agent of a fresh school and checks the answer against `checkReport`
     * of the same bytes decoded the same way.
     */
    async function postAndCheck(
      label: string,
      build: (agent: { agentId: string; schoolId: string }) => string | Buffer,
      headers: Record<string, string> = {},
    ): Promise<void> {
      const agent = freshAgent();
      const payload = build(agent);
      let decoded: unknown;
      let parses = true;
      try {
        decoded = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
      } catch {
        parses = false;
      }
      const res = await postRaw(agent.token, payload, headers);
      note(label, res);
      const check = parses ? checkReport(decoded) : undefined;
      const stored = res.statusCode === 200;
      outcome.set(agent.schoolId, stored);
      if (stored) {
        expect(check?.ok, `200 for a report checkReport refuses: ${String(payload).slice(0, 300)}`).toBe(
          true,
        );
        expect((JSON.parse(res.body) as { status: string }).status).toBe('stored');
      } else {
        expectError(res);
        if (Buffer.byteLength(payload) > BODY_LIMIT) expect(res.statusCode).toBe(413);
        else {
          if (!parses) expect(res.statusCode).toBe(400);
          if (check && !check.ok) {
            expect(res.statusCode).toBe(400);
            // the collector names exactly the problems checkReport finds, as `path: what; …` (unless
            // Fastify's parser already refused a `__proto__` / `constructor.prototype` key: then the
            // message is its generic "Body is not valid JSON …")
            const text = typeof payload === 'string' ? payload : payload.toString('utf8');
            if (!/"(?:__proto__|constructor)"/.test(text)) {
              expect(JSON.parse(res.body).message).toBe(check.problems.map(formatProblem).join('; '));
            }
          }
        }
      }
      expectNoPollution();
    }

    /** After a batch: InfluxDB holds one `agent` point per accepted report, and nothing at all for rejected ones. */
    async function expectStoreMatches(): Promise<{ accepted: number; rejected: number }> {
      const agentRows = await influx.query(`SELECT count("rss_mb") FROM "agent" GROUP BY "school"`, DB);
      const agentPoints = new Map(agentRows.map((r) => [String(r.school), Number(r.count)]));
      const anyRows = await influx.query(`SELECT count(*) FROM /.*/ GROUP BY "school"`, DB);
      const withPoints = new Set<string>();
      for (const r of anyRows) {
        const n = Object.entries(r).filter(
          ([k, v]) => k.startsWith('count') && typeof v === 'number' && v > 0,
        );
        if (n.length > 0) withPoints.add(String(r.school));
      }
      let accepted = 0;
      let rejected = 0;
      const wrong: string[] = [];
      for (const [school, ok] of outcome) {
        if (ok) {
          accepted++;
          if (agentPoints.get(school) !== 1)
            wrong.push(`${school}: accepted, ${agentPoints.get(school) ?? 0} agent points`);
        } else {
          rejected++;
          if (withPoints.has(school)) wrong.push(`${school}: rejected, but has points (partial write)`);
        }
      }
      expect(wrong).toEqual([]);
      const acceptedSchools = [...outcome].filter(([, ok]) => ok).length;
      const total = [...agentPoints.entries()]
        .filter(([s]) => s.startsWith('fz-'))
        .reduce((a, [, n]) => a + n, 0);
      expect(total).toBe(acceptedSchools);
      expectNoPollution();
      return { accepted, rejected };
    }

    it('(a) a valid report with one path mutated: never 5xx, 200 only when valid, no partial write', async () => {
      await fc.assert(
        fc.asyncProperty(mutation, async (m) => {
          await postAndCheck('reports/mutated', (agent) => {
            const base = makeReport({ agentId: agent.agentId, schoolId: agent.schoolId }) as unknown as Json;
            return serialise(mutate(base, m).value);
          });
        }),
        { seed: SEED, numRuns: RUNS, reporter },
      );
      const { accepted, rejected } = await expectStoreMatches();
      console.log(`[fuzz.test] (a) mutated reports: ${accepted} accepted, ${rejected} rejected`);
      expect(accepted).toBeGreaterThan(0); // the oracle could see a 200
      expect(rejected).toBeGreaterThan(0);
    });

    it('(b) fully random JSON values: never 5xx, every 4xx names the problem, nothing written', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.jsonValue({ maxDepth: 6 }),
            fc.dictionary(fc.oneof(nastyKey, fc.string()), nastyValue, { maxKeys: 12 }),
            nastyValue,
          ),
          async (value) => {
            await postAndCheck('reports/random', () => serialise(value));
          },
        ),
        { seed: SEED + 1, numRuns: RUNS, reporter },
      );
      await expectStoreMatches();
    });

    it('(c) nesting 5000 deep, at the top and inside a valid report (raw string bodies)', async () => {
      const nest = (depth: number, shape: 'array' | 'object' | 'mixed', leaf: string) => {
        let open = '';
        let close = '';
        for (let i = 0; i < depth; i++) {
          const arr = shape === 'array' || (shape === 'mixed' && i % 2 === 0);
          open += arr ? '[' : '{"a":';
          close = (arr ? ']' : '}') + close;
        }
        return open + leaf + close;
      };
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            depth: fc.oneof(fc.constant(5000), fc.integer({ min: 1, max: 5000 })),
            shape: fc.constantFrom('array' as const, 'object' as const, 'mixed' as const),
            leaf: fc.constantFrom('1', '"x"', 'null', '{}', '[]', '{"__proto__":{"polluted":1}}'),
            where: fc.constantFrom(
              'top',
              'health',
              'results',
              'results/0',
              'results/0/device',
              'extra',
              'unclosed',
            ),
          }),
          async ({ depth, shape, leaf, where }) => {
            await postAndCheck('reports/deep', (agent) => {
              const deep = nest(depth, shape, leaf);
              if (where === 'top') return deep;
              if (where === 'unclosed') return deep.slice(0, deep.length - 1);
              const r = makeReport({ agentId: agent.agentId, schoolId: agent.schoolId }) as unknown as Record<
                string,
                Json
              >;
              if (where === 'health') r.health = '\u0001DEEP\u0001';
              else if (where === 'results') r.results = '\u0001DEEP\u0001';
              else if (where === 'results/0') (r.results as Json[])[0] = '\u0001DEEP\u0001';
              else if (where === 'results/0/device')
                ((r.results as Json[])[0] as Record<string, Json>).device = '\u0001DEEP\u0001';
              else r.extra = '\u0001DEEP\u0001';
              return JSON.stringify(r).replace('"\\u0001DEEP\\u0001"', () => deep);
            });
          },
        ),
        { seed: SEED + 2, numRuns: Math.min(RUNS, 100), reporter },
      );
      await expectStoreMatches();
    });

    it('(d) random bytes with content-type JSON: a 400 that says so, nothing written', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.uint8Array({ maxLength: 4096 }),
            fc
              .uint8Array({ minLength: 1, maxLength: 512 })
              .map((b) => Buffer.concat([Buffer.from('{"schema":1,'), b])),
            fc.string({ unit: 'binary', maxLength: 200 }).map((s) => Buffer.from(s, 'utf8')),
          ),
          async (bytes) => {
            await postAndCheck('reports/bytes', () => Buffer.from(bytes));
          },
        ),
        { seed: SEED + 3, numRuns: RUNS, reporter },
      );
      await expectStoreMatches();
    });

    it(`(e) a valid report with a hostile ${SENT_AT_HEADER} clock header`, async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            edgeDates,
            edgeStrings,
            // a clock off by up to ±2 days: shifted points stay in a few shards (each new one costs ~0.2 s)
            fc
              .integer({ min: -2 * 86_400_000, max: 2 * 86_400_000 })
              .map((d) => new Date(Date.now() + d).toISOString()),
            fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
            fc.constantFrom(
              '-271821-04-20T00:00:00.000Z',
              '+275760-09-13T00:00:00.000Z',
              'Thu, 01 Jan 1970 00:00:00 GMT',
            ),
          ),
          async (sentAt) => {
            const header = sentAt.replace(/[^\t\x20-\x7e]/g, '?'); // a header value must be visible ASCII
            await postAndCheck(
              'reports/clock',
              (agent) => JSON.stringify(makeReport({ agentId: agent.agentId, schoolId: agent.schoolId })),
              { [SENT_AT_HEADER]: header },
            );
          },
        ),
        { seed: SEED + 4, numRuns: Math.min(RUNS, 100), reporter },
      );
      await expectStoreMatches();
    });

    it('(f) the enrol endpoint: random and mutated bodies, never 5xx, an agent only for a valid code', async () => {
      const db = () => sqliteOf(w.app!).db;
      const agents = () => (db().prepare('SELECT count(*) AS n FROM agents').get() as { n: number }).n;
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            { weight: 3, arbitrary: mutation.map((m) => ({ kind: 'mutated' as const, m })) },
            {
              weight: 1,
              arbitrary: fc.jsonValue({ maxDepth: 4 }).map((v) => ({ kind: 'json' as const, v })),
            },
            {
              weight: 1,
              arbitrary: fc.uint8Array({ maxLength: 1024 }).map((b) => ({ kind: 'bytes' as const, b })),
            },
          ),
          async (input) => {
            const { code } = sqliteOf(w.app!).createEnrollCode(XINGHAI.id, 60_000);
            const valid = { code, hostname: 'nas', agentVersion: '0.1.0' };
            let payload: string | Buffer;
            if (input.kind === 'mutated') {
              const m = input.m.kind === 'retime' ? { kind: 'delete' as const, pick: 1 } : input.m;
              payload = serialise(mutate(valid as unknown as Json, m).value);
            } else if (input.kind === 'json') payload = serialise(input.v);
            else payload = Buffer.from(input.b);
            const before = agents();
            const r = await w.app!.inject({
              method: 'POST',
              url: '/api/v1/enroll',
              headers: { 'content-type': 'application/json' },
              payload,
            });
            const res = { statusCode: r.statusCode, body: r.body };
            note(`enroll/${input.kind}`, res);
            let decoded: unknown;
            try {
              decoded = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
            } catch {
              decoded = undefined;
            }
            const schemaOk = decoded !== undefined && EnrollBody.Check(decoded);
            const codeOk =
              Buffer.byteLength(payload) <= ENROLL_BODY_LIMIT &&
              schemaOk &&
              (decoded as { code: string }).code.trim().toUpperCase() === code;
            const after = agents();
            if (res.statusCode === 201) {
              expect(codeOk).toBe(true);
              expect(after).toBe(before + 1);
              const body = JSON.parse(res.body) as { agentId: string; schoolId: string; token: string };
              expect(body.schoolId).toBe(XINGHAI.id);
              expect(body.token).toMatch(/^cw1\.ag_/);
            } else {
              const message = expectError(res);
              expect(after, `no agent without a valid code (${message})`).toBe(before);
              if (codeOk) throw new Error(`a valid enrolment was refused: ${res.statusCode} ${message}`);
              if (Buffer.byteLength(payload) > ENROLL_BODY_LIMIT) {
                expect(res.statusCode).toBe(413);
                expect(message).toMatch(/^request body is larger than the limit of \d+ bytes$/); // KB3: wrong number
              } else if (!schemaOk) expect(res.statusCode).toBe(400);
              else expect(res.statusCode).toBe(403);
            }
            expectNoPollution();
          },
        ),
        { seed: SEED + 5, numRuns: RUNS, reporter },
      );
    });
    // ---- the bugs this fuzzing found (fixed): their reproducers stay as regression tests

    it('KB1: a result `at` of 23:59:60 (valid date-time, NaN for Date.parse) is a 400 naming it', async () => {
      const agent = freshAgent();
      const r = makeReport({ agentId: agent.agentId, schoolId: agent.schoolId });
      const leap = '2016-12-31T23:59:60Z';
      const res = await postRaw(
        agent.token,
        JSON.stringify({ ...r, startedAt: leap, results: [{ ...r.results[0]!, at: leap }] }),
      );
      expect(res.statusCode, res.body).toBe(400);
      expect((JSON.parse(res.body) as { message: string }).message).toContain(
        'startedAt: "2016-12-31T23:59:60Z" is not a date-time this collector can read',
      );
    });

    it('KB1: a result `at` with an RFC 9557 suffix is a 400 naming it', async () => {
      const agent = freshAgent();
      const r = makeReport({ agentId: agent.agentId, schoolId: agent.schoolId });
      const at = `${r.finishedAt}[Asia/Shanghai]`;
      const res = await postRaw(agent.token, JSON.stringify({ ...r, results: [{ ...r.results[0]!, at }] }));
      expect(res.statusCode, res.body).toBe(400);
      expect((JSON.parse(res.body) as { message: string }).message).toMatch(
        /^results\/0\/at: .* is not a date-time this collector can read/,
      );
    });

    it(`KB2: ${SENT_AT_HEADER}: -271821-04-20T00:00:00.000Z is a 400 naming the header`, async () => {
      const agent = freshAgent();
      const r = makeReport({ agentId: agent.agentId, schoolId: agent.schoolId });
      const res = await postRaw(agent.token, JSON.stringify(r), {
        [SENT_AT_HEADER]: '-271821-04-20T00:00:00.000Z',
      });
      expect(res.statusCode, res.body).toBe(400);
      expect((JSON.parse(res.body) as { message: string }).message).toContain(`${SENT_AT_HEADER}: `);
    });

    it('KB2: a report whose results are older than the raw retention is refused whole (400), nothing written', async () => {
      const agent = freshAgent();
      const r = makeReport({ agentId: agent.agentId, schoolId: agent.schoolId });
      const old = '1970-01-01T00:00:00Z';
      const res = await postRaw(
        agent.token,
        JSON.stringify({ ...r, startedAt: old, results: [{ ...r.results[0]!, at: old }] }),
      );
      const rows = await influx.query(`SELECT count(*) FROM /.*/ WHERE "school" = '${agent.schoolId}'`, DB);
      // before the fix: 422 "partial write: points beyond retention policy dropped=1" with the rest stored
      expect(res.statusCode, res.body).toBe(400);
      expect((JSON.parse(res.body) as { message: string }).message).toMatch(
        /^startedAt: 1970-01-01T00:00:00.000Z is older than 89 days/,
      );
      expect(rows).toEqual([]);
    });

    it('KB3: a 413 from the enrol route names its own limit (16384 bytes), not the report limit', async () => {
      const res = await w.app!.inject({
        method: 'POST',
        url: '/api/v1/enroll',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ code: 'X', hostname: 'h'.repeat(20_000), agentVersion: '1' }),
      });
      expect(res.statusCode).toBe(413);
      expect((JSON.parse(res.body) as { message: string }).message).toMatch(/16384/);
    });

    it('KB2: a report finished after 2262 (beyond InfluxDB time) is refused whole, nothing written', async () => {
      const agent = freshAgent();
      const r = makeReport({ agentId: agent.agentId, schoolId: agent.schoolId });
      const res = await postRaw(agent.token, JSON.stringify({ ...r, finishedAt: '2263-01-01T00:00:00Z' }));
      const rows = await influx.query(`SELECT count(*) FROM /.*/ WHERE "school" = '${agent.schoolId}'`, DB);
      // before the fix: 422 "partial write: … time outside range" with the result's `device` point stored
      expect(res.statusCode, res.body).toBe(400);
      expect((JSON.parse(res.body) as { message: string }).message).toMatch(
        /^finishedAt: 2263-01-01T00:00:00.000Z is \d+ days in the future/,
      );
      expect(rows).toEqual([]);
    });
  },
);
