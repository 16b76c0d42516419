/**
 * Issue 26 acceptance 2–5: the term report of the fixture (3 districts × 30 schools, two terms) from a
 * real collector (buildApp, GET /api/v1/reports/term with scoped tokens), read back by independent
 * readers: the XLSX by Debian's python3-openpyxl, the PDF by pdftotext (its first pages rendered to PNG
 * by pdftoppm under dist/test-artifacts/term-report/), the CSV by Python's csv module. Every figure of
 * the XLSX summary is compared with GET /api/v1/compliance answered at the snapshot's moment, in the
 * same scope.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DistrictKpis, KpiGroup } from '../../collector/src/evaluate/district.js';
import { TARGETS } from '../../collector/src/evaluate/targets/registry.js';
import type { TermReport } from '../../collector/src/term-report/model.js';
import { takeTermSnapshots } from '../../collector/src/term-report/snapshot.js';
import type { School } from '../../protocol/school.js';
import { runCli } from '../helpers/cli.js';
import { skipping } from '../helpers/skip.js';
import {
  AFTER_TERM1,
  AFTER_TERM2,
  fixtureSchools,
  fixtureTargetsYaml,
  loadTerm,
  registerFixture,
  TERM1,
  TERM2,
} from '../helpers/term-fixture.js';
import { World } from '../helpers/world.js';

const PYTHON = '/usr/bin/python3';
const ARTIFACTS = join('dist', 'test-artifacts', 'term-report');

function openpyxlMissing(): string | undefined {
  if (!existsSync(PYTHON)) return `no ${PYTHON}`;
  const r = spawnSync(PYTHON, ['-c', 'import openpyxl'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : 'python3-openpyxl is not installed (apt-get install python3-openpyxl)';
}
function popplerMissing(): string | undefined {
  for (const bin of ['/usr/bin/pdftotext', '/usr/bin/pdftoppm', '/usr/bin/pdfinfo'])
    if (!existsSync(bin)) return `no ${bin} (apt-get install poppler-utils)`;
  if (!existsSync('/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc'))
    return 'no fonts-noto-cjk (apt-get install fonts-noto-cjk)';
  return undefined;
}

/** What openpyxl reads of a workbook: per sheet its rows, formats and types of the first data row, panes, filter, widths. */
const READ_XLSX = `
import json, sys, openpyxl
wb = openpyxl.load_workbook(sys.argv[1])
out = []
for ws in wb.worksheets:
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    second = list(ws.iter_rows(min_row=2, max_row=2))
    out.append({
        'title': ws.title,
        'rows': rows,
        'formats': [c.number_format for c in second[0]] if second else [],
        'types': [[type(c.value).__name__ for c in r] for r in ws.iter_rows(min_row=2)],
        'freeze': ws.freeze_panes,
        'filter': ws.auto_filter.ref,
        'widths': {k: v.width for k, v in ws.column_dimensions.items()},
    })
print(json.dumps(out, ensure_ascii=False, default=str))
`;

interface Sheet {
  title: string;
  rows: (string | number | null)[][];
  formats: string[];
  types: string[][];
  freeze: string | null;
  filter: string | null;
  widths: Record<string, number>;
}

const LABEL_TO_TARGET = new Map(TARGETS.map((t) => [t.label.zh, t.name]));
const zh = new Intl.Collator('zh-CN');

