/**
 * 终端: every agent of the caller's scope by school — name and hostname, version, enrolment, last report,
 * status, clock offset — filtered by district and status, with the counts by status at the top. The
 * agents are those of GET /api/v1/agents (`agentsInScope`, shown through `agentView`), so the counts equal
 * the API's for the same scope. A city administrator revokes an agent here (a checkbox confirms it; the
 * form posts to POST /api/v1/agents/:id/revoke); nobody else gets the form.
 */
import type { FastifyInstance } from 'fastify';
import type { Principal } from '../access/model.js';
import type { CollectorContext } from '../context.js';
import { type AgentView, agentView, type FleetAgentStatus } from '../fleet.js';
import { agentsInScope } from '../routes/fleet.js';
import type { AgentRecord, SchoolRecord } from '../store/state-store.js';
import { type Html, html, query, scrollBox } from './html.js';
import { ago, type Lang, localDateTime, num, tr, W, type Words } from './i18n.js';
import { pageRoute, param } from './routes.js';

const L = {
  title: { zh: '终端', en: 'Agents' },
  total: { zh: '终端总数', en: 'Agents' },
  revoked: { zh: '已吊销', en: 'revoked' },
  allStatuses: { zh: '全部状态', en: 'all statuses' },
  agent: { zh: '终端', en: 'Agent' },
  version: { zh: '版本', en: 'Version' },
  enrolled: { zh: '注册时间', en: 'Enrolled' },
  lastSeen: { zh: '最后上报', en: 'Last report' },
  clock: { zh: '时钟偏差', en: 'Clock offset' },
  clockOff: { zh: '未同步', en: 'not synchronised' },
  actions: { zh: '操作', en: 'Actions' },
  revoke: { zh: '吊销', en: 'Revoke' },
  revokeSubmit: { zh: '吊销此终端', en: 'Revoke this agent' },
  revokeHelp: {
    zh: '吊销后此终端的令牌立即失效（下次请求即被拒绝），不再计入学校的终端与告警；如需恢复须重新注册。',
    en: 'Its token is refused from its next request; it no longer counts for the school or its alerts. To bring it back, enrol it again.',
  },
  revokeConfirm: { zh: '我确认吊销', en: 'I confirm revoking' },
  revokedAt: { zh: '吊销于', en: 'revoked' },
  never: { zh: '从未', en: 'never' },
  none: { zh: '没有符合条件的终端。', en: 'No agents match.' },
  shown: { zh: '显示', en: 'Showing' },
  of: { zh: '共', en: 'of' },
  showAll: { zh: '显示全部', en: 'Show all' },
} as const satisfies Record<string, Words>;

export const FLEET_STATUSES = ['reporting', 'silent', 'never_reported', 'revoked'] as const;

/** Rows shown unless `?rows=all` (a city has a thousand schools or more). */
export const FLEET_ROWS_SHOWN = 200;

const STATUS_WORDS: Record<FleetAgentStatus, Words> = {
  reporting: W.reporting,
  silent: W.silent,
  never_reported: W.never_reported,
  revoked: L.revoked,
};
/** The pill of each status (console.css has no pill of its own for revoked: the grey one). */
const STATUS_PILL: Record<FleetAgentStatus, string> = {
  reporting: 'reporting',
  silent: 'silent',
  never_reported: 'never_reported',
  revoked: 'unknown',
};

export interface FleetFilter {
  /** Only at the city level (below it the scope is the district). */
  district?: string | undefined;
  status?: FleetAgentStatus | undefined;
}

export interface FleetRow {
  agent: AgentView;
  school: SchoolRecord;
  clockOffsetMs: number | null;
}

export interface FleetView {
  /** Agents by status in the scope (and district filter), as GET /api/v1/agents counts them. */
  counts: Record<FleetAgentStatus | 'total', number>;
  /** The agents of the filter, by district, school and agent. */
  rows: FleetRow[];
  /** The districts of the scope (the filter's choices). */
  districts: string[];
}

