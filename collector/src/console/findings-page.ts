/**
 * 安全 (/findings): the security findings of the caller's scope, filterable by district, rule, severity
 * and state (open by default), most severe and longest open first, with counts per severity and what
 * changed in the last 24 hours. On-call and administrators accept a risk (or withdraw their acceptance)
 * from the page. The figures are GET /api/v1/findings's (findings-view.ts).
 */
import type { FastifyInstance } from 'fastify';
import { audit } from '../access/audit.js';
import { allows, covers, type Principal, scopeText } from '../access/model.js';
import type { Severity } from '../baseline.js';
import type { CollectorContext } from '../context.js';
import type { FindingState } from '../evaluate/findings.js';
import { localTime } from '../evaluate/teaching-hours.js';
import {
  addDays,
  FINDING_STATES,
  type FindingChange,
  type FindingsFilter,
  type FindingsList,
  type FindingView,
  listFindings,
  MAX_ACCEPT_DAYS,
  SEVERITIES,
} from '../findings-view.js';
import { type Html, html, query } from './html.js';
import { ago, type Lang, localDateTime, tr, W, type Words } from './i18n.js';
import { notFoundPage } from './layout.js';
import { type PageContext, pageRoute, param } from './routes.js';

const L = {
  title: { zh: '安全问题', en: 'Security findings' },
  counts: { zh: '按严重程度统计', en: 'By severity' },
  changes: { zh: '过去 24 小时的变化', en: 'What changed in the last 24 hours' },
  changesNote: {
    zh: '依据每个问题最近一次的变化（首次发现、再次出现、修复、接受风险、接受到期）。',
    en: "From each finding's latest transitions (first seen, re-opened, resolved, accepted, acceptance ended).",
  },
  list: { zh: '问题列表（最严重、最久未处理在前）', en: 'Findings (most severe, longest open first)' },
  rule: { zh: '检查项', en: 'Rule' },
  target: { zh: '对象', en: 'Target' },
  severity: { zh: '严重程度', en: 'Severity' },
  firstSeen: { zh: '首次发现', en: 'First seen' },
  evidence: { zh: '证据', en: 'Evidence' },
  mlps: { zh: '等保条款', en: '等保 clause' },
  accepted: { zh: '风险接受', en: 'Risk accepted' },
  action: { zh: '操作', en: 'Action' },
  time: { zh: '时间', en: 'Time' },
  change: { zh: '变化', en: 'Change' },
  until: { zh: '有效至', en: 'Until' },
  reason: { zh: '原因', en: 'Reason' },
  acceptRisk: { zh: '接受风险', en: 'Accept the risk' },
  accept: { zh: '确认接受', en: 'Accept' },
  withdraw: { zh: '撤销接受', en: 'Withdraw' },
  by: { zh: '由', en: 'by' },
  baselineFile: { zh: '基线配置 config/baseline.yaml', en: 'config/baseline.yaml' },
  ended: { zh: '已于此日到期', en: 'ended after' },
  resolvedAt: { zh: '修复于', en: 'resolved' },
  openFor: { zh: '已持续', en: 'open for' },
  total: { zh: '条', en: 'findings' },
  noChanges: { zh: '过去 24 小时没有变化', en: 'No change in the last 24 hours' },
  noFindings: { zh: '没有符合条件的问题', en: 'No finding matches' },
  rules: { zh: '全部检查项', en: 'all rules' },
} as const satisfies Record<string, Words>;

const STATE_WORDS: Record<FindingState, Words> = {
  open: { zh: '未处理', en: 'open' },
  accepted: { zh: '已接受', en: 'accepted' },
  resolved: { zh: '已修复', en: 'resolved' },
};

const CHANGE_WORDS: Record<FindingChange['kind'], Words> = {
  opened: { zh: '新发现', en: 'opened' },
  reopened: { zh: '再次出现', en: 're-opened' },
  resolved: { zh: '已修复', en: 'resolved' },
  accepted: { zh: '接受风险', en: 'accepted' },
  expired: { zh: '风险接受到期', en: 'acceptance ended' },
};

