/** The words of the term report in Chinese and English: headings, states, the title. */
import type { ComplianceState } from '../evaluate/targets/target.js';
import type { Lang } from './lang.js';
import type { Direction, TermReport } from './report-types.js';

export type { Lang } from './lang.js';

export const STATE_TEXT: Record<Lang, Record<ComplianceState, string>> = {
  zh: { met: '达标', not_met: '未达标', no_data: '未监测' },
  en: { met: 'met', not_met: 'not met', no_data: 'unmonitored' },
};

export const DIRECTION_TEXT: Record<Lang, Record<Direction, string>> = {
  zh: { declined: '由达标转为未达标', improved: '转为达标', other: '未达标与未监测之间' },
  en: { declined: 'met → not', improved: 'now met', other: 'not met ↔ unmonitored' },
};

export const AREA_TEXT: Record<Lang, Record<'urban' | 'rural', string>> = {
  zh: { urban: '城区', rural: '农村' },
  en: { urban: 'urban', rural: 'rural' },
};

export const SEVERITY_TEXT: Record<Lang, Record<'critical' | 'high' | 'medium' | 'low' | 'info', string>> = {
  zh: { critical: '严重', high: '高危', medium: '中危', low: '低危', info: '提示' },
  en: { critical: 'critical', high: 'high', medium: 'medium', low: 'low', info: 'info' },
};

export const YES_NO: Record<Lang, [string, string]> = { zh: ['是', '否'], en: ['yes', 'no'] };

/** The whole set of districts in a summary row (district null). */
export const ALL_DISTRICTS: Record<Lang, string> = { zh: '全部', en: 'all' };
export const NO_DISTRICT: Record<Lang, string> = { zh: '（未分区）', en: '(no district)' };

/** What the report is about: a district, a group within it, or the city (全市). */
export function subjectOf(report: TermReport, lang: Lang): string {
  const { district, group } = report.scope;
  if (lang === 'zh') {
    if (group) return `${district ?? ''}${group}`;
    return district ?? '全市';
  }
  if (group) return `${group} (${district ?? ''})`;
  return district ?? 'the city';
}

/** `XX区中小学教育信息化达标情况通报（学期）` */
export function titleOf(report: TermReport, lang: Lang): string {
  return lang === 'zh'
    ? `${subjectOf(report, 'zh')}中小学教育信息化达标情况通报（${report.term}）`
    : `Education informatization in the schools of ${subjectOf(report, 'en')}: compliance report, ${report.term}`;
}

/** A download's file name (UTF-8; the caller encodes it for a header). */
export function fileNameOf(report: TermReport, lang: Lang, ext: string): string {
  const base =
    lang === 'zh'
      ? `${subjectOf(report, 'zh')}达标情况通报-${report.term}`
      : `compliance-report-${report.term}`;
  // (district, group and term names hold no control characters: their schemas refuse them)
  return `${base.replace(/[\\/:*?"<>|]/g, '_')}.${ext}`;
}

