/**
 * The report's parts as tables (headings, the kind of each column, rows), shared by the XLSX, PDF and
 * CSV renderers so that every format shows the same figures. A percentage is kept in points (86.7); each
 * renderer writes it its way (XLSX: 0.867 with a percent format).
 */
import {
  ALL_DISTRICTS,
  AREA_TEXT,
  DIRECTION_TEXT,
  H,
  type Lang,
  NO_DISTRICT,
  SEVERITY_TEXT,
  STATE_TEXT,
  YES_NO,
} from './labels.js';
import type { TermReport } from './report-types.js';

/** text; int: a count; pct: a percentage in points; pts: a change in points; dec1: one decimal; num: any number. */
export type Kind = 'text' | 'int' | 'pct' | 'pts' | 'dec1' | 'num';
export type Cell = string | number | null;

export interface Column {
  header: string;
  kind: Kind;
  /** A wide text column (reasons, lists): the renderers may wrap it. */
  wide?: boolean;
}

export interface Table {
  key: 'summary' | 'ranking' | 'unmet' | 'changes' | 'areas' | 'groups' | 'security' | 'findings' | 'targets';
  name: string;
  columns: Column[];
  rows: Cell[][];
}

const col = (header: string, kind: Kind = 'text', wide = false): Column =>
  wide ? { header, kind, wide } : { header, kind };

/** A column and how a row's cell is read from the report's item: heading and value side by side. */
interface Field<R> {
  column: Column;
  value: (r: R) => Cell;
}

const field = <R>(header: string, value: (r: R) => Cell, kind: Kind = 'text', wide = false): Field<R> => ({
  column: col(header, kind, wide),
  value,
});

function table<R>(key: Table['key'], name: string, items: readonly R[], fields: readonly Field<R>[]): Table {
  return {
    key,
    name,
    columns: fields.map((f) => f.column),
    rows: items.map((r) => fields.map((f) => f.value(r))),
  };
}

type Report = TermReport;
type KpiRow = { s: Report['summaries'][number]; k: Report['summaries'][number]['kpis'][number] };
type UnmetRow = { r: Report['ranking'][number]; u: Report['ranking'][number]['unmet'][number] };
type FindingRow = { s: Report['security'][number]; f: Report['security'][number]['findings'][number] };