/** The page's filter from its query: lenient (an unknown value is no filter); the state is open unless asked. */
export function findingsFilter(req: PageContext['req']): FindingsFilter & { allStates: boolean } {
  const severity = param(req, 'severity');
  const state = param(req, 'state');
  return {
    school: param(req, 'school'),
    district: param(req, 'district'),
    rule: param(req, 'rule'),
    severity: (SEVERITIES as readonly string[]).includes(severity ?? '') ? (severity as Severity) : undefined,
    state:
      state === 'all'
        ? undefined
        : (FINDING_STATES as readonly string[]).includes(state ?? '')
          ? (state as FindingState)
          : 'open',
    allStates: state === 'all',
  };
}

/** How long since `iso`, in the units of `ago` without its "ago": `66 秒` / `3 d`. */
function duration(lang: Lang, iso: string, now: Date): string {
  return ago(lang, iso, now).replace(/前$/, '').replace(/ ago$/, '').trim();
}

const where = (f: { target: string; port: number }) => (f.port ? `${f.target}:${f.port}` : f.target);
const findingId = (f: FindingView) => `${f.schoolId}|${f.rule}|${f.target}|${f.port}`;

function ruleTitle(lang: Lang, f: FindingView): string {
  return f.title ? tr(lang, f.title) : f.rule;
}

function filters(
  lang: Lang,
  list: FindingsList,
  f: ReturnType<typeof findingsFilter>,
  p: Principal,
  titles: (rule: string) => string,
): Html {
  const opt = (value: string, label: string, selected: boolean) =>
    html`<option value="${value}"${selected ? html` selected` : ''}>${label}</option>`;
  const stateValue = f.allStates ? 'all' : (f.state ?? 'open');
  return html`<form class="filters" method="get" action="/findings">
${f.school ? html`<input type="hidden" name="school" value="${f.school}">` : ''}
${p.scope.level === 'city' && list.options.districts.length > 0 ? html`<label>${tr(lang, W.district)}<select name="district">${opt('', tr(lang, W.all), f.district === undefined)}${list.options.districts.map((d) => opt(d, d, d === f.district))}</select></label>` : ''}
<label>${tr(lang, L.rule)}<select name="rule">${opt('', tr(lang, L.rules), f.rule === undefined)}${list.options.rules.map((r) => opt(r, titles(r), r === f.rule))}</select></label>
<label>${tr(lang, L.severity)}<select name="severity">${opt('', tr(lang, W.all), f.severity === undefined)}${SEVERITIES.map((s) => opt(s, tr(lang, W[s]), s === f.severity))}</select></label>
<label>${tr(lang, W.state)}<select name="state">${FINDING_STATES.map((s) => opt(s, tr(lang, STATE_WORDS[s]), s === stateValue))}${opt('all', tr(lang, W.all), stateValue === 'all')}</select></label>
<button type="submit">${tr(lang, W.filter)}</button></form>`;
}

function counts(lang: Lang, list: FindingsList, f: ReturnType<typeof findingsFilter>): Html {
  const link = (severity: Severity | undefined) =>
    `/findings${query({
      school: f.school,
      district: f.district,
      rule: f.rule,
      severity,
      state: f.allStates ? 'all' : f.state,
    })}`;
  return html`<section class="card" aria-labelledby="counts-h"><h2 id="counts-h">${tr(lang, L.counts)}</h2>
<div class="kpis findings-counts">${SEVERITIES.map(
    (s) =>
      html`<div class="kpi" data-severity="${s}"><h3><a href="${link(s)}"${f.severity === s ? html` aria-current="true"` : ''}>${tr(lang, W[s])}</a></h3><span class="pct" data-count="${s}">${list.counts[s]}</span></div>`,
  )}</div>
<p class="muted">${tr(lang, { zh: '列出', en: 'Listed' })} <span data-field="total">${list.findings.length}</span> ${tr(lang, L.total)}${f.severity ? html` · <a href="${link(undefined)}">${tr(lang, { zh: '所有严重程度', en: 'all severities' })}</a>` : ''}</p></section>`;
}

