import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { audit } from '../access/audit.js';
import { covers } from '../access/model.js';
import { schoolCompliance, summariseCompliance } from '../compliance/school-view.js';
import { type SchoolDetail, schoolDetail } from '../console/school-model.js';
import type { CollectorContext } from '../context.js';
import { sendError } from '../errors.js';
import { agentStatus } from '../evaluate/agent-status.js';
import { tierOf } from '../evaluate/compliance.js';
import { type Page, type PageParams, PageQuery, pageOf } from '../paging.js';

/**
 * GET /api/v1/schools and /api/v1/schools/:id: the registry, latest results and compliance. One school is
 * the model of the console's school page (console/school-model.ts): rooms, speed tests, IPv6, findings.
 */
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

  app.get<{ Params: { id: string }; Querystring: PageParams }>(
    '/api/v1/schools/:id',
    {
      schema: {
        params: Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }),
        querystring: Type.Object(PageQuery, { additionalProperties: false }),
      },
      config: { access: 'read' },
    },
    async (req, reply) => {
      const school = await ctx.state.getSchool(req.params.id);
      // outside the caller's scope a school does not exist (no existence leak)
      if (!school || !covers(req.principal!.scope, school))
        return sendError(reply, 404, `unknown school ${JSON.stringify(req.params.id)}`);
      const detail = await schoolDetail(ctx, school);
      // security findings are read: audited as GET /api/v1/findings audits them
      await audit(ctx, req, 'findings.read', school.id, `${detail.findings.length} findings`);
      return devicePage(detail, req.query, req.url);
    },
  );
}

/** A device of a school's latest state: its room (empty: none) and name (`uplink|` + name for uplink SNMP). */
function deviceKey(r: SchoolDetail['latest'][number]): string | undefined {
  if (r.probe === 'reachability') return `${r.device.room ?? ''}\u0000${r.device.name}`;
  if (r.probe === 'uplink-snmp') return `\u0000uplink|${r.device.name}`;
  return undefined;
}

/**
 * A school's detail with its devices a page at a time (paging.ts): the page holds devices in the order of
 * their room and name, `latest` and `rooms` only theirs (a room's state stays the whole room's), the
 * school's other results whole. A school within the default size is answered whole, as before.
 */
export function devicePage(
  detail: SchoolDetail,
  q: PageParams,
  requestUrl: string,
): SchoolDetail & { page?: Page } {
  const keys = [...new Set(detail.latest.map(deviceKey).filter((k): k is string => k !== undefined))].sort();
  const page = pageOf(keys.length, q, requestUrl);
  if (!page) return detail;
  const on = new Set(keys.slice(page.offset, page.offset + page.limit));
  return {
    ...detail,
    latest: detail.latest.filter((r) => {
      const k = deviceKey(r);
      return k === undefined || on.has(k);
    }),
    rooms: detail.rooms
      .map((room) => ({
        ...room,
        devices: room.devices.filter((d) => on.has(`${room.name}\u0000${d.name}`)),
      }))
      .filter((room) => room.devices.length > 0),
    page,
  };
}
