import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { checkReport } from '../../../protocol/report-check.js';
import { formatProblem } from '../../../protocol/validate.js';
import { SENT_AT_HEADER } from '../../../protocol/version.js';
import { bodyMetrics, decodeBodies, parserLimit } from '../body-encoding.js';
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
import { apiError, sendError, sendRetryLater } from '../errors.js';
import { teachingSamples, windowStartDay } from '../evaluate/availability.js';
import { evaluateCompliance, tierOf } from '../evaluate/compliance.js';
import { findingKey, nextFindings, supersededClauses } from '../evaluate/findings.js';
import { inMaintenance } from '../evaluate/maintenance.js';
import { mergeLatest } from '../ingest/merge-latest.js';
import { KeyedRateLimiter } from '../rate-limit.js';
import {
  InfluxRejectedError,
  InfluxUnavailableError,
  refusedForData,
  writeErrorKind,
} from '../store/influx.js';
import { reportLines } from '../store/points.js';
import { resultKey, shiftedResult } from '../store/state.js';
import { targetsFor } from '../targets.js';
import { agentAuth } from './auth.js';

const safeIso = (t: number) =>
  Number.isFinite(new Date(t).getTime()) ? new Date(t).toISOString() : 'a time beyond any calendar';

/** How far ahead a time is, for an error message: `86 days`, `23 h`, `12 min`, `301 s`. */
function aheadText(ms: number): string {
  if (!Number.isFinite(ms)) return 'beyond any calendar';
  if (ms >= 2 * 86_400_000) return `${Math.round(ms / 86_400_000)} days`;
  if (ms >= 3_600_000) return `${Math.round(ms / 360_000) / 10} h`;
  if (ms >= 600_000) return `${Math.round(ms / 60_000)} min`;
  return `${Math.ceil(ms / 1000)} s`;
}

/** Clock offsets beyond this are not a wrong clock but a broken header. */
const MAX_CLOCK_OFFSET_MS = 200 * 365.25 * 86_400_000;

/** The agent's clock minus ours, from the time it says it sent the request; undefined without a usable header. */
export function clockOffsetMs(
  sentAtHeader: string | string[] | undefined,
  receivedAt: Date,
): number | undefined {
  const v = Array.isArray(sentAtHeader) ? sentAtHeader[0] : sentAtHeader;
  if (!v) return undefined;
  const sent = Date.parse(v);
  return Number.isNaN(sent) ? undefined : sent - receivedAt.getTime();
}

/**
 * POST /api/v1/reports (docs/architecture.md, "Data flow"): authenticate, validate, check the school binding,
 * de-duplicate by reportId, correct the agent's clock, write the series, and only then answer 2xx.
 */
