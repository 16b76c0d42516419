/** 总览: the KPIs of the caller's scope against their goals, the ranking, urban/rural and groups, agents, findings. */
import type { KpiGroup, TargetKpi } from '../evaluate/district.js';
import { TARGETS } from '../evaluate/targets/registry.js';
import type { TermInScope } from '../routes/term-report.js';
import { type Html, html, query } from './html.js';
import { ago, type Lang, num, STAGES, tr, W } from './i18n.js';
import type { Overview, OverviewFilter, RankedSchool } from './overview-model.js';

const L = {
  title: { zh: '达标总览', en: 'Compliance overview' },
  kpis: { zh: '各项指标达标率', en: 'Share of schools meeting each target' },
  ranking: { zh: '学校排名（差距最大在前）', en: 'Schools by gap to the targets (worst first)' },
  rank: { zh: '名次', en: '#' },
  notMetTargets: { zh: '未达标指标', en: 'Targets not met' },
  noDataTargets: { zh: '未监测指标', en: 'Unmonitored targets' },
  metCount: { zh: '达标项', en: 'Met' },
  areas: { zh: '城乡对比', en: 'Urban vs rural' },
  groups: { zh: '教育集团对比', en: 'Education groups' },
  districts: { zh: '区县对比', en: 'Districts' },
  agentsTitle: { zh: '终端状况', en: 'Agents' },
  agentsLine: { zh: '终端总数', en: 'Agents' },
  findingsTitle: { zh: '未处理的严重/高危安全问题', en: 'Open critical/high findings' },
  gapPoints: { zh: '城乡差距（百分点）', en: 'Gap (points)' },
  showAll: { zh: '显示全部', en: 'Show all' },
  shown: { zh: '显示', en: 'Showing' },
  of: { zh: '共', en: 'of' },
  lastSeen: { zh: '最后上报', en: 'Last report' },
  enrolled: { zh: '注册于', en: 'Enrolled' },
  noGoal: { zh: '无目标', en: 'no goal' },
  goalMet: { zh: '已达到目标', en: 'goal met' },
  goalNotMet: { zh: '未达到目标', en: 'goal not met' },
} as const;

export const ROWS_SHOWN = 100;
/** Education groups compared on the city's page without a district chosen. */
const GROUPS_ON_CITY_PAGE = 30;

const pct = (lang: Lang, v: number | null) => (v === null ? '—' : `${num(lang, v, 1)}%`);

function kpiCard(lang: Lang, name: string, k: TargetKpi): Html {
  const t = TARGETS.find((m) => m.name === name)!;
  const cls = k.goalMet === null ? '' : k.goalMet ? 'goal-met' : 'goal-not-met';
  return html`<div class="kpi ${cls}" data-target="${name}"><h3>${tr(lang, t.label)}</h3>
<div><span class="pct" data-field="pct">${pct(lang, k.pct)}</span> <span class="muted">${tr(lang, W.goal)} <span data-field="goalPct">${k.goalPct === null ? tr(lang, L.noGoal) : `${num(lang, k.goalPct, 1)}%`}</span></span></div>
<div class="counts">${tr(lang, W.met)} <span data-field="met">${k.met}</span> · ${tr(lang, W.not_met)} <span data-field="notMet">${k.notMet}</span> · ${tr(lang, W.no_data)} <span data-field="noData">${k.noData}</span> / <span data-field="schools">${k.schools}</span></div>
${k.goalMet === null ? '' : html`<div class="state ${k.goalMet ? 'met' : 'not_met'}">${tr(lang, k.goalMet ? L.goalMet : L.goalNotMet)}</div>`}</div>`;
}

