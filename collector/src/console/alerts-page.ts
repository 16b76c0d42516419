/**
 * 告警: the alerts of the caller's scope by state (firing, pending, resolved), what each rule means, how
 * long each has lasted and whether someone acknowledged or silenced it; on-call accounts acknowledge an
 * alert and create and expire silences here, by picking a rule and a school from lists (an unknown rule
 * cannot be chosen). The rows are those of GET /api/v1/alerts (`alertsInScope`), the silences those of
 * GET /api/v1/silences (`silencesInScope`); the forms post to those APIs.
 */
import type { FastifyInstance } from 'fastify';
import type { School } from '../../../protocol/school.js';
import { allows, type Principal } from '../access/model.js';
import { type AlertRow, type Silence, silenceMutes } from '../alerts/manager.js';
import { ALERT_RULE_TEXT, ALERT_RULES, duration, isAlertRule } from '../alerts/rules.js';
import type { CollectorContext } from '../context.js';
import {
  ACK_PREFIX,
  alertsInScope,
  isAcknowledgement,
  schoolsInScope,
  silencesInScope,
} from '../routes/alerts.js';
import { type Html, html, query, scrollBox } from './html.js';
import { type Lang, localDateTime, tr, W, type Words } from './i18n.js';
import { notFoundPage } from './layout.js';
import { pageRoute, param } from './routes.js';

const L = {
  title: { zh: '告警', en: 'Alerts' },
  firing: { zh: '告警中', en: 'Firing' },
  pending: { zh: '待触发', en: 'Pending' },
  resolved: { zh: '已恢复', en: 'Resolved' },
  firingHelp: {
    zh: '已持续超过规则的等待时间，已通知值班人员。',
    en: 'Held longer than its rule waits; the people on call were notified.',
  },
  pendingHelp: {
    zh: '条件已出现，尚未达到规则的等待时间，暂不通知。',
    en: 'The condition holds but not yet for as long as its rule waits; nobody is notified yet.',
  },
  resolvedHelp: { zh: '条件已消失。', en: 'The condition no longer holds.' },
  allStates: { zh: '全部状态', en: 'all states' },
  allSchools: { zh: '全部学校', en: 'all schools' },
  allRules: { zh: '全部规则', en: 'all rules' },
  choose: { zh: '请选择', en: 'choose' },
  rule: { zh: '规则', en: 'Rule' },
  alert: { zh: '告警内容', en: 'Alert' },
  severity: { zh: '级别', en: 'Severity' },
  started: { zh: '开始', en: 'Started' },
  resolvedAt: { zh: '恢复', en: 'Resolved' },
  lasted: { zh: '持续', en: 'Lasted' },
  handling: { zh: '处理情况', en: 'Handling' },
  actions: { zh: '操作', en: 'Actions' },
  acknowledged: { zh: '已确认', en: 'acknowledged' },
  silenced: { zh: '已静默', en: 'silenced' },
  until: { zh: '至', en: 'until' },
  by: { zh: '操作人', en: 'by' },
  ack: { zh: '确认', en: 'Acknowledge' },
  ackSubmit: { zh: '确认告警', en: 'Acknowledge alert' },
  ackHelp: {
    zh: '确认表示已有人处理：在所选时长内不再重复提醒此告警。',
    en: 'Someone is on it: this alert’s reminders stop for the chosen time.',
  },
  reason: { zh: '原因', en: 'Reason' },
  reasonHint: { zh: '至少 3 个字，如：已派人到校处理', en: 'at least 3 characters, e.g. technician sent' },
  duration: { zh: '时长', en: 'For' },
  silences: { zh: '生效中的静默', en: 'Active silences' },
  newSilence: { zh: '新建静默', en: 'New silence' },
  silenceHelp: {
    zh: '静默期间不发送通知（告警本身照常记录）。选择规则和学校；至少选择其中一项。',
    en: 'No notifications while it lasts (the alerts themselves go on). Pick a rule and a school; at least one of them.',
  },
  silenceSubmit: { zh: '创建静默', en: 'Create silence' },
  expire: { zh: '结束', en: 'Expire' },
  expireLabel: { zh: '立即结束静默', en: 'Expire silence' },
  id: { zh: '编号', en: 'ID' },
  createdBy: { zh: '创建人', en: 'Created by' },
  none: { zh: '没有此状态的告警。', en: 'No alerts in this state.' },
  noSilences: { zh: '没有生效中的静默。', en: 'No active silences.' },
  shown: { zh: '显示', en: 'Showing' },
  of: { zh: '共', en: 'of' },
  showAll: { zh: '显示全部', en: 'Show all' },
  unknownSchool: { zh: '没有这所学校。', en: 'No such school.' },
  readOnly: {
    zh: '您的账号只能查看；确认告警与静默需要值班或管理员账号。',
    en: 'Your account can only read; acknowledging and silencing need an on-call or administrator account.',
  },
} as const satisfies Record<string, Words>;

