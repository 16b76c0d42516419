import type { FastifyInstance } from 'fastify';
import { PACKAGE_VERSION } from '../../../protocol/version.js';
import type { CollectorContext } from '../context.js';

/** GET /healthz: the process is up; says whether the time-series store answers. */
export function healthRoutes(app: FastifyInstance, ctx: CollectorContext): void {
  app.get('/healthz', { config: { access: 'public' } }, async () => {
    let influx: 'ok' | 'unavailable' | 'not configured' = 'not configured';
    if (ctx.influx)
      influx = (await ctx.influx.ping(AbortSignal.timeout(2000)).catch(() => false)) ? 'ok' : 'unavailable';
    return { status: 'ok', version: PACKAGE_VERSION, influx, notifications: ctx.channelStats.snapshot() };
  });
}
