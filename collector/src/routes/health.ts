import type { FastifyInstance } from 'fastify';
import { PACKAGE_VERSION } from '../../../protocol/version.js';
import type { CollectorContext } from '../context.js';

/**
 * GET /healthz: the process is up; says whether the time-series store answers. InfluxDB configured but
 * not answering: `status: "degraded"` with the reason; 503 when reports cannot be accepted meanwhile
 * (no influx.outbox to queue them: every report would get 503), 200 while the outbox queues them.
 */
export function healthRoutes(app: FastifyInstance, ctx: CollectorContext): void {
  app.get('/healthz', { config: { access: 'public' } }, async (_req, reply) => {
    let influx: 'ok' | 'unavailable' | 'not configured' = 'not configured';
    if (ctx.influx)
      influx = (await ctx.influx.ping(AbortSignal.timeout(2000)).catch(() => false)) ? 'ok' : 'unavailable';
    const base = { version: PACKAGE_VERSION, influx, notifications: ctx.channelStats.snapshot() };
    if (influx !== 'unavailable') return { status: 'ok', acceptingReports: true, ...base };
    const where = `InfluxDB at ${ctx.config.influx?.url ?? '?'} does not answer`;
    if (ctx.outbox) {
      return {
        status: 'degraded',
        reason: `${where}: reports are accepted and queued in the outbox until it answers`,
        acceptingReports: true,
        ...base,
      };
    }
    return reply.code(503).send({
      status: 'degraded',
      reason: `${where}: reports are refused (503, the agents keep them and retry) until it answers`,
      acceptingReports: false,
      ...base,
    });
  });
}