const STATES = ['firing', 'pending', 'resolved'] as const;
type State = (typeof STATES)[number];

/** Rows shown per state unless `?rows=all` (resolved alerts pile up over a term). */
export const ALERT_ROWS_SHOWN = 200;

const ACK_DURATIONS = ['1h', '4h', '24h', '3d', '7d'] as const;
const SILENCE_DURATIONS = ['1h', '2h', '4h', '24h', '3d', '7d', '30d'] as const;
/** A duration of the lists above in words: `4h` → 4 小时 / 4 hours, `1d` → 1 天 / 1 day. */
function durationWords(d: string): Words {
  const n = Number(d.slice(0, -1));
  const days = d.endsWith('d');
  return { zh: `${n} ${days ? '天' : '小时'}`, en: `${n} ${days ? 'day' : 'hour'}${n === 1 ? '' : 's'}` };
}

/** A rule as people read it: its meaning, or its name when it is not one of ours (an old row). */
export function ruleWords(rule: string | null): Words {
  if (rule === null) return L.allRules;
  return isAlertRule(rule) ? ALERT_RULE_TEXT[rule] : { zh: rule, en: rule };
}

/** What an alert is about: its title, without the rule's words it starts with (shown above it). */
function about(lang: Lang, a: AlertRow): string {
  const title = tr(lang, a.item.title);
  const words = tr(lang, ruleWords(a.item.rule));
  for (const sep of ['：', ': '])
    if (title.startsWith(`${words}${sep}`)) return title.slice(words.length + sep.length);
  return title;
}

const SEVERITY_ORDER: Record<string, number> = { critical: 0, high: 1, medium: 2, low: 3, info: 4 };

export interface AlertsFilter {
  state?: State | undefined;
  school?: string | undefined;
}

interface AlertsView {
  schools: Map<string, School>;
  alerts: AlertRow[];
  /** The active silences the scope sees (listed, expirable). */
  silences: Silence[];
  /** Every active silence (an alert muted by a city-wide one shows as silenced below the city too). */
  allActive: Silence[];
}

async function alertsView(ctx: CollectorContext, p: Principal, f: AlertsFilter): Promise<AlertsView> {
  const schools = await schoolsInScope(ctx, p.scope);
  const alerts = ctx.alerts;
  const [rows, silences, allActive] = await Promise.all([
    alertsInScope(alerts, schools, f),
    silencesInScope(ctx, alerts, p.scope, schools),
    alerts.silences(ctx.now()),
  ]);
  return { schools, alerts: rows, silences, allActive };
}

const opt = (value: string, label: string, selected: boolean): Html =>
  html`<option value="${value}"${selected ? html` selected` : ''}>${label}</option>`;

function sortedSchools(schools: Map<string, School>): School[] {
  return [...schools.values()]
    .filter((s) => !(s as { archivedAt?: string }).archivedAt)
    .sort((a, b) => a.name.localeCompare(b.name, 'zh-CN'));
}

