/**
 * The lifecycle of agents and schools (issue 24), shared by the API (routes/fleet.ts) and the CLI
 * (cli-fleet.ts): how an agent is shown, what a valid agent name is, and a school described again with
 * some of its fields changed or removed. Pure: no I/O.
 */
import { type Static, Type } from 'typebox';
import {
  Area,
  isValidTimezone,
  ProtectionLevel,
  School,
  SizeTier,
  Stage,
  TagValue,
} from '../../protocol/school.js';
import { checker, type Problem } from '../../protocol/validate.js';
import { type AgentStatus, agentStatus } from './evaluate/agent-status.js';
import type { AgentRecord, SchoolRecord } from './store/state-store.js';

/** An agent's state in the fleet: the reporting states of an active agent, or revoked. */
export type FleetAgentStatus = AgentStatus | 'revoked';

export interface AgentView {
  id: string;
  schoolId: string;
  /** Given at the collector (`agent rename`); null: none. */
  name: string | null;
  /** As the agent reported it when it enrolled. */
  hostname: string;
  /** The version it last reported running (at enrolment until its first report). */
  version: string;
  status: FleetAgentStatus;
  enrolledAt: string;
  lastSeenAt: string | null;
  revokedAt: string | null;
  /** Its spool as its last report says: waiting reports, cycles it could not store, since when it cannot write. */
  spool: { depth: number | null; unstored: number | null; failingSince: string | null };
}

/** An agent as `agent list` and GET /api/v1/agents show it, with the alert rules' silence threshold. */
export function agentView(a: AgentRecord, now: Date, agentSilentS: number): AgentView {
  return {
    id: a.id,
    schoolId: a.schoolId,
    name: a.name,
    hostname: a.hostname,
    version: a.version,
    status: a.revokedAt !== null ? 'revoked' : agentStatus(a, now, agentSilentS).status,
    enrolledAt: a.enrolledAt,
    lastSeenAt: a.lastSeenAt,
    revokedAt: a.revokedAt,
    spool: {
      depth: a.spoolDepth ?? null,
      unstored: a.spoolUnstored ?? null,
      failingSince: a.spoolFailingSince ?? null,
    },
  };
}

/** An agent's name: what a school calls the box (东校区机房), at most 100 characters. */
export const AgentName = TagValue('a name for the agent, e.g. 东校区机房', 100);
const checkAgentName = checker<string>(AgentName);

/** The problem with a name given to an agent, or undefined. */
export function agentNameProblem(name: string): string | undefined {
  return checkAgentName.check(name) ? undefined : checkAgentName.problems(name)[0]?.message;
}

/**
 * The fields of a school that can be described again (PATCH /api/v1/schools/:id, `school update`): a
 * field given replaces the school's, null removes an optional one; the id never changes.
 */
export const SchoolPatch = Type.Object(
  {
    name: Type.Optional(TagValue('the school name (UTF-8, often Chinese)')),
    district: Type.Optional(Type.Union([TagValue('district (区/县)'), Type.Null()])),
    group: Type.Optional(Type.Union([TagValue('education group (教育集团)'), Type.Null()])),
    tier: Type.Optional(Type.Union([SizeTier, Type.Null()])),
    pupils: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 100000 }), Type.Null()])),
    area: Type.Optional(Type.Union([Area, Type.Null()])),
    stage: Type.Optional(Type.Union([Stage, Type.Null()])),
    protectionLevel: Type.Optional(Type.Union([ProtectionLevel, Type.Null()])),
    timezone: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false, minProperties: 1 },
);
export type SchoolPatch = Static<typeof SchoolPatch>;

export const SCHOOL_PATCH_FIELDS = Object.keys(SchoolPatch.properties) as (keyof SchoolPatch)[];

const checkSchool = checker<School>(School);

/**
 * A school described again: its description with the patch applied, checked as a whole, and the fields
 * that changed; or the problems, each naming its field.
 */
export function patchedSchool(
  school: SchoolRecord,
  patch: SchoolPatch,
): { ok: true; school: School; changed: string[] } | { ok: false; problems: Problem[] } {
  const { archivedAt: _archivedAt, ...before } = school;
  const after: Record<string, unknown> = { ...before };
  for (const field of SCHOOL_PATCH_FIELDS) {
    if (!(field in patch)) continue;
    const value = patch[field];
    if (value === null || value === undefined) delete after[field];
    else after[field] = value;
  }
  const problems = checkSchool.check(after) ? [] : checkSchool.problems(after);
  if (typeof after.timezone === 'string' && !isValidTimezone(after.timezone))
    problems.push({ path: 'timezone', message: `unknown time zone ${JSON.stringify(after.timezone)}` });
  if (problems.length > 0) return { ok: false, problems };
  const changed = SCHOOL_PATCH_FIELDS.filter(
    (f) => JSON.stringify((before as Record<string, unknown>)[f]) !== JSON.stringify(after[f]),
  );
  return { ok: true, school: after as School, changed };
}
