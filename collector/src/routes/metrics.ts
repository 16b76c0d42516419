import type { FastifyInstance } from 'fastify';
import type { CollectorContext } from '../context.js';
import { sendError } from '../errors.js';

/** GET /metrics (Prometheus text format) and the ingest observations behind it. */
export function metricsRoutes(app: FastifyInstance, ctx: CollectorContext): void {
  app.addHook('onResponse', async (req, reply) => {
    if (req.method === 'POST' && req.routeOptions.url === '/api/v1/reports')
      ctx.metrics.observeReport(
        reply.statusCode,
        reply.elapsedTime / 1000,
        req.duplicateReport === true,
        req.overloaded ? 'overloaded' : req.overBudget ? 'over_budget' : undefined,
      );
  });
  // the collector's own health: any token of the city scope (Prometheus' scrape token)
  app.get('/metrics', { config: { access: 'read' } }, async (req, reply) => {
    if (req.principal?.scope.level !== 'city')
      return sendError(reply, 403, '/metrics needs a token of the city scope');
    const text = await ctx.metrics.text();
    return reply.header('content-type', ctx.metrics.contentType).send(text);
  });
}
