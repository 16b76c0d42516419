import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AlertManager } from '../alerts/manager.js';
import { ALERT_RULES } from '../alerts/rules.js';
import type { CollectorContext } from '../context.js';
import { sendError } from '../errors.js';

/** Admin routes need the admin token (separate from agent tokens); without one configured they are off. */
export function adminAuth(ctx: CollectorContext) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const expected = ctx.config.adminToken;
    if (!expected) {
      await sendError(reply, 403, 'the admin API is disabled: set adminToken in the collector config');
      return;
    }
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    const given = Buffer.from(m?.[1] ?? '');
    const want = Buffer.from(expected);
    if (given.length !== want.length || !timingSafeEqual(given, want)) {
      await sendError(reply, 401, 'admin token required');
      return;
    }
  };
}

const DURATION = /^(\d+)(m|h|d)$/;

/** "90m", "2h", "7d" → milliseconds; undefined when malformed. */
export function parseDuration(s: string): number | undefined {
  const m = DURATION.exec(s);
  if (!m) return undefined;
  return Number(m[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'm' | 'h' | 'd'];
}

/** GET /api/v1/alerts; silences: GET/POST /api/v1/silences, DELETE /api/v1/silences/:id (expire). */
export function alertRoutes(app: FastifyInstance, ctx: CollectorContext, alerts: AlertManager): void {
  app.get<{ Querystring: { state?: 'pending' | 'firing' | 'resolved'; school?: string } }>(
    '/api/v1/alerts',
    {
      schema: {
        querystring: Type.Object(
          {
            state: Type.Optional(Type.Enum(['pending', 'firing', 'resolved'])),
            school: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req) => ({
      alerts: await alerts.alerts({
        ...(req.query.state ? { state: req.query.state } : {}),
        ...(req.query.school ? { schoolId: req.query.school } : {}),
      }),
    }),
  );

  const admin = adminAuth(ctx);
  app.get('/api/v1/silences', { onRequest: admin }, async () => ({
    silences: await alerts.silences(ctx.now()),
  }));
  app.post<{
    Body: {
      school?: string;
      rule?: string;
      fingerprint?: string;
      duration: string;
      reason: string;
      createdBy?: string;
    };
  }>(
    '/api/v1/silences',
    {
      onRequest: admin,
      schema: {
        body: Type.Object(
          {
            school: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
            rule: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
            fingerprint: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
            duration: Type.String({ pattern: '^\\d+(m|h|d)$', description: 'e.g. 90m, 2h, 7d' }),
            reason: Type.String({ minLength: 3, maxLength: 500 }),
            createdBy: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req, reply) => {
      const b = req.body;
      if (!b.school && !b.rule && !b.fingerprint)
        return sendError(reply, 400, 'body: give at least one of school, rule, fingerprint');
      if (b.rule !== undefined && !(ALERT_RULES as readonly string[]).includes(b.rule))
        return sendError(
          reply,
          400,
          `body/rule: unknown alert rule ${JSON.stringify(b.rule)}; one of ${ALERT_RULES.join(', ')}`,
        );
      if (b.school && !(await ctx.state.getSchool(b.school)))
        return sendError(reply, 400, `body/school: unknown school ${JSON.stringify(b.school)}`);
      const now = ctx.now();
      const ms = parseDuration(b.duration)!;
      if (ms > 90 * 86_400_000) return sendError(reply, 400, 'body/duration: at most 90d');
      const silence = await alerts.addSilence({
        schoolId: b.school ?? null,
        rule: b.rule ?? null,
        fingerprint: b.fingerprint ?? null,
        startsAt: now.toISOString(),
        endsAt: new Date(now.getTime() + ms).toISOString(),
        reason: b.reason,
        createdBy: b.createdBy ?? 'api',
      });
      return reply.code(201).send(silence);
    },
  );
  app.delete<{ Params: { id: string } }>('/api/v1/silences/:id', { onRequest: admin }, async (req, reply) => {
    const id = Number(req.params.id);
    if (!Number.isInteger(id) || !(await alerts.expireSilence(id, ctx.now())))
      return sendError(reply, 404, 'no such active silence');
    return reply.code(204).send();
  });
}
