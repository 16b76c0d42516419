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

export function tablesOf(report: TermReport, lang: Lang): Table[] {
  const h = H[lang];
  const label = new Map(report.targets.map((t) => [t.name, t.label[lang]]));
  const targetText = (t: string) => label.get(t) ?? t;
  const districtText = (d: string | null, sum = false) =>
    d ?? (sum ? ALL_DISTRICTS[lang] : NO_DISTRICT[lang]);
  const yesNo = (b: boolean | null) => (b === null ? null : YES_NO[lang][b ? 0 : 1]);
  const compared = report.compare !== null;

  const summary: Table = {
    key: 'summary',
    name: h.sheets.summary,
    columns: [
      col(h.district),
      ...(report.scope.group ? [col(h.group)] : []),
      col(h.target),
      col(h.schools, 'int'),
      col(h.met, 'int'),
      col(h.notMet, 'int'),
      col(h.noData, 'int'),
      col(h.pct, 'pct'),
      col(h.goal, 'pct'),
      col(h.goalMet),
      ...(compared ? [col(h.previousPct, 'pct'), col(h.change, 'pts')] : []),
    ],
    rows: report.summaries.flatMap((s) =>
      s.kpis.map((k) => [
        districtText(s.district, true),
        ...(report.scope.group ? [s.group] : []),
        targetText(k.target),
        k.schools,
        k.met,
        k.notMet,
        k.noData,
        k.pct,
        k.goalPct,
        yesNo(k.goalMet),
        ...(compared ? [k.previousPct, k.changePts] : []),
      ]),
    ),
  };

  const ranking: Table = {
    key: 'ranking',
    name: h.sheets.ranking,
    columns: [
      col(h.rank, 'int'),
      col(h.school),
      col(h.schoolId),
      col(h.district),
      col(h.group),
      col(h.area),
      col(h.gap, 'int'),
      col(h.notMet, 'int'),
      col(h.noData, 'int'),
      col(h.met, 'int'),
      col(h.termAvailability, 'pct'),
      col(h.termDown, 'num'),
      col(h.termUp, 'num'),
      col(h.unmetTargets, 'text', true),
    ],
    rows: report.ranking.map((r) => [
      r.rank,
      r.name,
      r.id,
      districtText(r.district),
      r.group,
      r.area ? AREA_TEXT[lang][r.area] : null,
      r.gap,
      r.notMet,
      r.noData,
      r.met,
      r.term.availabilityPct,
      r.term.downMbps,
      r.term.upMbps,
      r.unmet
        .map((u) => `${targetText(u.target)}（${STATE_TEXT[lang][u.state]}）`)
        .join(lang === 'zh' ? '、' : ', '),
    ]),
  };

  const unmet: Table = {
    key: 'unmet',
    name: h.sheets.unmet,
    columns: [
      col(h.rank, 'int'),
      col(h.school),
      col(h.district),
      col(h.target),
      col(h.state),
      col(h.value, 'num'),
      col(h.goalValue, 'num'),
      col(h.reason, 'text', true),
    ],
    rows: report.ranking.flatMap((r) =>
      r.unmet.map((u) => [
        r.rank,
        r.name,
        districtText(r.district),
        targetText(u.target),
        STATE_TEXT[lang][u.state],
        u.value,
        u.goal,
        u.reason,
      ]),
    ),
  };

  const changes: Table = {
    key: 'changes',
    name: h.sheets.changes,
    columns: [
      col(h.school),
      col(h.schoolId),
      col(h.district),
      col(h.group),
      col(h.target),
      col(h.before),
      col(h.after),
      col(h.direction),
      col(h.beforeValue, 'num'),
      col(h.afterValue, 'num'),
    ],
    rows: report.changes.map((c) => [
      c.name,
      c.id,
      districtText(c.district),
      c.group,
      targetText(c.target),
      STATE_TEXT[lang][c.from],
      STATE_TEXT[lang][c.to],
      DIRECTION_TEXT[lang][c.direction],
      c.fromValue,
      c.toValue,
    ]),
  };

  const areas: Table = {
    key: 'areas',
    name: h.sheets.areas,
    columns: [
      col(h.district),
      col(h.target),
      col(h.urbanSchools, 'int'),
      col(h.urbanPct, 'pct'),
      col(h.ruralSchools, 'int'),
      col(h.ruralPct, 'pct'),
      col(h.areaGap, 'pts'),
    ],
    rows: report.areaGaps.map((g) => [
      districtText(g.district, true),
      targetText(g.target),
      g.urbanSchools,
      g.urbanPct,
      g.ruralSchools,
      g.ruralPct,
      g.gapPts,
    ]),
  };

  const groups: Table = {
    key: 'groups',
    name: h.sheets.groups,
    columns: [
      col(h.district),
      col(h.group),
      col(h.schools, 'int'),
      ...report.targets.map((t) => col(t.label[lang], 'pct')),
      col(h.score, 'dec1'),
      col(h.grade),
      ...(compared ? [col(h.previousScore, 'dec1'), col(h.previousGrade), col(h.change, 'pts')] : []),
    ],
    rows: report.groups.map((g) => [
      districtText(g.district),
      g.group,
      g.schools,
      ...report.targets.map((t) => g.pct[t.name] ?? null),
      g.score,
      g.grade,
      ...(compared ? [g.previousScore, g.previousGrade, g.changePts] : []),
    ]),
  };

  const security: Table = {
    key: 'security',
    name: h.sheets.security,
    columns: [
      col(h.school),
      col(h.schoolId),
      col(h.district),
      col(h.group),
      col(h.critical, 'int'),
      col(h.high, 'int'),
      col(h.medium, 'int'),
      col(h.low, 'int'),
      col(h.oldestDays, 'int'),
      col(h.overdue, 'int'),
      col(h.accepted, 'int'),
    ],
    rows: report.security.map((s) => [
      s.name,
      s.id,
      districtText(s.district),
      s.group,
      s.critical,
      s.high,
      s.medium,
      s.low,
      s.oldestDays,
      s.overdue,
      s.accepted,
    ]),
  };

  const findings: Table = {
    key: 'findings',
    name: h.sheets.findings,
    columns: [
      col(h.school),
      col(h.district),
      col(h.severity),
      col(h.title, 'text', true),
      col(h.rule),
      col(h.object),
      col(h.port, 'int'),
      col(h.firstSeen),
      col(h.daysOpen, 'int'),
      col(h.dueDays, 'int'),
      col(h.isOverdue),
      col(h.mlps),
    ],
    rows: report.security.flatMap((s) =>
      s.findings.map((f) => [
        s.name,
        districtText(s.district),
        SEVERITY_TEXT[lang][f.severity],
        f.title?.[lang] ?? f.rule,
        f.rule,
        f.target,
        f.port === 0 ? null : f.port,
        f.firstSeen.slice(0, 10),
        f.daysOpen,
        f.dueDays,
        yesNo(f.overdue),
        f.mlps,
      ]),
    ),
  };

  const targets: Table = {
    key: 'targets',
    name: h.sheets.targets,
    columns: [
      col(h.district),
      col(h.target),
      col(h.targetCode),
      col(h.goal, 'pct'),
      col(h.goalSource),
      col(h.cityGoal, 'pct'),
      col(h.criterion, 'text', true),
      col(h.source, 'text', true),
    ],
    rows: report.applied.map((t) => [
      districtText(t.district),
      t.label[lang],
      t.name,
      t.goalPct,
      t.goalSource === null
        ? null
        : t.goalSource === 'district'
          ? lang === 'zh'
            ? '区'
            : 'district'
          : lang === 'zh'
            ? '市（默认）'
            : 'city (default)',
      t.cityGoalPct,
      t.criterion[lang],
      t.source,
    ]),
  };

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
