import { join } from 'node:path';
import Fastify, { type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import { type Logger, pino } from 'pino';
import type { Access } from './access/model.js';
import { enforceAccess, registerCookies, requireAccessDeclarations } from './access/plugin.js';
import { createAlerting } from './alerts/service.js';
import { type BaselineConfig, DEFAULT_BASELINE_FILE, loadBaseline } from './baseline.js';
import { type CollectorConfig, httpsOptions } from './config.js';
import { CONSOLE_PAGES } from './console/pages.js';
import { consoleRoutes, registerConsoleSecurity } from './console/routes.js';
import type { CollectorContext } from './context.js';
import { apiError, isDiskFull } from './errors.js';
import { CollectorMetrics } from './metrics.js';
import { acceptRawUtf8Urls } from './raw-url.js';
import { alertRoutes } from './routes/alerts.js';
import { complianceRoutes } from './routes/compliance.js';
import { enrollRoutes } from './routes/enroll.js';
import { findingRoutes } from './routes/findings.js';
import { fleetRoutes } from './routes/fleet.js';
import { healthRoutes } from './routes/health.js';
import { maintenanceRoutes } from './routes/maintenance.js';
import { metricsRoutes } from './routes/metrics.js';
import { reportRoutes } from './routes/reports.js';
import { schoolRoutes } from './routes/schools.js';
import { sessionRoutes } from './routes/session.js';
import { speedtestSlotRoutes, speedtestStreamRoutes } from './routes/speedtest.js';
import { termReportRoutes } from './routes/term-report.js';
import { SlotScheduler } from './speedtest/slots.js';
import { InfluxStore, perDistrictOptions, refusedForData, writeErrorKind } from './store/influx.js';
import { Outbox } from './store/outbox.js';
import { ensureRetention } from './store/retention.js';
import { openStateStore } from './store/state.js';
import { DEFAULT_TARGETS_FILE, loadTargets, type TargetsConfig } from './targets.js';
import { schemaErrorFormatter, validatorCompiler } from './validation.js';

export interface BuildOptions {
  log?: Logger;
  now?: () => Date;
  targets?: TargetsConfig;
  baseline?: BaselineConfig;
}

/**
 * At most `max` open connections (upgraded upload streams included): Node closes one beyond it as soon as
 * it is accepted. Each refusal also closes the idle keep-alive connections (none with a request in
 * progress), at most once a second, so that an agent arriving next finds room: thousands of idle
 * keep-alives cannot lock ingest out, and requests being served are never cut.
 */
export function limitConnections(server: FastifyInstance['server'], max: number): void {
  server.maxConnections = max;
  let reapedAt = 0;
  server.on('drop', () => {
    const t = performance.now();
    if (t - reapedAt < 1000) return;
    reapedAt = t;
    server.closeIdleConnections();
  });
}

/** A Fastify instance with the API's conventions: TypeBox validation, JSON only, one error shape, 5xx hidden. */
export function baseApp(config: CollectorConfig, log: Logger): FastifyInstance {
  const limits = config.http;
  const serverLimits = {
    maxHeaderSize: limits.maxHeaderBytes,
    // how often Node looks for requests past headersTimeout/requestTimeout (default 30 s: too coarse)
    connectionsCheckingInterval: Math.min(1000, (limits.headersTimeoutS * 1000) / 2),
  };
  const tls = httpsOptions(config).https; // HTTPS when `tls` is configured (cert and key read here, at start)
  const app: FastifyInstance = Fastify({
    loggerInstance: log as FastifyBaseLogger,
    // oversized request heads get 431 from Node before any of our code runs
    ...(tls ? { https: { ...tls, ...serverLimits } } : { http: serverLimits }),
    requestTimeout: limits.requestTimeoutS * 1000,
    keepAliveTimeout: limits.keepAliveTimeoutS * 1000,
    bodyLimit: config.ingest.bodyLimitBytes,
    schemaErrorFormatter,
  });
  // slow-loris: a request head that trickles in is cut off (408) after headersTimeout; Node checks open
  // requests every connectionsCheckingInterval (30 s by default, too coarse for a short limit)
  app.server.headersTimeout = limits.headersTimeoutS * 1000;
  acceptRawUtf8Urls(app.server); // `?district=示范区` sent as raw UTF-8 (curl, scripts) is not a 400
  limitConnections(app.server, limits.maxConnections);
  app.setValidatorCompiler(validatorCompiler);
  app.removeContentTypeParser('text/plain'); // the API speaks JSON only: anything else is a 415
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (isDiskFull(err)) {
      // the state or the outbox could not be written (its transaction rolled back): the agent keeps the report
      req.log.error(
        { err: err.message },
        'the collector’s disk is full; reports are refused (503) until it has room',
      );
      reply.header('retry-after', String(config.ingest.retryAfterS));
      return reply
        .code(503)
        .send(
          apiError(
            503,
            'the collector cannot store reports now (its disk is full); keep the report and retry later',
          ),
        );
    }
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) {
      req.log.error({ err: { message: err.message, stack: err.stack } }, 'request failed');
      return reply.code(status).send(apiError(status, 'internal error; see the collector log'));
    }
    let message = err.message;
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      message = `request body is larger than the limit of ${req.routeOptions.bodyLimit ?? config.ingest.bodyLimitBytes} bytes`;
    } else if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      message = 'content-type must be application/json';
    }
    return reply.code(status).send(apiError(status, message));
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send(apiError(404, `no route ${req.method} ${req.url}`)),
  );
  // every route says who may call it; one that does not fails here, when the app is built
  app.decorate('accessRoutes', requireAccessDeclarations(app));
  return app;
}