/** Urban vs rural by target: % of schools meeting it in each, and the gap in points (the 数字差距). */
function areaTable(lang: Lang, urban: KpiGroup, rural: KpiGroup, labelledBy: string): Html {
  const gap = (u: number | null | undefined, r: number | null | undefined) =>
    u === null || u === undefined || r === null || r === undefined
      ? '—'
      : num(lang, Math.round((u - r) * 10) / 10, 1);
  return html`<div class="scroll" tabindex="0" role="region" aria-labelledby="${labelledBy}"><table data-table="areas" aria-labelledby="${labelledBy}"><thead><tr><th scope="col">${tr(lang, { zh: '指标', en: 'Target' })}</th><th scope="col" class="num">${tr(lang, W.urban)} (${urban.schools})</th><th scope="col" class="num">${tr(lang, W.rural)} (${rural.schools})</th><th scope="col" class="num">${tr(lang, L.gapPoints)}</th></tr></thead><tbody>${TARGETS.map(
    (t) => {
      const u = urban.targets[t.name]?.pct;
      const r = rural.targets[t.name]?.pct;
      return html`<tr data-target="${t.name}"><th scope="row">${tr(lang, t.label)}</th><td class="num" data-field="urban">${pct(lang, u ?? null)}</td><td class="num" data-field="rural">${pct(lang, r ?? null)}</td><td class="num" data-field="gap">${gap(u, r)}</td></tr>`;
    },
  )}</tbody></table></div>`;
}

/** A table of groups (districts, education groups) by target: % meeting it. */
function comparison(
  lang: Lang,
  labelledBy: string,
  rows: { label: string; g: KpiGroup }[],
  kind: string,
): Html {
  return html`<div class="scroll" tabindex="0" role="region" aria-labelledby="${labelledBy}"><table data-table="${kind}" aria-labelledby="${labelledBy}"><thead><tr><th scope="col"></th><th scope="col" class="num">${tr(lang, W.schools)}</th>${TARGETS.map(
    (t) => html`<th scope="col" class="num" title="${tr(lang, t.label)}">${tr(lang, t.label)}</th>`,
  )}</tr></thead><tbody>${rows.map(
    ({ label, g }) =>
      html`<tr data-row="${label}"><th scope="row">${label}</th><td class="num">${g.schools}</td>${TARGETS.map(
        (t) =>
          html`<td class="num" data-target="${t.name}">${pct(lang, g.targets[t.name]?.pct ?? null)}</td>`,
      )}</tr>`,
  )}</tbody></table></div>`;
}

function targetNames(lang: Lang, names: readonly string[]): string {
  return names
    .map((n) => tr(lang, TARGETS.find((t) => t.name === n)!.label))
    .join(lang === 'zh' ? '、' : ', ');
}

function rankingTable(lang: Lang, rows: RankedSchool[], total: number, allUrl: string | null): Html {
  return html`<div class="scroll" tabindex="0" role="region" aria-labelledby="ranking-h"><table id="ranking" data-table="ranking" aria-labelledby="ranking-h"><thead><tr><th scope="col" class="num">${tr(lang, L.rank)}</th><th scope="col">${tr(lang, W.school)}</th><th scope="col" class="wide-only">${tr(lang, W.district)}</th><th scope="col" class="wide-only">${tr(lang, W.group)}</th><th scope="col" class="num">${tr(lang, L.metCount)}</th><th scope="col">${tr(lang, L.notMetTargets)}</th><th scope="col" class="wide-only">${tr(lang, L.noDataTargets)}</th></tr></thead><tbody>${rows.map(
    (r, i) =>
      html`<tr data-school="${r.id}"><td class="num">${i + 1}</td><td><a href="/schools/${encodeURIComponent(r.id)}">${r.name}</a></td><td class="wide-only">${r.district ?? '—'}</td><td class="wide-only">${r.group ?? '—'}</td><td class="num" data-field="met">${r.met}</td><td data-field="notMet" data-count="${r.notMet.length}">${targetNames(lang, r.notMet) || '—'}</td><td data-field="noData" data-count="${r.noData.length}" class="muted wide-only">${targetNames(lang, r.noData) || '—'}</td></tr>`,
  )}</tbody></table></div><p class="muted">${tr(lang, L.shown)} ${rows.length} / ${tr(lang, L.of)} ${total}${allUrl ? html` · <a href="${allUrl}">${tr(lang, L.showAll)}</a>` : ''}</p>`;
}

