/**
 * The web console, served by the collector itself at `/`: server-rendered pages (no InfluxDB needed: the
 * state store holds what they show), one script and one style sheet of our own (no CDN), zh-CN by default.
 * Every page declares its access like any route; a visitor who is not signed in is sent to /login.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import helmet from '@fastify/helmet';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteShorthandOptions } from 'fastify';
import { PACKAGE_ROOT } from '../../../protocol/version.js';
import type { Access } from '../access/model.js';
import { principalOf } from '../access/plugin.js';
import type { CollectorContext } from '../context.js';
import { termsInScope } from '../routes/term-report.js';
import { html } from './html.js';
import { type Lang, langOf, tr, W } from './i18n.js';
import { homeOf, type PageOptions, sendPage } from './layout.js';
import { type OverviewFilter, overview } from './overview-model.js';
import { OVERVIEW_TITLE, overviewBody } from './overview-page.js';

/** The security headers of the pages: no inline script or style, nothing from another origin, no framing. */
export const CONSOLE_HELMET = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'"],
      imgSrc: ["'self'", 'data:'],
      fontSrc: ["'self'"],
      connectSrc: ["'self'"],
      objectSrc: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
    },
  },
  // plain-HTTP installs on a campus LAN are common: HSTS belongs to the TLS terminator that knows
  strictTransportSecurity: false,
  crossOriginEmbedderPolicy: false,
} as const;

/** Registered before any route (it hooks route creation); applies only where a route asks (`helmet:`). */
export async function registerConsoleSecurity(app: FastifyInstance): Promise<void> {
  await app.register(helmet, { global: false });
}

export const ASSETS_DIR = join(PACKAGE_ROOT, 'collector', 'console-assets');
const TYPES: Record<string, string> = {
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};
/** The assets the pages use, read once at start (a handful of small files). */
export const ASSET_NAMES = ['console.css', 'console.js', 'wall.js', 'favicon.svg'] as const;

