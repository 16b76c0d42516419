import type { FastifyInstance } from 'fastify';
import type { CollectorContext } from '../context.js';

/** GET /metrics (Prometheus text format) and the ingest observations behind it. */
export function metricsRoutes(app: FastifyInstance, ctx: CollectorContext): void {
  app.addHook('onResponse', async (req, reply) => {
    if (req.method === 'POST' && req.routeOptions.url === '/api/v1/reports')
      ctx.metrics.observeReport(
        reply.statusCode,
        reply.elapsedTime / 1000,
        req.duplicateReport === true,
        req.overloaded ? 'overloaded' : undefined,
      );
  });
  app.get('/metrics', async (_req, reply) => {
    const text = await ctx.metrics.text();
    return reply.header('content-type', ctx.metrics.contentType).send(text);
  });
}
