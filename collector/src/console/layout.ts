/** The frame of every console page: head, navigation by role and scope, language switch, sign-out. */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type Principal, scopeText } from '../access/model.js';
import { type Html, type HtmlValue, html } from './html.js';
import { type Lang, tr, W, type Words } from './i18n.js';

export type Section = 'overview' | 'school' | 'findings' | 'alerts' | 'fleet' | 'wall' | 'login';

export interface PageOptions {
  lang: Lang;
  title: Words | string;
  /** The navigation entry that is current. */
  section: Section;
  principal?: Principal | undefined;
  body: HtmlValue;
  /** The URL of this page (for the language switch, which keeps the query). */
  url: string;
}

const ROLE_WORDS: Record<string, Words> = {
  viewer: { zh: '查看', en: 'viewer' },
  oncall: { zh: '值班', en: 'on call' },
  admin: { zh: '管理员', en: 'administrator' },
  display: { zh: '大屏', en: 'display' },
};

/** Where a principal's console starts: its school, or the overview of its scope. */
export function homeOf(p: Principal): string {
  return p.scope.level === 'school' && p.scope.school
    ? `/schools/${encodeURIComponent(p.scope.school)}`
    : '/overview';
}

function nav(p: Principal, lang: Lang, current: Section): Html {
  const items: [Section, string, Words][] =
    p.scope.level === 'school' ? [['school', homeOf(p), W.school]] : [['overview', '/overview', W.overview]];
  items.push(
    ['findings', '/findings', W.findings],
    ['alerts', '/alerts', W.alerts],
    ['fleet', '/fleet', W.fleet],
  );
  if (p.scope.level !== 'school') items.push(['wall', '/wall', W.wall]);
  return html`<nav aria-label="${lang === 'zh' ? '主导航' : 'Main'}"><ul>${items.map(
    ([s, href, words]) =>
      html`<li><a href="${href}"${s === current ? html` aria-current="page"` : ''}>${tr(lang, words)}</a></li>`,
  )}</ul></nav>`;
}

/** The other language's link: this URL with `lang` switched. */
function langSwitch(url: string, lang: Lang): Html {
  const u = new URL(url, 'http://x');
  const other: Lang = lang === 'zh' ? 'en' : 'zh';
  u.searchParams.set('lang', other);
  return html`<a class="lang" href="${u.pathname}${u.search}" hreflang="${other === 'zh' ? 'zh-CN' : 'en'}" lang="${other === 'zh' ? 'zh-CN' : 'en'}">${other === 'zh' ? '中文' : 'English'}</a>`;
}

export function renderPage(o: PageOptions): string {
  const title = typeof o.title === 'string' ? o.title : tr(o.lang, o.title);
  const p = o.principal;
  const who = p
    ? html`<span class="who">${p.name.replace(/^account:/, '')} · ${tr(o.lang, ROLE_WORDS[p.role] ?? { zh: p.role, en: p.role })} · ${scopeText(p.scope)}</span>`
    : '';
  const signOut =
    p?.kind === 'session'
      ? html`<form class="signout" data-api="/api/v1/logout" data-then="/login"><button type="submit">${tr(o.lang, W.logout)}</button></form>`
      : '';
  return `<!doctype html>${html`<html lang="${o.lang === 'zh' ? 'zh-CN' : 'en'}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title} · campuswatch</title><link rel="stylesheet" href="/assets/console.css"><link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">${p?.csrf ? html`<meta name="csrf-token" content="${p.csrf}">` : ''}<script src="/assets/console.js" defer></script></head><body><header class="top"><a class="brand" href="/">campuswatch</a>${p ? nav(p, o.lang, o.section) : ''}<div class="account">${who}${langSwitch(o.url, o.lang)}${signOut}</div></header><main id="main"><h1>${title}</h1>${o.body}</main></body></html>`}`;
}

/** Sends a page (HTML, no caching: what it shows is the state now and the caller's). */
export function sendPage(reply: FastifyReply, o: PageOptions, status = 200): FastifyReply {
  return reply
    .code(status)
    .header('content-type', 'text/html; charset=utf-8')
    .header('cache-control', 'no-store')
    .send(renderPage(o));
}

/** A page's 404 (also for what exists outside the caller's scope: no existence leak). */
export function notFoundPage(
  req: FastifyRequest,
  reply: FastifyReply,
  lang: Lang,
  what: string,
): FastifyReply {
  return sendPage(
    reply,
    {
      lang,
      title: W.notFound,
      section: 'overview',
      principal: req.principal,
      url: req.url,
      body: html`<p class="empty">${what}</p><p><a href="${req.principal ? homeOf(req.principal) : '/'}">${tr(lang, { zh: '返回首页', en: 'Back to the start page' })}</a></p>`,
    },
    404,
  );
}
