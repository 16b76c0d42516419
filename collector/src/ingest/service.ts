// Ingest as a service (docs/architecture.md, "Data flow"): an authenticated agent's validated report in, a
// typed outcome out — stored, duplicate, rejected with its reason, or retry later. The route
// (routes/reports.ts) authenticates, validates and turns the outcome into its HTTP answer.
import type { BaseLogger } from 'pino';
import type { Report } from '../../../protocol/report.js';
import { SENT_AT_HEADER } from '../../../protocol/version.js';
import {
  type BudgetExceeded,
  budgetMessage,
  budgetsFor,
  countLatest,
  duplicateIdentities,
  freshnessMs,
  OVER_BUDGET_HOLD_MS,
  schoolBudgetExceeded,
  staleKeys,
} from '../budgets.js';
import { answeredRoomsOf } from '../compliance/evidence.js';
import type { CollectorContext } from '../context.js';
import { teachingSamples, windowStartDay } from '../evaluate/availability.js';
import { evaluateCompliance, tierOf } from '../evaluate/compliance.js';
import { findingKey, nextFindings, supersededClauses } from '../evaluate/findings.js';
import { inMaintenance } from '../evaluate/maintenance.js';
import { reportLines } from '../store/points.js';
import { type AgentRecord, resultKey, shiftedResult } from '../store/state.js';
import { targetsFor } from '../targets.js';
import { clockOffsetMs, MAX_CLOCK_OFFSET_MS, timesOutOfRange } from './clock.js';
import { mergeLatest } from './merge-latest.js';
import { type IngestOutcome, type OverBudget, rejected } from './outcome.js';
import { writeSeries } from './series.js';
import { IngestTurns } from './turns.js';

export type IngestDeps = Pick<
  CollectorContext,
  | 'config'
  | 'targets'
  | 'baseline'
  | 'state'
  | 'influx'
  | 'outbox'
  | 'influxReady'
  | 'now'
  | 'alerts'
  | 'metrics'
>;

export interface IngestRequest {
  /** The agent its token belongs to. */
  agent: AgentRecord;
  /** The report, valid by the protocol's schema (protocol/report-check.ts). */
  report: Report;
  /**
   * When the request arrived, by the collector's clock; asked when the report's turn comes (a collector
   * behind on its queue must not take its own backlog for a wrong agent clock).
   */
  receivedAt: () => Date;
  /** The request's sent-at header (protocol/version.ts SENT_AT_HEADER), as it came. */
  sentAt: string | string[] | undefined;
  /** The request's logger. */
  log: Pick<BaseLogger, 'warn' | 'error'>;
}

export interface IngestService {
  ingest(request: IngestRequest): Promise<IngestOutcome>;
}

