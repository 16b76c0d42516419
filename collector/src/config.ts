import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { type Static, Type } from 'typebox';
import {
  ConfigError,
  type CrossCheck,
  isLoopbackHost,
  loadConfigFile,
  parseConfig,
  readConfiguredFile,
} from '../../protocol/config-file.js';
import { isValidTimezone, SCHOOL_ID_PATTERN, School } from '../../protocol/school.js';
import type { Problem } from '../../protocol/validate.js';
import { BudgetsConfig } from './budgets.js';
import { NEVER_REPORTED_AFTER_S } from './evaluate/agent-status.js';
import { type ChannelConfig, checkChannelConfig, checkChannelNames } from './notifiers/config.js';

/** influx.batchLingerMs by default (bench/ingest's raw reference coalesces with it too). */
export const BATCH_LINGER_MS = 50;

/** A read-only InfluxDB user's password: give it as `${env:NAME}` or `${file:/path}`. */
const ReaderPassword = Type.String({ minLength: 8, maxLength: 200 });

/** A district database's name starts with this (letters, digits, `_`); its hex slug follows. */
export const DATABASE_PREFIX_PATTERN = '^[A-Za-z_][A-Za-z0-9_]{0,31}$';

/**
 * Grafana in the access scopes (deploy/grafana-organisations.md): every point
 * of a school in district D is written to the main database and also to D's own database
 * `<databasePrefix><hex of D's UTF-8 name>` (store/district-databases.ts), which the collector creates with
 * the main database's retention and rollups; `readers` gives each district a read-only user
 * `<that database>_reader` (READ on its database only) for its Grafana organisation's data source.
 */
