import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { covers } from '../access/model.js';
import { protectionLevelOf } from '../baseline.js';
import { schoolCompliance, summariseCompliance } from '../compliance/school-view.js';
import type { CollectorContext } from '../context.js';
import { sendError } from '../errors.js';
import { agentStatus } from '../evaluate/agent-status.js';
import { roomAlertCandidates } from '../evaluate/availability.js';
import { clockFindings } from '../evaluate/clock.js';
import { tierOf } from '../evaluate/compliance.js';
import { activeAt, inMaintenance } from '../evaluate/maintenance.js';
import { roomsOf } from '../evaluate/targets/rooms.js';

/** GET /api/v1/schools and /api/v1/schools/:id: the registry, latest results and compliance. */
export function schoolRoutes(app: FastifyInstance, ctx: CollectorContext): void {
  app.get<{ Querystring: { all?: boolean } }>(
    '/api/v1/schools',
    {
      config: { access: 'read' },
      schema: {
        querystring: Type.Object(
          { all: Type.Optional(Type.Boolean({ description: 'also the archived schools (archivedAt)' })) },
          { additionalProperties: false },
        ),
      },
    },
    async (req) => {
      const scope = req.principal!.scope;
      const [all, allAgents] = await Promise.all([
        ctx.state.listSchools({ includeArchived: req.query.all === true }),
        ctx.state.listAgents(),
      ]);
      const schools = all.filter((s) => covers(scope, s));
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
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/schools/:id',
    {
      schema: { params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }) },
      config: { access: 'read' },
    },
    async (req, reply) => {
      const school = await ctx.state.getSchool(req.params.id);
      // outside the caller's scope a school does not exist (no existence leak)
      if (!school || !covers(req.principal!.scope, school))
        return sendError(reply, 404, `unknown school ${JSON.stringify(req.params.id)}`);
      const level = protectionLevelOf(school, ctx.baseline);
      const now = ctx.now();
      const [agents, latest, roomsDown, compliance, windows] = await Promise.all([
        ctx.state.listAgents(school.id),
        ctx.state.latestResults(school.id),
        ctx.state.roomsDown(school.id),
        schoolCompliance(ctx.state, ctx.targets, school, now),
        ctx.state.maintenanceWindows({ schoolId: school.id, endingAfter: now }),
      ]);
      const tz = school.timezone;
      /** The window a room or device is in now, as the results and rooms below show it. */
      const planned = (subject: { room?: string | undefined; device?: string }) => {
        const w = inMaintenance(windows, subject, now, tz);
        return w ? { maintenance: { id: w.id, reason: w.reason, endsAt: w.endsAt } } : {};
      };
      return {
        // tier and 等级保护级别 as evaluated (the school's own or the default)
        school: { ...school, tier: tierOf(school, ctx.targets), protectionLevel: level },
        agents: agents.map((a) => ({
          id: a.id,
          name: a.name,
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
        // a device in a maintenance window now says which (`maintenance: {id, reason, endsAt}`)
        latest: latest.map((r) =>
          r.probe === 'reachability'
            ? { ...r, ...planned({ room: r.device.room, device: r.device.name }) }
            : r,
        ),
        findingCandidates: clockFindings(agents, ctx.config.clock.maxOffsetS * 1000, level),
        alertCandidates: roomAlertCandidates(roomsDown, now, ctx.targets, { windows, timeZone: tz }),
        compliance,
        // windows running now (`active`) or to come, and the rooms a school or room window covers now
        maintenance: windows.map((w) => ({ ...w, active: activeAt(w, now, tz) })),
        roomsInMaintenance: roomsOf(latest).flatMap((room) => {
          const m = planned({ room: room.name });
          return m.maintenance ? [{ room: room.name, roomType: room.type, ...m }] : [];
        }),
      };
    },
  );
}
