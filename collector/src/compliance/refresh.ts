/**
 * Compliance changes with time alone: evidence ages out (a silent agent's rooms become `no_data`), and
 * InfluxDB must see every registered school and the district KPIs, not only the schools that report.
 * Both run on the collector's clock (server.ts) and from tests with a chosen `now`.
 */
import type { School } from '../../../protocol/school.js';
import type { CollectorContext } from '../context.js';
import { evaluateCompliance, noEvidence, TARGET_NAMES, tierOf } from '../evaluate/compliance.js';
import { aggregateStates, type KpiGroup, statesOf } from '../evaluate/district.js';
import type { ComplianceRow } from '../evaluate/targets/target.js';
import { Slicer } from '../slicer.js';
import { checkKeyOrTagValue, escapeKey, ReportLines } from '../store/line-protocol.js';
import { complianceLines } from '../store/points.js';
import { targetsFor } from '../targets.js';
import { gatherEvidence } from './evidence.js';

type Ctx = Pick<CollectorContext, 'state' | 'targets' | 'influx' | 'influxReady' | 'log'>;

/** Schools evaluated again in one pass at most (the next pass takes the rest). */
const RECHECK_BATCH = 500;

async function write(ctx: Ctx, lines: string[]): Promise<void> {
  if (!ctx.influx || lines.length === 0) return;
  await ctx.influxReady();
  await ctx.influx.writeCoalesced(lines);
}

/**
 * Evaluates again every school whose evidence aged out by `now`, stores its rows (a state that changed
 * gets `since = now`) and writes them to InfluxDB. Returns the schools evaluated.
 */
export async function recheckCompliance(ctx: Ctx, now: Date, slicer = new Slicer()): Promise<string[]> {
  const due = await ctx.state.schoolsToRecheck(now, RECHECK_BATCH);
  const lines: string[] = [];
  for (const id of due) {
    await slicer.pause();
    const school = await ctx.state.getSchool(id);
    if (!school) continue;
    const rows = await evaluateAndStore(ctx, school, now);
    if (ctx.influx) lines.push(...schoolComplianceLines(ctx, school, rows, now));
  }
  await write(ctx, lines);
  return due;
}

/** A school's rows evaluated at `now` on the evidence stored, and stored (a changed state gets `since = now`). */
async function evaluateAndStore(ctx: Ctx, school: School, now: Date): Promise<ComplianceRow[]> {
  const rows = evaluateCompliance(
    await gatherEvidence(ctx.state, ctx.targets, school, now),
    ctx.targets,
    now,
  );
  await ctx.state.replaceCompliance(school.id, rows, now.toISOString());
  return rows;
}

/**
 * Evaluates one school again at once, after a change that is not a report (a risk accepted or its
 * acceptance withdrawn), so that the API and the console agree from the next request: stores its rows and
 * writes them to InfluxDB with `extraLines` (e.g. the finding's point). A failed InfluxDB write is logged,
 * not thrown: the state is stored, and the series follow with the school's next report or recheck.
 */
export async function refreshSchoolCompliance(
  ctx: Ctx,
  school: School,
  now: Date,
  extraLines: (out: ReportLines) => void = () => undefined,
): Promise<ComplianceRow[]> {
  const rows = await evaluateAndStore(ctx, school, now);
  if (ctx.influx) {
    const out = new ReportLines(
      school,
      tierOf(school, targetsFor(ctx.targets, school.district)),
      'compliance',
    );
    extraLines(out);
    complianceLines(out, rows, now.getTime());
    await write(ctx, out.lines).catch((err: unknown) =>
      ctx.log.warn(
        { school: school.id, err: (err as Error).message },
        'compliance points not written to InfluxDB; they follow with the next report or recheck',
      ),
    );
  }
  return rows;
}

/** A school's rows as `compliance` points at `now`, tagged with its tier under its district's targets. */
function schoolComplianceLines(
  ctx: Ctx,
  school: School,
  rows: readonly ComplianceRow[],
  now: Date,
): string[] {
  const out = new ReportLines(school, tierOf(school, targetsFor(ctx.targets, school.district)), 'compliance');
  complianceLines(out, rows, now.getTime());
  return out.lines;
}

/** `compliance_kpi` points of one level (city, district or group) at `time`. */
export function kpiLines(level: 'city' | 'district' | 'group', g: KpiGroup, time: number): string[] {
  const tag = (key: string, value: string | null) => {
    if (value === null) return '';
    checkKeyOrTagValue('compliance_kpi', `tag "${key}" value`, value);
    return `,${key}=${escapeKey(value)}`;
  };
  return Object.entries(g.targets).map(([target, k]) => {
    const fields: [string, number | null][] = [
      ['goal_met', k.goalMet === null ? null : k.goalMet ? 1 : 0],
      ['goal_pct', k.goalPct],
      ['met', k.met],
      ['no_data', k.noData],
      ['not_met', k.notMet],
      ['pct', k.pct],
      ['schools', k.schools],
    ];
    const f = fields
      .filter((x): x is [string, number] => x[1] !== null)
      .map(([key, v]) => `${key}=${v}`)
      .join(',');
    return `compliance_kpi${tag('district', g.district)}${tag('group', g.group)},level=${level},target=${escapeKey(target)} ${f} ${time}`;
  });
}

/**
 * Writes the KPIs of the city, every district and every education group (`compliance_kpi`), and the
 * rows of schools that have none stored (registered, never reported: unmonitored) to InfluxDB. The KPIs
 * count every registered school. Returns the KPIs written.
 */
export async function publishCompliance(ctx: Ctx, now: Date) {
  const [schools, stored] = await Promise.all([
    ctx.state.listSchools(),
    ctx.state.complianceStates(TARGET_NAMES),
  ]);
  const lines: string[] = [];
  const states = [];
  for (const school of schools) {
    const s = stored.get(school.id);
    if (s) {
      states.push({ school, states: s });
      continue;
    }
    const rows: ComplianceRow[] = evaluateCompliance(
      noEvidence(school, await ctx.state.listAgents(school.id)),
      ctx.targets,
      now,
    );
    states.push({ school, states: statesOf(rows) });
    if (ctx.influx) lines.push(...schoolComplianceLines(ctx, school, rows, now));
  }
  const kpis = aggregateStates(states, ctx.targets);
  const t = now.getTime();
  lines.push(
    ...kpiLines('city', kpis.overall, t),
    ...kpis.districts.flatMap((d) => kpiLines('district', d, t)),
    ...kpis.groups.flatMap((g) => kpiLines('group', g, t)),
  );
  await write(ctx, lines);
  return kpis;
}
