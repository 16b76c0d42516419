import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { audit } from '../access/audit.js';
import { covers, scopeText } from '../access/model.js';
import type { CollectorContext } from '../context.js';
import { sendError } from '../errors.js';
import { effectiveState } from '../evaluate/findings.js';

/** GET /api/v1/findings?school=&severity=&state=: security findings with evidence, 等保 clause and remediation. */
export function findingRoutes(app: FastifyInstance, ctx: CollectorContext): void {
  app.get<{ Querystring: { school?: string; severity?: string; state?: string } }>(
    '/api/v1/findings',
    {
      schema: {
        querystring: Type.Object(
          {
            school: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
            severity: Type.Optional(Type.Enum(['critical', 'high', 'medium', 'low', 'info'])),
            state: Type.Optional(Type.Enum(['open', 'resolved', 'accepted'])),
          },
          { additionalProperties: false },
        ),
      },
      config: { access: 'read' },
    },
    async (req, reply) => {
      const scope = req.principal!.scope;
      const school = req.query.school ? await ctx.state.getSchool(req.query.school) : undefined;
      // a school outside the caller's scope does not exist for it
      if (req.query.school && (!school || !covers(scope, school)))
        return sendError(reply, 404, `unknown school ${JSON.stringify(req.query.school)}`);
      const now = ctx.now();
      // archived schools keep their history
      const schools = new Map(
        (await ctx.state.listSchools({ includeArchived: true }))
          .filter((s) => covers(scope, s))
          .map((s) => [s.id, s]),
      );
      const findings = (await ctx.state.findings(req.query.school))
        .filter((f) => schools.has(f.schoolId))
        .map((f) => {
          const rule = ctx.baseline.rules[f.rule];
          return {
            ...f,
            state: effectiveState(f, now, schools.get(f.schoolId)?.timezone ?? 'Asia/Shanghai'),
            schoolName: schools.get(f.schoolId)?.name ?? null,
            title: rule?.title ?? null,
            remediation: rule?.remediation ?? null,
          };
        })
        .filter((f) => req.query.severity === undefined || f.severity === req.query.severity)
        .filter((f) => req.query.state === undefined || f.state === req.query.state);
      await audit(
        ctx,
        req,
        'findings.read',
        req.query.school ?? scopeText(scope),
        `${findings.length} findings`,
      );
      return { findings };
    },
  );
}
