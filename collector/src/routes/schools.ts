import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { protectionLevelOf } from '../baseline.js';
import { schoolCompliance, summariseCompliance } from '../compliance/school-view.js';
import type { CollectorContext } from '../context.js';
import { sendError } from '../errors.js';
import { agentStatus } from '../evaluate/agent-status.js';
import { roomAlertCandidates } from '../evaluate/availability.js';
import { clockFindings } from '../evaluate/clock.js';
import { tierOf } from '../evaluate/compliance.js';

/** GET /api/v1/schools and /api/v1/schools/:id: the registry, latest results and compliance. */
export function schoolRoutes(app: FastifyInstance, ctx: CollectorContext): void {
  app.get('/api/v1/schools', async () => {
    const [schools, allAgents] = await Promise.all([ctx.state.listSchools(), ctx.state.listAgents()]);
    const agentsOf = new Map<string, typeof allAgents>();
    for (const a of allAgents) agentsOf.set(a.schoolId, [...(agentsOf.get(a.schoolId) ?? []), a]);
    const now = ctx.now();
    const compliance = await Promise.all(
      schools.map((s) => schoolCompliance(ctx.state, ctx.targets, s, now)),
    );
    return {
      schools: schools.map((s, i) => {
        const agents = agentsOf.get(s.id) ?? [];
        const status = agents.map((a) => agentStatus(a, now, ctx.config.alerts.agentSilentS).status);
        const lastSeen = agents
          .map((a) => a.lastSeenAt)
          .filter((t): t is string => t !== null)
          .sort()
          .at(-1);
        return {
          ...s,
          tier: tierOf(s, ctx.targets),
          agents: agents.length,
          // by status (evaluate/agent-status.ts): enrolled and never reported (a failed install?), silent
          agentsNeverReported: status.filter((x) => x === 'never_reported').length,
          agentsSilent: status.filter((x) => x === 'silent').length,
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
      const level = protectionLevelOf(school, ctx.baseline);
      const [agents, latest, roomsDown, compliance] = await Promise.all([
        ctx.state.listAgents(school.id),
        ctx.state.latestResults(school.id),
        ctx.state.roomsDown(school.id),
        schoolCompliance(ctx.state, ctx.targets, school, ctx.now()),
      ]);
      const now = ctx.now();
      return {
        // tier and 等级保护级别 as evaluated (the school's own or the default)
        school: { ...school, tier: tierOf(school, ctx.targets), protectionLevel: level },
        agents: agents.map((a) => ({
          id: a.id,
          hostname: a.hostname,
          version: a.version,
          enrolledAt: a.enrolledAt,
          lastSeenAt: a.lastSeenAt,
          // `never_reported` / `reporting` / `silent`, with the thresholds of the alert rules
          status: agentStatus(a, now, ctx.config.alerts.agentSilentS).status,
          clockOffsetS: a.clockOffsetMs === null ? null : a.clockOffsetMs / 1000,
          clockSynchronised:
            a.clockOffsetMs === null ? null : Math.abs(a.clockOffsetMs) <= ctx.config.clock.maxOffsetS * 1000,
        })),
        latest,
        findingCandidates: clockFindings(agents, ctx.config.clock.maxOffsetS * 1000, level),
        alertCandidates: roomAlertCandidates(roomsDown, ctx.now(), ctx.targets),
        compliance,
      };
    },
  );
}