function filters(lang: Lang, o: Overview, f: OverviewFilter, scopeLevel: string): Html {
  const opt = (value: string, label: string, selected: boolean) =>
    html`<option value="${value}"${selected ? html` selected` : ''}>${label}</option>`;
  return html`<form class="filters" method="get" action="/overview">
${scopeLevel === 'city' ? html`<label>${tr(lang, W.district)}<select name="district">${opt('', tr(lang, W.all), f.district === undefined)}${o.options.districts.map((d) => opt(d, d, d === f.district))}</select></label>` : ''}
${scopeLevel === 'city' || scopeLevel === 'district' ? html`<label>${tr(lang, W.group)}<select name="group">${opt('', tr(lang, W.all), f.group === undefined)}${o.options.groups.map((g) => opt(g.group, g.group, g.group === f.group))}</select></label>` : ''}
<label>${tr(lang, W.area)}<select name="area">${opt('', tr(lang, W.all), f.area === undefined)}${opt('urban', tr(lang, W.urban), f.area === 'urban')}${opt('rural', tr(lang, W.rural), f.area === 'rural')}</select></label>
<label>${tr(lang, W.stage)}<select name="stage">${opt('', tr(lang, W.all), f.stage === undefined)}${o.options.stages.map((s) => opt(s, tr(lang, STAGES[s]!), s === f.stage))}</select></label>
<button type="submit">${tr(lang, W.filter)}</button></form>`;
}

/**
 * Education groups side by side: within one district (a city has hundreds of groups: there the districts
 * are compared, and choosing a district shows its groups).
 */
function groupsSection(lang: Lang, k: Overview['kpis'], f: OverviewFilter, scopeLevel: string): Html | '' {
  const groups = k.groups.filter((g) => g.group);
  if (groups.length === 0) return '';
  // a few groups fit on the city's page; hundreds wait for a district to be chosen
  const oneDistrict =
    scopeLevel !== 'city' || f.district !== undefined || groups.length <= GROUPS_ON_CITY_PAGE;
  return html`<section class="card" aria-labelledby="groups-h"><h2 id="groups-h">${tr(lang, L.groups)}</h2>${
    oneDistrict
      ? comparison(
          lang,
          'groups-h',
          groups.map((g) => ({
            label:
              scopeLevel === 'city' && f.district === undefined && g.district
                ? `${g.group} (${g.district})`
                : g.group!,
            g,
          })),
          'groups',
        )
      : html`<p class="muted">${tr(lang, { zh: `共 ${groups.length} 个教育集团：请先选择区县查看其教育集团对比。`, en: `${groups.length} education groups: choose a district to compare its groups.` })}</p>`
  }</section>`;
}

const REPORTS = {
  title: { zh: '学期达标情况通报（督导）', en: 'Term inspection reports' },
  intro: {
    zh: '每学期结束时冻结的达标快照；与上一学期比较。',
    en: 'The compliance frozen at the end of each term, compared with the term before.',
  },
  none: {
    zh: '尚无学期快照：学期结束后自动生成，或由管理员运行 snapshot take --term 学期名称。',
    en: 'No term snapshot yet: one is taken at the end of each term, or by `snapshot take --term NAME`.',
  },
  compared: { zh: '对比', en: 'compared with' },
} as const;

/** Each term with a snapshot in scope: its report as XLSX, PDF and CSV (compared with the term before). */
function termReports(lang: Lang, terms: readonly TermInScope[], f: OverviewFilter): Html {
  const rows = terms.map((t, i) => {
    const previous = terms[i + 1]?.term;
    const link = (format: string) =>
      `/api/v1/reports/term${query({ term: t.term, compare: previous, format, lang, district: f.district, group: f.group })}`;
    return html`<li data-term="${t.term}"><strong>${t.term}</strong> <span class="muted">${t.from} – ${t.to}${previous ? ` · ${tr(lang, REPORTS.compared)} ${previous}` : ''}</span> · <a href="${link('xlsx')}" download>XLSX</a> · <a href="${link('pdf')}" download>PDF</a> · <a href="${link('csv')}" download>CSV</a></li>`;
  });
  return html`<section class="card" aria-labelledby="reports-h"><h2 id="reports-h">${tr(lang, REPORTS.title)}</h2><p class="muted">${tr(lang, REPORTS.intro)}</p>${
    terms.length ? html`<ul class="terms">${rows}</ul>` : html`<p class="empty">${tr(lang, REPORTS.none)}</p>`
  }</section>`;
}