/** Headings of every table, per language. */
export const H = {
  zh: {
    sheets: {
      summary: '汇总',
      ranking: '排名',
      unmet: '未达标明细',
      changes: '变化',
      areas: '城乡差距',
      groups: '教育集团',
      security: '网络安全',
      findings: '安全隐患明细',
      targets: '适用指标',
      about: '说明',
    },
    district: '区',
    target: '指标',
    targetCode: '指标代码',
    schools: '学校数',
    met: '达标',
    notMet: '未达标',
    noData: '未监测',
    pct: '达标率',
    goal: '目标',
    goalMet: '达到目标',
    previousPct: '对比学期达标率',
    change: '变化（百分点）',
    rank: '排名',
    school: '学校',
    schoolId: '学校代码',
    group: '教育集团',
    area: '城乡',
    gap: '差距（未达标+未监测）',
    termAvailability: '本学期设备可用率',
    termDown: '本学期测速下行中位数（Mbit/s）',
    termUp: '本学期测速上行中位数（Mbit/s）',
    unmetTargets: '未达标及未监测指标',
    state: '状态',
    value: '数值',
    goalValue: '目标值',
    reason: '原因',
    before: '对比学期',
    after: '本学期',
    direction: '变化方向',
    beforeValue: '对比学期数值',
    afterValue: '本学期数值',
    urbanSchools: '城区学校数',
    urbanPct: '城区达标率',
    ruralSchools: '农村学校数',
    ruralPct: '农村达标率',
    areaGap: '城乡差距（百分点）',
    score: '得分',
    grade: '等级',
    previousScore: '对比学期得分',
    previousGrade: '对比学期等级',
    critical: '严重',
    high: '高危',
    medium: '中危',
    low: '低危',
    oldestDays: '最长未整改（天）',
    overdue: '逾期未整改',
    accepted: '已接受风险',
    rule: '规则',
    title: '问题',
    object: '对象',
    port: '端口',
    severity: '等级',
    firstSeen: '首次发现',
    daysOpen: '已持续（天）',
    dueDays: '整改期限（天）',
    isOverdue: '是否逾期',
    mlps: '等保条款',
    source: '依据',
    goalSource: '目标来源',
    cityGoal: '市目标',
    criterion: '学校达标标准',
    item: '项目',
    content: '内容',
    page: (n: number, of: number) => `第 ${n} 页 / 共 ${of} 页`,
  },
  en: {
    sheets: {
      summary: 'Summary',
      ranking: 'Ranking',
      unmet: 'Unmet targets',
      changes: 'Changes',
      areas: 'Urban-rural gap',
      groups: 'Education groups',
      security: 'Security',
      findings: 'Findings',
      targets: 'Targets applied',
      about: 'About',
    },
    district: 'District',
    target: 'Target',
    targetCode: 'Target code',
    schools: 'Schools',
    met: 'Met',
    notMet: 'Not met',
    noData: 'Unmonitored',
    pct: 'Met %',
    goal: 'Goal',
    goalMet: 'Goal reached',
    previousPct: 'Compared term met %',
    change: 'Change (points)',
    rank: 'Rank',
    school: 'School',
    schoolId: 'School id',
    group: 'Education group',
    area: 'Area',
    gap: 'Gap (not met + unmonitored)',
    termAvailability: 'Availability over the term',
    termDown: 'Median download over the term (Mbit/s)',
    termUp: 'Median upload over the term (Mbit/s)',
    unmetTargets: 'Targets not met or unmonitored',
    state: 'State',
    value: 'Value',
    goalValue: 'Goal value',
    reason: 'Reason',
    before: 'Compared term',
    after: 'This term',
    direction: 'Direction',
    beforeValue: 'Compared term value',
    afterValue: 'This term value',
    urbanSchools: 'Urban schools',
    urbanPct: 'Urban met %',
    ruralSchools: 'Rural schools',
    ruralPct: 'Rural met %',
    areaGap: 'Urban − rural (points)',
    score: 'Score',
    grade: 'Grade',
    previousScore: 'Compared term score',
    previousGrade: 'Compared term grade',
    critical: 'Critical',
    high: 'High',
    medium: 'Medium',
    low: 'Low',
    oldestDays: 'Oldest open (days)',
    overdue: 'Overdue',
    accepted: 'Accepted risks',
    rule: 'Rule',
    title: 'Problem',
    object: 'Target host',
    port: 'Port',
    severity: 'Severity',
    firstSeen: 'First seen',
    daysOpen: 'Open (days)',
    dueDays: 'Due within (days)',
    isOverdue: 'Overdue',
    mlps: 'GB/T 22239-2019 clause',
    source: 'Source',
    goalSource: 'Goal set by',
    cityGoal: 'City goal',
    criterion: 'A school meets it when',
    item: 'Item',
    content: 'Value',
    page: (n: number, of: number) => `Page ${n} of ${of}`,
  },
} as const;

export type Headings = (typeof H)[Lang];

/** The report's notes: what is the state at the end and what is aggregated over the term, the grades. */
export function notesOf(lang: Lang): string[] {
  return lang === 'zh'
    ? [
        '各指标的达标状态与达标率为学期结束时（快照时刻）的状态，与当时 GET /api/v1/compliance 的数据一致；所有已登记学校均计入分母，未监测学校单列，不计为达标。',
        '按学期汇总的数据：教学时段关键设备可用率（学期内各教学日样本之和）、学期内测速的下行/上行中位数（每个方向最多取最近 100 次）、学期内新发现与已整改的安全隐患数。',
        '排名：未达标与未监测指标数之和越大越靠前；相同时未达标数多者在前，再按校名排序（与控制台概览相同）。',
        '教育集团得分：各指标达标率与目标之比（不超过 100%）的平均值 × 100，无目标的指标以 100% 为目标；A ≥ 90，B ≥ 75，C ≥ 60，D < 60。',
        '逾期未整改：安全隐患自首次发现起超过 targets.yaml security.remediationDays 规定的天数仍未整改。',
      ]
    : [
        "Each target's state and the met % are the state at the end of the term (when the snapshot was taken), the same figures as GET /api/v1/compliance then; every registered school is in the denominator, unmonitored schools are counted apart, never as met.",
        'Aggregated over the term: critical-device availability in teaching hours (the samples of the term’s teaching days), the median download and upload of the speed tests taken in the term (at most the last 100 per direction), findings first seen and resolved in the term.',
        'Ranking: the more targets not met or unmonitored, the higher; ties by targets not met, then by name (as the console’s overview).',
        'Education group score: the mean over the targets of the met % as a share of the goal (at most 100%; a target without a goal is held to 100%) × 100; A ≥ 90, B ≥ 75, C ≥ 60, D < 60.',
        'Overdue: a finding open longer than targets.yaml security.remediationDays allows for its severity, counted from when it was first seen.',
      ];
}
