import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
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
  unknown: 'unknown enrolment code',
  used: 'this enrolment code was already used; ask for a new one',
  expired: 'this enrolment code has expired; ask for a new one',
} as const;

/** POST /api/v1/enroll: a one-time code becomes a per-agent token bound to the code's school. */
export function enrollRoutes(app: FastifyInstance, ctx: CollectorContext): void {
  app.post<{ Body: { code: string; hostname: string; agentVersion: string } }>(
    '/api/v1/enroll',
    { schema: { body: EnrollBody }, bodyLimit: 16_384 },
    async (req, reply) => {
      const result = await ctx.state.enroll(req.body.code, {
        hostname: req.body.hostname,
        version: req.body.agentVersion,
      });
      if ('error' in result) return sendError(reply, 403, MESSAGES[result.error]);
      req.log.info({ agentId: result.agent.id, schoolId: result.agent.schoolId }, 'agent enrolled');
      return reply
        .code(201)
        .send({ agentId: result.agent.id, schoolId: result.agent.schoolId, token: result.token });
    },
  );
}
