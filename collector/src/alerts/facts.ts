import type { CollectorContext } from '../context.js';
import { roomAlertCandidates } from '../evaluate/availability.js';
import { effectiveState } from '../evaluate/findings.js';
import { schoolCompliance } from '../evaluate/school-view.js';
import type { SchoolFacts } from './rules.js';

/** Everything the alert rules look at, read from the state store for every school. */
export function collectFacts(ctx: Pick<CollectorContext, 'state' | 'targets'>, now: Date): SchoolFacts[] {
  return ctx.state.listSchools().map((school) => ({
    school,
    agents: ctx.state.listAgents(school.id),
    findings: ctx.state
      .findings(school.id)
      .map((f) => ({ ...f, effective: effectiveState(f, now, school.timezone) })),
    compliance: schoolCompliance(ctx.state, ctx.targets, school),
    roomsDown: roomAlertCandidates(ctx.state.roomsDown(school.id), now, ctx.targets),
  }));
}
