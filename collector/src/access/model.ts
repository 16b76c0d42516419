/**
 * Who may see what: people and machines act with one role in one scope of the hierarchy
 * city → district → education group → school. Pure: no I/O.
 */
import { type Static, Type } from 'typebox';

export const LEVELS = ['city', 'district', 'group', 'school'] as const;
export type Level = (typeof LEVELS)[number];

/**
 * viewer: reads its scope; oncall: also acknowledges alerts, silences and accepts risks in it; admin:
 * everything (city only); display: a wall display's token, which opens the wall display of its scope and
 * nothing else (tokens only, never an account).
 */
export const ROLES = ['viewer', 'oncall', 'admin', 'display'] as const;
export type Role = (typeof ROLES)[number];

export const ScopeSchema = Type.Object(
  {
    level: Type.Enum([...LEVELS]),
    district: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    group: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    school: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  },
  { additionalProperties: false },
);
export type Scope = Static<typeof ScopeSchema>;

export const CITY: Scope = { level: 'city' };

/** Who is calling: an account through its session or one of its tokens, or a machine token. */
export interface Principal {
  kind: 'session' | 'token';
  /** The account's name, or the token's `token:<name>`, as the audit trail names it. */
  name: string;
  accountId: string | null;
  tokenId: string | null;
  role: Role;
  scope: Scope;
  /** Session only: the CSRF token every state-changing request must echo. */
  csrf?: string;
}

/** What a route asks of its caller; declared on every route (see access/plugin.ts). */
export type Access =
  | 'public' // anyone (health, login)
  | 'agent' // an agent's bearer token (the route checks it)
  | 'read' // any account or token; the route filters by its scope
  | 'oncall' // on-call or admin, within its scope
  | 'admin' // a city administrator
  | 'display'; // the wall display: any account or token, display tokens included, filtered by scope

/** Does a role meet what a route asks? A display token meets only the wall display's routes. */
export function allows(role: Role, access: 'read' | 'oncall' | 'admin' | 'display'): boolean {
  if (access === 'display') return true;
  if (role === 'display') return false;
  if (access === 'read') return true;
  if (access === 'oncall') return role === 'oncall' || role === 'admin';
  return role === 'admin';
}

/** Does a scope cover a school (by its district, group and id)? */
export function covers(
  scope: Scope,
  school: { id: string; district?: string | undefined; group?: string | undefined },
): boolean {
  switch (scope.level) {
    case 'city':
      return true;
    case 'district':
      return school.district === scope.district;
    case 'group':
      return school.district === scope.district && school.group === scope.group;
    case 'school':
      return school.id === scope.school;
  }
}

/** A scope is complete for its level: a district names its district, a group its district and group, a school its id. */
export function scopeProblem(scope: Scope, role: Role): string | undefined {
  if (role === 'admin' && scope.level !== 'city') return 'an administrator has the city scope';
  if (role === 'display' && scope.level === 'school') return 'a wall display shows a city, district or group';
  if (scope.level === 'district' && !scope.district) return 'a district scope needs --district';
  if (scope.level === 'group' && (!scope.district || !scope.group))
    return 'a group scope needs --district and --group';
  if (scope.level === 'school' && !scope.school) return 'a school scope needs --school';
  return undefined;
}

/** `district 武进区`, `group 武进区/星河教育集团`, `school wj-01`, `city`. */
export function scopeText(scope: Scope): string {
  switch (scope.level) {
    case 'city':
      return 'city';
    case 'district':
      return `district ${scope.district}`;
    case 'group':
      return `group ${scope.district}/${scope.group}`;
    case 'school':
      return `school ${scope.school}`;
  }
}
