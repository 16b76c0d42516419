/**
 * What the wall display (大屏) shows for a scope: the KPIs against their goals (the overview's figures),
 * the schools furthest from the targets, the alerts firing now, agents online of all, and when this was
 * computed. Served as JSON by GET /api/v1/wall, which the page polls, and rendered by the page itself
 * first: one set of figures.
 */
import type { School } from '../../../protocol/school.js';
import { covers, type Scope } from '../access/model.js';
import { SEVERITY_RANK, type Severity } from '../baseline.js';
import type { CollectorContext } from '../context.js';
import type { TargetKpi } from '../evaluate/district.js';
import { TARGET_NAMES } from '../evaluate/targets/registry.js';
import { type OverviewFilter, overview, type RankedSchool } from './overview-model.js';

/** Schools listed (worst first) and alerts listed (most severe, then newest, first): what a screen holds. */
export const WALL_SCHOOLS = 10;
export const WALL_ALERTS = 6;

export interface WallKpi extends TargetKpi {
  target: string;
}

export interface WallAlert {
  fingerprint: string;
  schoolId: string;
  schoolName: string;
  rule: string;
  severity: Severity;
  title: { zh: string; en: string };
  /** When it started firing. */
  firedAt: string;
}

export interface Wall {
  /** When these figures were computed (the collector's clock). */
  generatedAt: string;
  /** The caller's scope and the filter within it: what the screen is about. */
  scope: Scope;
  filter: OverviewFilter;
  schools: number;
  /** One per target, in the plan's order. */
  kpis: WallKpi[];
  /** The schools not shown to meet every target, worst first (the overview's ranking), the first WALL_SCHOOLS. */
  lagging: RankedSchool[];
  laggingTotal: number;
  /** The alerts firing now in scope, most severe then newest first, the first WALL_ALERTS. */
  alerts: WallAlert[];
  alertsTotal: number;
  alertsBySeverity: Record<Severity, number>;
  agents: { total: number; reporting: number; silent: number; neverReported: number };
  findings: { critical: number; high: number };
}

const matches = (f: OverviewFilter, s: School) =>
  (f.district === undefined || s.district === f.district) &&
  (f.group === undefined || s.group === f.group) &&
  (f.area === undefined || s.area === f.area) &&
  (f.stage === undefined || s.stage === f.stage);

export async function wall(ctx: CollectorContext, scope: Scope, filter: OverviewFilter): Promise<Wall> {
  const o = await overview(ctx, scope, filter);
  // alerts as GET /api/v1/alerts scopes them: the schools the scope covers, archived ones included
  const schools = new Map(
    (await ctx.state.listSchools({ includeArchived: true }))
      .filter((s) => covers(scope, s) && matches(filter, s))
      .map((s) => [s.id, s]),
  );
  const firing = (await ctx.alerts.alerts({ state: 'firing' })).filter((a) => schools.has(a.schoolId));
  const firedAt = (a: (typeof firing)[number]) => a.firedAt ?? a.since;
  firing.sort(
    (a, b) =>
      SEVERITY_RANK[b.item.severity] - SEVERITY_RANK[a.item.severity] ||
      firedAt(b).localeCompare(firedAt(a)) ||
      a.fingerprint.localeCompare(b.fingerprint),
  );
  const alertsBySeverity: Record<Severity, number> = { critical: 0, high: 0, medium: 0, low: 0, info: 0 };
  for (const a of firing) alertsBySeverity[a.item.severity]++;
  const lagging = o.ranking.filter((r) => r.met < TARGET_NAMES.length);
  return {
    generatedAt: ctx.now().toISOString(),
    scope,
    filter,
    schools: o.kpis.overall.schools,
    kpis: TARGET_NAMES.map((target) => ({ target, ...o.kpis.overall.targets[target]! })),
    lagging: lagging.slice(0, WALL_SCHOOLS),
    laggingTotal: lagging.length,
    alerts: firing.slice(0, WALL_ALERTS).map((a) => ({
      fingerprint: a.fingerprint,
      schoolId: a.schoolId,
      schoolName: schools.get(a.schoolId)!.name,
      rule: a.item.rule,
      severity: a.item.severity,
      title: a.item.title,
      firedAt: firedAt(a),
    })),
    alertsTotal: firing.length,
    alertsBySeverity,
    agents: {
      total: o.agents.total,
      reporting: o.agents.reporting,
      silent: o.agents.silent.length,
      neverReported: o.agents.neverReported.length,
    },
    findings: o.findings,
  };
}
