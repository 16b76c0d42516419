import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { audit } from '../access/audit.js';
import { covers, scopeText } from '../access/model.js';
import type { Severity } from '../baseline.js';
import { refreshSchoolCompliance } from '../compliance/refresh.js';
import type { CollectorContext } from '../context.js';
import { sendError } from '../errors.js';
import { type Acceptance, effectiveState, type FindingState, findingKey } from '../evaluate/findings.js';
import { FINDING_STATES, listFindings, SEVERITIES, untilProblem } from '../findings-view.js';
import { PageQuery, paged } from '../paging.js';
import { findingLines } from '../store/points.js';
import type { SchoolRecord } from '../store/state-store.js';

const FindingRef = {
  school: Type.String({ minLength: 1, maxLength: 64 }),
  rule: Type.String({ minLength: 1, maxLength: 64 }),
  target: Type.String({ minLength: 1, maxLength: 500 }),
  port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, description: '0 or absent: no port' })),
};
interface FindingRefBody {
  school: string;
  rule: string;
  target: string;
  port?: number;
}

/**
 * GET /api/v1/findings?school=&district=&rule=&severity=&state=: security findings of the caller's scope
 * with evidence, 等保 clause and remediation, most severe and longest open first; counts per severity and
 * what changed in the last 24 h (findings-view.ts, shared with the console's findings page).
 * POST /api/v1/findings/accept (on-call, within its scope): accept a risk until a date;
 * POST /api/v1/findings/withdraw: withdraw such an acceptance. Both audited; the school's compliance is
 * evaluated again at once.
 */
export function findingRoutes(app: FastifyInstance, ctx: CollectorContext): void {
  app.get<{
    Querystring: {
      school?: string;
      district?: string;
      rule?: string;
      severity?: Severity;
      state?: FindingState;
      limit?: number;
      offset?: number;
    };
  }>(
    '/api/v1/findings',
    {
      schema: {
        querystring: Type.Object(
          {
            school: Type.Optional(FindingRef.school),
            district: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            rule: Type.Optional(FindingRef.rule),
            severity: Type.Optional(Type.Enum([...SEVERITIES])),
            state: Type.Optional(Type.Enum([...FINDING_STATES])),
            ...PageQuery,
          },
          { additionalProperties: false },
        ),
      },
      config: { access: 'read' },
    },
    async (req, reply) => {
      const scope = req.principal!.scope;
      if (req.query.school && !(await schoolInScope(ctx, req, req.query.school)))
        return sendError(reply, 404, `unknown school ${JSON.stringify(req.query.school)}`);
      const list = await listFindings(ctx, scope, req.query, ctx.now());
      await audit(
        ctx,
        req,
        'findings.read',
        req.query.school ?? scopeText(scope),
        `${list.findings.length} findings`,
      );
      // beyond a size a page of them (counts and changes stay the whole list's)
      const { items, page } = paged(list.findings, req.query, req.url);
      return page ? { ...list, findings: items, page } : list;
    },
  );

  app.post<{ Body: FindingRefBody & { reason: string; until: string } }>(
    '/api/v1/findings/accept',
    {
      schema: {
        body: Type.Object(
          {
            ...FindingRef,
            reason: Type.String({ minLength: 3, maxLength: 500 }),
            until: Type.String({ description: 'the last day it holds, YYYY-MM-DD, school-local' }),
          },
          { additionalProperties: false },
        ),
      },
      config: { access: 'oncall' },
    },
    async (req, reply) => {
      const b = req.body;
      const school = await schoolInScope(ctx, req, b.school);
      if (!school) return noSuchFinding(reply, b);
      const now = ctx.now();
      const timeZone = school.timezone ?? 'Asia/Shanghai';
      const reason = b.reason.trim();
      if (reason.length < 3)
        return sendError(reply, 400, 'body/reason: at least 3 characters besides spaces');
      const problem = untilProblem(b.until, now, timeZone);
      if (problem) return sendError(reply, 400, `body/until: ${problem}`);
      const changeable = await changeableFinding(ctx, reply, school, b);
      if ('refused' in changeable) return changeable.refused;
      const { found } = changeable;
      if (effectiveState(found, now, timeZone) === 'resolved')
        return sendError(reply, 409, `${describe(b)} is resolved: there is no risk to accept`);
      const acceptance: Acceptance = {
        until: b.until,
        reason,
        by: req.principal!.name,
        at: now.toISOString(),
      };
      const finding = await ctx.state.setAcceptance(school.id, refOf(b), acceptance);
      if (!finding) return noSuchFinding(reply, b);
      await audit(ctx, req, 'finding.accept', describe(b), `until ${b.until}: ${reason}`);
      const compliance = await refreshSchoolCompliance(ctx, school, now, (out) =>
        findingLines(out, [finding], now.getTime()),
      );
      return {
        finding: { ...finding, state: effectiveState(finding, now, timeZone) },
        security: compliance.find((r) => r.target === 'security') ?? null,
      };
    },
  );

  app.post<{ Body: FindingRefBody & { reason?: string } }>(
    '/api/v1/findings/withdraw',
    {
      schema: {
        body: Type.Object(
          { ...FindingRef, reason: Type.Optional(Type.String({ maxLength: 500 })) },
          { additionalProperties: false },
        ),
      },
      config: { access: 'oncall' },
    },
    async (req, reply) => {
      const b = req.body;
      const changeable = await changeableFinding(ctx, reply, await schoolInScope(ctx, req, b.school), b);
      if ('refused' in changeable) return changeable.refused;
      const { school, found } = changeable;
      if (!found.acceptedBy)
        return sendError(
          reply,
          409,
          found.state === 'accepted'
            ? `${describe(b)} is accepted by an exception of config/baseline.yaml: remove it there`
            : `${describe(b)} has no accepted risk to withdraw`,
        );
      const now = ctx.now();
      const finding = await ctx.state.setAcceptance(school.id, refOf(b), null);
      if (!finding) return noSuchFinding(reply, b);
      await audit(
        ctx,
        req,
        'finding.withdraw',
        describe(b),
        `accepted until ${found.acceptedUntil} by ${found.acceptedBy}${b.reason ? `: ${b.reason.trim()}` : ''}`,
      );
      const compliance = await refreshSchoolCompliance(ctx, school, now, (out) =>
        findingLines(out, [finding], now.getTime()),
      );
      return {
        finding: { ...finding, state: effectiveState(finding, now, school.timezone ?? 'Asia/Shanghai') },
        security: compliance.find((r) => r.target === 'security') ?? null,
      };
    },
  );
}