/** The ingest service of one collector (its reports in flight and its schools' turns are its own). */
export function ingestService(ctx: IngestDeps): IngestService {
  const turns = new IngestTurns();
  /** Device results older than these leave a school's latest state when its next report lacks them. */
  const freshness = freshnessMs(ctx.targets);
  // the shortest freshness rule: a leaving device older than it is dropped from the latest state
  const shortestFreshnessMs = Math.min(...Object.values(freshness));

  /** A report over a budget: counted and remembered for the over-budget alert. */
  const overBudget = async (
    log: IngestRequest['log'],
    agentId: string,
    schoolId: string,
    e: BudgetExceeded,
  ): Promise<OverBudget> => {
    ctx.metrics.overBudget.inc({ budget: e.budget });
    log.warn({ agentId, schoolId, ...e }, 'report refused: over a budget of its school');
    try {
      await ctx.state.noteBudgetRefusal(
        { ...e, schoolId, agentId, at: ctx.now().toISOString() },
        OVER_BUDGET_HOLD_MS,
      );
    } catch (err) {
      // the refusal stands; only its alert may be missing
      log.error({ err: (err as Error).message, schoolId }, 'could not note a budget refusal for its alert');
    }
    if (ctx.config.alerts.enabled) ctx.alerts.evaluateSoon(ctx.now);
    return {
      kind: 'rejected',
      status: 422,
      reason: 'over-budget',
      message: budgetMessage(schoolId, e),
      budget: e,
    };
  };

  /** The report in its turn: de-duplicated, its clock corrected, judged, its series written, stored. */
  const store = async (
    { agent, report, receivedAt: arrival, sentAt, log }: IngestRequest,
    budgets: ReturnType<typeof budgetsFor>,
  ): Promise<IngestOutcome> => {
    const previous = await ctx.state.getIngest(report.reportId);
    if (previous?.state === 'done') return { kind: 'duplicate', reportId: report.reportId };
    if (previous && previous.agentId !== agent.id) {
      return rejected(
        409,
        'report-id-taken',
        `reportId ${report.reportId} was already sent by another agent`,
      );
    }
    const school = await ctx.state.getSchool(agent.schoolId);
    if (!school)
      return rejected(
        403,
        'school-unregistered',
        `school ${JSON.stringify(agent.schoolId)} is no longer registered`,
      );

    // when the request arrived, not when its turn came: a collector behind on its queue must not take
    // its own backlog for a wrong agent clock (bench/ingest saw reports shifted by ~63 s that way)
    const receivedAt = arrival();
    const measured = clockOffsetMs(sentAt, receivedAt);
    if (sentAt !== undefined && (measured === undefined || Math.abs(measured) > MAX_CLOCK_OFFSET_MS)) {
      return rejected(
        400,
        'bad-sent-at',
        `${SENT_AT_HEADER}: ${JSON.stringify(String(sentAt)).slice(0, 80)} is not a usable time (RFC 3339, within 200 years of now)`,
      );
    }
    const offset = measured ?? 0;
    // a retried report keeps the shift chosen the first time, so its points land on the same timestamps
    const shiftMs = previous
      ? previous.shiftMs
      : Math.abs(offset) > ctx.config.clock.maxOffsetS * 1000
        ? offset
        : 0;
    // after the clock correction every time must be one the time-series store keeps: InfluxDB drops
    // points beyond its retention and refuses ones past 2262, and would store the rest of the batch
    const oldest = receivedAt.getTime() - ctx.config.ingest.maxAgeDays * 86_400_000;
    // Refused rather than shifted: the report's sent-at is right, so the clock that stamped these results
    // was wrong when they were measured and right when they were sent, by an amount nothing in the report
    // tells; any shift would be a guess. Stored as they are, they would stay the device's latest result
    // until that time and hide every outage reported meanwhile. The agent is told which field.
    const futureToleranceS = ctx.config.ingest.futureToleranceS;
    const newest = receivedAt.getTime() + futureToleranceS * 1000;
    const outOfRange = timesOutOfRange(report, shiftMs, {
      oldest,
      newest,
      receivedAt,
      maxAgeDays: ctx.config.ingest.maxAgeDays,
      futureToleranceS,
    });
    if (outOfRange !== undefined) return rejected(400, 'time-out-of-range', outOfRange);
    const begin = {
      reportId: report.reportId,
      agentId: agent.id,
      schoolId: school.id,
      shiftMs,
      finishedAt: report.finishedAt,
    };
    // The journal row keeps the shift chosen for a report so that a retry after a crash writes the same
    // timestamps. It is committed before the series are written only when the clock is off by more than
    // half the threshold: otherwise a retry measures an offset under the threshold again (the clock would
    // have to jump by over maxOffsetS/2 in between), shifts by 0 as now, and the row is written with the
    // completion, saving a commit per report.
    const beginFirst = !previous && Math.abs(offset) > (ctx.config.clock.maxOffsetS * 1000) / 2;
    const shiftedResults = report.results.map((r) => shiftedResult(r, shiftMs));
    const availabilitySinceDay = windowStartDay(receivedAt, school, ctx.targets);
    const [storedLatest, history, stored, storedFindings, answered, agents, maintenance] = await Promise.all([
      ctx.state.latestResults(school.id),
      ctx.state.history(school.id, 'bandwidth'),
      ctx.state.availability(school.id, availabilitySinceDay),
      ctx.state.findings(school.id),
      ctx.state.answeredRooms(school.id),
      ctx.state.listAgents(school.id),
      // every window a result of the report (or a latest result it is judged with) may be in: the
      // collector keeps no result older than ingest.maxAgeDays
      ctx.state.maintenanceWindows({ schoolId: school.id, endingAfter: new Date(oldest) }),
    ]);
    const merged = mergeLatest(storedLatest, shiftedResults, newest);
    // devices gone from the inventory: their results, older than any target reads, leave the state
    const leaving = staleKeys(merged, new Set(shiftedResults.map(resultKey)), freshness, receivedAt);
    const latest = leaving.size > 0 ? merged.filter((r) => !leaving.has(resultKey(r))) : merged;
    // the budgets, before anything of the report is written
    const exceeded = schoolBudgetExceeded(budgets, countLatest(storedLatest), countLatest(latest));
    if (exceeded) return overBudget(log, agent.id, school.id, exceeded);
    if (beginFirst) await ctx.state.beginIngest(begin);
    const speedtests = [...history, ...shiftedResults.filter((r) => r.probe === 'bandwidth')];
    const samples = teachingSamples(shiftedResults, school, ctx.targets, maintenance);
    const availability = {
      up: stored.up + samples.availability.filter((s) => s.up).length,
      total: stored.total + samples.availability.length,
    };
    const previousFindings = new Map(storedFindings.map((f) => [findingKey(f), f]));
    const findings = nextFindings(previousFindings, shiftedResults, ctx.baseline, school);
    const superseded = supersededClauses(previousFindings, findings);
    for (const f of findings) previousFindings.set(findingKey(f), f);
    const answeredRooms = answeredRoomsOf(shiftedResults);
    // the school's evidence is the union of all its agents' latest results; this agent reports now
    const compliance = evaluateCompliance(
      {
        school,
        latest,
        speedtests,
        availability,
        findings: [...previousFindings.values()],
        answeredRooms: new Set([...answered, ...answeredRooms]),
        agents: agents.map((a) => (a.id === agent.id ? { ...a, lastSeenAt: receivedAt.toISOString() } : a)),
        maintenance,
      },
      ctx.targets,
      receivedAt,
    );

    if (ctx.influx) {
      const schoolTargets = targetsFor(ctx.targets, school.district);
      const tier = tierOf(school, schoolTargets);
      const lines = reportLines(report, {
        school,
        tier,
        uplinkGoalMbps: schoolTargets.uplink.tiers[tier].mbps,
        shiftMs,
        clockOffsetMs: offset,
        receivedAt,
        compliance,
        // a finding now citing another clause closes the series of its old one (mlps is a tag)
        findings: [...superseded, ...findings],
        // device points say whether the device was in a maintenance window (1/0)
        maintenance: (device, at) =>
          inMaintenance(maintenance, device, new Date(at), school.timezone) !== undefined,
      });
      const notWritten = await writeSeries(ctx, lines, report.reportId, log);
      if (notWritten) return notWritten;
    }
    const first = await ctx.state.completeIngest({
      reportId: report.reportId,
      agent,
      results: report.results,
      ...(leaving.size > 0
        ? {
            leaving: {
              keys: [...leaving],
              before: new Date(receivedAt.getTime() - shortestFreshnessMs).toISOString(),
            },
          }
        : {}),
      shiftMs,
      clockOffsetMs: offset,
      // the version it runs now (agent list): an upgraded agent is shown as upgraded
      ...(report.agentVersion ? { agentVersion: report.agentVersion.slice(0, 64) } : {}),
      receivedAt,
      // a latest result stored from the future yields to this report's (one stored before the limit)
      futureAfter: new Date(newest),
      compliance,
      availability: samples.availability,
      availabilitySinceDay,
      // what waits in its spool (the school page shows it: a growing spool is a box that cannot deliver)
      spoolDepth: report.health.spoolDepth,
      // whether its spool can write (a full disk at the school): shown in `agent list` and the API
      ...(report.health.spoolUnstored !== undefined ? { spoolUnstored: report.health.spoolUnstored } : {}),
      spoolFailingSince: report.health.spoolFailure?.since ?? null,
      findings,
      rooms: samples.rooms,
      answeredRooms,
      ...(previous || beginFirst ? {} : { begin }),
    });
    if (!first) return { kind: 'duplicate', reportId: report.reportId };
    if (report.health.spoolFailure) {
      // the school's box has a full disk (or a failing one): it keeps reporting from memory, said once a report
      log.warn(
        { agentId: agent.id, schoolId: school.id, spoolFailure: report.health.spoolFailure },
        'the agent’s spool cannot write (its disk full?); it holds new reports in memory until it can',
      );
    }
    if (shiftMs !== 0) {
      log.warn(
        { agentId: agent.id, schoolId: school.id, clockOffsetS: offset / 1000 },
        'agent clock not synchronised; its timestamps were shifted to the collector clock',
      );
    }
    if (ctx.config.alerts.enabled) {
      // alert rules look at the new state soon: reports coalesce, delivery never delays the agent
      ctx.alerts.evaluateSoon(ctx.now);
    }
    return { kind: 'stored', reportId: report.reportId, clockOffsetS: offset / 1000, shifted: shiftMs !== 0 };
  };

  return {
    async ingest(request) {
      const { agent, report, log } = request;
      if (report.agentId !== agent.id) {
        return rejected(
          403,
          'agent-mismatch',
          `agentId ${JSON.stringify(report.agentId)} does not match the token's agent`,
        );
      }
      if (report.schoolId !== agent.schoolId) {
        return rejected(
          403,
          'school-mismatch',
          `this agent's token is bound to school ${JSON.stringify(agent.schoolId)}, not ${JSON.stringify(report.schoolId)}`,
        );
      }
      const budgets = budgetsFor(ctx.config.budgets, agent.schoolId);
      if (report.results.length > budgets.resultsPerReport) {
        return overBudget(log, agent.id, agent.schoolId, {
          budget: 'resultsPerReport',
          limit: budgets.resultsPerReport,
          count: report.results.length,
        });
      }
      const duplicates = duplicateIdentities(report.results);
      if (duplicates.length > 0) {
        return rejected(
          400,
          'duplicate-identities',
          `results: ${duplicates.length} device identities (probe|device|check|port) occur more than once in this report, the store keeps one of each: ${duplicates
            .slice(0, 10)
            .map((d) => `${d.key} (${d.times} times)`)
            .join(', ')}${duplicates.length > 10 ? ', …' : ''}; give each device a name of its own`,
        );
      }
      return turns.run(report.reportId, agent.schoolId, () => store(request, budgets));
    },
  };
}
