/**
 * collector.yaml: the schema assembled from one module per block (config/), the checks across blocks, and
 * the loaders. The blocks' schemas and types are re-exported here for the collector's modules.
 */
import { type Static, Type } from 'typebox';
import {
  ConfigError,
  type CrossCheck,
  isLoopbackHost,
  loadConfigFile,
  parseConfig,
} from '../../protocol/config-file.js';
import { isValidTimezone, SCHOOL_ID_PATTERN, School } from '../../protocol/school.js';
import type { Problem } from '../../protocol/validate.js';
import { BudgetsConfig } from './budgets.js';
import { AlertsConfig, checkAlerts, ReportsConfig } from './config/alerts.js';
import { checkInflux, InfluxConfig } from './config/influx.js';
import { HttpConfig, IngestConfig, LISTEN_PATTERN, SpeedtestConfig, StateConfig } from './config/server.js';
import { checkTls, readTls, TlsConfig, type TlsMaterial } from './config/tls.js';

// what is imported through this file (the other blocks are imported from config/ where needed)
export { BATCH_LINGER_MS, DATABASE_PREFIX_PATTERN, InfluxConfig } from './config/influx.js';

export const CollectorConfig = Type.Object(
  {
    listen: Type.String({ default: '127.0.0.1:8080', pattern: LISTEN_PATTERN }),
    /** HTTPS for the API and the speed-test listener; without it only loopback addresses may listen. */
    tls: Type.Optional(TlsConfig),
    /** Listen in plain HTTP on a non-loopback address (behind a TLS-terminating proxy, or a lab). */
    allowPlainHttp: Type.Boolean({ default: false }),
    dataDir: Type.String({ default: '/var/lib/campuswatch-collector', minLength: 1 }),
    state: StateConfig,
    baselineFile: Type.Optional(
      Type.String({ minLength: 1, description: 'defaults to the packaged config/baseline.yaml' }),
    ),
    targetsFile: Type.Optional(
      Type.String({ minLength: 1, description: 'defaults to the packaged config/targets.yaml' }),
    ),
    influx: Type.Optional(InfluxConfig),
    clock: Type.Object(
      { maxOffsetS: Type.Number({ default: 30, minimum: 1, maximum: 86_400 }) },
      { additionalProperties: false, default: {} },
    ),
    ingest: IngestConfig,
    /**
     * Per-school budgets (budgets.ts): devices and series in a school's latest state, results per report;
     * a report over one is refused with 422 naming it, counted and alerted. `schools.<id>` overrides them.
     */
    budgets: BudgetsConfig,
    /** HTTP server limits: slow or oversized requests are cut off (slow-loris, header floods). */
    http: HttpConfig,
    speedtest: SpeedtestConfig,
    /** Bearer token of the admin API (silences); the admin API is off without one. */
    adminToken: Type.Optional(Type.String({ minLength: 16, maxLength: 512 })),
    alerts: AlertsConfig,
    enrollment: Type.Object(
      {
        codeTtlHours: Type.Number({ default: 24, minimum: 0.1, maximum: 720 }),
        /** Failed enrolments from one address are logged as one line per this many seconds (the first at once). */
        failureLogWindowS: Type.Number({ default: 60, minimum: 0.1, maximum: 3600 }),
      },
      { additionalProperties: false, default: {} },
    ),
    access: Type.Object(
      {
        /** A session ends after this long without a request… */
        sessionIdleMinutes: Type.Integer({ default: 30, minimum: 1, maximum: 1440 }),
        /** …and this long after login in any case. */
        sessionMaxHours: Type.Integer({ default: 12, minimum: 1, maximum: 720 }),
        /** Failed logins of one account before it is locked (for 1 min, doubling each time, at most a day). */
        lockAfterFailures: Type.Integer({ default: 5, minimum: 1, maximum: 100 }),
      },
      { additionalProperties: false, default: {} },
    ),
    compliance: Type.Object(
      {
        /** How often schools whose evidence aged out are evaluated again (their rows turn no_data). */
        recheckS: Type.Integer({ default: 60, minimum: 1, maximum: 3600 }),
        /** How often every school's rows and the district KPIs are written to InfluxDB (`compliance`, `compliance_kpi`). */
        publishS: Type.Integer({ default: 300, minimum: 10, maximum: 86_400 }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** The term inspection report (督导通报): snapshots at term end and their e-mail. */
    reports: ReportsConfig,
    /** The web console served at `/`. */
    console: Type.Object(
      {
        /** How often the wall display (/wall) fetches its figures again, in place (no reload). */
        wallRefreshS: Type.Integer({ default: 30, minimum: 2, maximum: 3600 }),
      },
      { additionalProperties: false, default: {} },
    ),
    schools: Type.Array(School, { default: [], maxItems: 100_000 }),
  },
  { additionalProperties: false },
);
export type CollectorConfig = Static<typeof CollectorConfig>;

const SCHOOL_ID_RE = new RegExp(SCHOOL_ID_PATTERN);

const crossCheck: CrossCheck<CollectorConfig> = (c) => {
  const problems: Problem[] = [];
  const port = Number(c.listen.slice(c.listen.lastIndexOf(':') + 1));
  if (port > 65535) problems.push({ path: 'listen', message: `port ${port} is out of range (0-65535)` });
  if (c.tls) problems.push(...checkTls(c.tls));
  else if (!c.allowPlainHttp) {
    const plain: [string, string | undefined][] = [
      ['listen', c.listen],
      ['speedtest/listen', c.speedtest.enabled ? c.speedtest.listen : undefined],
    ];
    for (const [path, listen] of plain) {
      if (listen === undefined) continue;
      const { host } = splitListen(listen);
      if (!isLoopbackHost(host)) {
        problems.push({
          path,
          message: `plain HTTP on the non-loopback address ${host}: configure tls (certFile, keyFile) or set allowPlainHttp: true`,
        });
      }
    }
  }
  const ids = new Set<string>();
  c.schools.forEach((s, i) => {
    if (ids.has(s.id))
      problems.push({ path: `schools/${i}/id`, message: `duplicate school id ${JSON.stringify(s.id)}` });
    ids.add(s.id);
    if (!isValidTimezone(s.timezone)) {
      problems.push({
        path: `schools/${i}/timezone`,
        message: `unknown time zone ${JSON.stringify(s.timezone)}`,
      });
    }
  });
  for (const id of Object.keys(c.budgets.schools)) {
    if (!SCHOOL_ID_RE.test(id))
      problems.push({
        path: `budgets/schools/${id}`,
        message: `${JSON.stringify(id)} is not a school id (letters, digits, dot, dash, underscore; 1-64)`,
      });
  }
  problems.push(...checkAlerts(c.alerts, c.reports));
  if (c.state.kind === 'postgres' && c.state.url === undefined) {
    problems.push({ path: 'state/url', message: 'kind postgres needs the url of the PostgreSQL database' });
  }
  if (c.state.kind === 'sqlite' && c.state.url !== undefined) {
    problems.push({ path: 'state/url', message: 'a url is only for kind postgres' });
  }
  problems.push(...checkInflux(c.influx));
  return problems;
};

export function loadCollectorConfig(file: string): CollectorConfig {
  return loadConfigFile(CollectorConfig, file, crossCheck);
}

export function parseCollectorConfig(text: string, file = '<inline>'): CollectorConfig {
  return parseConfig(CollectorConfig, text, file, crossCheck);
}

export function splitListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  return { host: listen.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(listen.slice(i + 1)) };
}

/**
 * Fastify's `https` option from `tls`, read when the collector starts (a certificate renewed on disk is
 * picked up at the next start). Without `tls`: nothing, plain HTTP. A file that cannot be read is a
 * ConfigError naming the field and the path.
 */
export function httpsOptions(config: CollectorConfig): { https?: TlsMaterial } {
  if (!config.tls) return {};
  const r = readTls(config.tls);
  if (!r.ok) throw new ConfigError('collector config', r.problems);
  return { https: r.material };
}

/** `https` or `http`, as the collector's listeners speak. */
export function listenScheme(config: CollectorConfig): 'https' | 'http' {
  return config.tls ? 'https' : 'http';
}