/** The speed-test byte streams on a listener of their own (`speedtest.listen`). */
export function buildSpeedtestApp(ctx: CollectorContext): FastifyInstance {
  const app = baseApp(ctx.config, ctx.log);
  speedtestStreamRoutes(app, ctx, ctx.slots);
  return app;
}

/** Builds the collector (app.ts builds, server.ts listens: tests build the same app without a socket). Tests use `app.inject` or listen on port 0. */
export async function buildApp(config: CollectorConfig, opts: BuildOptions = {}): Promise<FastifyInstance> {
  const log = opts.log ?? pino({ level: 'silent' });
  const targets = opts.targets ?? loadTargets(config.targetsFile ?? DEFAULT_TARGETS_FILE);
  const state = await openStateStore(config, log);
  for (const school of config.schools) await state.upsertSchool(school);
  const influx = config.influx
    ? new InfluxStore({
        url: config.influx.url,
        database: config.influx.database,
        timeoutMs: config.influx.timeoutMs,
        batchLingerMs: config.influx.batchLingerMs,
        ...(config.influx.username
          ? { username: config.influx.username, password: config.influx.password ?? '' }
          : {}),
        ...(config.influx.perDistrict.enabled ? { perDistrict: perDistrictOptions(config.influx, log) } : {}),
      })
    : undefined;
  let ready: Promise<void> | undefined;
  const base = {
    slots: new SlotScheduler(config.speedtest.maxConcurrent, config.speedtest.slotTtlS * 1000),
    speedtestUrl: config.speedtest.publicUrl,
    config,
    targets,
    baseline: opts.baseline ?? loadBaseline(config.baselineFile ?? DEFAULT_BASELINE_FILE),
    state,
    influx,
    log,
    now: opts.now ?? (() => new Date()),
    influxReady: () => {
      if (!influx) return Promise.resolve();
      ready ??= influx
        .ensureDatabase()
        .then(() =>
          // retention and rollups matter for history, not for accepting reports: log, never block ingest
          ensureRetention((q) => influx.execute(q), {
            database: influx.database,
            rawDays: config.influx!.rawRetentionDays,
            rollupDays: config.influx!.rollupRetentionDays,
          }).catch((err: unknown) =>
            log.error({ err: (err as Error).message }, 'InfluxDB retention/rollup setup failed'),
          ),
        )
        .catch((err: unknown) => {
          ready = undefined; // try again on the next write
          throw err;
        });
      return ready;
    },
  };
  const outbox =
    influx && config.influx?.outbox.enabled
      ? new Outbox({
          path: join(config.dataDir, 'outbox.sqlite'),
          maxPendingPoints: config.influx.outbox.maxPendingPoints,
          log,
          write: async (lines) => {
            await base.influxReady();
            await influx.writeCoalesced(lines);
          },
          // only a refusal of the points themselves is final; auth or a missing database is ours to fix
          retryable: (err) => !refusedForData(err),
          onWritten: (points) => metrics.points.inc(points),
          onRefused: (points) => metrics.outboxRefused.inc(points),
          onFailedAttempt: (err) => metrics.influxErrors.inc({ kind: writeErrorKind(err) }),
        })
      : undefined;
  const shared = { ...base, outbox };
  const alerting = createAlerting(shared, config, log, {
    onPointsWritten: (points) => metrics.points.inc(points),
  });
  const metrics = new CollectorMetrics({
    channels: () => alerting.stats.snapshot(),
    alerts: () => alerting.manager.alerts({}),
    // counted by the store: listing 10,000 agents on every scrape held the event loop ~150 ms (bench/ingest)
    schools: async () => (await state.counts()).schools,
    agents: async () => (await state.counts()).agents,
    alertLeader: () => alerting.manager.leading,
    alertEvaluations: () => alerting.manager.evaluations,
    alertEvaluationSeconds: () => alerting.manager.evaluationSeconds,
    slots: () => base.slots.stats(),
    ...(outbox ? { outbox: () => ({ points: outbox.pendingPoints, reports: outbox.pendingReports }) } : {}),
  });
  if (influx) {
    influx.onWrite = (seconds, ok) =>
      metrics.influxWriteSeconds.observe({ outcome: ok ? 'ok' : 'failed' }, seconds);
  }
  const ctx: CollectorContext = {
    ...shared,
    alerts: alerting.manager,
    channelStats: alerting.stats,
    metrics,
  };

  const app = baseApp(config, log);
  await registerCookies(app);
  await registerConsoleSecurity(app);
  enforceAccess(app, ctx);
  healthRoutes(app, ctx);
  sessionRoutes(app, ctx);
  metricsRoutes(app, ctx);
  enrollRoutes(app, ctx);
  reportRoutes(app, ctx);
  schoolRoutes(app, ctx);
  fleetRoutes(app, ctx);
  complianceRoutes(app, ctx);
  termReportRoutes(app, ctx);
  findingRoutes(app, ctx);
  alertRoutes(app, ctx, ctx.alerts);
  maintenanceRoutes(app, ctx);
  consoleRoutes(app, ctx, CONSOLE_PAGES);
  if (config.speedtest.enabled) {
    speedtestSlotRoutes(app, ctx, ctx.slots, () => ctx.speedtestUrl);
    if (!config.speedtest.listen) speedtestStreamRoutes(app, ctx, ctx.slots);
  }

  if (influx) {
    // best effort at start; a write creates it later if InfluxDB was not up yet
    await ctx.influxReady().catch((err: unknown) => {
      log.warn(
        { err: (err as Error).message },
        'InfluxDB not reachable at start; reports get 503 until it is',
      );
    });
  }

  outbox?.resume();
  app.addHook('onClose', async () => {
    ctx.alerts.cancelPending();
    outbox?.close();
    await state.close();
    await influx?.close();
  });
  app.decorate('campuswatch', ctx);
  return app;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route with the access it declared (access/plugin.ts). */
    accessRoutes: { method: string; url: string; access: Access; page?: true }[];
    campuswatch: CollectorContext;
  }
}
