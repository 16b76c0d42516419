import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { CollectorContext } from '../context.js';
import { sendError } from '../errors.js';
import { roomAlertCandidates } from '../evaluate/availability.js';
import { clockFindings } from '../evaluate/clock.js';
import { tierOf } from '../evaluate/compliance.js';
import { schoolCompliance, summariseCompliance } from '../evaluate/school-view.js';

/** GET /api/v1/schools and /api/v1/schools/:id: the registry, latest results and compliance. */
export function schoolRoutes(app: FastifyInstance, ctx: CollectorContext): void {
  app.get('/api/v1/schools', async () => {
    const schools = ctx.state.listSchools();
    return {
      schools: schools.map((s) => {
        const agents = ctx.state.listAgents(s.id);
        const lastSeen = agents
          .map((a) => a.lastSeenAt)
          .filter((t): t is string => t !== null)
          .sort()
          .at(-1);
        return {
          ...s,
          tier: tierOf(s, ctx.targets),
          agents: agents.length,
          lastSeenAt: lastSeen ?? null,
          compliance: summariseCompliance(schoolCompliance(ctx.state, ctx.targets, s)),
        };
      }),
    };
  });

  app.get<{ Params: { id: string } }>(
    '/api/v1/schools/:id',
    { schema: { params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }) } },
    async (req, reply) => {
      const school = ctx.state.getSchool(req.params.id);
      if (!school) return sendError(reply, 404, `unknown school ${JSON.stringify(req.params.id)}`);
      return {
        school: { ...school, tier: tierOf(school, ctx.targets) },
        agents: ctx.state.listAgents(school.id).map((a) => ({
          id: a.id,
          hostname: a.hostname,
          version: a.version,
          enrolledAt: a.enrolledAt,
          lastSeenAt: a.lastSeenAt,
          clockOffsetS: a.clockOffsetMs === null ? null : a.clockOffsetMs / 1000,
          clockSynchronised:
            a.clockOffsetMs === null ? null : Math.abs(a.clockOffsetMs) <= ctx.config.clock.maxOffsetS * 1000,
        })),
        latest: ctx.state.latestResults(school.id),
        findingCandidates: clockFindings(ctx.state.listAgents(school.id), ctx.config.clock.maxOffsetS * 1000),
        alertCandidates: roomAlertCandidates(ctx.state.roomsDown(school.id), ctx.now(), ctx.targets),
        compliance: schoolCompliance(ctx.state, ctx.targets, school),
      };
    },
  );
}
