/**
 * Access control in one place: every route declares `config.access`; a route without one
 * fails the build of the app. Callers are a session cookie (people, the web pages), a `cwt1.` API token
 * (people's scripts, Grafana, Prometheus) or the configured admin token; agents keep their own tokens.
 * A state-changing request made with a session cookie must echo its CSRF token and come from our origin.
 */

import { timingSafeEqual } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CollectorContext } from '../context.js';
import { sendError } from '../errors.js';
import type { TokenRecord } from '../store/access-store.js';
import { type Access, allows, CITY, type Principal } from './model.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route (access/plugin.ts). */
    access?: Access;
    /** A console page: a caller who is not signed in is sent to the sign-in page instead of a 401. */
    page?: boolean;
  }
  interface FastifyRequest {
    principal?: Principal;
  }
}

export const SESSION_COOKIE = 'cw_session';
/** A wall display's token, as its browser keeps it (set by opening /wall?token=…); display tokens only. */
export const DISPLAY_COOKIE = 'cw_display';
/** The query parameter a wall display's address carries its token in, once (`/wall?token=cwt1.…`). */
export const DISPLAY_TOKEN_PARAM = 'token';
export const CSRF_HEADER = 'x-csrf-token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Refuses, when the app is built, any route that does not say who may call it; lists the routes declared. */
export function requireAccessDeclarations(
  app: FastifyInstance,
  routes: { method: string; url: string; access: Access; page?: true }[] = [],
) {
  app.addHook('onRoute', (route) => {
    const access = route.config?.access;
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (!access) {
      throw new Error(
        `route ${methods.join(',')} ${route.url} declares no access: set config.access ('public', 'agent', 'read', 'oncall', 'admin' or 'display')`,
      );
    }
    const page = route.config?.page === true ? { page: true as const } : {};
    for (const method of methods)
      if (method !== 'HEAD') routes.push({ method, url: route.url, access, ...page });
  });
  return routes;
}

/** The principal an API token acts as: its account's (if any), its role and scope. */
function tokenPrincipal(t: TokenRecord): Principal {
  return {
    kind: 'token',
    name: `token:${t.name}`,
    accountId: t.accountId,
    tokenId: t.id,
    role: t.role,
    scope: t.scope,
  };
}

function bearer(req: FastifyRequest): string | undefined {
  return /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
}

const sameText = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

/** The caller of a request, or undefined. Expired sessions are deleted on sight. */
export async function principalOf(
  ctx: Pick<CollectorContext, 'state' | 'config' | 'now'>,
  req: FastifyRequest,
): Promise<Principal | undefined> {
  const now = ctx.now();
  const token = bearer(req);
  if (token !== undefined) {
    const admin = ctx.config.adminToken;
    if (admin && sameText(token, admin))
      return {
        kind: 'token',
        name: 'token:config-admin',
        accountId: null,
        tokenId: null,
        role: 'admin',
        scope: CITY,
      };
    const t = await ctx.state.access.authenticateToken(token, now);
    if (!t) return undefined;
    if (t.accountId) {
      // a person's token acts for its account while the account is enabled
      const a = await ctx.state.access.account(t.accountId);
      if (!a || a.disabled) return undefined;
    }
    return tokenPrincipal(t);
  }
  const cookie = req.cookies?.[SESSION_COOKIE];
  if (!cookie) {
    const display = req.cookies?.[DISPLAY_COOKIE];
    if (!display) return undefined;
    // a browser's cookie carries only a display token: any other token stays in Authorization headers
    const t = await ctx.state.access.authenticateToken(display, now);
    if (t?.role !== 'display') return undefined;
    return tokenPrincipal(t);
  }
  const s = await ctx.state.access.session(cookie);
  if (!s) return undefined;
  const { sessionIdleMinutes, sessionMaxHours } = ctx.config.access;
  const t = now.getTime();
  if (
    t - Date.parse(s.lastSeenAt) > sessionIdleMinutes * 60_000 ||
    t - Date.parse(s.createdAt) > sessionMaxHours * 3_600_000
  ) {
    await ctx.state.access.deleteSession(cookie);
    return undefined;
  }
  const a = await ctx.state.access.account(s.accountId);
  if (!a || a.disabled) return undefined;
  // the idle clock restarts at most once a minute (a write per request would be wasted)
  if (t - Date.parse(s.lastSeenAt) > 60_000) await ctx.state.access.touchSession(cookie, now);
  return {
    kind: 'session',
    name: `account:${a.name}`,
    accountId: a.id,
    tokenId: null,
    role: a.role,
    scope: a.scope,
    csrf: s.csrf,
  };
}

/** Is the request's Origin (when a browser sent one) the collector's own? */
function sameOrigin(req: FastifyRequest): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    const o = new URL(origin);
    // the Host header through the same URL parser (a default port is dropped by both)
    return o.host === new URL(`${o.protocol}//${req.headers.host}`).host;
  } catch {
    return false;
  }
}

/** Cookie parsing and setting (sessions), loaded before any route. */
export async function registerCookies(app: FastifyInstance): Promise<void> {
  await app.register(fastifyCookie);
}

/**
 * The token a GET of a display page carries in its address (`/wall?token=cwt1.…`), if any. Such a request
 * reaches the page without a principal: the page checks the token itself (a display token: it becomes the
 * browser's DISPLAY_COOKIE and the browser is sent on without it; anything else: 403).
 */
export function offeredDisplayToken(req: FastifyRequest): string | undefined {
  const config = req.routeOptions.config;
  if (config?.access !== 'display' || config.page !== true || req.method !== 'GET') return undefined;
  const v = (req.query as Record<string, unknown> | undefined)?.[DISPLAY_TOKEN_PARAM];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/** The onRequest hook that enforces each route's declaration. */
export function enforceAccess(app: FastifyInstance, ctx: Pick<CollectorContext, 'state' | 'config' | 'now'>) {
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const access = req.routeOptions.config?.access;
    // no route matched (404 handler), or the route checks its caller itself
    if (access === undefined || access === 'public' || access === 'agent') return;
    // a wall display being set up: its page checks the token in the address (offeredDisplayToken)
    if (offeredDisplayToken(req) !== undefined) return;
    const principal = await principalOf(ctx, req);
    if (!principal) {
      if (req.routeOptions.config?.page && req.method === 'GET')
        return reply.redirect(`/login?next=${encodeURIComponent(req.url)}`, 303);
      reply.header('www-authenticate', 'Bearer realm="campuswatch"');
      return sendError(
        reply,
        401,
        'sign in (session cookie) or send an API token (Authorization: Bearer cwt1.…)',
      );
    }
    if (principal.kind === 'session' && !SAFE_METHODS.has(req.method)) {
      const given = req.headers[CSRF_HEADER];
      if (
        !sameOrigin(req) ||
        typeof given !== 'string' ||
        !principal.csrf ||
        !sameText(given, principal.csrf)
      )
        return sendError(
          reply,
          403,
          `a change made with a session needs the ${CSRF_HEADER} header of that session and our own Origin`,
        );
    }
    if (!allows(principal.role, access)) {
      return sendError(
        reply,
        403,
        principal.role === 'display'
          ? 'a display token opens the wall display only'
          : access === 'admin'
            ? 'only a city administrator may do this'
            : 'this needs an on-call or administrator role',
      );
    }
    req.principal = principal;
  });
}