export function overviewBody(
  lang: Lang,
  o: Overview,
  f: OverviewFilter,
  scopeLevel: string,
  now: Date,
  showAll: boolean,
  terms: readonly TermInScope[] = [],
): Html {
  const k = o.kpis;
  const shown = showAll ? o.ranking : o.ranking.slice(0, ROWS_SHOWN);
  const allUrl =
    showAll || o.ranking.length <= ROWS_SHOWN ? null : `/overview${query({ ...f, rows: 'all' })}#ranking`;
  const urban = o.areas.urban;
  const rural = o.areas.rural;
  const agentRow = (a: Overview['agents']['silent'][number]) =>
    html`<tr data-agent="${a.id}"><td>${a.name}</td><td><a href="/schools/${encodeURIComponent(a.schoolId)}">${a.schoolName}</a></td><td><span class="state ${a.status}">${tr(lang, W[a.status])}</span></td><td>${a.lastSeenAt ? ago(lang, a.lastSeenAt, now) : html`${tr(lang, L.enrolled)} ${ago(lang, a.enrolledAt, now)}`}</td></tr>`;
  const lagging = [...o.agents.neverReported, ...o.agents.silent];
  return html`${filters(lang, o, f, scopeLevel)}
<section class="card summary" aria-labelledby="summary-h"><h2 id="summary-h">${tr(lang, L.kpis)}</h2>
<p class="muted"><span data-field="schools">${k.overall.schools}</span> ${tr(lang, { zh: '所学校', en: 'schools' })} · ${tr(lang, L.findingsTitle)}: <strong data-field="critical">${o.findings.critical}</strong> ${tr(lang, W.critical)} / <strong data-field="high">${o.findings.high}</strong> ${tr(lang, W.high)} · ${tr(lang, L.agentsLine)}: <span data-field="agents">${o.agents.total}</span> (${tr(lang, W.reporting)} <span data-field="agentsReporting">${o.agents.reporting}</span>, ${tr(lang, W.silent)} <span data-field="agentsSilent">${o.agents.silent.length}</span>, ${tr(lang, W.never_reported)} <span data-field="agentsNeverReported">${o.agents.neverReported.length}</span>)</p>
<div class="kpis" id="kpis">${TARGETS.map((t) => kpiCard(lang, t.name, k.overall.targets[t.name]!))}</div></section>
<section class="card" aria-labelledby="ranking-h"><h2 id="ranking-h">${tr(lang, L.ranking)}</h2>${o.ranking.length ? rankingTable(lang, shown, o.ranking.length, allUrl) : html`<p class="empty">${tr(lang, W.none)}</p>`}</section>
<section class="card" aria-labelledby="areas-h"><h2 id="areas-h">${tr(lang, L.areas)}</h2>${areaTable(lang, urban, rural, 'areas-h')}</section>
${
  scopeLevel === 'city' && !f.district && k.districts.length > 1
    ? html`<section class="card" aria-labelledby="districts-h"><h2 id="districts-h">${tr(lang, L.districts)}</h2>${comparison(
        lang,
        'districts-h',
        k.districts.map((g) => ({ label: g.district ?? '—', g })),
        'districts',
      )}</section>`
    : ''
}
${groupsSection(lang, k, f, scopeLevel)}
<section class="card" aria-labelledby="agents-h"><h2 id="agents-h">${tr(lang, { zh: '失联或从未上报的终端', en: 'Agents silent or never reported' })}</h2>${lagging.length ? html`<div class="scroll" tabindex="0" role="region" aria-labelledby="agents-h"><table data-table="agents" aria-labelledby="agents-h"><thead><tr><th scope="col">${tr(lang, W.fleet)}</th><th scope="col">${tr(lang, W.school)}</th><th scope="col">${tr(lang, W.state)}</th><th scope="col">${tr(lang, L.lastSeen)}</th></tr></thead><tbody>${lagging.map(agentRow)}</tbody></table></div>` : html`<p class="empty">${tr(lang, W.none)}</p>`}</section>
${termReports(lang, terms, f)}`;
}

export const OVERVIEW_TITLE = L.title;
