import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { CollectorContext } from '../context.js';
import { aggregateCompliance } from '../evaluate/district.js';
import { schoolCompliance } from '../evaluate/school-view.js';

/** GET /api/v1/compliance: district KPIs (% of schools meeting each target), per district and education group. */
export function complianceRoutes(app: FastifyInstance, ctx: CollectorContext): void {
  app.get<{ Querystring: { district?: string; group?: string } }>(
    '/api/v1/compliance',
    {
      schema: {
        querystring: Type.Object(
          {
            district: Type.Optional(Type.String({ maxLength: 200 })),
            group: Type.Optional(Type.String({ maxLength: 200 })),
          },
          { additionalProperties: false },
        ),
      },
    },
    async (req) => {
      const rows = ctx.state
        .listSchools()
        .filter((s) => req.query.district === undefined || s.district === req.query.district)
        .filter((s) => req.query.group === undefined || s.group === req.query.group)
        .map((school) => ({ school, compliance: schoolCompliance(ctx.state, ctx.targets, school) }));
      return aggregateCompliance(rows, ctx.targets);
    },
  );
}
