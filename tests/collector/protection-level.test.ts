import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_BASELINE_FILE, loadBaseline, parseBaseline } from '../../collector/src/baseline.js';
import { parseCollectorConfig } from '../../collector/src/config.js';
import { findingKey, nextFindings, supersededClauses } from '../../collector/src/evaluate/findings.js';
import { SqliteStateStore } from '../../collector/src/store/sqlite-state.js';
import type { SecurityResult } from '../../protocol/report.js';
import type { School } from '../../protocol/school.js';
import { SENT_AT_HEADER } from '../../protocol/version.js';
import { runCli } from '../helpers/cli.js';
import { errorOf } from '../helpers/config-error.js';
import { type Influxd, influxdAvailable, startInfluxd } from '../helpers/influxd.js';
import { type Receiver, receiver } from '../helpers/receiver.js';
import { makeReport, telnetReport } from '../helpers/reports.js';
import { sqliteOf, World } from '../helpers/world.js';

/**
 * Issue 23 item 8, acceptance 9: a school declares its 等级保护级别 and every finding cites the GB/T
 * 22239-2019 clause of that level. The table is written from the standard's numbering, not read from
 * config/baseline.yaml: chapter 7 holds the 第二级 requirements, chapter 8 the 第三级 ones; x.1.4 安全计算
 * 环境 numbers its control points 1 身份鉴别, 2 访问控制, 3 安全审计, 4 入侵防范, 5 恶意代码防范, 6 可信验证,
 * 7 数据完整性, then at level 2: 8 数据备份恢复, 9 剩余信息保护, 10 个人信息保护; at level 3: 8 数据保密性,
 * 9 数据备份恢复, 10 剩余信息保护, 11 个人信息保护. Level 2 has no 数据保密性 item.
 */
const EXPECTED: Record<string, { 2: string; 3: string }> = {
  'cleartext-telnet': { 2: '7.1.4.1 身份鉴别 c)', 3: '8.1.4.1 身份鉴别 c)' },
  'cleartext-ftp': { 2: '7.1.4.1 身份鉴别 c)', 3: '8.1.4.1 身份鉴别 c)' },
  'cleartext-tftp': { 2: '7.1.4.1 身份鉴别', 3: '8.1.4.1 身份鉴别' },
  'http-admin-no-tls': { 2: '7.1.4.1 身份鉴别 c)', 3: '8.1.4.1 身份鉴别 c)' },
  'snmp-default-community': { 2: '7.1.4.2 访问控制 b)', 3: '8.1.4.2 访问控制 b)' },
  'snmp-v1v2c-enabled': { 2: '7.1.4.2 访问控制', 3: '8.1.4.2 访问控制' },
  'high-risk-port': { 2: '7.1.4.4 入侵防范 b)', 3: '8.1.4.4 入侵防范 b)' },
  'rtsp-no-auth': { 2: '7.1.4.2 访问控制', 3: '8.1.4.2 访问控制' },
  'tls-expired': { 2: '7.1.4.7 数据完整性', 3: '8.1.4.7 数据完整性 / 8.1.4.8 数据保密性' },
  'tls-expiring': { 2: '7.1.4.7 数据完整性', 3: '8.1.4.7 数据完整性 / 8.1.4.8 数据保密性' },
  // no level-2 数据保密性: the nearest level-2 clause, and the clause says it is the nearest
  'tls-old-protocol': { 2: '7.1.4.7 数据完整性 (nearest', 3: '8.1.4.8 数据保密性' },
  'tls-self-signed': { 2: '7.1.4.7 数据完整性', 3: '8.1.4.7 数据完整性' },
  'host-firewall-off': { 2: '7.1.4.4 入侵防范', 3: '8.1.4.4 入侵防范' },
  'host-os-eol': { 2: '7.1.4.4 入侵防范 e)', 3: '8.1.4.4 入侵防范 e)' },
};

const LEVEL2: School = {
  id: 'sz-level2',
  name: '苏州市第二级小学',
  timezone: 'Asia/Shanghai',
  protectionLevel: 2,
};
const LEVEL3: School = {
  id: 'sz-level3',
  name: '苏州市第三级中学',
  timezone: 'Asia/Shanghai',
  protectionLevel: 3,
};
const UNDECLARED: School = { id: 'sz-default', name: '苏州市未定级学校', timezone: 'Asia/Shanghai' };

