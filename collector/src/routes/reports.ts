import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { checkReport } from '../../../protocol/report-check.js';
import { formatProblem } from '../../../protocol/validate.js';
import { SENT_AT_HEADER } from '../../../protocol/version.js';
import { bodyMetrics, decodeBodies, parserLimit } from '../body-encoding.js';
import type { CollectorContext } from '../context.js';
import { apiError, sendError, sendRetryLater } from '../errors.js';
import type { IngestOutcome } from '../ingest/outcome.js';
import { ingestService } from '../ingest/service.js';
import { KeyedRateLimiter } from '../rate-limit.js';
import { agentAuth } from './auth.js';

/** An ingest outcome as the HTTP answer the agents know (docs/architecture.md, "Data flow"). */
function answer(req: FastifyRequest, reply: FastifyReply, outcome: IngestOutcome): FastifyReply {
  switch (outcome.kind) {
    case 'stored':
      return reply.code(200).send({
        status: 'stored',
        reportId: outcome.reportId,
        clockOffsetS: outcome.clockOffsetS,
        shifted: outcome.shifted,
      });
    case 'duplicate':
      req.duplicateReport = true;
      return reply.code(200).send({ status: 'duplicate', reportId: outcome.reportId });
    case 'rejected':
      if (outcome.reason === 'over-budget') {
        req.overBudget = true;
        return reply.code(422).send({ ...apiError(422, outcome.message), ...outcome.budget });
      }
      return sendError(reply, outcome.status, outcome.message);
    case 'retry-later':
      return sendRetryLater(reply, outcome.status, outcome.retryAfterS, outcome.message);
    default: {
      const never: never = outcome;
      throw new Error(`unknown ingest outcome ${JSON.stringify(never)}`);
    }
  }
}

/**
 * POST /api/v1/reports (docs/architecture.md, "Data flow"): authenticate, admit (rate, load), validate, then
 * hand the report to the ingest service (ingest/service.ts: school binding, budgets, de-duplication by reportId,
 * clock correction, series written before the answer) and answer its outcome.
 */
export function reportRoutes(app: FastifyInstance, ctx: CollectorContext): void {
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
  const service = ingestService(ctx);
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
      const check = checkReport(req.body);
      if (!check.ok) return sendError(reply, 400, check.problems.map(formatProblem).join('; '));
      const outcome = await service.ingest({
        agent: req.agent!,
        report: check.report,
        // when the request arrived (its elapsed time counts from then), asked when the report's turn comes
        receivedAt: () => new Date(ctx.now().getTime() - reply.elapsedTime),
        sentAt: req.headers[SENT_AT_HEADER],
        log: req.log,
      });
      return answer(req, reply, outcome);
    }),
  );
}