/** The fleet of a scope: the agents of GET /api/v1/agents with their schools and clock offsets. */
export async function fleetView(ctx: CollectorContext, p: Principal, f: FleetFilter): Promise<FleetView> {
  const { schools, agents } = await agentsInScope(ctx, p.scope);
  const byId = new Map(schools.map((s) => [s.id, s]));
  const now = ctx.now();
  const counts: FleetView['counts'] = { total: 0, reporting: 0, silent: 0, never_reported: 0, revoked: 0 };
  const rows: FleetRow[] = [];
  const inDistrict = (s: SchoolRecord) => f.district === undefined || s.district === f.district;
  for (const a of agents as AgentRecord[]) {
    const school = byId.get(a.schoolId)!;
    if (!inDistrict(school)) continue;
    const view = agentView(a, now, ctx.config.alerts.agentSilentS);
    counts.total++;
    counts[view.status]++;
    if (f.status === undefined || view.status === f.status)
      rows.push({ agent: view, school, clockOffsetMs: a.clockOffsetMs });
  }
  const key = (r: FleetRow) => [r.school.district ?? '', r.school.name, r.agent.name ?? r.agent.hostname];
  rows.sort((x, y) => {
    const a = key(x);
    const b = key(y);
    for (let i = 0; i < a.length; i++) {
      const c = a[i]!.localeCompare(b[i]!, 'zh-CN');
      if (c !== 0) return c;
    }
    return x.agent.id < y.agent.id ? -1 : 1;
  });
  const districts = [...new Set(schools.flatMap((s) => (s.district ? [s.district] : [])))].sort((a, b) =>
    a.localeCompare(b, 'zh-CN'),
  );
  return { counts, rows, districts };
}

const opt = (value: string, label: string, selected: boolean): Html =>
  html`<option value="${value}"${selected ? html` selected` : ''}>${label}</option>`;

function filters(lang: Lang, v: FleetView, f: FleetFilter, city: boolean): Html {
  return html`<form class="filters" method="get" action="/fleet">
${city ? html`<label>${tr(lang, W.district)}<select name="district">${opt('', tr(lang, W.all), f.district === undefined)}${v.districts.map((d) => opt(d, d, d === f.district))}</select></label>` : ''}
<label>${tr(lang, W.state)}<select name="status">${opt('', tr(lang, L.allStatuses), f.status === undefined)}${FLEET_STATUSES.map((s) => opt(s, tr(lang, STATUS_WORDS[s]), s === f.status))}</select></label>
<button type="submit">${tr(lang, W.filter)}</button></form>`;
}

function counts(lang: Lang, v: FleetView, f: FleetFilter): Html {
  const card = (field: FleetAgentStatus | 'total', words: Words) =>
    html`<div class="kpi"${f.status === field ? html` aria-current="true"` : ''}><h3>${
      field === 'total'
        ? tr(lang, words)
        : html`<span class="state ${STATUS_PILL[field]}">${tr(lang, words)}</span>`
    }</h3><a class="pct" data-field="${field}" href="/fleet${query({ district: f.district, status: field === 'total' ? undefined : field })}">${num(lang, v.counts[field])}</a></div>`;
  return html`<div class="kpis" id="fleet-counts">${card('total', L.total)}${FLEET_STATUSES.map((s) => card(s, STATUS_WORDS[s]))}</div>`;
}

/** `+1.2 s` / `−0.4 s`, marked when beyond the collector's clock threshold. */
function clockCell(lang: Lang, ms: number | null, maxOffsetS: number): Html {
  if (ms === null) return html`<td class="num" data-field="clock">—</td>`;
  const s = ms / 1000;
  const text = `${s > 0 ? '+' : s < 0 ? '−' : ''}${num(lang, Math.abs(s), 1)} s`;
  return html`<td class="num" data-field="clock" data-ms="${ms}">${text}${
    Math.abs(s) > maxOffsetS ? html` <span class="state not_met">${tr(lang, L.clockOff)}</span>` : ''
  }</td>`;
}

function revokeForm(lang: Lang, a: AgentView): Html {
  const label = a.name ?? a.hostname;
  return html`<details class="act"><summary>${tr(lang, L.revoke)}</summary><form class="stack" data-api="/api/v1/agents/${encodeURIComponent(a.id)}/revoke" data-method="POST" data-form="revoke"><p class="muted">${tr(lang, L.revokeHelp)}</p>
<label class="check"><input type="checkbox" required> <span>${tr(lang, L.revokeConfirm)} ${label} (${a.id})</span></label>
<button type="submit">${tr(lang, L.revokeSubmit)}</button></form></details>`;
}

