/**
 * 大屏: the wall display of a monitoring centre, at /wall (1920×1080, readable across a room, no navigation).
 * Rendered here from the wall model, then kept current in place by /assets/wall.js, which polls
 * GET /api/v1/wall every `console.wallRefreshS` seconds and writes text into the same elements (no reload).
 * A display token (role display) opens it: `/wall?token=cwt1.…` once sets the browser's display cookie and
 * sends it on to /wall, so the token leaves the address bar.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Scope } from '../access/model.js';
import { DISPLAY_COOKIE, DISPLAY_TOKEN_PARAM, offeredDisplayToken } from '../access/plugin.js';
import type { Severity } from '../baseline.js';
import type { CollectorContext } from '../context.js';
import { TARGETS } from '../evaluate/targets/registry.js';
import { type Html, html, query } from './html.js';
import { type Lang, num, tr, W, type Words } from './i18n.js';
import type { OverviewFilter, RankedSchool } from './overview-model.js';
import { overviewFilter, pageRoute } from './routes.js';
import { type Wall, type WallAlert, type WallKpi, wall } from './wall-model.js';

const L = {
  title: { zh: '校园网络监测大屏', en: 'School network monitor' },
  city: { zh: '全市', en: 'City' },
  kpis: { zh: '各项指标达标率', en: 'Schools meeting each target' },
  schoolsIn: { zh: '所学校', en: 'schools' },
  lagging: { zh: '差距最大的学校', en: 'Schools furthest from the targets' },
  alerts: { zh: '正在告警', en: 'Alerts firing now' },
  agentsOnline: { zh: '探针在线', en: 'Agents online' },
  alertCount: { zh: '告警', en: 'Alerts' },
  updated: { zh: '更新于', en: 'Updated' },
  stale: { zh: '连接中断，数据未更新', en: 'Connection lost: not updated' },
  refused: { zh: '显示令牌已失效', en: 'Display token no longer valid' },
  goalMet: { zh: '达到目标', en: 'goal met' },
  goalNotMet: { zh: '未达目标', en: 'below goal' },
  noGoal: { zh: '无目标', en: 'no goal' },
  rank: { zh: '名次', en: '#' },
  metCol: { zh: '达标', en: 'Met' },
  notMetCol: { zh: '未达标指标', en: 'Targets not met' },
  noDataCol: { zh: '未监测', en: 'Unmon.' },
  noAlerts: { zh: '当前没有告警', en: 'No alert is firing' },
  noLagging: { zh: '所有学校均已达标', en: 'Every school meets every target' },
  moreSchools: { zh: '另有 {n} 所学校未全部达标', en: '{n} more schools below the targets' },
  moreAlerts: { zh: '另有 {n} 条告警', en: '{n} more alerts' },
  since: { zh: '起', en: 'since' },
  badToken: {
    zh: '这个地址中的令牌不是有效的大屏显示令牌（或已被吊销）。请向管理员索取大屏令牌：campuswatch-collector token add --role display …',
    en: 'The token in this address is not a valid wall display token (or it was revoked). Ask an administrator for a display token: campuswatch-collector token add --role display …',
  },
} as const satisfies Record<string, Words>;

const SEVERITIES: readonly Severity[] = ['critical', 'high', 'medium', 'low', 'info'];
/** The wall reads Beijing time (the schools' time zone). */
const TZ = 'Asia/Shanghai';
const TARGET_COUNT = TARGETS.length;

/** `HH:MM:SS` or `MM-DD HH:MM` in a time zone (wall.js formats the same way). */
function timeIn(iso: string, withSeconds: boolean): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  const p = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', {
      timeZone: TZ,
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(d)
      .map((x) => [x.type, x.value]),
  );
  return withSeconds ? `${p.hour}:${p.minute}:${p.second}` : `${p.month}-${p.day} ${p.hour}:${p.minute}`;
}

const pct = (lang: Lang, v: number | null) => (v === null ? '—' : `${num(lang, v, 1)}%`);

/** What the screen is about: the filter within the scope, else the scope. */
function scopeLabel(lang: Lang, scope: Scope, f: OverviewFilter): string {
  const district = f.district ?? scope.district;
  const group = f.group ?? scope.group;
  if (scope.level === 'school') return scope.school ?? '';
  const parts = [district, group].filter((x): x is string => !!x);
  return parts.length ? parts.join(' · ') : tr(lang, L.city);
}

