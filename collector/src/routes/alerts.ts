import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { School } from '../../../protocol/school.js';
import { audit } from '../access/audit.js';
import { covers, type Scope } from '../access/model.js';
import type { AlertManager, AlertRow, Silence } from '../alerts/manager.js';
import { ALERT_RULES, isAlertRule } from '../alerts/rules.js';
import type { CollectorContext } from '../context.js';
import { sendError } from '../errors.js';
import { PageQuery, paged } from '../paging.js';

const DURATION = /^(\d+)(m|h|d)$/;

/** "90m", "2h", "7d" → milliseconds; undefined when malformed. */
export function parseDuration(s: string): number | undefined {
  const m = DURATION.exec(s);
  if (!m) return undefined;
  return Number(m[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'm' | 'h' | 'd'];
}

/** The schools a principal's scope covers, by id (for filtering lists); archived ones keep their history. */
export async function schoolsInScope(ctx: CollectorContext, scope: Scope): Promise<Map<string, School>> {
  return new Map(
    (await ctx.state.listSchools({ includeArchived: true }))
      .filter((s) => covers(scope, s))
      .map((s) => [s.id, s]),
  );
}

/** What an acknowledgement's silence says before the reason given (`acknowledged: 机房断电，已派人`). */
export const ACK_PREFIX = 'acknowledged: ';

/** Is this silence an acknowledgement of one alert (POST /api/v1/alerts/:fingerprint/ack)? */
export function isAcknowledgement(s: Pick<Silence, 'fingerprint' | 'reason'>): boolean {
  return s.fingerprint !== null && s.reason.startsWith(ACK_PREFIX);
}

/** The alerts of the schools in scope (GET /api/v1/alerts and the console's alerts page). */
export async function alertsInScope(
  alerts: AlertManager,
  inScope: ReadonlyMap<string, unknown>,
  filter: { state?: AlertRow['state'] | undefined; school?: string | undefined } = {},
): Promise<AlertRow[]> {
  return (
    await alerts.alerts({
      ...(filter.state ? { state: filter.state } : {}),
      ...(filter.school ? { schoolId: filter.school } : {}),
    })
  ).filter((a) => inScope.has(a.schoolId));
}

/**
 * The active silences a scope sees (GET /api/v1/silences and the console): those of its schools; one of
 * all schools only at the city level.
 */
export async function silencesInScope(
  ctx: CollectorContext,
  alerts: AlertManager,
  scope: Scope,
  inScope: ReadonlyMap<string, unknown>,
): Promise<Silence[]> {
  return (await alerts.silences(ctx.now())).filter((s) =>
    s.schoolId === null ? scope.level === 'city' : inScope.has(s.schoolId),
  );
}

/**
 * GET /api/v1/alerts (scoped); POST /api/v1/alerts/:fingerprint/ack (on-call: quiets its reminders);
 * silences: GET/POST /api/v1/silences, DELETE /api/v1/silences/:id (expire). An on-call account acts
 * within its scope; a silence without a school (all schools) is a city administrator's.
 */
export function alertRoutes(app: FastifyInstance, ctx: CollectorContext, alerts: AlertManager): void {
  app.get<{
    Querystring: {
      state?: 'pending' | 'firing' | 'resolved';
      school?: string;
      limit?: number;
      offset?: number;
    };
  }>(
    '/api/v1/alerts',
    {
      schema: {
        querystring: Type.Object(
          {
            state: Type.Optional(Type.Enum(['pending', 'firing', 'resolved'])),
            school: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
            ...PageQuery,
          },
          { additionalProperties: false },
        ),
      },
      config: { access: 'read' },
    },
    async (req) => {
      const inScope = await schoolsInScope(ctx, req.principal!.scope);
      const { items, page } = paged(await alertsInScope(alerts, inScope, req.query), req.query, req.url);
      return page ? { alerts: items, page } : { alerts: items };
    },
  );

  app.post<{ Params: { fingerprint: string }; Body: { reason: string; duration?: string } }>(
    '/api/v1/alerts/:fingerprint/ack',
    {
      schema: {
        params: Type.Object({ fingerprint: Type.String({ minLength: 1, maxLength: 500 }) }),
        body: Type.Object(
          {
            reason: Type.String({ minLength: 3, maxLength: 500 }),
            duration: Type.Optional(
              Type.String({ pattern: '^\\d+(m|h|d)$', description: 'e.g. 4h (default 24h)' }),
            ),
          },
          { additionalProperties: false },
        ),
      },
      config: { access: 'oncall' },
    },
    async (req, reply) => {
      const inScope = await schoolsInScope(ctx, req.principal!.scope);
      const alert = (await alerts.alerts()).find(
        (a) => a.fingerprint === req.params.fingerprint && a.state !== 'resolved' && inScope.has(a.schoolId),
      );
      if (!alert) return sendError(reply, 404, 'no such open alert');
      const now = ctx.now();
      const ms = parseDuration(req.body.duration ?? '24h');
      if (ms === undefined || ms > 7 * 86_400_000) return sendError(reply, 400, 'body/duration: at most 7d');
      // acknowledged: someone is on it; its reminders stop until then (a silence of this alert alone)
      const silence = await alerts.addSilence({
        schoolId: alert.schoolId,
        rule: null,
        fingerprint: alert.fingerprint,
        startsAt: now.toISOString(),
        endsAt: new Date(now.getTime() + ms).toISOString(),
        reason: `${ACK_PREFIX}${req.body.reason}`,
        createdBy: req.principal!.name,
      });
      await audit(ctx, req, 'alert.ack', alert.fingerprint, req.body.reason);
      return reply.code(201).send(silence);
    },
  );

  app.get('/api/v1/silences', { config: { access: 'read' } }, async (req) => {
    const scope = req.principal!.scope;
    const inScope = await schoolsInScope(ctx, scope);
    return { silences: await silencesInScope(ctx, alerts, scope, inScope) };
  });
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
      config: { access: 'oncall' },
    },
    async (req, reply) => {
      const b = req.body;
      const scope = req.principal!.scope;
      if (!b.school && !b.rule && !b.fingerprint)
        return sendError(reply, 400, 'body: give at least one of school, rule, fingerprint');
      if (b.rule !== undefined && !isAlertRule(b.rule))
        return sendError(
          reply,
          400,
          `body/rule: unknown alert rule ${JSON.stringify(b.rule)}; one of ${ALERT_RULES.join(', ')}`,
        );
      const inScope = await schoolsInScope(ctx, scope);
      if (b.school && !inScope.has(b.school))
        return sendError(reply, 400, `body/school: unknown school ${JSON.stringify(b.school)}`);
      // below the city, a silence names a school of the scope: it cannot reach other schools' alerts
      if (!b.school && scope.level !== 'city')
        return sendError(
          reply,
          400,
          'body/school: required: a silence of your scope names one of its schools',
        );
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
        createdBy: req.principal!.name,
      });
      await audit(
        ctx,
        req,
        'silence.add',
        `${silence.id}`,
        `${b.school ?? '*'} ${b.rule ?? '*'} for ${b.duration}: ${b.reason}`,
      );
      return reply.code(201).send(silence);
    },
  );
  app.delete<{ Params: { id: string } }>(
    '/api/v1/silences/:id',
    { config: { access: 'oncall' } },
    async (req, reply) => {
      const id = Number(req.params.id);
      const scope = req.principal!.scope;
      const inScope = await schoolsInScope(ctx, scope);
      const silence = (await alerts.silences(ctx.now())).find((s) => s.id === id);
      const mine =
        silence && (silence.schoolId === null ? scope.level === 'city' : inScope.has(silence.schoolId));
      if (!mine || !(await alerts.expireSilence(id, ctx.now())))
        return sendError(reply, 404, 'no such active silence');
      await audit(ctx, req, 'silence.expire', `${id}`);
      return reply.code(204).send();
    },
  );
}