/** The school when the caller's scope covers it (archived ones included), else undefined. */
async function schoolInScope(
  ctx: CollectorContext,
  req: FastifyRequest,
  id: string,
): Promise<SchoolRecord | undefined> {
  const school = await ctx.state.getSchool(id);
  return school && covers(req.principal!.scope, school) ? school : undefined;
}

const refOf = (b: FindingRefBody) => ({ rule: b.rule, target: b.target, port: b.port ?? 0 });
const describe = (b: FindingRefBody) => `${b.school}/${b.rule}/${b.target}${b.port ? `:${b.port}` : ''}`;

async function findingOf(ctx: CollectorContext, b: FindingRefBody) {
  const key = findingKey(refOf(b));
  return (await ctx.state.findings(b.school)).find((f) => findingKey(f) === key);
}

/**
 * The finding the body names in its school (in the caller's scope), or the answer refusing to change it: 404
 * without either, 409 when the school is archived.
 */
async function changeableFinding(
  ctx: CollectorContext,
  reply: FastifyReply,
  school: SchoolRecord | undefined,
  b: FindingRefBody,
): Promise<
  | { school: SchoolRecord; found: NonNullable<Awaited<ReturnType<typeof findingOf>>> }
  | { refused: FastifyReply }
> {
  if (!school) return { refused: noSuchFinding(reply, b) };
  const found = await findingOf(ctx, b);
  if (!found) return { refused: noSuchFinding(reply, b) };
  if (school.archivedAt)
    return {
      refused: sendError(
        reply,
        409,
        `school ${JSON.stringify(school.id)} is archived: its findings are history`,
      ),
    };
  return { school, found };
}

/** One answer for a finding that does not exist and one outside the caller's scope. */
function noSuchFinding(reply: FastifyReply, b: FindingRefBody): FastifyReply {
  return sendError(reply, 404, `no finding ${describe(b)} (school, rule, target, port)`);
}