function kpiTile(lang: Lang, k: WallKpi): Html {
  const t = TARGETS.find((m) => m.name === k.target)!;
  const cls = k.goalMet === null ? 'no-goal' : k.goalMet ? 'goal-met' : 'goal-not-met';
  const verdict = k.goalMet === null ? L.noGoal : k.goalMet ? L.goalMet : L.goalNotMet;
  return html`<div class="wall-kpi ${cls}" data-target="${k.target}" data-label="${tr(lang, t.label)}"><h3>${tr(lang, t.label)}</h3>
<p class="wall-figure"><span class="wall-pct" data-field="pct">${pct(lang, k.pct)}</span> <span class="wall-verdict" data-field="verdict">${tr(lang, verdict)}</span></p>
<p class="wall-goal">${tr(lang, W.goal)} <span data-field="goalPct">${k.goalPct === null ? '—' : `${num(lang, k.goalPct, 1)}%`}</span> · ${tr(lang, W.met)} <span data-field="met">${k.met}</span>/<span data-field="schools">${k.schools}</span></p></div>`;
}

function targetLabels(lang: Lang, names: readonly string[]): string {
  return names
    .map((n) => tr(lang, TARGETS.find((t) => t.name === n)?.label ?? { zh: n, en: n }))
    .join(lang === 'zh' ? '、' : ', ');
}

/** A row of the lagging schools (also the template wall.js fills: the same markup). */
function laggingRow(lang: Lang, r: RankedSchool | undefined, rank: number): Html {
  return html`<tr data-school="${r?.id ?? ''}"><td class="num" data-field="rank">${r ? rank : ''}</td><th scope="row" data-field="name">${r?.name ?? ''}</th><td class="num"><span data-field="met">${r?.met ?? ''}</span>/${TARGET_COUNT}</td><td class="wall-notmet" data-field="notMet">${r ? targetLabels(lang, r.notMet) || '—' : ''}</td><td class="num" data-field="noData">${r?.noData.length ?? ''}</td></tr>`;
}

/** An alert firing (also the template wall.js fills). */
function alertItem(lang: Lang, a: WallAlert | undefined): Html {
  const sev = a?.severity ?? 'info';
  return html`<li class="wall-alert" data-alert="${a?.fingerprint ?? ''}" data-school="${a?.schoolId ?? ''}" data-severity="${sev}"><span class="state ${sev}" data-field="severity">${a ? tr(lang, W[sev]) : ''}</span> <span class="wall-alert-title" data-field="title">${a ? tr(lang, a.title) : ''}</span><span class="wall-alert-meta"><span data-field="school">${a?.schoolName ?? ''}</span> · <time data-field="firedAt" datetime="${a?.firedAt ?? ''}">${lang === 'en' ? `${tr(lang, L.since)} ` : ''}${a ? timeIn(a.firedAt, false) : ''}${lang === 'zh' ? ` ${tr(lang, L.since)}` : ''}</time></span></li>`;
}

const more = (lang: Lang, words: Words, n: number) =>
  n > 0 ? tr(lang, words).replace('{n}', String(n)) : '';

/** The words wall.js needs (in the page's language), as data attributes of one hidden element. */
function words(lang: Lang): Html {
  const w: Record<string, string> = {
    goalMet: tr(lang, L.goalMet),
    goalNotMet: tr(lang, L.goalNotMet),
    noGoal: tr(lang, L.noGoal),
    moreSchools: tr(lang, L.moreSchools),
    moreAlerts: tr(lang, L.moreAlerts),
    since: tr(lang, L.since),
    stale: tr(lang, L.stale),
    refused: tr(lang, L.refused),
  };
  for (const s of SEVERITIES) w[s] = tr(lang, W[s]);
  return html`<div id="wall-words" hidden ${Object.entries(w).map(
    ([k, v]) => html` data-${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}="${v}"`,
  )}></div>`;
}