function filters(lang: Lang, v: AlertsView, f: AlertsFilter): Html {
  return html`<form class="filters" method="get" action="/alerts">
<label>${tr(lang, W.state)}<select name="state">${opt('', tr(lang, L.allStates), f.state === undefined)}${STATES.map((s) => opt(s, tr(lang, L[s]), s === f.state))}</select></label>
<label>${tr(lang, W.school)}<select name="school">${opt('', tr(lang, L.allSchools), f.school === undefined)}${[
    ...v.schools.values(),
  ]
    .sort((a, b) => a.name.localeCompare(b.name, 'zh-CN'))
    .map((s) => opt(s.id, s.name, s.id === f.school))}</select></label>
<button type="submit">${tr(lang, W.filter)}</button></form>`;
}

function handling(lang: Lang, a: AlertRow, v: AlertsView, tz: string): Html {
  if (a.state === 'resolved') return html`—`;
  const ack = v.allActive.find((s) => s.fingerprint === a.fingerprint && isAcknowledgement(s));
  if (ack)
    return html`<span data-field="acknowledged" data-silence="${ack.id}">${tr(lang, L.acknowledged)}</span> <span class="muted">${ack.createdBy.replace(/^account:/, '')} · ${tr(lang, L.until)} ${localDateTime(ack.endsAt, tz)}<br>${ack.reason.slice(ACK_PREFIX.length)}</span>`;
  const muted = v.allActive.find((s) => silenceMutes(s, a));
  if (muted)
    return html`<span data-field="silenced" data-silence="${muted.id}">${tr(lang, L.silenced)}</span> <span class="muted">${tr(lang, L.until)} ${localDateTime(muted.endsAt, tz)}</span>`;
  return html`—`;
}

function durationSelect(lang: Lang, options: readonly string[], selected: string): Html {
  return html`<select name="duration">${options.map((d) => opt(d, tr(lang, durationWords(d)), d === selected))}</select>`;
}

function ackForm(lang: Lang, a: AlertRow): Html {
  return html`<details class="act"><summary>${tr(lang, L.ack)}</summary><form class="stack" data-api="/api/v1/alerts/${encodeURIComponent(a.fingerprint)}/ack" data-method="POST" data-form="ack"><p class="muted">${tr(lang, L.ackHelp)}</p>
<label>${tr(lang, L.reason)}<input name="reason" required minlength="3" maxlength="500" placeholder="${tr(lang, L.reasonHint)}"></label>
<label>${tr(lang, L.duration)}${durationSelect(lang, ACK_DURATIONS, '24h')}</label>
<button type="submit">${tr(lang, L.ackSubmit)}</button></form></details>`;
}

function alertTable(
  lang: Lang,
  state: State,
  rows: AlertRow[],
  v: AlertsView,
  canAct: boolean,
  now: Date,
): Html {
  const acting = canAct && state !== 'resolved';
  return scrollBox(
    tr(lang, L[state]),
    html`<table class="alerts-table" data-table="alerts-${state}" aria-labelledby="alerts-${state}-h"><thead><tr><th scope="col">${tr(lang, W.school)}</th><th scope="col">${tr(lang, L.alert)}</th><th scope="col">${tr(lang, L.severity)}</th><th scope="col" class="wide-only">${tr(lang, L.started)}</th>${state === 'resolved' ? html`<th scope="col">${tr(lang, L.resolvedAt)}</th>` : ''}<th scope="col" class="num">${tr(lang, L.lasted)}</th>${state === 'resolved' ? '' : html`<th scope="col">${tr(lang, L.handling)}</th>`}${acting ? html`<th scope="col">${tr(lang, L.actions)}</th>` : ''}</tr></thead><tbody>${rows.map(
      (a) => {
        const school = v.schools.get(a.schoolId);
        const tz = school?.timezone ?? 'Asia/Shanghai';
        const end = a.resolvedAt ? Date.parse(a.resolvedAt) : now.getTime();
        const lasted = duration(Math.max(0, (end - Date.parse(a.since)) / 1000));
        const sev = a.item.severity;
        return html`<tr data-alert="${a.fingerprint}" data-state="${a.state}" data-school="${a.schoolId}" data-rule="${a.item.rule}"><td><a href="/schools/${encodeURIComponent(a.schoolId)}">${school?.name ?? a.schoolId}</a></td><td><strong data-field="rule">${tr(lang, ruleWords(a.item.rule))}</strong><br><span class="muted">${about(lang, a)}</span></td><td><span class="state ${sev}">${tr(lang, W[sev])}</span></td><td class="wide-only nowrap"><time datetime="${a.since}">${localDateTime(a.since, tz)}</time></td>${state === 'resolved' ? html`<td class="nowrap"><time datetime="${a.resolvedAt ?? ''}">${localDateTime(a.resolvedAt, tz)}</time></td>` : ''}<td class="num">${tr(lang, lasted)}</td>${state === 'resolved' ? '' : html`<td>${handling(lang, a, v, tz)}</td>`}${acting ? html`<td>${v.allActive.some((s) => s.fingerprint === a.fingerprint && isAcknowledgement(s)) ? '' : ackForm(lang, a)}</td>` : ''}</tr>`;
      },
    )}</tbody></table>`,
  );
}

