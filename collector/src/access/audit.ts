/** The audit trail's writer: who (account or token), from where, did what (nothing secret). */
import type { FastifyRequest } from 'fastify';
import type { CollectorContext } from '../context.js';

export async function audit(
  ctx: Pick<CollectorContext, 'state' | 'now' | 'log'>,
  req: FastifyRequest,
  action: string,
  target: string,
  detail = '',
  actor: string = req.principal?.name ?? 'anonymous',
): Promise<void> {
  try {
    await ctx.state.access.appendAudit({
      at: ctx.now().toISOString(),
      actor,
      address: req.ip,
      action,
      target,
      detail,
    });
  } catch (err) {
    // an audit row that cannot be written is loud, never silent
    ctx.log.error({ err: (err as Error).message, action, target }, 'audit trail write failed');
    throw err;
  }
}