export function reportRoutes(app: FastifyInstance, ctx: CollectorContext): void {
  /** Reports being written now: a second delivery of one (an agent's retry after its timeout) waits for it. */
  const inFlight = new Map<string, Promise<void>>();
  /**
   * The last report of each school being stored: a school's reports are stored one after another in this
   * collector, so that each is judged against its school's budgets with the reports before it counted
   * (concurrent reports of new devices would otherwise each pass a budget they exceed together).
   */
  const schoolTurns = new Map<string, Promise<void>>();
  const inTurn = async <T>(schoolId: string, work: () => Promise<T>): Promise<T> => {
    const before = schoolTurns.get(schoolId);
    let done: () => void = () => undefined;
    const mine = new Promise<void>((resolve) => {
      done = resolve;
    });
    schoolTurns.set(schoolId, mine);
    try {
      if (before) await before;
      return await work();
    } finally {
      done();
      if (schoolTurns.get(schoolId) === mine) schoolTurns.delete(schoolId);
    }
  };
  const { perSecond, burst } = ctx.config.ingest.ratePerAgent;
  const limiter = new KeyedRateLimiter(perSecond, burst);
  const rateLimit = async (req: FastifyRequest, reply: FastifyReply) => {
    if (!req.agent || reply.sent) return;
    const waitS = limiter.take(req.agent.id);
    if (waitS === undefined) return;
    const retryAfterS = Math.max(1, Math.ceil(waitS));
    await sendRetryLater(
      reply,
      429,
      retryAfterS,
      `this agent sends more than ${perSecond} reports a second (burst ${burst}); retry in ${retryAfterS} s`,
    );
  };
  /** Reports in the handler now (body read): more than ingest.maxConcurrent are turned away. */
  let active = 0;
  const { maxConcurrent, retryAfterS } = ctx.config.ingest;
  const admit = async (req: FastifyRequest, reply: FastifyReply) => {
    if (!req.agent || reply.sent || active < maxConcurrent) return;
    // before the body is read: under overload a refused report costs next to nothing
    req.overloaded = true;
    await sendRetryLater(
      reply,
      503,
      retryAfterS,
      `the collector is busy storing ${active} reports; keep the report and retry in ${retryAfterS} s`,
    );
  };
  /** The route's handler, counted in `active` (and the in-flight gauge) while it runs. */
  const counted =
    (handler: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>) =>
    async (req: FastifyRequest, reply: FastifyReply) => {
      ctx.metrics.ingestsInFlight.set(++active);
      try {
        return await handler(req, reply);
      } finally {
        ctx.metrics.ingestsInFlight.set(--active);
      }
    };
  /** Device results older than these leave a school's latest state when its next report lacks them. */
  const freshness = freshnessMs(ctx.targets);
  /** Refuses a report over a budget: 422 naming it, counted, remembered for the over-budget alert. */
  const overBudget = async (
    req: FastifyRequest,
    reply: FastifyReply,
    agentId: string,
    schoolId: string,
    e: BudgetExceeded,
  ) => {
    req.overBudget = true;
    ctx.metrics.overBudget.inc({ budget: e.budget });
    req.log.warn({ agentId, schoolId, ...e }, 'report refused: over a budget of its school');
    try {
      await ctx.state.noteBudgetRefusal(
        { ...e, schoolId, agentId, at: ctx.now().toISOString() },
        OVER_BUDGET_HOLD_MS,
      );
    } catch (err) {
      // the refusal stands; only its alert may be missing
      req.log.error(
        { err: (err as Error).message, schoolId },
        'could not note a budget refusal for its alert',
      );
    }
    if (ctx.config.alerts.enabled) ctx.alerts.evaluateSoon(ctx.now);
    return reply.code(422).send({ ...apiError(422, budgetMessage(schoolId, e)), ...e });
  };
  const bodyLimits = {
    wireBytes: ctx.config.ingest.bodyLimitBytes,
    decodedBytes: ctx.config.ingest.decodedBodyLimitBytes,
  };
  app.post(
    '/api/v1/reports',
    {
      // gzip bodies inflate as they arrive, each limit enforced by decodeBodies (body-encoding.ts)
      bodyLimit: parserLimit(bodyLimits),
      onRequest: [agentAuth(ctx), rateLimit, admit],
      preParsing: decodeBodies(bodyLimits, bodyMetrics(ctx.metrics.registry)),
      config: { access: 'agent' },
    },
    counted(async (req, reply) => {
      const agent = req.agent!;
      const check = checkReport(req.body);
      if (!check.ok) return sendError(reply, 400, check.problems.map(formatProblem).join('; '));
      const report = check.report;
      if (report.agentId !== agent.id) {
        return sendError(
          reply,
          403,
          `agentId ${JSON.stringify(report.agentId)} does not match the token's agent`,
        );
      }
      if (report.schoolId !== agent.schoolId) {
        return sendError(
          reply,
          403,
          `this agent's token is bound to school ${JSON.stringify(agent.schoolId)}, not ${JSON.stringify(report.schoolId)}`,
        );
      }
      const budgets = budgetsFor(ctx.config.budgets, agent.schoolId);
      if (report.results.length > budgets.resultsPerReport) {
        return overBudget(req, reply, agent.id, agent.schoolId, {
          budget: 'resultsPerReport',
          limit: budgets.resultsPerReport,
          count: report.results.length,
        });
      }
      const duplicates = duplicateIdentities(report.results);
      if (duplicates.length > 0) {
        return sendError(
          reply,
          400,
          `results: ${duplicates.length} device identities (probe|device|check|port) occur more than once in this report, the store keeps one of each: ${duplicates
            .slice(0, 10)
            .map((d) => `${d.key} (${d.times} times)`)
            .join(', ')}${duplicates.length > 10 ? ', …' : ''}; give each device a name of its own`,
        );
      }
      // one delivery of a report at a time in this collector: a second one (the agent's retry after its own
      // timeout) waits until the first has completed or failed its ingest, then sees it as a duplicate
      for (let running = inFlight.get(report.reportId); running; running = inFlight.get(report.reportId))
        await running;
      let finished: () => void = () => undefined;
      inFlight.set(
        report.reportId,
        new Promise<void>((resolve) => {
          finished = resolve;
        }),
      );
      const ingest = async () => {
        const previous = await ctx.state.getIngest(report.reportId);
        if (previous?.state === 'done') {
          req.duplicateReport = true;
          return reply.code(200).send({ status: 'duplicate', reportId: report.reportId });
        }
        if (previous && previous.agentId !== agent.id) {
          return sendError(reply, 409, `reportId ${report.reportId} was already sent by another agent`);
        }
        const school = await ctx.state.getSchool(agent.schoolId);
        if (!school)
          return sendError(reply, 403, `school ${JSON.stringify(agent.schoolId)} is no longer registered`);

        // when the request arrived, not when its turn came: a collector behind on its queue must not take
        // its own backlog for a wrong agent clock (bench/ingest saw reports shifted by ~63 s that way)
        const receivedAt = new Date(ctx.now().getTime() - reply.elapsedTime);
        const sentAt = req.headers[SENT_AT_HEADER];
        const measured = clockOffsetMs(sentAt, receivedAt);
        if (sentAt !== undefined && (measured === undefined || Math.abs(measured) > MAX_CLOCK_OFFSET_MS)) {
          return sendError(
            reply,
            400,
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
        const toleranceS = ctx.config.ingest.futureToleranceS;
        const newest = receivedAt.getTime() + toleranceS * 1000;
        const outOfRange = [
          ['startedAt', report.startedAt],
          ['finishedAt', report.finishedAt],
          ...report.results.map((r, i): [string, string] => [`results/${i}/at`, r.at]),
        ]
          .map(([path, iso]) => ({ path, t: Date.parse(iso as string) - shiftMs }))
          .filter(({ t }) => t < oldest || t > newest);
        if (outOfRange.length > 0) {
          return sendError(
            reply,
            400,
            outOfRange
              .slice(0, 5)
              .map(
                ({ path, t }) =>
                  `${path}: ${safeIso(t)} is ${t < oldest ? `older than ${ctx.config.ingest.maxAgeDays} days` : `${aheadText(t - receivedAt.getTime())} in the future (more than ingest.futureToleranceS = ${toleranceS} s)`} (after clock correction)`,
              )
              .join('; '),
          );
        }
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
        const [storedLatest, history, stored, storedFindings, answered, agents, maintenance] =
          await Promise.all([
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
        if (exceeded) return overBudget(req, reply, agent.id, school.id, exceeded);
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
            agents: agents.map((a) =>
              a.id === agent.id ? { ...a, lastSeenAt: receivedAt.toISOString() } : a,
            ),
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
          const influx = ctx.influx;
          if (ctx.outbox) {
            // committed to the collector's disk: InfluxDB gets the points soon, in a larger write
            if (!(await ctx.outbox.add(lines, ctx.config.influx?.timeoutMs ?? 10_000))) {
              return sendRetryLater(
                reply,
                503,
                ctx.config.ingest.retryAfterS,
                'the time-series store is behind and the collector queue is full; keep the report and retry later',
              );
            }
          } else
            try {
              await ctx.influxReady();
              await influx.writeCoalesced(lines);
              ctx.metrics.points.inc(lines.length);
            } catch (err) {
              ctx.metrics.influxErrors.inc({ kind: writeErrorKind(err) });
              // a refusal that is about the collector (auth, missing database: 401/403/404), not the report, is retryable
              const collectorSide = err instanceof InfluxRejectedError && !refusedForData(err);
              if (err instanceof InfluxUnavailableError || collectorSide) {
                req.log.warn(
                  { reportId: report.reportId, err: err.message },
                  'InfluxDB unavailable; asking the agent to retry',
                );
                return sendRetryLater(
                  reply,
                  503,
                  ctx.config.ingest.retryAfterS,
                  'the time-series store is unavailable; keep the report and retry later',
                );
              }
              if (err instanceof InfluxRejectedError) {
                req.log.error({ reportId: report.reportId, err: err.message }, 'InfluxDB refused the points');
                return sendError(reply, 422, `the report's series were refused: ${err.message}`);
              }
              throw err;
            }
        }
        const first = await ctx.state.completeIngest({
          reportId: report.reportId,
          agent,
          results: report.results,
          ...(leaving.size > 0
            ? {
                leaving: {
                  keys: [...leaving],
                  before: new Date(
                    receivedAt.getTime() - Math.min(...Object.values(freshness)),
                  ).toISOString(),
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
          ...(report.health.spoolUnstored !== undefined
            ? { spoolUnstored: report.health.spoolUnstored }
            : {}),
          spoolFailingSince: report.health.spoolFailure?.since ?? null,
          findings,
          rooms: samples.rooms,
          answeredRooms,
          ...(previous || beginFirst ? {} : { begin }),
        });
        if (!first) {
          req.duplicateReport = true;
          return reply.code(200).send({ status: 'duplicate', reportId: report.reportId });
        }
        if (report.health.spoolFailure) {
          // the school's box has a full disk (or a failing one): it keeps reporting from memory, said once a report
          req.log.warn(
            { agentId: agent.id, schoolId: school.id, spoolFailure: report.health.spoolFailure },
            'the agent’s spool cannot write (its disk full?); it holds new reports in memory until it can',
          );
        }
        if (shiftMs !== 0) {
          req.log.warn(
            { agentId: agent.id, schoolId: school.id, clockOffsetS: offset / 1000 },
            'agent clock not synchronised; its timestamps were shifted to the collector clock',
          );
        }
        if (ctx.config.alerts.enabled) {
          // alert rules look at the new state soon: reports coalesce, delivery never delays the agent
          ctx.alerts.evaluateSoon(ctx.now);
        }
        return reply.code(200).send({
          status: 'stored',
          reportId: report.reportId,
          clockOffsetS: offset / 1000,
          shifted: shiftMs !== 0,
        });
      };
      try {
        return await inTurn(agent.schoolId, ingest);
      } finally {
        inFlight.delete(report.reportId);
        finished();
      }
    }),
  );
}
