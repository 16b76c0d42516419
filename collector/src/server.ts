import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { isLoopbackHost } from '../../protocol/config-file.js';
import { buildApp, buildSpeedtestApp } from './app.js';
import { publishCompliance, recheckCompliance } from './compliance/refresh.js';
import { type CollectorConfig, listenScheme, splitListen } from './config.js';
import { createCollectorLogger } from './log.js';
import { journalCutoff, PRUNE_EVERY_MS, pruneJournal } from './store/journal-retention.js';
import { newTermEndMemo, termEnd } from './term-report/term-end.js';

export { COLLECTOR_REDACT_PATHS, createCollectorLogger } from './log.js';

export interface RunningCollector {
  app: FastifyInstance;
  url: string;
  close(): Promise<void>;
}

/** Listens, and shuts down gracefully on SIGTERM/SIGINT: stop accepting, finish in-flight requests, close stores. */
export async function startCollector(
  config: CollectorConfig,
  opts: { log?: Logger; handleSignals?: boolean } = {},
): Promise<RunningCollector> {
  const log = opts.log ?? createCollectorLogger();
  const app = await buildApp(config, { log });
  const { host, port } = splitListen(config.listen);
  await app.listen({ host, port });
  const addr = app.server.address();
  const actualPort = typeof addr === 'object' && addr ? addr.port : port;
  const scheme = listenScheme(config);
  const url = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
  let speedtest: FastifyInstance | undefined;
  if (config.speedtest.enabled && config.speedtest.listen) {
    speedtest = buildSpeedtestApp(app.campuswatch);
    const st = splitListen(config.speedtest.listen);
    await speedtest.listen({ host: st.host, port: st.port });
    const a = speedtest.server.address();
    const stUrl = `${scheme}://${st.host.includes(':') ? `[${st.host}]` : st.host}:${typeof a === 'object' && a ? a.port : st.port}`;
    app.campuswatch.speedtestUrl = config.speedtest.publicUrl ?? stUrl;
    log.info({ url: stUrl }, 'speed-test streams on their own listener');
  }
  if (config.influx) {
    log.info({ influx: config.influx.url, database: config.influx.database }, 'writing series to InfluxDB');
  } else {
    log.warn(
      'no InfluxDB configured: running on the embedded default (state, API, compliance); no series are written',
    );
  }
  if (!config.tls && !isLoopbackHost(host)) {
    log.warn({ url }, 'plain HTTP (allowPlainHttp): agent tokens and enrolment codes travel in clear text');
  }
  log.info(
    {
      url,
      api: `${url}/api/v1`,
      health: `${url}/healthz`,
      dataDir: config.dataDir,
      tls: Boolean(config.tls),
    },
    'collector listening',
  );
  let timer: NodeJS.Timeout | undefined;
  if (config.alerts.enabled) {
    // silent agents and expiring acceptances change with time alone: evaluate on a clock too
    timer = setInterval(() => {
      void app.campuswatch.alerts
        .evaluate(new Date())
        .catch((err: unknown) => log.error({ err: (err as Error).message }, 'alert evaluation failed'));
    }, config.alerts.evaluateS * 1000);
    timer.unref();
  }
  // the ingest journal is kept as long as reports are accepted (a day more), then forgotten
  const pruneOnce = () => {
    const { state, now } = app.campuswatch;
    pruneJournal(state, journalCutoff(now(), config.ingest.maxAgeDays))
      .then((n) => {
        if (n > 0) log.info({ rows: n }, 'ingest journal pruned');
      })
      .catch((err: unknown) =>
        log.error({ err: (err as Error).message }, 'pruning the ingest journal failed'),
      );
  };
  const pruner = setInterval(pruneOnce, PRUNE_EVERY_MS);
  pruner.unref();
  // evidence ages out with time alone; InfluxDB gets every school's standing and the district KPIs
  let lastPublish = 0;
  let refreshing = false;
  // term snapshots and their mail (reports:), looked for on the publish clock, after the recheck
  const termMemo = newTermEndMemo();
  const refreshCompliance = () => {
    if (refreshing) return;
    refreshing = true;
    const ctx = app.campuswatch;
    const now = ctx.now();
    const publish = now.getTime() - lastPublish >= config.compliance.publishS * 1000;
    recheckCompliance(ctx, now)
      .then(() =>
        publish ? publishCompliance(ctx, now).then(() => (lastPublish = now.getTime())) : undefined,
      )
      .catch((err: unknown) => log.error({ err: (err as Error).message }, 'compliance refresh failed'))
      .then(() =>
        publish
          ? termEnd(ctx, now, termMemo).catch((err: unknown) =>
              log.error({ err: (err as Error).message }, 'term snapshot or report mail failed'),
            )
          : undefined,
      )
      .finally(() => {
        refreshing = false;
      });
  };
  const refresher = setInterval(refreshCompliance, config.compliance.recheckS * 1000);
  refresher.unref();
  refreshCompliance();
  let closing: Promise<void> | undefined;
  const close = () => {
    clearInterval(pruner);
    clearInterval(refresher);
    if (timer) clearInterval(timer);
    closing ??= Promise.all([app.close(), speedtest?.close()]).then(() => log.info('collector stopped'));
    return closing;
  };
  if (opts.handleSignals) {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      process.once(sig, () => {
        log.info({ signal: sig }, 'shutting down');
        void close().then(() => process.exit(0));
      });
    }
  }
  return { app, url, close };
}
