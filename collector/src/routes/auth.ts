import type { FastifyReply, FastifyRequest } from 'fastify';
import type { CollectorContext } from '../context.js';
import { sendError } from '../errors.js';

/** onRequest hook: a per-agent bearer token, checked before the body is read. */
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
    req.agent = agent;
  };
}
