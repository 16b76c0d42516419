import type Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { School } from '../../../protocol/school.js';
import type { CollectorContext } from '../context.js';
import { evaluateCompliance, TARGET_NAMES } from '../evaluate/compliance.js';
import { aggregateStates, statesOf, type TargetStates } from '../evaluate/district.js';
import type { ComplianceRow, StateStore } from '../store/state.js';
import type { TargetsConfig } from '../targets.js';

const STATES: readonly ComplianceRow['state'][] = ['no_data', 'met', 'not_met'];
/**
 * Each school's stored states as one short string: a letter per row, 'A' + 3 × target index + state
 * index (TARGET_NAMES, STATES). The primary key (school_id, target) allows one row per target, so their
 * order does not matter; rows of targets this version does not know are left out (they count as no_data).
 */
const SELECT_STATES = `SELECT school_id, group_concat(char(65 + 3 * t + s), '') FROM (
  SELECT school_id,
    CASE target ${TARGET_NAMES.map((t, i) => `WHEN '${t}' THEN ${i}`).join(' ')} END AS t,
    CASE state WHEN 'met' THEN 1 WHEN 'not_met' THEN 2 ELSE 0 END AS s
  FROM compliance) WHERE t IS NOT NULL GROUP BY school_id`;
type Row = [schoolId: string, codes: string];
const statements = new WeakMap<Database.Database, Database.Statement<[], Row>>();

/**
 * Every school's stored state per target in ONE query that returns one short row per school. The KPIs
 * need only the states: one query per school (a statement preparation each, all columns) made this route
 * take most of a second for 10,000 schools. This belongs in StateStore (e.g. `complianceStates()`, its
 * statement prepared once, with an index on compliance (school_id, target, state) to cover it); until
 * it is there, the route reads the table itself.
 */
function storedStates(state: StateStore): Map<string, TargetStates> {
  let stmt = statements.get(state.db);
  if (!stmt) {
    stmt = state.db.prepare<[], Row>(SELECT_STATES).raw(true);
    statements.set(state.db, stmt);
  }
  const bySchool = new Map<string, TargetStates>();
  for (const [schoolId, codes] of stmt.all()) {
    const states = TARGET_NAMES.map((): ComplianceRow['state'] => 'no_data');
    for (let i = 0; i < codes.length; i++) {
      const code = codes.charCodeAt(i) - 65;
      states[Math.floor(code / 3)] = STATES[code % 3]!;
    }
    bySchool.set(schoolId, states);
  }
  return bySchool;
}

/**
 * The state per target of the schools matching the filter: as stored at each school's last report, or as
 * evaluated without data before its first (what evaluate/school-view.ts `schoolCompliance` gives, for all
 * schools at once).
 */
export function schoolStates(
  state: StateStore,
  targets: TargetsConfig,
  filter: { district?: string | undefined; group?: string | undefined } = {},
): { school: School; states: TargetStates }[] {
  const stored = storedStates(state);
  return state
    .listSchools()
    .filter((s) => filter.district === undefined || s.district === filter.district)
    .filter((s) => filter.group === undefined || s.group === filter.group)
    .map((school) => ({
      school,
      states: stored.get(school.id) ?? statesOf(evaluateCompliance(school, [], targets)),
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
    },
    async (req) => aggregateStates(schoolStates(ctx.state, ctx.targets, req.query), ctx.targets),
  );
}