export const PerDistrictConfig = Type.Object(
  {
    enabled: Type.Boolean({ default: false }),
    databasePrefix: Type.String({ default: 'campuswatch_d_', pattern: DATABASE_PREFIX_PATTERN }),
    /** By district name as the schools carry it, e.g. `苏州工业园区: { password: ${env:…} }`. */
    readers: Type.Record(
      Type.String({ minLength: 1, maxLength: 200 }),
      Type.Object({ password: ReaderPassword }, { additionalProperties: false }),
      { default: {} },
    ),
    /** The city organisation's read-only user of the main database (optional: it may be made by hand). */
    cityReader: Type.Optional(
      Type.Object(
        {
          username: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_.-]{0,63}$' }),
          password: ReaderPassword,
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false, default: {} },
);
export type PerDistrictConfig = Static<typeof PerDistrictConfig>;

export const InfluxConfig = Type.Object(
  {
    url: Type.String({ pattern: '^https?://[^\\s/]+/?$', description: 'http(s)://host:port' }),
    database: Type.String({ default: 'campuswatch', pattern: '^[A-Za-z0-9_-]{1,64}$' }),
    username: Type.Optional(Type.String({ minLength: 1 })),
    password: Type.Optional(Type.String({ minLength: 1 })),
    timeoutMs: Type.Integer({ default: 10_000, minimum: 100, maximum: 300_000 }),
    /**
     * How long a report's points may wait for other reports' to share one `/write` when InfluxDB has a
     * free slot: fewer, larger requests (each is a WAL append and fsync in InfluxDB) for a little latency.
     */
    batchLingerMs: Type.Integer({ default: BATCH_LINGER_MS, minimum: 0, maximum: 10_000 }),
    /**
     * Answer a report once its series are committed to a queue on the collector's disk (dataDir/outbox.sqlite)
     * instead of once InfluxDB took them: InfluxDB's pauses stop reaching the agents, and the queued series go
     * in large writes. Bounded by maxPendingPoints: beyond it a report waits up to timeoutMs for room, then
     * gets 503 and stays in the agent's spool.
     */
    outbox: Type.Object(
      {
        enabled: Type.Boolean({ default: false }),
        maxPendingPoints: Type.Integer({ default: 100_000, minimum: 1, maximum: 100_000_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** Raw points are kept this long; hourly and daily rollups (continuous queries) much longer. */
    rawRetentionDays: Type.Integer({ default: 90, minimum: 1, maximum: 3650 }),
    rollupRetentionDays: Type.Integer({ default: 1096, minimum: 1, maximum: 36500 }),
    perDistrict: PerDistrictConfig,
  },
  { additionalProperties: false },
);
export type InfluxConfig = Static<typeof InfluxConfig>;

/** Where the state lives: SQLite in dataDir (one collector) or PostgreSQL (several collectors share it). */
export const StateConfig = Type.Object(
  {
    kind: Type.Union([Type.Literal('sqlite'), Type.Literal('postgres')], { default: 'sqlite' }),
    /**
     * postgres://user:password@host:port/database (kind postgres). It carries a password: give it as
     * `${env:NAME}` or `${file:/path}` rather than inline.
     */
    url: Type.Optional(Type.String({ pattern: '^postgres(ql)?://\\S+$' })),
    /** Connections in the pool of each collector (plus one held for the alert leadership lock). */
    poolMax: Type.Integer({ default: 10, minimum: 1, maximum: 1000 }),
    /**
     * SQLite: latest results kept parsed in memory (≈ 340 B of heap each, but RSS grows 2–5× that, see
     * bench/README.md), so a report does not re-read its
     * school's; 0 turns it off. A school with one agent has ~40, with ten campus agents ~400.
     */
    latestCacheResults: Type.Integer({ default: 500_000, minimum: 0, maximum: 100_000_000 }),
  },
  { additionalProperties: false, default: {} },
);
export type StateConfig = Static<typeof StateConfig>;

export const TlsConfig = Type.Object(
  {
    /** PEM certificate of the collector (with its intermediates, or give those in caFile). */
    certFile: Type.String({ minLength: 1 }),
    /** PEM private key of that certificate. */
    keyFile: Type.String({ minLength: 1 }),
    /** PEM intermediate CA certificate(s) sent with the certificate to complete its chain. */
    caFile: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);
export type TlsConfig = Static<typeof TlsConfig>;

export const CollectorConfig = Type.Object(
  {
    listen: Type.String({ default: '127.0.0.1:8080', pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[^\\s:]+):\\d{1,5}$' }),
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
    ingest: Type.Object(
      {
        bodyLimitBytes: Type.Integer({ default: 1_048_576, minimum: 1024, maximum: 64 * 1_048_576 }),
        /**
         * A gzip-compressed body (`Content-Encoding: gzip`, as agents send reports) may inflate to at most
         * this many bytes; beyond it the request is refused with 413 as soon as that much was inflated (a
         * gzip bomb costs no more). `bodyLimitBytes` still bounds the bytes on the wire.
         */
        decodedBodyLimitBytes: Type.Integer({
          default: 4 * 1_048_576,
          minimum: 1024,
          maximum: 256 * 1_048_576,
        }),
        retryAfterS: Type.Integer({ default: 30, minimum: 1, maximum: 3600 }),
        /**
         * Reports being stored at once (validated, written, evaluated); beyond it a report is answered 503 +
         * Retry-After before its body is read, and the agent keeps it. Bounds the collector's backlog (and
         * memory) when InfluxDB or the collector cannot keep up, instead of agents timing out on requests
         * the collector then still works through.
         */
        maxConcurrent: Type.Integer({ default: 256, minimum: 1, maximum: 100_000 }),
        /** Reports older than this (after clock correction) are refused with 400: keep it below the raw retention. */
        maxAgeDays: Type.Integer({ default: 89, minimum: 1, maximum: 3650 }),
        /**
         * Results (and a report's start and end) stamped further than this past the collector's clock, after
         * the clock correction, are refused with 400 naming the field. A result from the future would stay the
         * device's latest state until that time and hide the outages reported meanwhile (a BIOS clock set to
         * local time before NTP corrects it stamps results hours ahead while the report's sent-at is right).
         * A few minutes cover the agent's clock drifting between two NTP corrections.
         */
        futureToleranceS: Type.Integer({ default: 300, minimum: 0, maximum: 86_400 }),
        /**
         * Reports per agent: a sustained rate and a burst (429 + Retry-After beyond). The defaults let an
         * agent flush a day of spooled reports (1440) in about a minute and stop one stuck in a loop.
         */
        ratePerAgent: Type.Object(
          {
            perSecond: Type.Number({ default: 20, minimum: 0.01, maximum: 100_000 }),
            burst: Type.Integer({ default: 200, minimum: 1, maximum: 1_000_000 }),
          },
          { additionalProperties: false, default: {} },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
    /**
     * Per-school budgets (budgets.ts): devices and series in a school's latest state, results per report;
     * a report over one is refused with 422 naming it, counted and alerted. `schools.<id>` overrides them.
     */
    budgets: BudgetsConfig,
    /** HTTP server limits: slow or oversized requests are cut off (slow-loris, header floods). */
    http: Type.Object(
      {
        /** The whole request head must arrive within this (Node's headersTimeout): 408 otherwise. */
        headersTimeoutS: Type.Number({ default: 10, minimum: 1, maximum: 600 }),
        /** The whole request, body included, within this (Node's requestTimeout). */
        requestTimeoutS: Type.Number({ default: 60, minimum: 1, maximum: 3600 }),
        /** An idle keep-alive connection is closed after this. */
        keepAliveTimeoutS: Type.Number({ default: 65, minimum: 1, maximum: 3600 }),
        /** Request heads larger than this get 431. */
        maxHeaderBytes: Type.Integer({ default: 16_384, minimum: 1024, maximum: 1_048_576 }),
        /**
         * Open connections per listener (Node's server.maxConnections; upgraded upload streams count): one
         * beyond it is closed at once, and idle keep-alive connections are closed then to make room. Bounds
         * the collector's file descriptors; sized for thousands of agents' keep-alives.
         */
        maxConnections: Type.Integer({ default: 2000, minimum: 2, maximum: 1_000_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
    speedtest: Type.Object(
      {
        enabled: Type.Boolean({ default: true }),
        /** Tests at once: the centre's own capacity divided by the per-school rate it should sustain. */
        maxConcurrent: Type.Integer({ default: 2, minimum: 1, maximum: 1000 }),
        /** How long a slot lasts unless released (covers both directions and the RTT checks). */
        slotTtlS: Type.Integer({ default: 90, minimum: 10, maximum: 3600 }),
        maxStreamSeconds: Type.Integer({ default: 40, minimum: 1, maximum: 600 }),
        /**
         * Upload streams, and download streams, open at once on one slot: beyond it a stream is refused with
         * 429. The agent opens at most 16 (its bandwidth.maxStreams); twice that leaves room for a stream
         * whose close the collector has not seen yet.
         */
        maxStreamsPerSlot: Type.Integer({ default: 32, minimum: 1, maximum: 1024 }),
        /** Own listener for the byte streams, so gigabit tests bypass a proxy in front of the API. */
        listen: Type.Optional(Type.String({ pattern: '^(\\[[0-9A-Fa-f:.]+\\]|[^\\s:]+):\\d{1,5}$' })),
        /** URL agents use for the streams (default: the speed-test listener, else the API URL they used). */
        publicUrl: Type.Optional(Type.String({ pattern: '^https?://[^\\s/]+/?$' })),
      },
      { additionalProperties: false, default: {} },
    ),
    /** Bearer token of the admin API (silences); the admin API is off without one. */
    adminToken: Type.Optional(Type.String({ minLength: 16, maxLength: 512 })),
    alerts: Type.Object(
      {
        enabled: Type.Boolean({ default: true }),
        /** Seconds an alert must hold before it fires. */
        forS: Type.Integer({ default: 0, minimum: 0, maximum: 86_400 }),
        /** Reminder interval while firing. */
        repeatS: Type.Integer({ default: 14_400, minimum: 60, maximum: 30 * 86_400 }),
        /** How often the rules are evaluated (also after every report). */
        evaluateS: Type.Integer({ default: 30, minimum: 1, maximum: 3600 }),
        findingSeverity: Type.Enum(['critical', 'high', 'medium', 'low', 'info'], { default: 'high' }),
        /** An agent is silent after this many seconds without a report (3 × its 60 s cycle). */
        agentSilentS: Type.Integer({ default: 180, minimum: 30, maximum: 86_400 }),
        /** An enrolled agent that has not sent its first report this many seconds after enrolment alerts. */
        neverReportedAfterS: Type.Integer({
          default: NEVER_REPORTED_AFTER_S,
          minimum: 60,
          maximum: 30 * 86_400,
        }),
        channels: Type.Array(Type.Unknown(), { default: [], maxItems: 100 }),
        /** Once a day at this school-local time, a summary of what is still firing, per school. */
        digest: Type.Object(
          {
            enabled: Type.Boolean({ default: false }),
            at: Type.String({ default: '08:00', pattern: '^([01]\\d|2[0-3]):[0-5]\\d$' }),
          },
          { additionalProperties: false, default: {} },
        ),
        /** Which channels get which alerts; with no routes every channel gets everything. */
        routes: Type.Array(
          Type.Object(
            {
              channels: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
              severity: Type.Optional(Type.Array(Type.Enum(['critical', 'high', 'medium', 'low', 'info']))),
              district: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
              group: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
            },
            { additionalProperties: false },
          ),
          { default: [] },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
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
    reports: Type.Object(
      {
        /** The collector freezes each district's term snapshot after the term's last day (targets.yaml terms). */
        snapshotAtTermEnd: Type.Boolean({ default: true }),
        /**
         * A term that ended longer ago than this without a snapshot is left to `snapshot take` (its state
         * would be today's, not the term's end): a collector started long after a term does not freeze it.
         */
        snapshotGraceDays: Type.Integer({ default: 14, minimum: 1, maximum: 366 }),
        /** The report mailed once per term (with several collectors too) once its snapshots are taken. */
        termMail: Type.Array(
          Type.Object(
            {
              /** An e-mail channel of alerts.channels: its SMTP server, sender and (by default) recipients. */
              channel: Type.String({ minLength: 1 }),
              /** The district's report; absent: the whole city's. */
              district: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
              to: Type.Optional(
                Type.Array(Type.String({ pattern: '^[^\\s@]+@[^\\s@]+$' }), { minItems: 1, maxItems: 100 }),
              ),
              formats: Type.Array(Type.Enum(['pdf', 'xlsx', 'csv']), {
                default: ['pdf', 'xlsx'],
                minItems: 1,
              }),
              lang: Type.Enum(['zh', 'en'], { default: 'zh' }),
            },
            { additionalProperties: false },
          ),
          { default: [], maxItems: 200 },
        ),
      },
      { additionalProperties: false, default: {} },
    ),
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
  const channels: ChannelConfig[] = [];
  c.alerts.channels.forEach((raw, i) => {
    const r = checkChannelConfig(raw, `alerts/channels/${i}`);
    if (r.ok) channels.push(r.value);
    else problems.push(...r.problems);
  });
  if (channels.length === c.alerts.channels.length) {
    problems.push(...checkChannelNames(channels, 'alerts/channels'));
    // keep the defaults the channel schemas filled in
    c.alerts.channels.splice(0, c.alerts.channels.length, ...channels);
    const names = new Set(channels.map((ch) => ch.name));
    const mail = new Set(channels.filter((ch) => ch.type === 'email').map((ch) => ch.name));
    c.reports.termMail.forEach((m, i) => {
      if (!mail.has(m.channel))
        problems.push({
          path: `reports/termMail/${i}/channel`,
          message: `no e-mail channel named ${JSON.stringify(m.channel)} in alerts.channels`,
        });
    });
    for (const [i, r] of c.alerts.routes.entries()) {
      for (const [j, n] of r.channels.entries()) {
        if (!names.has(n))
          problems.push({
            path: `alerts/routes/${i}/channels/${j}`,
            message: `no channel named ${JSON.stringify(n)}`,
          });
      }
    }
  }
  if (c.state.kind === 'postgres' && c.state.url === undefined) {
    problems.push({ path: 'state/url', message: 'kind postgres needs the url of the PostgreSQL database' });
  }
  if (c.state.kind === 'sqlite' && c.state.url !== undefined) {
    problems.push({ path: 'state/url', message: 'a url is only for kind postgres' });
  }
  if (c.influx && (c.influx.username === undefined) !== (c.influx.password === undefined)) {
    problems.push({ path: 'influx/password', message: 'username and password go together' });
  }
  problems.push(...checkPerDistrict(c.influx));
  return problems;
};

/** perDistrict needs an admin to create databases and users; its readers are unused while it is off. */
function checkPerDistrict(influx: InfluxConfig | undefined): Problem[] {
  const pd = influx?.perDistrict;
  if (!influx || !pd) return [];
  const problems: Problem[] = [];
  if (pd.enabled && influx.username === undefined) {
    problems.push({
      path: 'influx/perDistrict/enabled',
      message:
        "needs influx.username and password of an InfluxDB admin (it creates the districts' databases, users and grants; without authentication on InfluxDB a grant limits nothing)",
    });
  }
  if (!pd.enabled) {
    if (Object.keys(pd.readers).length > 0)
      problems.push({ path: 'influx/perDistrict/readers', message: 'only used with enabled: true' });
    if (pd.cityReader)
      problems.push({ path: 'influx/perDistrict/cityReader', message: 'only used with enabled: true' });
  }
  if (pd.cityReader && pd.cityReader.username === influx.username)
    problems.push({
      path: 'influx/perDistrict/cityReader/username',
      message: "must not be the collector's own (admin) user: it is made read-only",
    });
  return problems;
}

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

interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca?: Buffer;
}

function readTls(tls: TlsConfig): { ok: true; material: TlsMaterial } | { ok: false; problems: Problem[] } {
  const problems: Problem[] = [];
  const read = (field: 'certFile' | 'keyFile' | 'caFile'): Buffer | undefined => {
    const file = tls[field];
    if (file === undefined) return undefined;
    const r = readConfiguredFile(`tls/${field}`, file);
    if (r.ok) return r.content;
    problems.push(r.problem);
    return undefined;
  };
  const cert = read('certFile');
  const key = read('keyFile');
  const ca = read('caFile');
  if (!cert || !key || problems.length > 0) return { ok: false, problems };
  return { ok: true, material: { cert, key, ...(ca ? { ca } : {}) } };
}

/** The files exist, hold a PEM certificate and key, and the key belongs to the certificate. */
function checkTls(tls: TlsConfig): Problem[] {
  const r = readTls(tls);
  if (!r.ok) return r.problems;
  const { cert, key, ca } = r.material;
  const problems: Problem[] = [];
  try {
    new X509Certificate(cert);
  } catch {
    problems.push({ path: 'tls/certFile', message: `${tls.certFile} holds no PEM certificate` });
  }
  try {
    createPrivateKey(key);
  } catch {
    problems.push({
      path: 'tls/keyFile',
      message: `${tls.keyFile} holds no PEM private key (or it is encrypted)`,
    });
  }
  if (ca && tls.caFile) {
    try {
      new X509Certificate(ca);
    } catch {
      problems.push({ path: 'tls/caFile', message: `${tls.caFile} holds no PEM certificate` });
    }
  }
  if (problems.length > 0) return problems;
  try {
    createSecureContext({ cert, key, ...(ca ? { ca } : {}) });
  } catch (err) {
    problems.push({
      path: 'tls/keyFile',
      message: `does not go with the certificate in tls.certFile (${(err as Error).message})`,
    });
  }
  return problems;
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
