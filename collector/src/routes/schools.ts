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
    const [schools, allAgents] = await Promise.all([ctx.state.listSchools(), ctx.state.listAgents()]);
    const agentsOf = new Map<string, typeof allAgents>();
    for (const a of allAgents) agentsOf.set(a.schoolId, [...(agentsOf.get(a.schoolId) ?? []), a]);
    const compliance = await Promise.all(schools.map((s) => schoolCompliance(ctx.state, ctx.targets, s)));
    return {
      schools: schools.map((s, i) => {
        const agents = agentsOf.get(s.id) ?? [];
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
          compliance: summariseCompliance(compliance[i]!),
        };
      }),
    };
  });

  app.get<{ Params: { id: string } }>(
    '/api/v1/schools/:id',
    { schema: { params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }) } },
    async (req, reply) => {
      const school = await ctx.state.getSchool(req.params.id);
      if (!school) return sendError(reply, 404, `unknown school ${JSON.stringify(req.params.id)}`);
      const [agents, latest, roomsDown, compliance] = await Promise.all([
        ctx.state.listAgents(school.id),
        ctx.state.latestResults(school.id),
        ctx.state.roomsDown(school.id),
        schoolCompliance(ctx.state, ctx.targets, school),
      ]);
      return {
        school: { ...school, tier: tierOf(school, ctx.targets) },
        agents: agents.map((a) => ({
          id: a.id,
          hostname: a.hostname,
          version: a.version,
          enrolledAt: a.enrolledAt,
          lastSeenAt: a.lastSeenAt,
          clockOffsetS: a.clockOffsetMs === null ? null : a.clockOffsetMs / 1000,
          clockSynchronised:
            a.clockOffsetMs === null ? null : Math.abs(a.clockOffsetMs) <= ctx.config.clock.maxOffsetS * 1000,
        })),
        latest,
        findingCandidates: clockFindings(agents, ctx.config.clock.maxOffsetS * 1000),
        alertCandidates: roomAlertCandidates(roomsDown, ctx.now(), ctx.targets),
        compliance,
      };
    },
  );
}
