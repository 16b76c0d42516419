import type { FastifyInstance, FastifyReply } from 'fastify';
import { Type } from 'typebox';
import { audit } from '../access/audit.js';
import { scopeText } from '../access/model.js';
import { dummyHash, verifyPassword } from '../access/passwords.js';
import { CSRF_HEADER, SESSION_COOKIE } from '../access/plugin.js';
import { Backoff, refusedByBackoff } from '../access/throttle.js';
import type { CollectorContext } from '../context.js';
import { sendError, sendRetryLater } from '../errors.js';

/**
 * POST /api/v1/login (name, password → session cookie and its CSRF token), POST /api/v1/logout,
 * GET /api/v1/me. Failed logins back off per source address (in this collector) and lock the account
 * (in the shared store: every collector) after `access.lockAfterFailures`, for 1 min doubling to a day.
 */
export function sessionRoutes(app: FastifyInstance, ctx: CollectorContext): void {
  const byAddress = new Backoff({ baseMs: 1000, maxMs: 15 * 60_000, freeFailures: 5 });
  const secure = Boolean(ctx.config.tls);
  const setCookie = (reply: FastifyReply, value: string, maxAgeS: number) =>
    reply.setCookie(SESSION_COOKIE, value, {
      httpOnly: true,
      secure,
      sameSite: 'strict',
      path: '/',
      maxAge: maxAgeS,
    });

  app.post<{ Body: { name: string; password: string } }>(
    '/api/v1/login',
    {
      config: { access: 'public' },
      bodyLimit: 4096,
      schema: {
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 100 }),
            password: Type.String({ minLength: 1, maxLength: 1024 }),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req, reply) => {
      const now = ctx.now();
      const message = 'too many failed logins from this address; wait and retry';
      if (await refusedByBackoff(byAddress, req.ip, now.getTime(), reply, ctx.metrics, 'login', message))
        return reply;
      const account = await ctx.state.access.accountByName(req.body.name);
      if (account?.lockedUntil && Date.parse(account.lockedUntil) > now.getTime()) {
        ctx.metrics.throttle.inc({ what: 'login', decision: 'locked', by: 'account' });
        byAddress.failed(req.ip, now.getTime());
        await audit(
          ctx,
          req,
          'login.locked',
          req.body.name,
          `locked until ${account.lockedUntil}`,
          'anonymous',
        );
        const s = Math.ceil((Date.parse(account.lockedUntil) - now.getTime()) / 1000);
        return sendRetryLater(
          reply,
          429,
          s,
          'this account is locked after failed logins; wait or ask an administrator',
        );
      }
      ctx.metrics.throttle.inc({ what: 'login', decision: 'checked', by: 'none' });
      // the same work whether or not the account exists (no account enumeration by timing)
      const ok = await verifyPassword(req.body.password, account?.passwordHash ?? (await dummyHash()));
      if (!account || !ok || account.disabled) {
        byAddress.failed(req.ip, now.getTime());
        if (account) {
          const failures = account.failedLogins + 1;
          const over = failures - ctx.config.access.lockAfterFailures;
          await ctx.state.access.updateAccount(account.id, {
            failedLogins: failures,
            ...(over >= 0
              ? {
                  lockedUntil: new Date(
                    now.getTime() + Math.min(86_400_000, 60_000 * 2 ** over),
                  ).toISOString(),
                }
              : {}),
          });
        }
        await audit(
          ctx,
          req,
          'login.failed',
          req.body.name,
          account?.disabled ? 'account disabled' : '',
          'anonymous',
        );
        return sendError(reply, 401, 'wrong account name or password');
      }
      byAddress.succeeded(req.ip);
      await ctx.state.access.updateAccount(account.id, { failedLogins: 0, lockedUntil: null });
      const { cookie, csrf } = await ctx.state.access.createSession(account.id, now);
      setCookie(reply, cookie, ctx.config.access.sessionMaxHours * 3600);
      await audit(ctx, req, 'login', account.name, '', `account:${account.name}`);
      return {
        account: account.name,
        role: account.role,
        scope: account.scope,
        csrf,
        csrfHeader: CSRF_HEADER,
      };
    },
  );

  app.post('/api/v1/logout', { config: { access: 'read' } }, async (req, reply) => {
    const cookie = req.cookies[SESSION_COOKIE];
    if (cookie) await ctx.state.access.deleteSession(cookie);
    setCookie(reply, '', 0);
    await audit(ctx, req, 'logout', req.principal!.name);
    return reply.code(204).send();
  });

  app.get('/api/v1/me', { config: { access: 'read' } }, async (req) => {
    const p = req.principal!;
    return {
      name: p.name,
      kind: p.kind,
      role: p.role,
      scope: p.scope,
      scopeText: scopeText(p.scope),
      ...(p.csrf ? { csrf: p.csrf } : {}),
    };
  });

  app.get<{ Querystring: { since?: string; actor?: string; limit?: number } }>(
    '/api/v1/audit',
    {
      config: { access: 'admin' },
      schema: {
        querystring: Type.Object(
          {
            since: Type.Optional(
              Type.String({
                pattern: '^\\d{4}-\\d{2}-\\d{2}',
                maxLength: 40,
                description: 'ISO date or time',
              }),
            ),
            actor: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req) => ({ audit: await ctx.state.access.audit(req.query) }),
  );
}
