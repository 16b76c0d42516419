import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { FailureDigest } from '../access/failure-digest.js';
import { Backoff, refusedByBackoff } from '../access/throttle.js';
import type { CollectorContext } from '../context.js';
import { sendError } from '../errors.js';

const EnrollBody = Type.Object(
  {
    code: Type.String({ minLength: 1, maxLength: 64 }),
    hostname: Type.String({ minLength: 1, maxLength: 255 }),
    agentVersion: Type.String({ minLength: 1, maxLength: 64 }),
  },
  { additionalProperties: false },
);

const MESSAGES = {
  unknown:
    'unknown enrolment code: this collector never issued it; check the code against what enroll-code printed, and the URL against the collector that printed it',
  used: 'this enrolment code was already used; ask for a new one',
  expired: 'this enrolment code has expired; ask for a new one',
} as const;

/** POST /api/v1/enroll: a one-time code becomes a per-agent token bound to the code's school. */
export function enrollRoutes(app: FastifyInstance, ctx: CollectorContext): void {
  // a wrong code backs its address off (after 5 free tries: 1 s, doubling to 15 min); the code space is
  // 32^15, so the guesses a back-off leaves an address are hopeless
  const byAddress = new Backoff({ baseMs: 1000, maxMs: 15 * 60_000, freeFailures: 5 });
  // and a code tried wrongly (used, expired) backs off itself, whichever address tries it
  const byCode = new Backoff({ baseMs: 1000, maxMs: 15 * 60_000, freeFailures: 5 });
  // a guesser costs the log a line per burst (per address and window), not lines per guess
  const failures = new FailureDigest(ctx.log, {
    what: 'enrolment',
    windowMs: ctx.config.enrollment.failureLogWindowS * 1000,
  });
  app.addHook('onClose', async () => failures.flush());
  app.post<{ Body: { code: string; hostname: string; agentVersion: string } }>(
    '/api/v1/enroll',
    // logLevel warn: no request lines per attempt (FailureDigest sums failures up; a success logs itself)
    { schema: { body: EnrollBody }, bodyLimit: 16_384, config: { access: 'public' }, logLevel: 'warn' },
    async (req, reply) => {
      const now = ctx.now().getTime();
      const message = 'too many wrong enrolment codes from this address; wait and retry';
      if (await refusedByBackoff(byAddress, req.ip, now, reply, ctx.metrics, 'enroll', message)) {
        failures.failed(req.ip, { throttled: true, reason: message });
        return reply;
      }
      const code = req.body.code.trim().toUpperCase();
      const busy = 'this enrolment code was tried wrongly too often; wait and retry';
      if (await refusedByBackoff(byCode, code, now, reply, ctx.metrics, 'enroll', busy, 'code')) {
        failures.failed(req.ip, { throttled: true, reason: busy });
        return reply;
      }
      ctx.metrics.throttle.inc({ what: 'enroll', decision: 'checked', by: 'none' });
      const result = await ctx.state.enroll(req.body.code, {
        hostname: req.body.hostname,
        version: req.body.agentVersion,
      });
      if ('error' in result) {
        byAddress.failed(req.ip, now);
        byCode.failed(code, now);
        failures.failed(req.ip, { throttled: false, reason: `${result.error} enrolment code` });
        return sendError(reply, 403, MESSAGES[result.error]);
      }
      byAddress.succeeded(req.ip);
      byCode.succeeded(code);
      ctx.log.info(
        { agentId: result.agent.id, schoolId: result.agent.schoolId, remoteAddress: req.ip },
        'agent enrolled',
      );
      return reply
        .code(201)
        .send({ agentId: result.agent.id, schoolId: result.agent.schoolId, token: result.token });
    },
  );
}
