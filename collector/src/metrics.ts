import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { BUDGET_NAMES } from './budgets.js';

/** Why a report was not stored, from the answer's status (one label value per kind of problem). */
export const REJECT_REASONS: Readonly<Record<number, string>> = {
  400: 'invalid',
  401: 'unauthenticated',
  403: 'forbidden',
  409: 'conflict',
  413: 'too_large',
  415: 'media_type',
  422: 'refused_by_influxdb',
  429: 'rate_limited',
  503: 'influxdb_unavailable',
};

export interface MetricsSources {
  channels: () => Array<{ channel: string; sent: number; failed: number; retried: number; delayed: number }>;
  alerts: () => Promise<Array<{ state: string }>>;
  schools: () => Promise<number>;
  agents: () => Promise<number>;
  /** Whether this collector leads alerting (undefined before its first evaluation). */
  alertLeader: () => boolean | undefined;
  /** Evaluations run as the leader since start. */
  alertEvaluations: () => number;
  /** Seconds those evaluations took, notifications not included. */
  alertEvaluationSeconds: () => number;
  slots: () => { active: number; granted: number; refused: number };
  /** influx.outbox: points and reports stored and not yet in InfluxDB (undefined without an outbox). */
  outbox?: () => { points: number; reports: number };
}

/** Bounds (seconds) of the latency histograms: the ingest answer and InfluxDB's /write answer. */
const LATENCY_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The collector's own health in Prometheus text format (GET /metrics): ingest counts and latency,
 * rejections by reason, InfluxDB write errors, notifications, alert states — what an operator graphs
 * and alerts on, like any exporter. One registry per collector (tests run several in one process).
 */
