import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { audit } from '../access/audit.js';
import { covers, type Scope } from '../access/model.js';
import type { CollectorContext } from '../context.js';
import { sendError } from '../errors.js';
import { AgentName, agentView, patchedSchool, SchoolPatch } from '../fleet.js';
import { PageQuery, paged } from '../paging.js';
import type { AgentRecord, SchoolRecord } from '../store/state-store.js';

const Id = Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }) }, { additionalProperties: false });

/**
 * The schools a scope covers (archived ones too: their revoked agents are part of the history), or the
 * one asked for, and every agent of them, revoked ones included, by school id then agent id: what
 * GET /api/v1/agents and the console's fleet page list.
 */
export async function agentsInScope(
  ctx: CollectorContext,
  scope: Scope,
  school?: string,
): Promise<{ schools: SchoolRecord[]; agents: AgentRecord[] }> {
  const schools = (await ctx.state.listSchools({ includeArchived: true })).filter(
    (s) => covers(scope, s) && (school === undefined || s.id === school),
  );
  const inScope = new Set(schools.map((s) => s.id));
  const agents = (await ctx.state.listAgents(school, { includeRevoked: true }))
    .filter((a) => inScope.has(a.schoolId))
    .sort((a, b) => (a.schoolId < b.schoolId ? -1 : a.schoolId > b.schoolId ? 1 : a.id < b.id ? -1 : 1));
  return { schools, agents };
}

/**
 * The lifecycle of agents and schools (issue 24), in the caller's scope:
 *
 * - GET /api/v1/agents[?school=] (read): every agent of the schools in scope, revoked ones and those of
 *   archived schools too, with `status` never_reported / reporting / silent / revoked;
 * - POST /api/v1/agents/:id/revoke, POST /api/v1/agents/:id/rename (on-call): an on-call account of a
 *   district (group, school) revokes and names the agents of its own schools; a city administrator any;
 * - PATCH /api/v1/schools/:id, POST /api/v1/schools/:id/archive (city administrator only): the registry is
 *   the city's — a district cannot describe its schools otherwise or take one out of the KPIs.
 *
 * An agent or school outside the caller's scope does not exist (404). Every change is audited.
 */
export function fleetRoutes(app: FastifyInstance, ctx: CollectorContext): void {
  const silentS = () => ctx.config.alerts.agentSilentS;

  /** The agent and its school when the caller's scope covers that school; otherwise a 404 is sent. */
  const agentInScope = async (
    req: FastifyRequest<{ Params: { id: string } }>,
    reply: FastifyReply,
  ): Promise<{ agent: AgentRecord; school: SchoolRecord } | undefined> => {
    const agent = await ctx.state.getAgent(req.params.id);
    const school = agent ? await ctx.state.getSchool(agent.schoolId) : undefined;
    if (!agent || !school || !covers(req.principal!.scope, school)) {
      await sendError(reply, 404, `unknown agent ${JSON.stringify(req.params.id)}`);
      return undefined;
    }
    return { agent, school };
  };

  /** The school when the caller's scope covers it; otherwise a 404 is sent. */
  const schoolInScope = async (
    req: FastifyRequest<{ Params: { id: string } }>,
    reply: FastifyReply,
  ): Promise<SchoolRecord | undefined> => {
    const school = await ctx.state.getSchool(req.params.id);
    if (!school || !covers(req.principal!.scope, school)) {
      await sendError(reply, 404, `unknown school ${JSON.stringify(req.params.id)}`);
      return undefined;
    }
    return school;
  };

  app.get<{ Querystring: { school?: string; limit?: number; offset?: number } }>(
    '/api/v1/agents',
    {
      config: { access: 'read' },
      schema: {
        querystring: Type.Object(
          { school: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })), ...PageQuery },
          { additionalProperties: false },
        ),
      },
    },
    async (req, reply) => {
      const wanted = req.query.school;
      const { schools, agents } = await agentsInScope(ctx, req.principal!.scope, wanted);
      if (wanted !== undefined && schools.length === 0)
        return sendError(reply, 404, `query/school: unknown school ${JSON.stringify(wanted)}`);
      const now = ctx.now();
      const { items, page } = paged(agents, req.query, req.url);
      const views = items.map((a) => agentView(a, now, silentS()));
      return page ? { agents: views, page } : { agents: views };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/api/v1/agents/:id/revoke',
    { config: { access: 'oncall' }, schema: { params: Id } },
    async (req, reply) => {
      const found = await agentInScope(req, reply);
      if (!found) return reply;
      const at = ctx.now();
      const agent = (await ctx.state.revokeAgent(found.agent.id, at))!;
      const revokedNow = agent.revokedAt === at.toISOString();
      if (revokedNow) await audit(ctx, req, 'agent.revoke', agent.id, `school ${agent.schoolId}`);
      // revoked already: the same answer, nothing changed (the first time stays)
      return { agent: agentView(agent, at, silentS()), revokedNow };
    },
  );

  app.post<{ Params: { id: string }; Body: { name: string | null } }>(
    '/api/v1/agents/:id/rename',
    {
      config: { access: 'oncall' },
      schema: {
        params: Id,
        body: Type.Object(
          { name: Type.Union([AgentName, Type.Null()], { description: 'null removes the name' }) },
          { additionalProperties: false },
        ),
      },
    },
    async (req, reply) => {
      const found = await agentInScope(req, reply);
      if (!found) return reply;
      const agent = (await ctx.state.renameAgent(found.agent.id, req.body.name))!;
      await audit(
        ctx,
        req,
        'agent.rename',
        agent.id,
        `${found.agent.name ?? '(no name)'} -> ${agent.name ?? '(no name)'}`,
      );
      return { agent: agentView(agent, ctx.now(), silentS()) };
    },
  );

  app.patch<{ Params: { id: string }; Body: SchoolPatch }>(
    '/api/v1/schools/:id',
    { config: { access: 'admin' }, schema: { params: Id, body: SchoolPatch } },
    async (req, reply) => {
      const school = await schoolInScope(req, reply);
      if (!school) return reply;
      const patched = patchedSchool(school, req.body);
      if (!patched.ok)
        return sendError(reply, 400, patched.problems.map((p) => `body/${p.path}: ${p.message}`).join('; '));
      if (patched.changed.length > 0) {
        await ctx.state.upsertSchool(patched.school);
        await audit(ctx, req, 'school.update', school.id, patched.changed.join(', '));
      }
      return { school: await ctx.state.getSchool(school.id), changed: patched.changed };
    },
  );

  app.post<{ Params: { id: string } }>(
    '/api/v1/schools/:id/archive',
    { config: { access: 'admin' }, schema: { params: Id } },
    async (req, reply) => {
      const school = await schoolInScope(req, reply);
      if (!school) return reply;
      const at = ctx.now();
      const out = (await ctx.state.archiveSchool(school.id, at))!;
      // archived already: the same answer, nothing changed (the first time stays)
      const archivedNow = out.school.archivedAt === at.toISOString();
      if (archivedNow)
        await audit(
          ctx,
          req,
          'school.archive',
          school.id,
          out.revoked.length > 0 ? `agents revoked: ${out.revoked.join(', ')}` : 'no active agents',
        );
      return { school: out.school, archivedNow, revokedAgents: out.revoked };
    },
  );
}
