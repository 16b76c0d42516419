import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { audit } from '../access/audit.js';
import { covers } from '../access/model.js';
import type { CollectorContext } from '../context.js';
import { sendError } from '../errors.js';
import { activeAt, checkWindow, WEEKDAYS, type WeeklyRecurrence } from '../evaluate/maintenance.js';

const Weekly = Type.Object(
  {
    days: Type.Array(Type.Enum([...WEEKDAYS]), { minItems: 1, maxItems: 7 }),
    start: Type.String({ pattern: '^([01]\\d|2[0-3]):[0-5]\\d$', description: 'HH:MM, school-local' }),
    end: Type.String({ pattern: '^(([01]\\d|2[0-3]):[0-5]\\d|24:00)$', description: 'HH:MM, school-local' }),
  },
  { additionalProperties: false },
);

interface WindowBody {
  school: string;
  room?: string;
  device?: string;
  reason: string;
  startsAt?: string;
  endsAt?: string;
  weekly?: WeeklyRecurrence;
  createdBy?: string;
}

/**
 * Maintenance windows (planned work is not an outage), in the caller's scope (on-call to change them):
 * GET /api/v1/maintenance[?school=&all=true], POST /api/v1/maintenance, POST /api/v1/maintenance/:id/end.
 */
export function maintenanceRoutes(app: FastifyInstance, ctx: CollectorContext): void {
  app.get<{ Querystring: { school?: string; all?: boolean } }>(
    '/api/v1/maintenance',
    {
      config: { access: 'read' },
      schema: {
        querystring: Type.Object(
          {
            school: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
            all: Type.Optional(Type.Boolean({ description: 'also the windows that have ended' })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req) => {
      const now = ctx.now();
      const [windows, schools] = await Promise.all([
        ctx.state.maintenanceWindows({
          ...(req.query.school ? { schoolId: req.query.school } : {}),
          ...(req.query.all ? {} : { endingAfter: now }),
        }),
        ctx.state.listSchools({ includeArchived: true }), // archived schools keep their history
      ]);
      const scope = req.principal!.scope;
      const zone = new Map(schools.filter((s) => covers(scope, s)).map((s) => [s.id, s.timezone]));
      return {
        maintenance: windows
          .filter((w) => zone.has(w.schoolId))
          .map((w) => ({
            ...w,
            active: activeAt(w, now, zone.get(w.schoolId) ?? 'Asia/Shanghai'),
          })),
      };
    },
  );

  app.post<{ Body: WindowBody }>(
    '/api/v1/maintenance',
    {
      config: { access: 'oncall' },
      schema: {
        body: Type.Object(
          {
            school: Type.String({ minLength: 1, maxLength: 64 }),
            room: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            device: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            reason: Type.String({ minLength: 3, maxLength: 500 }),
            startsAt: Type.Optional(Type.String({ description: 'ISO time with its zone; default now' })),
            endsAt: Type.Optional(Type.String({ description: 'ISO time with its zone' })),
            weekly: Type.Optional(Weekly),
            createdBy: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req, reply) => {
      const b = req.body;
      const now = ctx.now();
      const school = await ctx.state.getSchool(b.school);
      if (!school || !covers(req.principal!.scope, school))
        return sendError(reply, 400, `body/school: unknown school ${JSON.stringify(b.school)}`);
      const checked = checkWindow(b, now);
      if (!checked.ok)
        return sendError(reply, 400, checked.problems.map((p) => `body/${p.field}: ${p.message}`).join('; '));
      const window = await ctx.state.addMaintenance({
        schoolId: school.id,
        ...(b.room !== undefined ? { room: b.room } : {}),
        ...(b.device !== undefined ? { device: b.device } : {}),
        reason: checked.reason,
        startsAt: checked.startsAt,
        endsAt: checked.endsAt,
        ...(checked.weekly ? { weekly: checked.weekly } : {}),
        createdBy: req.principal!.name,
        createdAt: now.toISOString(),
      });
      await audit(
        ctx,
        req,
        'maintenance.add',
        `${window.id}`,
        `${school.id} ${b.room ?? ''} ${b.device ?? ''}: ${checked.reason}`,
      );
      return reply.code(201).send({ ...window, active: activeAt(window, now, school.timezone) });
    },
  );

  app.post<{ Params: { id: string } }>(
    '/api/v1/maintenance/:id/end',
    { config: { access: 'oncall' } },
    async (req, reply) => {
      const id = Number(req.params.id);
      const scope = req.principal!.scope;
      const inScope = new Set(
        (await ctx.state.listSchools({ includeArchived: true }))
          .filter((s) => covers(scope, s))
          .map((s) => s.id),
      );
      const window = Number.isSafeInteger(id)
        ? (await ctx.state.maintenanceWindows({})).find((w) => w.id === id)
        : undefined;
      if (!window || !inScope.has(window.schoolId) || !(await ctx.state.endMaintenance(id, ctx.now())))
        return sendError(
          reply,
          404,
          `no maintenance window ${JSON.stringify(req.params.id)} that has not ended`,
        );
      await audit(ctx, req, 'maintenance.end', `${id}`);
      return reply.code(204).send();
    },
  );
}