function table(lang: Lang, rows: FleetRow[], admin: boolean, now: Date, maxOffsetS: number): Html {
  return scrollBox(
    tr(lang, L.title),
    html`<table class="fleet-table" data-table="agents" aria-labelledby="agents-h"><thead><tr><th scope="col">${tr(lang, W.school)}</th><th scope="col">${tr(lang, W.state)}</th><th scope="col" class="wide-only">${tr(lang, W.district)}</th><th scope="col">${tr(lang, L.agent)}</th><th scope="col">${tr(lang, L.lastSeen)}</th><th scope="col" class="wide-only">${tr(lang, L.version)}</th><th scope="col" class="wide-only">${tr(lang, L.enrolled)}</th><th scope="col" class="num">${tr(lang, L.clock)}</th>${admin ? html`<th scope="col">${tr(lang, L.actions)}</th>` : ''}</tr></thead><tbody>${rows.map(
      ({ agent: a, school, clockOffsetMs }) => {
        const tz = school.timezone;
        return html`<tr data-agent="${a.id}" data-school="${a.schoolId}" data-status="${a.status}"><td><a href="/schools/${encodeURIComponent(a.schoolId)}">${school.name}</a></td><td><span class="state ${STATUS_PILL[a.status]}" data-field="status">${tr(lang, STATUS_WORDS[a.status])}</span>${a.revokedAt ? html`<br><span class="muted">${tr(lang, L.revokedAt)} ${localDateTime(a.revokedAt, tz)}</span>` : ''}</td><td class="wide-only">${school.district ?? '—'}</td><td><span data-field="name">${a.name ?? a.hostname}</span>${a.name ? html`<br><span class="muted">${a.hostname}</span>` : ''}</td><td class="nowrap">${a.lastSeenAt ? html`<time datetime="${a.lastSeenAt}" title="${localDateTime(a.lastSeenAt, tz)}">${ago(lang, a.lastSeenAt, now)}</time>` : tr(lang, L.never)}</td><td class="wide-only">${a.version}</td><td class="wide-only nowrap"><time datetime="${a.enrolledAt}">${localDateTime(a.enrolledAt, tz)}</time></td>${clockCell(lang, clockOffsetMs, maxOffsetS)}${admin ? html`<td>${a.status === 'revoked' ? '' : revokeForm(lang, a)}</td>` : ''}</tr>`;
      },
    )}</tbody></table>`,
  );
}

export function fleetPage(app: FastifyInstance, ctx: CollectorContext): void {
  pageRoute(app, '/fleet', async ({ req, lang, send }) => {
    const p = req.principal!;
    const city = p.scope.level === 'city';
    const status = param(req, 'status');
    const f: FleetFilter = {
      district: city ? param(req, 'district') : undefined,
      status: (FLEET_STATUSES as readonly string[]).includes(status ?? '')
        ? (status as FleetAgentStatus)
        : undefined,
    };
    const v = await fleetView(ctx, p, f);
    // revoking is a city administrator's act here (the API also lets on-call accounts of the scope)
    const admin = p.role === 'admin';
    const showAll = param(req, 'rows') === 'all';
    const rows = showAll ? v.rows : v.rows.slice(0, FLEET_ROWS_SHOWN);
    return send({
      title: f.district ? `${tr(lang, L.title)} · ${f.district}` : L.title,
      section: 'fleet',
      body: html`${filters(lang, v, f, city)}${counts(lang, v, f)}
<section class="card" aria-labelledby="agents-h"><h2 id="agents-h">${tr(lang, L.title)} <span class="muted" data-field="shown">${v.rows.length}</span></h2>${
        v.rows.length
          ? html`${table(lang, rows, admin, ctx.now(), ctx.config.clock.maxOffsetS)}${
              rows.length < v.rows.length
                ? html`<p class="muted">${tr(lang, L.shown)} ${rows.length} / ${tr(lang, L.of)} ${v.rows.length} · <a href="/fleet${query({ ...f, rows: 'all' })}">${tr(lang, L.showAll)}</a></p>`
                : ''
            }`
          : html`<p class="empty">${tr(lang, L.none)}</p>`
      }</section>`,
    });
  });
}