function stateSection(
  lang: Lang,
  state: State,
  v: AlertsView,
  f: AlertsFilter,
  canAct: boolean,
  now: Date,
  showAll: boolean,
): Html {
  const all = v.alerts
    .filter((a) => a.state === state)
    .sort((a, b) =>
      state === 'resolved'
        ? (b.resolvedAt ?? '').localeCompare(a.resolvedAt ?? '')
        : (SEVERITY_ORDER[a.item.severity] ?? 9) - (SEVERITY_ORDER[b.item.severity] ?? 9) ||
          a.since.localeCompare(b.since),
    );
  const rows = showAll ? all : all.slice(0, ALERT_ROWS_SHOWN);
  const more =
    rows.length < all.length
      ? html`<p class="muted">${tr(lang, L.shown)} ${rows.length} / ${tr(lang, L.of)} ${all.length} · <a href="/alerts${query({ ...f, rows: 'all' })}">${tr(lang, L.showAll)}</a></p>`
      : '';
  return html`<section class="card" aria-labelledby="alerts-${state}-h" data-section="${state}"><h2 id="alerts-${state}-h"><span class="state ${state}">${tr(lang, L[state])}</span> <span data-field="count">${all.length}</span></h2><p class="muted">${tr(lang, L[`${state}Help`])}</p>${all.length ? html`${alertTable(lang, state, rows, v, canAct, now)}${more}` : html`<p class="empty">${tr(lang, L.none)}</p>`}</section>`;
}

function silenceForm(lang: Lang, v: AlertsView, p: Principal): Html {
  const city = p.scope.level === 'city';
  return html`<section class="card" aria-labelledby="silence-new-h"><h2 id="silence-new-h">${tr(lang, L.newSilence)}</h2><p class="muted">${tr(lang, L.silenceHelp)}</p><form class="stack" id="silence-form" data-api="/api/v1/silences" data-method="POST" data-form="silence">
<label>${tr(lang, L.rule)}<select name="rule">${opt('', tr(lang, L.allRules), true)}${ALERT_RULES.map((r) => opt(r, `${tr(lang, ALERT_RULE_TEXT[r])} (${r})`, false))}</select></label>
<label>${tr(lang, W.school)}<select name="school"${city ? '' : html` required`}>${opt('', tr(lang, city ? L.allSchools : L.choose), true)}${sortedSchools(v.schools).map((s) => opt(s.id, s.name, false))}</select></label>
<label>${tr(lang, L.duration)}${durationSelect(lang, SILENCE_DURATIONS, '2h')}</label>
<label>${tr(lang, L.reason)}<input name="reason" required minlength="3" maxlength="500" placeholder="${tr(lang, L.reasonHint)}"></label>
<button type="submit">${tr(lang, L.silenceSubmit)}</button></form></section>`;
}