function loadAssets(): Map<string, { body: Buffer; type: string; etag: string }> {
  const m = new Map<string, { body: Buffer; type: string; etag: string }>();
  for (const name of ASSET_NAMES) {
    let body: Buffer;
    try {
      body = readFileSync(join(ASSETS_DIR, name));
    } catch {
      continue; // not written yet (a page that needs it fails its own test)
    }
    const type = TYPES[name.slice(name.lastIndexOf('.'))] ?? 'application/octet-stream';
    m.set(name, {
      body,
      type,
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`,
    });
  }
  return m;
}

export interface PageContext {
  req: FastifyRequest;
  reply: FastifyReply;
  lang: Lang;
  /** The page's frame, with the caller, language and URL filled in. */
  send: (o: Omit<PageOptions, 'lang' | 'principal' | 'url'>, status?: number) => FastifyReply;
}

/** A GET page: declared access (default read), console headers, the sign-in redirect, language and frame. */
export function pageRoute(
  app: FastifyInstance,
  url: string,
  handler: (p: PageContext) => Promise<FastifyReply | string> | FastifyReply,
  access: Access = 'read',
): void {
  const opts: RouteShorthandOptions = { config: { access, page: true }, helmet: CONSOLE_HELMET };
  app.get(url, opts, async (req, reply) => {
    const lang = langOf(req, reply);
    return handler({
      req,
      reply,
      lang,
      send: (o, status) => sendPage(reply, { ...o, lang, principal: req.principal, url: req.url }, status),
    });
  });
}

/** A query parameter as a non-empty string, else undefined (pages are lenient with what URLs carry). */
export function param(req: FastifyRequest, name: string): string | undefined {
  const v = (req.query as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' && v !== '' && v.length <= 200 ? v : undefined;
}

/** The overview's filters from the URL; below the city the scope's own district (and group) always apply. */
export function overviewFilter(req: FastifyRequest): OverviewFilter {
  const area = param(req, 'area');
  const stage = param(req, 'stage');
  const scope = req.principal?.scope;
  const below = scope !== undefined && scope.level !== 'city';
  return {
    district: below ? scope.district : param(req, 'district'),
    group: scope?.level === 'group' ? scope.group : param(req, 'group'),
    area: area === 'urban' || area === 'rural' ? area : undefined,
    stage:
      stage === 'primary' ||
      stage === 'junior' ||
      stage === 'senior' ||
      stage === 'nine-year' ||
      stage === 'twelve-year'
        ? stage
        : undefined,
  };
}

const LOGIN = {
  title: { zh: '登录 campuswatch', en: 'Sign in to campuswatch' },
  name: { zh: '账号', en: 'Account' },
  password: { zh: '密码', en: 'Password' },
  intro: {
    zh: '校园网络监测：各校达标情况、设备状态、安全问题与告警。',
    en: 'School network monitoring: compliance, devices, security findings and alerts.',
  },
} as const;

/** Registers the console: assets, sign-in, start page, overview; the other pages register through `pages`. */
export function consoleRoutes(
  app: FastifyInstance,
  ctx: CollectorContext,
  pages: ((app: FastifyInstance, ctx: CollectorContext) => void)[] = [],
): void {
  const assets = loadAssets();
  app.get<{ Params: { name: string } }>(
    '/assets/:name',
    { config: { access: 'public' }, helmet: CONSOLE_HELMET },
    async (req, reply) => {
      const a = assets.get(req.params.name);
      if (!a) return reply.code(404).type('text/plain; charset=utf-8').send('no such asset');
      reply.header('etag', a.etag).header('cache-control', 'no-cache').type(a.type);
      if (req.headers['if-none-match'] === a.etag) return reply.code(304).send();
      return reply.send(a.body);
    },
  );

  app.get('/', { config: { access: 'public' }, helmet: CONSOLE_HELMET }, async (req, reply) => {
    const p = await principalOf(ctx, req);
    if (!p) return reply.redirect('/login', 303);
    return reply.redirect(p.role === 'display' ? '/wall' : homeOf(p), 303);
  });

  app.get('/login', { config: { access: 'public' }, helmet: CONSOLE_HELMET }, async (req, reply) => {
    const lang = langOf(req, reply);
    const p = await principalOf(ctx, req);
    if (p && p.kind === 'session') return reply.redirect(homeOf(p), 303);
    return sendPage(reply, {
      lang,
      title: LOGIN.title,
      section: 'login',
      url: req.url,
      body: html`<div class="login"><p class="muted">${tr(lang, LOGIN.intro)}</p><form class="stack" data-api="/api/v1/login" data-then="next" method="post" action="/login">
<label>${tr(lang, LOGIN.name)}<input name="name" autocomplete="username" required maxlength="100"></label>
<label>${tr(lang, LOGIN.password)}<input name="password" type="password" autocomplete="current-password" required maxlength="1024"></label>
<button type="submit">${tr(lang, W.login)}</button></form></div>`,
    });
  });

  app.get('/api/v1/overview', { config: { access: 'read' } }, async (req) => {
    const f = overviewFilter(req);
    return overview(ctx, req.principal!.scope, f);
  });

  pageRoute(app, '/overview', async ({ req, send, lang }) => {
    const p = req.principal!;
    const f = overviewFilter(req);
    const o = await overview(ctx, p.scope, f);
    const where = [f.district, f.group].filter(Boolean).join(' · ');
    return send({
      title: where ? `${tr(lang, OVERVIEW_TITLE)} · ${where}` : OVERVIEW_TITLE,
      section: 'overview',
      body: overviewBody(
        lang,
        o,
        f,
        p.scope.level,
        ctx.now(),
        param(req, 'rows') === 'all',
        await termsInScope(ctx, p.scope),
      ),
    });
  });

  for (const register of pages) register(app, ctx);
}