export function wallDocument(lang: Lang, w: Wall, refreshS: number, api: string): string {
  const title = `${scopeLabel(lang, w.scope, w.filter)} · ${tr(lang, L.title)}`;
  const allOnline = w.agents.reporting === w.agents.total;
  return `<!doctype html>${html`<html lang="${lang === 'zh' ? 'zh-CN' : 'en'}" class="wall"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="dark"><title>${title} · campuswatch</title><link rel="stylesheet" href="/assets/console.css"><link rel="icon" href="/assets/favicon.svg" type="image/svg+xml"><script src="/assets/wall.js" defer></script></head>
<body class="wall" data-refresh="${refreshS}" data-api="${api}" data-lang="${lang}" data-tz="${TZ}">
<main id="main" class="wall-main">
<header class="wall-head"><h1>${title}</h1>
<p class="wall-stat ${allOnline ? 'ok' : 'warn'}" data-stat="agents"><span class="wall-stat-label">${tr(lang, L.agentsOnline)}</span> <span class="wall-stat-value"><span data-field="agentsReporting">${w.agents.reporting}</span>/<span data-field="agentsTotal">${w.agents.total}</span></span></p>
<p class="wall-stat ${w.alertsTotal > 0 ? 'bad' : 'ok'}" data-stat="alerts"><span class="wall-stat-label">${tr(lang, L.alertCount)}</span> <span class="wall-stat-value" data-field="alertsTotal">${w.alertsTotal}</span></p>
<p class="wall-stat wall-updated" data-stat="updated"><span class="wall-stat-label">${tr(lang, L.updated)}</span> <time class="wall-stat-value" data-field="generatedAt" datetime="${w.generatedAt}">${timeIn(w.generatedAt, true)}</time> <span class="wall-status" data-field="status" role="status"></span></p>
</header>
<section class="wall-kpis" aria-labelledby="wall-kpis-h"><h2 id="wall-kpis-h">${tr(lang, L.kpis)} <span class="wall-sub">(<span data-field="schools">${w.schools}</span> ${tr(lang, L.schoolsIn)})</span></h2>
<div class="wall-kpi-grid">${w.kpis.map((k) => kpiTile(lang, k))}</div></section>
<section class="wall-lagging" aria-labelledby="wall-lagging-h"><h2 id="wall-lagging-h">${tr(lang, L.lagging)}</h2>
<table><colgroup><col class="wall-c-rank"><col class="wall-c-name"><col class="wall-c-met"><col class="wall-c-notmet"><col class="wall-c-nodata"></colgroup><thead><tr><th scope="col" class="num">${tr(lang, L.rank)}</th><th scope="col">${tr(lang, W.school)}</th><th scope="col" class="num">${tr(lang, L.metCol)}</th><th scope="col">${tr(lang, L.notMetCol)}</th><th scope="col" class="num">${tr(lang, L.noDataCol)}</th></tr></thead>
<tbody id="wall-lagging">${w.lagging.map((r, i) => laggingRow(lang, r, i + 1))}</tbody></table>
<p class="wall-empty" data-field="laggingEmpty"${w.laggingTotal > 0 ? html` hidden` : ''}>${tr(lang, L.noLagging)}</p>
<p class="wall-more" data-field="laggingMore">${more(lang, L.moreSchools, w.laggingTotal - w.lagging.length)}</p></section>
<section class="wall-alerts" aria-labelledby="wall-alerts-h"><h2 id="wall-alerts-h">${tr(lang, L.alerts)}</h2>
<ul id="wall-alerts">${w.alerts.map((a) => alertItem(lang, a))}</ul>
<p class="wall-empty" data-field="alertsEmpty"${w.alertsTotal > 0 ? html` hidden` : ''}>${tr(lang, L.noAlerts)}</p>
<p class="wall-more" data-field="alertsMore">${more(lang, L.moreAlerts, w.alertsTotal - w.alerts.length)}</p></section>
<template id="wall-lagging-row">${laggingRow(lang, undefined, 0)}</template>
<template id="wall-alert-item">${alertItem(lang, undefined)}</template>
${words(lang)}
</main></body></html>`}`;
}

/** `/wall` again, without the token (and with the rest of the query: language, filters). */
function withoutToken(req: FastifyRequest): string {
  const u = new URL(req.url, 'http://x');
  u.searchParams.delete(DISPLAY_TOKEN_PARAM);
  return `${u.pathname}${u.search}`;
}

export function wallPage(app: FastifyInstance, ctx: CollectorContext): void {
  app.get('/api/v1/wall', { config: { access: 'display' } }, async (req, reply) => {
    reply.header('cache-control', 'no-store');
    return wall(ctx, req.principal!.scope, overviewFilter(req));
  });

  pageRoute(
    app,
    '/wall',
    async ({ req, reply, lang, send }) => {
      const offered = offeredDisplayToken(req);
      if (offered !== undefined) {
        // setting up a wall: only a live display token becomes the browser's cookie (no other token does)
        const t = await ctx.state.access.authenticateToken(offered, ctx.now());
        if (t?.role !== 'display')
          return send(
            {
              title: W.forbidden,
              section: 'wall',
              body: html`<p class="empty">${tr(lang, L.badToken)}</p>`,
            },
            403,
          );
        reply.setCookie(DISPLAY_COOKIE, offered, {
          httpOnly: true,
          secure: Boolean(ctx.config.tls),
          // Lax, not Strict: the link is often opened from a chat message (another site), and the redirect
          // to /wall that follows must carry the cookie; the cookie opens only GETs of the wall anyway
          sameSite: 'lax',
          path: '/',
          maxAge: 365 * 86_400,
        });
        return reply.header('cache-control', 'no-store').redirect(withoutToken(req), 303);
      }
      const f = overviewFilter(req);
      const w = await wall(ctx, req.principal!.scope, f);
      return reply
        .code(200)
        .header('content-type', 'text/html; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(wallDocument(lang, w, ctx.config.console.wallRefreshS, `/api/v1/wall${query({ ...f })}`));
    },
    'display',
  );
}