export function tablesOf(report: TermReport, lang: Lang): Table[] {
  const h = H[lang];
  const label = new Map(report.targets.map((t) => [t.name, t.label[lang]]));
  const targetText = (t: string) => label.get(t) ?? t;
  const districtText = (d: string | null, sum = false) =>
    d ?? (sum ? ALL_DISTRICTS[lang] : NO_DISTRICT[lang]);
  const yesNo = (b: boolean | null) => (b === null ? null : YES_NO[lang][b ? 0 : 1]);
  const compared = report.compare !== null;
  const when = <R>(on: boolean, fields: Field<R>[]): Field<R>[] => (on ? fields : []);

  const summary = table<KpiRow>(
    'summary',
    h.sheets.summary,
    report.summaries.flatMap((s) => s.kpis.map((k) => ({ s, k }))),
    [
      field(h.district, ({ s }) => districtText(s.district, true)),
      ...when<KpiRow>(Boolean(report.scope.group), [field(h.group, ({ s }) => s.group)]),
      field(h.target, ({ k }) => targetText(k.target)),
      field(h.schools, ({ k }) => k.schools, 'int'),
      field(h.met, ({ k }) => k.met, 'int'),
      field(h.notMet, ({ k }) => k.notMet, 'int'),
      field(h.noData, ({ k }) => k.noData, 'int'),
      field(h.pct, ({ k }) => k.pct, 'pct'),
      field(h.goal, ({ k }) => k.goalPct, 'pct'),
      field(h.goalMet, ({ k }) => yesNo(k.goalMet)),
      ...when<KpiRow>(compared, [
        field(h.previousPct, ({ k }) => k.previousPct, 'pct'),
        field(h.change, ({ k }) => k.changePts, 'pts'),
      ]),
    ],
  );

  const ranking = table('ranking', h.sheets.ranking, report.ranking, [
    field(h.rank, (r) => r.rank, 'int'),
    field(h.school, (r) => r.name),
    field(h.schoolId, (r) => r.id),
    field(h.district, (r) => districtText(r.district)),
    field(h.group, (r) => r.group),
    field(h.area, (r) => (r.area ? AREA_TEXT[lang][r.area] : null)),
    field(h.gap, (r) => r.gap, 'int'),
    field(h.notMet, (r) => r.notMet, 'int'),
    field(h.noData, (r) => r.noData, 'int'),
    field(h.met, (r) => r.met, 'int'),
    field(h.termAvailability, (r) => r.term.availabilityPct, 'pct'),
    field(h.termDown, (r) => r.term.downMbps, 'num'),
    field(h.termUp, (r) => r.term.upMbps, 'num'),
    field(
      h.unmetTargets,
      (r) =>
        r.unmet
          .map((u) => `${targetText(u.target)}（${STATE_TEXT[lang][u.state]}）`)
          .join(lang === 'zh' ? '、' : ', '),
      'text',
      true,
    ),
  ]);

  const unmet = table<UnmetRow>(
    'unmet',
    h.sheets.unmet,
    report.ranking.flatMap((r) => r.unmet.map((u) => ({ r, u }))),
    [
      field(h.rank, ({ r }) => r.rank, 'int'),
      field(h.school, ({ r }) => r.name),
      field(h.district, ({ r }) => districtText(r.district)),
      field(h.target, ({ u }) => targetText(u.target)),
      field(h.state, ({ u }) => STATE_TEXT[lang][u.state]),
      field(h.value, ({ u }) => u.value, 'num'),
      field(h.goalValue, ({ u }) => u.goal, 'num'),
      field(h.reason, ({ u }) => u.reason, 'text', true),
    ],
  );

  const changes = table('changes', h.sheets.changes, report.changes, [
    field(h.school, (c) => c.name),
    field(h.schoolId, (c) => c.id),
    field(h.district, (c) => districtText(c.district)),
    field(h.group, (c) => c.group),
    field(h.target, (c) => targetText(c.target)),
    field(h.before, (c) => STATE_TEXT[lang][c.from]),
    field(h.after, (c) => STATE_TEXT[lang][c.to]),
    field(h.direction, (c) => DIRECTION_TEXT[lang][c.direction]),
    field(h.beforeValue, (c) => c.fromValue, 'num'),
    field(h.afterValue, (c) => c.toValue, 'num'),
  ]);

  const areas = table('areas', h.sheets.areas, report.areaGaps, [
    field(h.district, (g) => districtText(g.district, true)),
    field(h.target, (g) => targetText(g.target)),
    field(h.urbanSchools, (g) => g.urbanSchools, 'int'),
    field(h.urbanPct, (g) => g.urbanPct, 'pct'),
    field(h.ruralSchools, (g) => g.ruralSchools, 'int'),
    field(h.ruralPct, (g) => g.ruralPct, 'pct'),
    field(h.areaGap, (g) => g.gapPts, 'pts'),
  ]);

  type Group = Report['groups'][number];
  const groups = table<Group>('groups', h.sheets.groups, report.groups, [
    field(h.district, (g) => districtText(g.district)),
    field(h.group, (g) => g.group),
    field(h.schools, (g) => g.schools, 'int'),
    ...report.targets.map((t) => field<Group>(t.label[lang], (g) => g.pct[t.name] ?? null, 'pct')),
    field(h.score, (g) => g.score, 'dec1'),
    field(h.grade, (g) => g.grade),
    ...when<Group>(compared, [
      field(h.previousScore, (g) => g.previousScore, 'dec1'),
      field(h.previousGrade, (g) => g.previousGrade),
      field(h.change, (g) => g.changePts, 'pts'),
    ]),
  ]);

  const security = table('security', h.sheets.security, report.security, [
    field(h.school, (s) => s.name),
    field(h.schoolId, (s) => s.id),
    field(h.district, (s) => districtText(s.district)),
    field(h.group, (s) => s.group),
    field(h.critical, (s) => s.critical, 'int'),
    field(h.high, (s) => s.high, 'int'),
    field(h.medium, (s) => s.medium, 'int'),
    field(h.low, (s) => s.low, 'int'),
    field(h.oldestDays, (s) => s.oldestDays, 'int'),
    field(h.overdue, (s) => s.overdue, 'int'),
    field(h.accepted, (s) => s.accepted, 'int'),
  ]);

  const findings = table<FindingRow>(
    'findings',
    h.sheets.findings,
    report.security.flatMap((s) => s.findings.map((f) => ({ s, f }))),
    [
      field(h.school, ({ s }) => s.name),
      field(h.district, ({ s }) => districtText(s.district)),
      field(h.severity, ({ f }) => SEVERITY_TEXT[lang][f.severity]),
      field(h.title, ({ f }) => f.title?.[lang] ?? f.rule, 'text', true),
      field(h.rule, ({ f }) => f.rule),
      field(h.object, ({ f }) => f.target),
      field(h.port, ({ f }) => (f.port === 0 ? null : f.port), 'int'),
      field(h.firstSeen, ({ f }) => f.firstSeen.slice(0, 10)),
      field(h.daysOpen, ({ f }) => f.daysOpen, 'int'),
      field(h.dueDays, ({ f }) => f.dueDays, 'int'),
      field(h.isOverdue, ({ f }) => yesNo(f.overdue)),
      field(h.mlps, ({ f }) => f.mlps),
    ],
  );

  const goalSourceText = (source: 'district' | 'default' | null) =>
    source === null
      ? null
      : source === 'district'
        ? lang === 'zh'
          ? '区'
          : 'district'
        : lang === 'zh'
          ? '市（默认）'
          : 'city (default)';
  const targets = table('targets', h.sheets.targets, report.applied, [
    field(h.district, (t) => districtText(t.district)),
    field(h.target, (t) => t.label[lang]),
    field(h.targetCode, (t) => t.name),
    field(h.goal, (t) => t.goalPct, 'pct'),
    field(h.goalSource, (t) => goalSourceText(t.goalSource)),
    field(h.cityGoal, (t) => t.cityGoalPct, 'pct'),
    field(h.criterion, (t) => t.criterion[lang], 'text', true),
    field(h.source, (t) => t.source, 'text', true),
  ]);

  return [summary, ranking, unmet, changes, areas, groups, security, findings, targets];
}

/** The "about" part: what, when, from which snapshots, and the notes. */
export function aboutOf(report: TermReport, lang: Lang, notes: readonly string[]): [string, string][] {
  const zh = lang === 'zh';
  const rows: [string, string][] = [
    [zh ? '学期' : 'Term', report.term],
    [zh ? '对比学期' : 'Compared with', report.compare ?? (zh ? '（无）' : '(none)')],
    [zh ? '生成时间' : 'Generated', report.generatedAt],
    ...report.snapshots.map((s): [string, string] => [
      `${zh ? '快照' : 'Snapshot'} ${s.district ?? NO_DISTRICT[lang]}`,
      `${s.from} – ${s.to}; ${zh ? '快照时间' : 'taken'} ${s.takenAt} (${s.takenBy}, ${s.trigger})`,
    ]),
  ];
  if (report.missingCompare.length > 0)
    rows.push([
      zh ? '无对比学期快照的区' : 'No snapshot of the compared term',
      report.missingCompare.map((d) => d ?? NO_DISTRICT[lang]).join(zh ? '、' : ', '),
    ]);
  notes.forEach((n, i) => {
    rows.push([`${zh ? '说明' : 'Note'} ${i + 1}`, n]);
  });
  return rows;
}
