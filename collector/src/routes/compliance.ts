import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { School } from '../../../protocol/school.js';
import { CITY, covers, type Scope } from '../access/model.js';
import type { CollectorContext } from '../context.js';
import { evaluateCompliance, noEvidence, TARGET_NAMES } from '../evaluate/compliance.js';
import { aggregateStates, statesOf, type TargetStates } from '../evaluate/district.js';
import type { StateStore } from '../store/state.js';
import type { TargetsConfig } from '../targets.js';

/**
 * Every school's stored state per target in ONE query that returns one short row per school: one query
 * per school (a statement preparation each, all columns) made this route take most of a second for
 * 10,000 schools (bench/compliance).
 */
function storedStates(state: StateStore): Promise<Map<string, TargetStates>> {
  return state.complianceStates(TARGET_NAMES);
}

/**
 * The state per target of the schools matching the filter: as stored at each school's last report, or as
 * evaluated without data before its first (what evaluate/school-view.ts `schoolCompliance` gives, for all
 * schools at once).
 */
export async function schoolStates(
  state: StateStore,
  targets: TargetsConfig,
  filter: { district?: string | undefined; group?: string | undefined } = {},
  now: Date = new Date(),
  scope: Scope = CITY,
): Promise<{ school: School; states: TargetStates }[]> {
  const [stored, schools] = await Promise.all([storedStates(state), state.listSchools()]);
  return schools
    .filter((s) => covers(scope, s))
    .filter((s) => filter.district === undefined || s.district === filter.district)
    .filter((s) => filter.group === undefined || s.group === filter.group)
    .map((school) => ({
      school,
      states: stored.get(school.id) ?? statesOf(evaluateCompliance(noEvidence(school), targets, now)),
    }));
}

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
      config: { access: 'read' },
    },
    async (req) =>
      // over the caller's scope: a district account's "overall" is its district
      aggregateStates(
        await schoolStates(ctx.state, ctx.targets, req.query, ctx.now(), req.principal!.scope),
        ctx.targets,
      ),
  );
}