function changesSection(lang: Lang, changes: readonly FindingChange[]): Html {
  const body = changes.length
    ? html`<div class="scroll"><table data-table="changes" aria-labelledby="changes-h"><thead><tr><th scope="col">${tr(lang, L.time)}</th><th scope="col">${tr(lang, L.change)}</th><th scope="col">${tr(lang, W.school)}</th><th scope="col">${tr(lang, L.rule)}</th><th scope="col">${tr(lang, L.target)}</th><th scope="col">${tr(lang, L.severity)}</th></tr></thead><tbody>${changes.map(
        (c) =>
          html`<tr data-change="${c.kind}" data-finding="${findingId(c.finding)}"><td>${localDateTime(c.at, c.finding.timezone)}</td><td>${tr(lang, CHANGE_WORDS[c.kind])}${c.kind === 'accepted' && c.finding.acceptedBy ? html` <span class="muted">${tr(lang, L.by)} ${c.finding.acceptedBy}</span>` : ''}</td><td><a href="/schools/${encodeURIComponent(c.finding.schoolId)}">${c.finding.schoolName ?? c.finding.schoolId}</a></td><td>${ruleTitle(lang, c.finding)}</td><td>${where(c.finding)}</td><td><span class="state ${c.finding.severity}">${tr(lang, W[c.finding.severity])}</span></td></tr>`,
      )}</tbody></table></div>`
    : html`<p class="empty">${tr(lang, L.noChanges)}</p>`;
  return html`<section class="card" aria-labelledby="changes-h"><h2 id="changes-h">${tr(lang, L.changes)}</h2>${body}<p class="muted">${tr(lang, L.changesNote)}</p></section>`;
}

/** The identity fields of a finding in an API form (port as a number: console.js sends type=number as one). */
function refFields(f: FindingView): Html {
  return html`<input type="hidden" name="school" value="${f.schoolId}"><input type="hidden" name="rule" value="${f.rule}"><input type="hidden" name="target" value="${f.target}"><input type="number" name="port" value="${f.port}" hidden>`;
}

function acceptForm(lang: Lang, f: FindingView, now: Date): Html {
  const today = localTime(now, f.timezone).date;
  const label = `${tr(lang, L.acceptRisk)}: ${f.schoolName ?? f.schoolId} · ${ruleTitle(lang, f)} · ${where(f)}`;
  return html`<details class="findings-accept"><summary>${tr(lang, L.acceptRisk)}</summary><form class="stack" data-api="/api/v1/findings/accept" aria-label="${label}">${refFields(f)}
<label>${tr(lang, L.reason)}<input name="reason" required minlength="3" maxlength="500"></label>
<label>${tr(lang, L.until)}<input type="date" name="until" required min="${addDays(today, 1)}" max="${addDays(today, MAX_ACCEPT_DAYS)}"></label>
<button type="submit">${tr(lang, L.accept)}</button></form></details>`;
}

function withdrawForm(lang: Lang, f: FindingView): Html {
  const label = `${tr(lang, L.withdraw)}: ${f.schoolName ?? f.schoolId} · ${ruleTitle(lang, f)} · ${where(f)}`;
  return html`<form class="inline" data-api="/api/v1/findings/withdraw" aria-label="${label}">${refFields(f)}<button type="submit" class="secondary">${tr(lang, L.withdraw)}</button></form>`;
}

function acceptance(lang: Lang, f: FindingView): Html | string {
  if (f.acceptedUntil === null) return '—';
  const who = f.acceptedBy ? `${tr(lang, L.by)} ${f.acceptedBy}` : tr(lang, L.baselineFile);
  const date =
    f.state === 'accepted'
      ? html`<span data-field="acceptedUntil">${f.acceptedUntil}</span>`
      : html`<span class="muted">${tr(lang, L.ended)} <span data-field="acceptedUntil">${f.acceptedUntil}</span></span>`;
  return html`${date}<br><span data-field="acceptedReason">${f.acceptedReason ?? ''}</span> <span class="muted">(${who})</span>`;
}