export class CollectorMetrics {
  readonly registry = new Registry();
  readonly reports: Counter<'outcome'>;
  readonly rejected: Counter<'reason'>;
  readonly ingestSeconds: Histogram<'outcome'>;
  readonly points: Counter;
  readonly influxErrors: Counter<'kind'>;
  /** `/write` requests to InfluxDB (each carries the points of the reports finished meanwhile). */
  readonly influxWriteSeconds: Histogram<'outcome'>;
  /** Reports being stored now (ingest.maxConcurrent turns more away). */
  readonly ingestsInFlight: Gauge;
  /** influx.outbox: points of answered reports that InfluxDB refused (kept in outbox_refused). */
  readonly outboxRefused: Counter;
  /** Logins and enrolments refused by back-off before their secret was checked, and the ones checked. */
  readonly throttle: Counter<'what' | 'decision' | 'by'>;
  /** Reports refused because they would take their school over a budget (budgets.ts), by budget. */
  readonly overBudget: Counter<'budget'>;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'campuswatch_collector_' });
    this.reports = new Counter({
      name: 'campuswatch_reports_total',
      help: 'Reports answered, by outcome (stored, duplicate, rejected)',
      labelNames: ['outcome'],
      registers,
    });
    this.rejected = new Counter({
      name: 'campuswatch_reports_rejected_total',
      help: 'Reports not stored, by reason (the answer status: invalid 400, unauthenticated 401, forbidden 403, conflict 409, too_large 413, media_type 415, refused_by_influxdb 422, over_budget 422, rate_limited 429, influxdb_unavailable 503, overloaded 503: too many reports being stored at once)',
      labelNames: ['reason'],
      registers,
    });
    this.ingestSeconds = new Histogram({
      name: 'campuswatch_ingest_duration_seconds',
      help: 'Time from request to answer for POST /api/v1/reports',
      labelNames: ['outcome'],
      buckets: LATENCY_BUCKETS_S,
      registers,
    });
    this.points = new Counter({
      name: 'campuswatch_influxdb_points_written_total',
      help: 'Points written to InfluxDB',
      registers,
    });
    this.influxErrors = new Counter({
      name: 'campuswatch_influxdb_write_errors_total',
      help: 'Failed InfluxDB writes: unavailable (the agent retries) or rejected (the points were refused)',
      labelNames: ['kind'],
      registers,
    });
    this.influxWriteSeconds = new Histogram({
      name: 'campuswatch_influxdb_write_duration_seconds',
      help: 'Time InfluxDB took to answer a /write request (the points of every report finished meanwhile), by outcome (ok, failed)',
      labelNames: ['outcome'],
      buckets: LATENCY_BUCKETS_S,
      registers,
    });
    this.ingestsInFlight = new Gauge({
      name: 'campuswatch_ingests_in_flight',
      help: 'Reports being stored now (validated, written to InfluxDB, evaluated); more than ingest.maxConcurrent are answered 503',
      registers,
    });
    this.throttle = new Counter({
      name: 'campuswatch_throttle_decisions_total',
      help: 'Login and enrolment attempts: what (login|enroll), decision (checked|throttled|locked), by (address|account|none)',
      labelNames: ['what', 'decision', 'by'],
      registers,
    });
    this.outboxRefused = new Counter({
      name: 'campuswatch_outbox_refused_points_total',
      help: 'Points of stored reports that InfluxDB refused as bad data after the answer (influx.outbox); kept in the outbox file, table outbox_refused',
      registers,
    });
    this.overBudget = new Counter({
      name: 'campuswatch_reports_over_budget_total',
      help: 'Reports refused (422) because they would exceed a budget of their school, by budget (devicesPerSchool, seriesPerSchool, resultsPerReport)',
      labelNames: ['budget'],
      registers,
    });
    for (const budget of BUDGET_NAMES) this.overBudget.inc({ budget }, 0);
    if (sources.outbox) {
      const outbox = sources.outbox;
      new Gauge({
        name: 'campuswatch_outbox_pending',
        help: 'Stored reports whose series are not yet in InfluxDB (influx.outbox), in points and reports',
        labelNames: ['unit'],
        registers,
        collect() {
          const { points, reports } = outbox();
          this.set({ unit: 'points' }, points);
          this.set({ unit: 'reports' }, reports);
        },
      });
    }
    for (const kind of ['unavailable', 'rejected']) this.influxErrors.inc({ kind }, 0);
    for (const outcome of ['stored', 'duplicate', 'rejected']) this.reports.inc({ outcome }, 0);

    new Gauge({
      name: 'campuswatch_notifications',
      help: 'Notifications per channel since start, by result (sent, failed, retried, delayed by the rate limit)',
      labelNames: ['channel', 'result'],
      registers,
      collect() {
        this.reset();
        for (const c of sources.channels()) {
          for (const result of ['sent', 'failed', 'retried', 'delayed'] as const)
            this.set({ channel: c.channel, result }, c[result]);
        }
      },
    });
    new Gauge({
      name: 'campuswatch_alerts',
      help: 'Alerts by state',
      labelNames: ['state'],
      registers,
      async collect() {
        const counts = { pending: 0, firing: 0, resolved: 0 } as Record<string, number>;
        for (const a of await sources.alerts()) counts[a.state] = (counts[a.state] ?? 0) + 1;
        for (const [state, n] of Object.entries(counts)) this.set({ state }, n);
      },
    });
    new Gauge({
      name: 'campuswatch_schools',
      help: 'Registered schools',
      registers,
      async collect() {
        this.set(await sources.schools());
      },
    });
    new Gauge({
      name: 'campuswatch_alert_leader',
      help: 'Whether this collector evaluates and sends alerts (1), or another collector sharing its state store does (0)',
      registers,
      collect() {
        const leading = sources.alertLeader();
        if (leading !== undefined) this.set(leading ? 1 : 0);
      },
    });
    new Gauge({
      name: 'campuswatch_alert_evaluations',
      help: 'Alert evaluations this collector ran as the leader since it started',
      registers,
      collect() {
        this.set(sources.alertEvaluations());
      },
    });
    new Gauge({
      name: 'campuswatch_alert_evaluation_seconds',
      help: 'Seconds the alert evaluations this collector ran as the leader took in all (reading state, rules, saving; not sending notifications)',
      registers,
      collect() {
        this.set(sources.alertEvaluationSeconds());
      },
    });
    new Gauge({
      name: 'campuswatch_agents',
      help: 'Enrolled agents',
      registers,
      async collect() {
        this.set(await sources.agents());
      },
    });
    new Gauge({
      name: 'campuswatch_speedtest_slots_active',
      help: 'Speed tests running now',
      registers,
      collect() {
        this.set(sources.slots().active);
      },
    });
  }

  /** Records one answered POST /api/v1/reports. */
  observeReport(status: number, seconds: number, duplicate: boolean, reason?: string): void {
    const outcome = status < 300 ? (duplicate ? 'duplicate' : 'stored') : 'rejected';
    this.reports.inc({ outcome });
    this.ingestSeconds.observe({ outcome }, seconds);
    if (outcome === 'rejected')
      this.rejected.inc({ reason: reason ?? REJECT_REASONS[status] ?? `http_${status}` });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