describe('the term report through the API, read back by independent readers', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cw-term-report-'));
  const targetsFile = join(dir, 'targets.yaml');
  writeFileSync(targetsFile, fixtureTargetsYaml());
  let clock = new Date('2026-08-21T00:00:00Z');
  const schools: School[] = fixtureSchools();
  const world = new World({ schools, collector: { targetsFile }, now: () => clock });
  /** GET /api/v1/compliance answered at each snapshot's moment, per caller. */
  const api: Record<'t1' | 't2', Record<string, DistrictKpis>> = { t1: {}, t2: {} };
  const tokens: Record<string, string> = {};
  const GROUP = '武进星河教育集团';

  /** A GET as the city administrator (the world's admin token), a scoped token, or nobody. */
  const get = (url: string, who = 'admin') =>
    who === 'anonymous'
      ? world.anonymous({ method: 'GET', url })
      : world.app!.inject({
          method: 'GET',
          url,
          headers: who === 'admin' ? {} : { authorization: `Bearer ${tokens[who]}` },
        });
  const report = (query: string, who = 'admin') =>
    get(
      `/api/v1/reports/term?term=${encodeURIComponent(TERM2.name)}&compare=${encodeURIComponent(TERM1.name)}&${query}`,
      who,
    );

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    await world.startCollector();
    const ctx = world.app!.campuswatch;
    const access = ctx.state.access;
    for (const [name, scope] of [
      ['district', { level: 'district', district: '武进区' }],
      ['group', { level: 'group', district: '武进区', group: GROUP }],
    ] as const)
      tokens[name] = (
        await access.addToken({ name: `t-${name}`, accountId: null, role: 'viewer', scope }, clock)
      ).token;
    const record = async (term: 't1' | 't2') => {
      for (const who of ['admin', 'district', 'group'])
        api[term][who] = (await get('/api/v1/compliance', who)).json() as DistrictKpis;
    };
    const fixture = await registerFixture(ctx.state, schools);
    await loadTerm(ctx.state, fixture, 1);
    clock = AFTER_TERM1;
    await takeTermSnapshots(ctx, TERM1.name, { now: clock, takenBy: 'test', trigger: 'term-end' });
    await record('t1');
    await loadTerm(ctx.state, fixture, 2);
    clock = AFTER_TERM2;
    await takeTermSnapshots(ctx, TERM2.name, { now: clock, takenBy: 'test', trigger: 'term-end' });
    await record('t2');
  }, 120_000);

  afterAll(async () => {
    await world.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The summary sheet's rows against the API's KPI groups: every figure, both terms. */
  function expectSummaryEqualsApi(summary: Sheet, groups: Map<string, [KpiGroup, KpiGroup]>) {
    const header = summary.rows[0]!;
    const at = (name: string) => header.indexOf(name);
    let checked = 0;
    for (const row of summary.rows.slice(1)) {
      const [now, before] = groups.get(String(row[at('区')]))!;
      const target = LABEL_TO_TARGET.get(String(row[at('指标')]))!;
      const k = now.targets[target]!;
      expect([row[at('学校数')], row[at('达标')], row[at('未达标')], row[at('未监测')]]).toEqual([
        k.schools,
        k.met,
        k.notMet,
        k.noData,
      ]);
      // a percentage is a number: a fraction shown with a percent format
      expect(Math.round((row[at('达标率')] as number) * 1000) / 10).toBe(k.pct);
      expect(row[at('目标')] === null ? null : Math.round((row[at('目标')] as number) * 1000) / 10).toBe(
        k.goalPct,
      );
      const was = before.targets[target]!.pct!;
      expect(Math.round((row[at('对比学期达标率')] as number) * 1000) / 10).toBe(was);
      expect(row[at('变化（百分点）')]).toBeCloseTo(k.pct! - was, 6);
      checked++;
    }
    return checked;
  }

  describe.skipIf(skipping(openpyxlMissing(), 'XLSX read back'))(
    `XLSX${openpyxlMissing() ? ` (SKIPPED: ${openpyxlMissing()})` : ''}`,
    () => {
      const readXlsx = (file: string): Sheet[] =>
        JSON.parse(
          execFileSync(PYTHON, ['-c', READ_XLSX, file], { encoding: 'utf8', maxBuffer: 64 << 20 }),
        ) as Sheet[];

      it('acceptance 2: sheets, Chinese headers and names, worst first, numbers, figures equal to GET /api/v1/compliance (city)', async () => {
        const res = await report('format=xlsx&lang=zh');
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-type']).toBe(
          'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
        );
        const file = join(ARTIFACTS, 'city.xlsx');
        writeFileSync(file, res.rawPayload);
        const sheets = readXlsx(file);
        expect(sheets.map((s) => s.title)).toEqual([
          '汇总',
          '排名',
          '未达标明细',
          '变化',
          '城乡差距',
          '教育集团',
          '网络安全',
          '安全隐患明细',
          '适用指标',
          '说明',
        ]);
        for (const s of sheets) {
          expect(s.freeze).toBe('A2');
          expect(s.filter).toMatch(/^A1:[A-Z]+1$/);
        }
        const [summary, ranking] = sheets as [Sheet, Sheet];
        expect(summary.rows[0]).toEqual([
          '区',
          '指标',
          '学校数',
          '达标',
          '未达标',
          '未监测',
          '达标率',
          '目标',
          '达到目标',
          '对比学期达标率',
          '变化（百分点）',
        ]);
        expect(summary.formats[summary.rows[0]!.indexOf('达标率')]).toBe('0.0%');
        expect(summary.types[0]![summary.rows[0]!.indexOf('达标率')]).toBe('float');
        // the city, then each district: every figure as the API answered at the snapshot
        const city = api.t2.admin!;
        const before = api.t1.admin!;
        const groups = new Map<string, [KpiGroup, KpiGroup]>([
          ['全部', [city.overall, before.overall]],
          ...city.districts.map((d, i): [string, [KpiGroup, KpiGroup]] => [
            d.district!,
            [d, before.districts[i]!],
          ]),
        ]);
        expect(expectSummaryEqualsApi(summary, groups)).toBe(4 * TARGETS.length);

        // ranking: every school, names intact, worst first by the console's rule
        const h = ranking.rows[0]!;
        const col = (name: string) => h.indexOf(name);
        const rows = ranking.rows.slice(1);
        expect(rows.map((r) => r[col('学校')]).sort()).toEqual(schools.map((s) => s.name).sort());
        expect(rows.map((r) => r[col('排名')])).toEqual(rows.map((_, i) => i + 1));
        for (let i = 1; i < rows.length; i++) {
          const [a, b] = [rows[i - 1]!, rows[i]!];
          const order =
            (b[col('差距（未达标+未监测）')] as number) - (a[col('差距（未达标+未监测）')] as number) ||
            (b[col('未达标')] as number) - (a[col('未达标')] as number) ||
            zh.compare(String(a[col('学校')]), String(b[col('学校')]));
          expect(order, `rank ${i} before ${i + 1}`).toBeLessThan(0);
        }
        expect(rows[0]![col('差距（未达标+未监测）')]).toBeGreaterThan(
          rows.at(-1)![col('差距（未达标+未监测）')] as number,
        );
        // counts are numbers, the name column is wide enough for the longest Chinese name (2 per character)
        expect(ranking.types[0]![col('差距（未达标+未监测）')]).toBe('int');
        const longest = Math.max(...schools.map((s) => [...s.name].length));
        expect(ranking.widths.B).toBeGreaterThanOrEqual(longest * 2 - 4);
        // the changes and the security part hold the fixture's schools
        const changes = sheets[3]!;
        expect(changes.rows.length).toBeGreaterThan(50);
        expect(changes.rows[0]).toEqual([
          '学校',
          '学校代码',
          '区',
          '教育集团',
          '指标',
          '对比学期',
          '本学期',
          '变化方向',
          '对比学期数值',
          '本学期数值',
        ]);
        // security: in term 2 every fifth school of the fixture has its high finding open (and overdue)
        const security = sheets[6]!;
        const sh = security.rows[0]!;
        expect(
          security.rows
            .slice(1)
            .map((r) => r[sh.indexOf('学校代码')])
            .sort(),
        ).toEqual(
          schools
            .filter((_, i) => i % 5 === 0)
            .map((s) => s.id)
            .sort(),
        );
        for (const r of security.rows.slice(1))
          expect([r[sh.indexOf('高危')], r[sh.indexOf('逾期未整改')], r[sh.indexOf('严重')]]).toEqual([
            1, 1, 0,
          ]);
        const about = sheets[9]!;
        expect(about.rows[1]).toEqual(['标题', `全市中小学教育信息化达标情况通报（${TERM2.name}）`]);
      });

      it('acceptance 2 and 5: a district account gets its district only, its figures equal its GET /api/v1/compliance', async () => {
        const res = await report('format=xlsx', 'district');
        expect(res.statusCode).toBe(200);
        const file = join(ARTIFACTS, 'wujin.xlsx');
        writeFileSync(file, res.rawPayload);
        const sheets = readXlsx(file);
        const [summary, ranking] = sheets as [Sheet, Sheet];
        expect(new Set(summary.rows.slice(1).map((r) => r[0]))).toEqual(new Set(['武进区']));
        const mine = api.t2.district!.districts;
        expect(mine.map((d) => d.district)).toEqual(['武进区']);
        expect(
          expectSummaryEqualsApi(summary, new Map([['武进区', [mine[0]!, api.t1.district!.districts[0]!]]])),
        ).toBe(TARGETS.length);
        const names = ranking.rows.slice(1).map((r) => r[1]);
        expect(names.sort()).toEqual(
          schools
            .filter((s) => s.district === '武进区')
            .map((s) => s.name)
            .sort(),
        );
        expect(sheets.at(-1)!.rows[1]).toEqual([
          '标题',
          `武进区中小学教育信息化达标情况通报（${TERM2.name}）`,
        ]);
      });

      it('lang=en: English sheets and headings, the same figures', async () => {
        const res = await report('format=xlsx&lang=en', 'district');
        const file = join(ARTIFACTS, 'wujin-en.xlsx');
        writeFileSync(file, res.rawPayload);
        const sheets = readXlsx(file);
        expect(sheets[0]!.title).toBe('Summary');
        expect(sheets[0]!.rows[0]!.slice(0, 3)).toEqual(['District', 'Target', 'Schools']);
        expect(
          sheets[1]!.rows
            .slice(1)
            .map((r) => r[1])
            .sort(),
        ).toEqual(
          schools
            .filter((s) => s.district === '武进区')
            .map((s) => s.name)
            .sort(),
        );
      });
    },
  );

  describe.skipIf(skipping(popplerMissing(), 'PDF read back'))(
    `PDF${popplerMissing() ? ` (SKIPPED: ${popplerMissing()})` : ''}`,
    () => {
      it('acceptance 3: pdftotext finds the title, every school, the page numbers, the date and the targets; first pages as PNG', async () => {
        const res = await report('format=pdf', 'district');
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-type']).toBe('application/pdf');
        const file = join(ARTIFACTS, 'wujin.pdf');
        writeFileSync(file, res.rawPayload);
        const pages = Number(
          /Pages:\s+(\d+)/.exec(execFileSync('/usr/bin/pdfinfo', [file], { encoding: 'utf8' }))![1],
        );
        expect(pages).toBeGreaterThan(5);
        const text = execFileSync('/usr/bin/pdftotext', ['-layout', file, '-'], {
          encoding: 'utf8',
          maxBuffer: 64 << 20,
        });
        const flat = text.replace(/\s+/g, '');
        expect(flat).toContain(`武进区中小学教育信息化达标情况通报（${TERM2.name}）`);
        for (const s of schools.filter((x) => x.district === '武进区'))
          expect(flat, s.name).toContain(s.name.replace(/\s+/g, ''));
        for (let p = 1; p <= pages; p++) expect(flat).toContain(`第${p}页/共${pages}页`);
        // the date in the schools' time zone (AFTER_TERM2 is 02:00 in Shanghai: the day before in UTC)
        expect(flat).toContain('生成日期：2027-07-10');
        expect(flat).toContain('快照：武进区2027-07-1002:00');
        // the targets that applied, with their goals and sources
        expect(flat).toContain('九、适用的指标与目标');
        for (const t of TARGETS) expect(flat).toContain(t.label.zh.replace(/\s+/g, ''));
        expect(flat).toContain('常州2019–2020：校园网络校校通');
        // the first pages as images, to look at
        for (const f of readdirSync(ARTIFACTS).filter((f) => f.startsWith('wujin-page')))
          rmSync(join(ARTIFACTS, f));
        execFileSync('/usr/bin/pdftoppm', [
          '-png',
          '-r',
          '80',
          '-f',
          '1',
          '-l',
          '4',
          file,
          join(ARTIFACTS, 'wujin-page'),
        ]);
        const pngs = readdirSync(ARTIFACTS).filter((f) => /^wujin-page-\d+\.png$/.test(f));
        expect(pngs).toHaveLength(4);
        for (const p of pngs) expect(statSync(join(ARTIFACTS, p)).size).toBeGreaterThan(10_000);
      });

      it('the city PDF holds every school of the three districts', async () => {
        const res = await report('format=pdf');
        const file = join(ARTIFACTS, 'city.pdf');
        writeFileSync(file, res.rawPayload);
        const flat = execFileSync('/usr/bin/pdftotext', [file, '-'], {
          encoding: 'utf8',
          maxBuffer: 64 << 20,
        }).replace(/\s+/g, '');
        expect(flat).toContain(`全市中小学教育信息化达标情况通报（${TERM2.name}）`);
        for (const s of schools) expect(flat, s.name).toContain(s.name.replace(/\s+/g, ''));
        execFileSync('/usr/bin/pdftoppm', [
          '-png',
          '-r',
          '80',
          '-f',
          '1',
          '-l',
          '3',
          file,
          join(ARTIFACTS, 'city-page'),
        ]);
      });
    },
  );

  it('acceptance 4: the CSV starts with a BOM and Python’s csv module reads every name back', async () => {
    const res = await report('format=csv');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    const bytes = res.rawPayload;
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const file = join(ARTIFACTS, 'city.csv');
    writeFileSync(file, bytes);
    if (!existsSync(PYTHON)) return;
    const rows = JSON.parse(
      execFileSync(
        PYTHON,
        [
          '-c',
          "import csv, json, sys\nwith open(sys.argv[1], encoding='utf-8-sig', newline='') as f: print(json.dumps(list(csv.reader(f)), ensure_ascii=False))",
          file,
        ],
        { encoding: 'utf8' },
      ),
    ) as string[][];
    expect(rows[0]!.slice(0, 3)).toEqual(['排名', '学校', '学校代码']);
    expect(rows[0]).toContain('校校通（探针在线）');
    expect(
      rows
        .slice(1)
        .map((r) => r[1])
        .sort(),
    ).toEqual(schools.map((s) => s.name).sort());
    // the names with quotes and commas survived
    expect(rows.map((r) => r[1])).toContain('武进区"星河",实验学校（东校区）');
  });

  it('JSON: the model itself, the summaries equal to the snapshots’ district KPIs', async () => {
    const res = await report('format=json', 'group');
    expect(res.statusCode).toBe(200);
    const body = res.json() as TermReport;
    expect(body.scope).toEqual({ level: 'group', district: '武进区', group: GROUP });
    expect(new Set(body.ranking.map((r) => r.group))).toEqual(new Set([GROUP]));
    expect(body.ranking).toHaveLength(10);
    // the group's KPIs as the API gives them to the group account
    const mine = api.t2.group!.groups.find((g) => g.group === GROUP)!;
    for (const k of body.summaries[0]!.kpis) expect(k.pct).toBe(mine.targets[k.target]!.pct);
    expect(body.groups.map((g) => g.group)).toEqual([GROUP]);
    expect(['A', 'B', 'C', 'D']).toContain(body.groups[0]!.grade);
  });

  it('acceptance 5: a district account reads no other district, a group account no other group; the export is audited', async () => {
    expect((await report('format=json&district=新北区', 'district')).statusCode).toBe(404);
    expect((await report('format=json&group=武进湖塘教育集团', 'group')).statusCode).toBe(404);
    expect((await report('format=json&district=金坛区', 'group')).statusCode).toBe(404);
    expect((await report('format=json', 'anonymous')).statusCode).toBe(401);
    const district = (await report('format=json', 'district')).json() as TermReport;
    expect(new Set(district.ranking.map((r) => r.district))).toEqual(new Set(['武进区']));
    expect(district.summaries.map((s) => s.district)).toEqual(['武进区']);
    // the city administrator may narrow to a group
    const narrowed = (
      await report(`format=json&district=武进区&group=${encodeURIComponent(GROUP)}`)
    ).json() as TermReport;
    expect(narrowed.ranking).toHaveLength(10);
    const audit = await world.app!.campuswatch.state.access.audit({ actor: 'token:t-district' });
    expect(audit.some((a) => a.action === 'report.export' && a.actor === 'token:t-district')).toBe(true);
  });

  it('GET /api/v1/reports/terms lists the terms with a snapshot in the caller’s scope, newest first', async () => {
    const city = (await get('/api/v1/reports/terms')).json() as {
      terms: { term: string; districts: string[]; from: string; to: string }[];
    };
    expect(city.terms.map((t) => t.term)).toEqual([TERM2.name, TERM1.name]);
    expect([...city.terms[0]!.districts].sort()).toEqual(['新北区', '武进区', '金坛区'].sort());
    // 金坛区 keeps its own calendar: the term spans the districts' dates
    expect([city.terms[0]!.from, city.terms[0]!.to]).toEqual([TERM2.from, '2027-07-09']);
    const district = (await get('/api/v1/reports/terms', 'district')).json() as typeof city;
    expect(district.terms.map((t) => [t.term, t.districts, t.to])).toEqual([
      [TERM2.name, ['武进区'], TERM2.to],
      [TERM1.name, ['武进区'], TERM1.to],
    ]);
    expect((await get('/api/v1/reports/terms', 'anonymous')).statusCode).toBe(401);
  });

  it('the console’s overview offers each term’s report of the caller’s scope, compared with the term before; the links download it', async () => {
    const page = await get('/overview', 'district');
    expect(page.statusCode).toBe(200);
    const links = [...page.body.matchAll(/<li data-term="([^"]+)">[\s\S]*?<\/li>/g)].map((m) => ({
      term: m[1],
      hrefs: [...m[0].matchAll(/href="([^"]+)"/g)].map((h) => h[1]!.replace(/&amp;/g, '&')),
    }));
    expect(links.map((l) => l.term)).toEqual([TERM2.name, TERM1.name]);
    const xlsx = links[0]!.hrefs.find((h) => h.includes('format=xlsx'))!;
    const u = new URL(xlsx, 'http://x');
    expect(Object.fromEntries(u.searchParams)).toEqual({
      term: TERM2.name,
      compare: TERM1.name,
      format: 'xlsx',
      lang: 'zh',
      district: '武进区',
    });
    // the oldest term has nothing to compare with
    expect(links[1]!.hrefs.every((h) => !h.includes('compare='))).toBe(true);
    for (const href of links[0]!.hrefs) {
      const res = await get(href, 'district');
      expect(res.statusCode, href).toBe(200);
      expect(res.headers['content-disposition'], href).toContain(encodeURIComponent('武进区'));
    }
  });

  it('names the download in UTF-8, and a term without a snapshot is 404', async () => {
    const res = await report('format=xlsx', 'district');
    const name = `武进区达标情况通报-${TERM2.name}.xlsx`;
    expect(res.headers['content-disposition']).toBe(
      `attachment; filename="${name.replace(/[^\x20-\x7e]/g, '_')}"; filename*=UTF-8''${encodeURIComponent(name)}`,
    );
    const none = await get(`/api/v1/reports/term?term=${encodeURIComponent('2030学年第一学期')}`);
    expect(none.statusCode).toBe(404);
    expect(none.json().message).toContain('no snapshot of the term "2030学年第一学期"');
    const bad = await get(`/api/v1/reports/term?term=x&format=docx`);
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toMatch(/format/);
  });

  it('the CLI: snapshot list, snapshot take of a term taken already, report --term to a file, the old report still works', async () => {
    const data = ['--data', world.config.dataDir];
    const list = await runCli('collector', ['snapshot', 'list', ...data]);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(TERM2.name);
    const again = await runCli('collector', [
      'snapshot',
      'take',
      '--term',
      TERM2.name,
      ...data,
      '--config',
      await configFile(),
    ]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toContain('武进区: already taken at');
    const out = join(dir, 'r.csv');
    const r = await runCli('collector', [
      'report',
      ...data,
      '--term',
      TERM2.name,
      '--compare',
      TERM1.name,
      '--format',
      'csv',
      '--output',
      out,
      '--district',
      '新北区',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const csv = (await import('node:fs')).readFileSync(out, 'utf8');
    expect(csv.startsWith('\uFEFF排名,')).toBe(true);
    expect(csv.split('\r\n').filter((l) => l !== '')).toHaveLength(31);
    const unknown = await runCli('collector', ['report', ...data, '--term', '2030学年', '--format', 'json']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no snapshot of the term "2030学年"');
    const pdfWithoutOutput = await runCli('collector', [
      'report',
      ...data,
      '--term',
      TERM2.name,
      '--format',
      'pdf',
    ]);
    expect(pdfWithoutOutput.code).toBe(2);
    const old = await runCli('collector', ['report', ...data, '--district', '金坛区']);
    expect(old.code, old.stderr).toBe(0);
    expect(old.stdout).toContain('金坛区第1实验小学');
  }, 60_000);

  /** A collector config naming the fixture's targets (for the term calendar) and the data directory. */
  async function configFile(): Promise<string> {
    const file = join(dir, 'collector.yaml');
    writeFileSync(
      file,
      `dataDir: ${JSON.stringify(world.config.dataDir)}\ntargetsFile: ${JSON.stringify(targetsFile)}\n`,
    );
    return file;
  }
});