function findingsTable(lang: Lang, list: FindingsList, mayAccept: boolean, now: Date): Html {
  if (list.findings.length === 0) return html`<p class="empty">${tr(lang, L.noFindings)}</p>`;
  const row = (f: FindingView) => {
    const since =
      f.state === 'resolved'
        ? html`<br><span class="muted">${tr(lang, L.resolvedAt)} ${localDateTime(f.resolvedAt, f.timezone)}</span>`
        : html`<br><span class="muted">${tr(lang, L.openFor)} ${duration(lang, f.firstSeen, now)}</span>`;
    const action = !mayAccept
      ? ''
      : f.state === 'open'
        ? acceptForm(lang, f, now)
        : f.state === 'accepted' && f.acceptedBy
          ? withdrawForm(lang, f)
          : '';
    return html`<tr data-finding="${findingId(f)}" data-school="${f.schoolId}" data-severity="${f.severity}" data-state="${f.state}"><td><a href="/schools/${encodeURIComponent(f.schoolId)}">${f.schoolName ?? f.schoolId}</a></td><td>${ruleTitle(lang, f)}<br><span class="muted">${f.rule}</span></td><td class="findings-target">${where(f)}</td><td><span class="state ${f.severity}">${tr(lang, W[f.severity])}</span></td><td><span class="state ${f.state}" data-field="state">${tr(lang, STATE_WORDS[f.state])}</span></td><td class="findings-when">${localDateTime(f.firstSeen, f.timezone)}${since}</td><td class="findings-evidence">${f.evidence}</td><td class="findings-mlps">${f.mlps}</td><td>${acceptance(lang, f)}</td>${mayAccept ? html`<td>${action}</td>` : ''}</tr>`;
  };
  return html`<div class="scroll"><table data-table="findings" aria-labelledby="list-h"><thead><tr><th scope="col">${tr(lang, W.school)}</th><th scope="col">${tr(lang, L.rule)}</th><th scope="col">${tr(lang, L.target)}</th><th scope="col">${tr(lang, L.severity)}</th><th scope="col">${tr(lang, W.state)}</th><th scope="col">${tr(lang, L.firstSeen)}</th><th scope="col">${tr(lang, L.evidence)}</th><th scope="col">${tr(lang, L.mlps)}</th><th scope="col">${tr(lang, L.accepted)}</th>${mayAccept ? html`<th scope="col">${tr(lang, L.action)}</th>` : ''}</tr></thead><tbody>${list.findings.map(row)}</tbody></table></div>`;
}

export function findingsPage(app: FastifyInstance, ctx: CollectorContext): void {
  pageRoute(app, '/findings', async ({ req, reply, lang, send }) => {
    const p = req.principal!;
    // the district filter is the city's (below it the scope is one district or less, and no select shows it)
    const f = { ...findingsFilter(req), ...(p.scope.level === 'city' ? {} : { district: undefined }) };
    if (f.school) {
      const school = await ctx.state.getSchool(f.school);
      if (!school || !covers(p.scope, school))
        return notFoundPage(req, reply, lang, tr(lang, { zh: '没有这所学校', en: 'No such school' }));
    }
    const now = ctx.now();
    const list = await listFindings(ctx, p.scope, f, now);
    // reading the findings is audited, as through the API
    await audit(
      ctx,
      req,
      'findings.read',
      f.school ?? scopeText(p.scope),
      `${list.findings.length} findings (console)`,
    );
    const titles = (rule: string) => {
      const t = ctx.baseline.rules[rule]?.title;
      return t ? tr(lang, t) : rule;
    };
    const mayAccept = allows(p.role, 'oncall');
    return send({
      title: L.title,
      section: 'findings',
      body: html`${filters(lang, list, f, p, titles)}
${counts(lang, list, f)}
${changesSection(lang, list.changes)}
<section class="card" aria-labelledby="list-h"><h2 id="list-h">${tr(lang, L.list)}</h2>${findingsTable(lang, list, mayAccept, now)}</section>`,
    });
  });
}