function silencesSection(lang: Lang, v: AlertsView, canAct: boolean): Html {
  const alertOf = (fp: string | null) =>
    fp === null ? undefined : v.alerts.find((x) => x.fingerprint === fp);
  /** The alert a silence names, or all of its school and rule. */
  const title = (fp: string | null) => {
    if (fp === null) return tr(lang, W.all);
    const a = alertOf(fp);
    return a ? tr(lang, a.item.title) : fp;
  };
  /** An acknowledgement reads as one, in the page's language; the reason as it was given. */
  const reason = (s: Silence) =>
    isAcknowledgement(s)
      ? html`<strong>${tr(lang, L.acknowledged)}</strong>${lang === 'zh' ? '：' : ': '}${s.reason.slice(ACK_PREFIX.length)}`
      : s.reason;
  const rows = [...v.silences].sort((a, b) => a.endsAt.localeCompare(b.endsAt));
  return html`<section class="card" aria-labelledby="silences-h"><h2 id="silences-h">${tr(lang, L.silences)} <span data-field="silences">${rows.length}</span></h2>${
    rows.length
      ? scrollBox(
          tr(lang, L.silences),
          html`<table class="alerts-table" data-table="silences" aria-labelledby="silences-h"><thead><tr><th scope="col" class="num wide-only">${tr(lang, L.id)}</th><th scope="col">${tr(lang, W.school)}</th><th scope="col">${tr(lang, L.rule)}</th><th scope="col" class="wide-only">${tr(lang, L.alert)}</th><th scope="col">${tr(lang, L.until)}</th><th scope="col" class="wide-only">${tr(lang, L.createdBy)}</th><th scope="col">${tr(lang, L.reason)}</th>${canAct ? html`<th scope="col">${tr(lang, L.actions)}</th>` : ''}</tr></thead><tbody>${rows.map(
            (s) => {
              const school = s.schoolId === null ? undefined : v.schools.get(s.schoolId);
              return html`<tr data-silence="${s.id}" data-school="${s.schoolId ?? ''}" data-rule="${s.rule ?? ''}"><td class="num wide-only">${s.id}</td><td>${s.schoolId === null ? tr(lang, L.allSchools) : html`<a href="/schools/${encodeURIComponent(s.schoolId)}">${school?.name ?? s.schoolId}</a>`}</td><td data-field="rule">${tr(lang, ruleWords(s.rule ?? alertOf(s.fingerprint)?.item.rule ?? null))}</td><td class="wide-only">${title(s.fingerprint)}</td><td class="nowrap"><time datetime="${s.endsAt}">${localDateTime(s.endsAt, school?.timezone)}</time></td><td class="nowrap wide-only">${s.createdBy.replace(/^account:/, '')}</td><td>${reason(s)}</td>${canAct ? html`<td class="nowrap"><form class="inline" data-api="/api/v1/silences/${s.id}" data-method="DELETE" data-form="expire"><button type="submit" class="secondary" aria-label="${tr(lang, L.expireLabel)} ${s.id}">${tr(lang, L.expire)}</button></form></td>` : ''}</tr>`;
            },
          )}</tbody></table>`,
        )
      : html`<p class="empty">${tr(lang, L.noSilences)}</p>`
  }</section>`;
}

export function alertsPage(app: FastifyInstance, ctx: CollectorContext): void {
  pageRoute(app, '/alerts', async ({ req, reply, lang, send }) => {
    const p = req.principal!;
    const state = param(req, 'state');
    const f: AlertsFilter = {
      state: (STATES as readonly string[]).includes(state ?? '') ? (state as State) : undefined,
      school: param(req, 'school'),
    };
    const v = await alertsView(ctx, p, f);
    if (f.school !== undefined && !v.schools.has(f.school))
      return notFoundPage(req, reply, lang, tr(lang, L.unknownSchool));
    const canAct = allows(p.role, 'oncall');
    const now = ctx.now();
    const showAll = param(req, 'rows') === 'all';
    const shown = f.state ? [f.state] : STATES;
    const schoolName = f.school ? v.schools.get(f.school)?.name : undefined;
    return send({
      title: schoolName ? `${tr(lang, L.title)} · ${schoolName}` : L.title,
      section: 'alerts',
      body: html`${filters(lang, v, f)}
${shown.map((s) => stateSection(lang, s, v, f, canAct, now, showAll))}
${silencesSection(lang, v, canAct)}
${canAct ? silenceForm(lang, v, p) : html`<p class="muted">${tr(lang, L.readOnly)}</p>`}`,
    });
  });
}