/** One failing check of every rule of the table, each on its own target. */
function everyRule(at: string): SecurityResult[] {
  return Object.keys(EXPECTED).map((rule, i) => ({
    probe: 'security',
    target: `设备 ${i + 1}`,
    outcome: 'ok',
    durationMs: 1,
    at,
    rule,
    finding: true,
    evidence: `${rule} seen`,
  }));
}

interface ApiFinding {
  schoolId: string;
  rule: string;
  mlps: string;
  protectionLevel: number;
  state: string;
  count: number;
}

async function findingsOf(w: World, schoolId: string): Promise<ApiFinding[]> {
  const res = await w.app!.inject({ method: 'GET', url: `/api/v1/findings?school=${schoolId}` });
  expect(res.statusCode).toBe(200);
  return (res.json() as { findings: ApiFinding[] }).findings;
}

/** Every rule of the table cites the clause of `level`, and each finding records that level. */
function expectLevel(findings: ApiFinding[], level: 2 | 3): void {
  expect(findings.map((f) => f.rule).sort()).toEqual(Object.keys(EXPECTED).sort());
  for (const f of findings) {
    expect({ rule: f.rule, level: f.protectionLevel }).toEqual({ rule: f.rule, level });
    expect(f.mlps.startsWith(EXPECTED[f.rule]![level]), `${f.rule} at level ${level}: ${f.mlps}`).toBe(true);
    expect(f.mlps.startsWith(`${level + 5}.`)).toBe(true);
  }
}

describe('the table covers the baseline', () => {
  it('every rule of config/baseline.yaml has an expected clause per level, and no other', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual(
      Object.keys(loadBaseline(DEFAULT_BASELINE_FILE).rules).sort(),
    );
  });
});

describe('findings cite the clause of the school’s protection level (through the collector)', () => {
  const w = new World({ schools: [LEVEL2, LEVEL3, UNDECLARED] });
  const tokens = new Map<string, string>();
  const agents = new Map<string, string>();
  beforeAll(async () => {
    await w.startCollector();
    for (const s of [LEVEL2, LEVEL3, UNDECLARED]) {
      const { agentId, token } = w.enrollDirect(s.id, `agent-${s.id}`);
      tokens.set(s.id, token);
      agents.set(s.id, agentId);
    }
  });
  afterAll(() => w.cleanup());

  const send = async (schoolId: string, results: (at: string) => SecurityResult[]) => {
    const base = makeReport({ agentId: agents.get(schoolId)!, schoolId });
    const res = await w.postReport(tokens.get(schoolId)!, { ...base, results: results(base.startedAt) });
    expect(res.statusCode).toBe(200);
  };

  it('level 2 → chapter 7, level 3 → chapter 8, undeclared → the default (level 2)', async () => {
    for (const s of [LEVEL2, LEVEL3, UNDECLARED]) await send(s.id, everyRule);
    expectLevel(await findingsOf(w, LEVEL2.id), 2);
    expectLevel(await findingsOf(w, LEVEL3.id), 3);
    expectLevel(await findingsOf(w, UNDECLARED.id), 2);
  });

  it('the school view shows the level in force and cites it for an unsynchronised agent clock', async () => {
    // agents whose clocks are two minutes fast: the clock finding candidate cites 安全审计 of the school's level
    for (const s of [LEVEL3, UNDECLARED]) {
      const res = await w.app!.inject({
        method: 'POST',
        url: '/api/v1/reports',
        headers: {
          authorization: `Bearer ${tokens.get(s.id)!}`,
          'content-type': 'application/json',
          [SENT_AT_HEADER]: new Date(Date.now() + 120_000).toISOString(),
        },
        payload: JSON.stringify(makeReport({ agentId: agents.get(s.id)!, schoolId: s.id })),
      });
      expect(res.statusCode).toBe(200);
    }
    const view = async (id: string) =>
      (await w.app!.inject({ method: 'GET', url: `/api/v1/schools/${id}` })).json() as {
        school: { protectionLevel: number };
        findingCandidates: { rule: string; mlps: string }[];
      };
    const l3 = await view(LEVEL3.id);
    expect(l3.school.protectionLevel).toBe(3);
    expect(l3.findingCandidates).toEqual([
      expect.objectContaining({
        rule: 'agent_clock_unsynchronised',
        mlps: expect.stringMatching(/^GB\/T 22239-2019 8\.1\.4\.3 安全审计 b\)/),
      }),
    ]);
    const undeclared = await view(UNDECLARED.id);
    expect(undeclared.school.protectionLevel).toBe(2);
    expect(undeclared.findingCandidates[0]!.mlps).toMatch(/^GB\/T 22239-2019 7\.1\.4\.3 安全审计 b\)/);
  });

  it('a school re-graded from level 2 to 3: its open findings cite chapter 8 from the next scan on', async () => {
    sqliteOf(w.app!).upsertSchool({ ...LEVEL2, protectionLevel: 3 });
    await send(LEVEL2.id, everyRule);
    const after = await findingsOf(w, LEVEL2.id);
    expectLevel(after, 3);
    expect(after.every((f) => f.state === 'open' && f.count === 2)).toBe(true); // the same findings, seen again
    sqliteOf(w.app!).upsertSchool(LEVEL2);
  });
});

