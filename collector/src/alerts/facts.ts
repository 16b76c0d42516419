import { OVER_BUDGET_HOLD_MS } from '../budgets.js';
import { schoolCompliance } from '../compliance/school-view.js';
import type { CollectorContext } from '../context.js';
import { roomAlertCandidates } from '../evaluate/availability.js';
import { effectiveState } from '../evaluate/findings.js';
import { Slicer } from '../slicer.js';
import { targetsFor } from '../targets.js';
import type { SchoolFacts } from './rules.js';

/** Schools whose facts are read at once (concurrent queries on PostgreSQL) between pauses. */
const SCHOOLS_AT_ONCE = 25;

/**
 * Everything the alert rules look at, read from the state store for every school; a `slicer` lets
 * reports be served between groups of schools.
 */
export async function collectFacts(
  ctx: Pick<CollectorContext, 'state' | 'targets'>,
  now: Date,
  slicer: Slicer = new Slicer(),
): Promise<SchoolFacts[]> {
  const { state } = ctx;
  const [schools, findings, windows, refusals] = await Promise.all([
    state.listSchools(),
    state.findings(),
    // one query for every school's windows that have not ended
    state.maintenanceWindows({ endingAfter: now }),
    // reports refused for a budget lately, by any collector sharing the state
    state.budgetRefusals(new Date(now.getTime() - OVER_BUDGET_HOLD_MS)),
  ]);
  const refusalsOf = groupBy(refusals, (r) => r.schoolId);
  const windowsOf = groupBy(windows, (w) => w.schoolId);
  // each school's agents are read with the school, in the slices: all 10,000 agents of bench/ingest at
  // once held the event loop 140-180 ms on every pass
  const findingsOf = groupBy(findings, (f) => f.schoolId);
  const facts: SchoolFacts[] = [];
  for (let i = 0; i < schools.length; i += SCHOOLS_AT_ONCE) {
    await slicer.pause();
    facts.push(
      ...(await Promise.all(
        schools.slice(i, i + SCHOOLS_AT_ONCE).map(async (school) => ({
          school,
          maintenance: windowsOf.get(school.id) ?? [],
          overBudget: refusalsOf.get(school.id) ?? [],
          agents: await state.listAgents(school.id),
          findings: (findingsOf.get(school.id) ?? []).map((f) => ({
            ...f,
            effective: effectiveState(f, now, school.timezone),
          })),
          compliance: await schoolCompliance(state, ctx.targets, school, now),
          roomsDown: roomAlertCandidates(
            await state.roomsDown(school.id),
            now,
            targetsFor(ctx.targets, school.district),
            { windows: windowsOf.get(school.id) ?? [], timeZone: school.timezone },
          ),
        })),
      )),
    );
  }
  return facts;
}

function groupBy<T>(items: readonly T[], key: (t: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}
