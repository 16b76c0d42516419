/**
 * What the overview shows, for the caller's scope and filters: the KPIs (the same aggregation as
 * GET /api/v1/compliance), the urban/rural comparison, the schools ranked by their gap to the targets,
 * agents silent or never reported, and open critical/high findings. Served as JSON by
 * GET /api/v1/overview and rendered by the overview page, so both show one set of figures.
 */
import type { Area, School, Stage } from '../../../protocol/school.js';
import type { Scope } from '../access/model.js';
import type { CollectorContext } from '../context.js';
import { agentStatus } from '../evaluate/agent-status.js';
import { aggregateStates, type DistrictKpis, type KpiGroup } from '../evaluate/district.js';
import { effectiveState } from '../evaluate/findings.js';
import { TARGET_NAMES } from '../evaluate/targets/registry.js';
import { schoolStates } from '../routes/compliance.js';
import { type SchoolCard, schoolCard } from '../school-card.js';

export interface OverviewFilter {
  district?: string | undefined;
  group?: string | undefined;
  area?: Area | undefined;
  stage?: Stage | undefined;
}

export interface RankedSchool extends SchoolCard {
  met: number;
  /** The targets it does not meet, in the plan's order. */
  notMet: string[];
  /** The targets without fresh evidence. */
  noData: string[];
}

export interface AgentBrief {
  id: string;
  name: string;
  schoolId: string;
  schoolName: string;
  status: 'never_reported' | 'silent';
  enrolledAt: string;
  lastSeenAt: string | null;
}

export interface Overview {
  filter: OverviewFilter;
  kpis: DistrictKpis;
  /** The whole (filtered) set split by urban/rural; schools without `area` are left out of both. */
  areas: { urban: KpiGroup; rural: KpiGroup };
  /**
   * Every school of the filter, worst first: the gap is the number of targets a school is not shown to
   * meet (not met or unmonitored: a bureau counts an unmonitored target as not shown), ties broken by
   * the targets not met, then by name.
   */
  ranking: RankedSchool[];
  agents: { total: number; reporting: number; silent: AgentBrief[]; neverReported: AgentBrief[] };
  findings: { critical: number; high: number };
  /** The values the filters offer within the scope. */
  options: { districts: string[]; groups: { district: string | null; group: string }[]; stages: Stage[] };
}

const zh = new Intl.Collator('zh-CN');

export async function overview(
  ctx: CollectorContext,
  scope: Scope,
  filter: OverviewFilter,
): Promise<Overview> {
  const now = ctx.now();
  const all = await schoolStates(ctx.state, ctx.targets, {}, now, scope);
  const rows = all.filter(
    ({ school: s }) =>
      (filter.district === undefined || s.district === filter.district) &&
      (filter.group === undefined || s.group === filter.group) &&
      (filter.area === undefined || s.area === filter.area) &&
      (filter.stage === undefined || s.stage === filter.stage),
  );
  const kpis = aggregateStates(rows, ctx.targets);
  const areaOf = (a: Area) =>
    aggregateStates(
      rows.filter((r) => r.school.area === a),
      ctx.targets,
    ).overall;
  const ranking: RankedSchool[] = rows.map(({ school, states }) => {
    const notMet: string[] = [];
    const noData: string[] = [];
    let met = 0;
    states.forEach((st, i) => {
      if (st === 'met') met++;
      else if (st === 'not_met') notMet.push(TARGET_NAMES[i]!);
      else noData.push(TARGET_NAMES[i]!);
    });
    return {
      ...schoolCard(school),
      met,
      notMet,
      noData,
    };
  });
  ranking.sort((a, b) => a.met - b.met || b.notMet.length - a.notMet.length || zh.compare(a.name, b.name));

  const ids = new Map<string, School>(rows.map((r) => [r.school.id, r.school]));
  const agents = (await ctx.state.listAgents()).filter((a) => ids.has(a.schoolId));
  const silent: AgentBrief[] = [];
  const neverReported: AgentBrief[] = [];
  for (const a of agents) {
    const { status } = agentStatus(a, now, ctx.config.alerts.agentSilentS);
    if (status === 'reporting') continue;
    const brief: AgentBrief = {
      id: a.id,
      name: a.name ?? a.hostname,
      schoolId: a.schoolId,
      schoolName: ids.get(a.schoolId)!.name,
      status,
      enrolledAt: a.enrolledAt,
      lastSeenAt: a.lastSeenAt,
    };
    (status === 'silent' ? silent : neverReported).push(brief);
  }

  let critical = 0;
  let high = 0;
  for (const f of await ctx.state.findings()) {
    const school = ids.get(f.schoolId);
    if (!school || effectiveState(f, now, school.timezone) !== 'open') continue;
    if (f.severity === 'critical') critical++;
    else if (f.severity === 'high') high++;
  }

  const districts = [...new Set(all.map((r) => r.school.district).filter((d): d is string => !!d))].sort(
    zh.compare,
  );
  const groupKeys = new Map<string, { district: string | null; group: string }>();
  for (const { school: s } of all)
    if (s.group && (filter.district === undefined || s.district === filter.district))
      groupKeys.set(`${s.district ?? ''}\u0000${s.group}`, { district: s.district ?? null, group: s.group });
  const stages = [...new Set(all.map((r) => r.school.stage).filter((s): s is Stage => !!s))];
  return {
    filter,
    kpis,
    areas: { urban: areaOf('urban'), rural: areaOf('rural') },
    ranking,
    agents: {
      total: agents.length,
      reporting: agents.length - silent.length - neverReported.length,
      silent,
      neverReported,
    },
    findings: { critical, high },
    options: {
      districts,
      groups: [...groupKeys.values()].sort((a, b) => zh.compare(a.group, b.group)),
      stages,
    },
  };
}
