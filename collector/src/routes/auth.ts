import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CollectorContext } from '../context.js';
import { sendError } from '../errors.js';

/**
 * onRequest hook: a per-agent bearer token, checked before the body is read; a revoked agent's token is
 * refused, and says so (read from the state store on every request: a revocation counts at once).
 */
export function agentAuth(ctx: CollectorContext) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const header = req.headers.authorization;
    if (!header) {
      reply.header('www-authenticate', 'Bearer realm="campuswatch"');
      await sendError(reply, 401, 'missing bearer token (Authorization: Bearer <agent token>)');
      return;
    }
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    const agent = m ? await ctx.state.authenticate(m[1]!) : undefined;
    if (!agent) {
      reply.header('www-authenticate', 'Bearer realm="campuswatch", error="invalid_token"');
      await sendError(reply, 401, 'invalid agent token');
      return;
    }
    if (agent.revokedAt !== null) {
      reply.header('www-authenticate', 'Bearer realm="campuswatch", error="invalid_token"');
      await sendError(
        reply,
        401,
        `this agent was revoked at ${agent.revokedAt} (agent ${agent.id}); its reports are refused: enrol the box again with a new code (campuswatch-collector enroll-code)`,
      );
      return;
    }
    req.agent = agent;
  };
}