describe('the default level is config/baseline.yaml’s defaultProtectionLevel', () => {
  // the packaged baseline with the collector-wide default raised to level 3
  const dir = mkdtempSync(join(tmpdir(), 'cw-levels-'));
  const file = join(dir, 'baseline.yaml');
  const text = readFileSync(DEFAULT_BASELINE_FILE, 'utf8');
  writeFileSync(file, text.replace(/^defaultProtectionLevel: 2$/m, 'defaultProtectionLevel: 3'));
  const w = new World({ schools: [UNDECLARED, LEVEL2], collector: { baselineFile: file } });
  beforeAll(async () => {
    expect(text).toMatch(/^defaultProtectionLevel: 2$/m);
    await w.startCollector();
  });
  afterAll(async () => {
    await w.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('an undeclared school follows it; a school declaring level 2 keeps chapter 7', async () => {
    for (const s of [UNDECLARED, LEVEL2]) {
      const { agentId, token } = w.enrollDirect(s.id, `agent-${s.id}`);
      const base = makeReport({ agentId, schoolId: s.id });
      const res = await w.postReport(token, { ...base, results: everyRule(base.startedAt) });
      expect(res.statusCode).toBe(200);
    }
    expectLevel(await findingsOf(w, UNDECLARED.id), 3);
    expectLevel(await findingsOf(w, LEVEL2.id), 2);
  });
});

describe('alert messages quote the clause of the level (through the collector to a real webhook)', () => {
  let hook: Receiver;
  let w: World;
  beforeAll(async () => {
    hook = await receiver('{}');
    w = new World({
      schools: [LEVEL2, LEVEL3],
      collector: {
        alerts: {
          agentSilentS: 86_400,
          channels: [{ name: 'ops-webhook', type: 'webhook', url: `${hook.url}/hook`, language: 'en' }],
        },
      },
    });
    await w.startCollector();
  });
  afterAll(async () => {
    await w.cleanup();
    hook.server.close();
  });

  it('zh and en name the level and quote its clause', async () => {
    const now = new Date();
    for (const s of [LEVEL2, LEVEL3]) {
      const { agentId, token } = w.enrollDirect(s.id, `agent-${s.id}`);
      const res = await w.postReport(token, telnetReport({ agentId, schoolId: s.id, at: now, open: true }));
      expect(res.statusCode).toBe(200);
    }
    await w.app!.campuswatch.alerts.evaluate(now);
    await hook.until(2);
    const details = new Map(
      hook.got.map((g) => {
        const body = JSON.parse(g.body) as {
          school: { name: string };
          alerts: { rule: string; detail: { zh: string; en: string } }[];
        };
        expect(body.alerts.map((a) => a.rule)).toEqual(['finding']);
        return [body.school.name, body.alerts[0]!.detail];
      }),
    );
    const telnet = EXPECTED['cleartext-telnet']!;
    // the zh text quotes the clause without its English gloss: `8.1.4.1 身份鉴别 c)；`
    expect(details.get(LEVEL3.name)!.zh).toContain(`等保条款（第三级）：${telnet[3]}；`);
    expect(details.get(LEVEL3.name)!.en).toContain(`GB/T 22239-2019 (level 3): ${telnet[3]}`);
    expect(details.get(LEVEL2.name)!.zh).toContain(`等保条款（第二级）：${telnet[2]}；`);
    expect(details.get(LEVEL2.name)!.en).toContain(`GB/T 22239-2019 (level 2): ${telnet[2]}`);
  });
});

describe('supersededClauses', () => {
  it('closes the old clause of a finding re-cited under another level, and nothing else', () => {
    const baseline = loadBaseline(DEFAULT_BASELINE_FILE);
    const check = (rule: string, at: string): SecurityResult => ({
      probe: 'security',
      target: '交换机',
      outcome: 'ok',
      durationMs: 1,
      at,
      rule,
      finding: true,
      evidence: 'seen',
    });
    const first = nextFindings(
      new Map(),
      [
        check('cleartext-telnet', '2026-11-23T01:00:00.000Z'),
        check('high-risk-port', '2026-11-23T01:00:00.000Z'),
      ],
      baseline,
      LEVEL2,
    );
    const previous = new Map(first.map((f) => [findingKey(f), f]));
    // the same level again: nothing to close
    const again = nextFindings(
      previous,
      [check('cleartext-telnet', '2026-11-24T01:00:00.000Z')],
      baseline,
      LEVEL2,
    );
    expect(supersededClauses(previous, again)).toEqual([]);
    const regraded = nextFindings(
      previous,
      [check('cleartext-telnet', '2026-11-24T01:00:00.000Z')],
      baseline,
      LEVEL3,
    );
    expect(regraded[0]).toMatchObject({
      mlps: expect.stringMatching(/^8\.1\.4\.1 /),
      protectionLevel: 3,
      count: 2,
    });
    expect(supersededClauses(previous, regraded)).toEqual([
      {
        ...previous.get(findingKey(regraded[0]!)),
        state: 'resolved',
        resolvedAt: '2026-11-24T01:00:00.000Z',
        lastSeen: '2026-11-24T01:00:00.000Z',
        acceptedUntil: null,
      },
    ]);
    expect(supersededClauses(previous, regraded)[0]!.mlps).toMatch(/^7\.1\.4\.1 /);
  });
});

describe('config/baseline.yaml validation', () => {
  const base = loadBaseline(DEFAULT_BASELINE_FILE);
  const withRule = (mlps: unknown, extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      ...extra,
      rules: { ...base.rules, 'cleartext-telnet': { ...base.rules['cleartext-telnet'], mlps } },
      exceptions: [],
    });

  it('a rule without the clause of a supported level names the field', () => {
    const err = errorOf(() => parseBaseline(withRule({ 2: '7.1.4.1 身份鉴别' }), 'baseline.yaml'));
    expect(err.message).toBe('baseline.yaml: rules.cleartext-telnet.mlps[3]: is required');
  });

  it('a clause outside its level’s chapter names the field and the chapter', () => {
    const err = errorOf(() =>
      parseBaseline(withRule({ 2: '8.1.4.1 身份鉴别', 3: '8.1.4.1 身份鉴别' }), 'baseline.yaml'),
    );
    expect(err.message).toBe(
      'baseline.yaml: rules.cleartext-telnet.mlps[2]: "8.1.4.1 身份鉴别" is not a level-2 clause: GB/T 22239-2019 gives the level-2 requirements in chapter 7, so the clause starts with "7."',
    );
    const swapped = errorOf(() =>
      parseBaseline(withRule({ 2: '7.1.4.1 身份鉴别', 3: '7.1.4.1 身份鉴别' }), 'baseline.yaml'),
    );
    expect(swapped.message).toContain(
      'rules.cleartext-telnet.mlps[3]: "7.1.4.1 身份鉴别" is not a level-3 clause',
    );
  });

  it('a level the baseline has no clauses for is refused, in the rule and as the default', () => {
    const four = errorOf(() =>
      parseBaseline(withRule({ 2: '7.1.4.1 a', 3: '8.1.4.1 b', 4: '9.1.4.1 c' }), 'baseline.yaml'),
    );
    expect(four.message).toBe('baseline.yaml: rules.cleartext-telnet.mlps[4]: unknown key');
    const dflt = errorOf(() =>
      parseBaseline(
        withRule(base.rules['cleartext-telnet']!.mlps, { defaultProtectionLevel: 1 }),
        'baseline.yaml',
      ),
    );
    expect(dflt.message).toBe('baseline.yaml: defaultProtectionLevel: must be one of: 2, 3');
  });

  it('a baseline of the single-clause form says what is expected now', () => {
    const err = errorOf(() => parseBaseline(withRule('8.1.4.1 身份鉴别'), 'baseline.yaml'));
    expect(err.message).toBe(
      'baseline.yaml: rules.cleartext-telnet.mlps: must give the clause per protection level, e.g. { 2: "7.1.4.1 身份鉴别", 3: "8.1.4.1 身份鉴别" }',
    );
  });

  it('defaultProtectionLevel defaults to 2 when the file does not set it', () => {
    expect(parseBaseline(JSON.stringify({ rules: base.rules })).defaultProtectionLevel).toBe(2);
  });
});

describe('declaring the level', () => {
  it('collector config schools[].protectionLevel: 2 and 3 accepted, others refused naming the field', () => {
    const config = (protectionLevel: unknown) =>
      JSON.stringify({ schools: [{ id: 's1', name: '学校', protectionLevel }] });
    expect(parseCollectorConfig(config(3), 'collector.yaml').schools[0]!.protectionLevel).toBe(3);
    expect(errorOf(() => parseCollectorConfig(config(4), 'collector.yaml')).message).toBe(
      'collector.yaml: schools[0].protectionLevel: must be one of: 2, 3',
    );
  });

  it('school add --protection-level N saves the level; another level or a word exits 2 naming the flag', async () => {
    const w = new World({ schools: [] });
    try {
      const data = join(w.dir, 'cli');
      const add = (level: string) =>
        runCli('collector', [
          'school',
          'add',
          '--data',
          data,
          '--id',
          'sz-cli',
          '--name',
          '苏州市测试学校',
          '--protection-level',
          level,
        ]);
      const ok = await add('3');
      expect(ok.code).toBe(0);
      const bad = await add('4');
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('--protection-level: must be one of: 2, 3');
      const word = await add('three');
      expect(word.code).toBe(2);
      expect(word.stderr).toContain('--protection-level must be a whole number');
      const store = new SqliteStateStore(data);
      try {
        expect(await store.getSchool('sz-cli')).toMatchObject({ name: '苏州市测试学校', protectionLevel: 3 });
      } finally {
        await store.close();
      }
    } finally {
      await w.cleanup();
    }
  });
});

const skip = influxdAvailable();
if (skip) console.warn(`[protection-level.test] InfluxDB part SKIPPED: ${skip}`);

describe.skipIf(skip !== undefined)(`the mlps tag in InfluxDB${skip ? ` (SKIPPED: ${skip})` : ''}`, () => {
  let influx: Influxd;
  let w: World;
  beforeAll(async () => {
    influx = await startInfluxd();
    w = new World({ influxUrl: influx.url, database: 'cw_levels', schools: [UNDECLARED] });
    await w.startCollector();
  });
  afterAll(async () => {
    await w?.cleanup();
    await influx?.cleanup();
  });

  it('carries the level’s clause; re-graded, the old clause’s series is closed and the new one open', async () => {
    const { agentId, token } = w.enrollDirect(UNDECLARED.id);
    const post = async (at: Date) => {
      const res = await w.postReport(
        token,
        telnetReport({ agentId, schoolId: UNDECLARED.id, at, open: true }),
      );
      expect(res.statusCode).toBe(200);
    };
    const t0 = Date.now() - 60_000;
    await post(new Date(t0));
    sqliteOf(w.app!).upsertSchool({ ...UNDECLARED, protectionLevel: 3 });
    await post(new Date(t0 + 30_000));
    const rows = await influx.query(
      `SELECT last("open") AS "open" FROM "finding" WHERE "rule" = 'cleartext-telnet' GROUP BY "mlps"`,
      'cw_levels',
    );
    const byClause = rows
      .map((r) => [String(r.mlps).split(' (')[0], r.open])
      .sort(([a], [b]) => String(a).localeCompare(String(b)));
    expect(byClause).toEqual([
      [EXPECTED['cleartext-telnet']![2], 0],
      [EXPECTED['cleartext-telnet']![3], 1],
    ]);
  });
});
