import { v7 as uuidv7 } from 'uuid';
import type { ProbeName, ProbeResult, Report } from '../../protocol/report.js';
import { PACKAGE_VERSION, REPORT_SCHEMA_VERSION } from '../../protocol/version.js';
import { type AgentConfig, DEFAULT_MAX_REPORT_BYTES } from './config.js';
import { collectorCredentials, notEnrolledMessage } from './credentials.js';
import { type FlushResult, Forwarder } from './forwarder.js';
import { type Identity, loadIdentity, spoolFile } from './identity.js';
import { type Logger, silentLogger } from './log.js';
import type { CollectorCredentials, Probe } from './probes/probe.js';
import { PROBES } from './probes/registry.js';
import { reportParts } from './report-parts.js';
import { dueProbes, nextCycleDelayMs, runProbes } from './scheduler.js';
import { Spool } from './spool/spool.js';

export class AgentSetupError extends Error {
  override readonly name = 'AgentSetupError';
}

export interface AgentOptions {
  log?: Logger;
  /** The agent's wall clock; tests inject a wrong one. */
  now?: () => Date;
  registry?: Readonly<Record<ProbeName, Probe>>;
  random?: () => number;
  /** Forwarder backoff bounds (tests shorten them). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
}

/** What `status` shows the school's IT officer about the last cycle. */
export interface CycleSummary {
  reportId: string;
  startedAt: string;
  finishedAt: string;
  cycleMs: number;
  probes: ProbeName[];
  /** Reports the cycle was sent as (more than one when it was larger than `collector.maxReportBytes`). */
  reports?: number;
  outcomes: Record<string, number>;
  failures: { probe: string; target: string; check?: string; outcome: string; error?: string }[];
}

export class CampusAgent {
  readonly spool: Spool;
  readonly forwarder: Forwarder;
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly registry: Readonly<Record<ProbeName, Probe>>;
  private readonly lastRun = new Map<ProbeName, number>();
  /** The token this agent holds and the collector's CA (read once): for the probe kinds that need them. */
  private readonly credentials: () => CollectorCredentials;

  private constructor(
    readonly config: AgentConfig,
    readonly identity: Identity,
    token: string,
    private readonly opts: AgentOptions,
  ) {
    this.log = opts.log ?? silentLogger();
    this.now = opts.now ?? (() => new Date());
    this.registry = opts.registry ?? PROBES;
    this.credentials = collectorCredentials(token, config.collector.caFile);
    this.spool = new Spool(spoolFile(config.state), config.spool.maxReports, {
      maxDeadLetters: config.spool.maxDeadLetters,
      // a full disk is a state: reports are held in memory and sent from there, said once per burst
      onStoreError: (operation, err) =>
        this.log.error(
          { operation, err: err.message, state: config.state },
          'the spool cannot write (is the state directory’s filesystem full?); new reports are held in memory and sent from there until it can',
        ),
      onRecovered: (failure, held) =>
        this.log.info(
          { since: failure.since, held, unstored: this.spool.counters().unstored },
          'the spool writes again; the reports held in memory are stored',
        ),
    });
    this.forwarder = new Forwarder({
      collectorUrl: config.collector.url,
      token,
      spool: this.spool,
      log: this.log,
      now: this.now,
      requestTimeoutMs: config.collector.requestTimeoutS * 1000,
      gzip: config.collector.gzip ?? true,
      maxReportBytes: config.collector.maxReportBytes ?? DEFAULT_MAX_REPORT_BYTES,
      ...(config.collector.caFile ? { caFile: config.collector.caFile } : {}),
      ...(opts.random ? { random: opts.random } : {}),
      ...(opts.backoffBaseMs !== undefined ? { backoffBaseMs: opts.backoffBaseMs } : {}),
      ...(opts.backoffMaxMs !== undefined ? { backoffMaxMs: opts.backoffMaxMs } : {}),
    });
  }

  /** Opens the agent's state: it must be enrolled, for the school its config names. */
  static open(config: AgentConfig, opts: AgentOptions = {}): CampusAgent {
    const loaded = loadIdentity(config.state);
    if (!loaded) {
      throw new AgentSetupError(notEnrolledMessage(config.state));
    }
    if (loaded.identity.schoolId !== config.school.id) {
      throw new AgentSetupError(
        `the agent was enrolled for school ${JSON.stringify(loaded.identity.schoolId)} but its config says school.id ${JSON.stringify(config.school.id)}`,
      );
    }
    return new CampusAgent(config, loaded.identity, loaded.token, opts);
  }

  /**
   * One cycle: run the due probes (all enabled probes when `all`), build its report, check it against the
   * protocol and write it to the spool before anything is sent: as one report, or as several (each under
   * `collector.maxReportBytes`, with its own id and the `cycle` header) when it is larger. The report is
   * returned whole: its id is the first report's (and the cycle's); `cycle` says how many were spooled.
   */
  async cycle(opts: { signal?: AbortSignal; all?: boolean } = {}): Promise<Report> {
    const t0 = performance.now();
    const startedAt = this.now();
    const nowMs = startedAt.getTime();
    const names = opts.all
      ? (Object.keys(this.config.probes) as ProbeName[]).filter((n) => this.config.probes[n].enabled)
      : dueProbes(this.config, this.lastRun, nowMs);
    const runs = await runProbes(names, this.registry, this.config, {
      log: this.log,
      now: this.now,
      credentials: this.credentials,
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
    for (const n of names) this.lastRun.set(n, nowMs);
    const results: ProbeResult[] = runs.flatMap((r) => r.results);
    const finishedAt = this.now();
    const counters = this.spool.counters();
    const report: Report = {
      schema: REPORT_SCHEMA_VERSION,
      reportId: uuidv7(),
      agentId: this.identity.agentId,
      schoolId: this.config.school.id,
      agentVersion: PACKAGE_VERSION,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date(Math.max(finishedAt.getTime(), nowMs)).toISOString(),
      health: {
        spoolDepth: counters.depth,
        spoolDropped: counters.dropped,
        spoolRejected: counters.rejected,
        cycleMs: Math.round((performance.now() - t0) * 1000) / 1000,
        rssMb: Math.round((process.memoryUsage.rss() / 1048576) * 100) / 100,
        // only when there is something to say: a collector before these fields refuses unknown ones
        ...(counters.unstored > 0 ? { spoolUnstored: counters.unstored } : {}),
        ...(counters.deadDropped > 0 ? { spoolDeadDropped: counters.deadDropped } : {}),
        ...(counters.failure ? { spoolFailure: counters.failure } : {}),
      },
      results,
    };
    // a cycle larger than the collector's body limit goes as several reports (each checked against the
    // protocol, spooled and delivered on its own); each is serialised only when it is stored
    let dropped = 0;
    let parts = 0;
    let held = 0;
    for (const part of reportParts(report, {
      // a smaller body limit learned from the collector's own 413 holds for the cycles after it
      maxBytes: Math.min(
        this.config.collector.maxReportBytes ?? DEFAULT_MAX_REPORT_BYTES,
        this.forwarder.learnedPartBytes ?? Number.POSITIVE_INFINITY,
      ),
      newId: uuidv7,
    })) {
      const stored = this.spool.enqueue(part);
      dropped += stored.dropped;
      if (stored.held) held++;
      parts++;
      if (parts === 1 && part.cycle) report.cycle = { ...part.cycle, part: 1 };
    }
    if (dropped > 0) {
      this.log.error(
        { dropped, cap: this.config.spool.maxReports, totalDropped: counters.dropped + dropped },
        'spool full: dropped the oldest reports',
      );
    }
    this.spool.setMeta('lastCycle', JSON.stringify(summarise(report, names)));
    this.log.info(
      {
        reportId: report.reportId,
        probes: names,
        results: results.length,
        reports: parts,
        cycleMs: report.health.cycleMs,
        ...(held > 0 ? { held } : {}),
      },
      held > 0
        ? 'cycle held in memory: the spool cannot write (disk full?); it is sent from memory'
        : 'cycle spooled',
    );
    this.forwarder.kick();
    return report;
  }

  /** One full cycle, then try to deliver everything spooled; undelivered reports stay spooled. */
  async once(opts: { signal?: AbortSignal } = {}): Promise<{ report: Report; flush: FlushResult }> {
    const report = await this.cycle({ ...opts, all: true });
    const flush = await this.forwarder.flush(opts.signal);
    if (flush.stopped)
      this.log.warn({ reason: flush.stopped }, 'collector did not take the reports; they stay spooled');
    return { report, flush };
  }

  /** Cycles on the configured interval with jitter and forwards in the background until the signal aborts. */
  async run(signal: AbortSignal): Promise<void> {
    // the forwarder never stops for an error of its own (an unreadable spool): it is logged and it goes on
    const forwarding = (async () => {
      while (!signal.aborted) {
        try {
          await this.forwarder.run(signal);
        } catch (err) {
          this.log.error({ err: (err as Error).message }, 'forwarding failed; trying again in 10 s');
          await waitOrAbort(10_000, signal);
        }
      }
    })();
    const { intervalS, jitterPct } = this.config.cycle;
    while (!signal.aborted) {
      try {
        await this.cycle({ signal });
      } catch (err) {
        this.log.error({ err: (err as Error).message }, 'cycle failed');
      }
      const delay = nextCycleDelayMs(intervalS, jitterPct, this.opts.random);
      await waitOrAbort(delay, signal);
    }
    await forwarding;
  }

  lastCycle(): CycleSummary | undefined {
    const raw = this.spool.getMeta('lastCycle');
    return raw ? (JSON.parse(raw) as CycleSummary) : undefined;
  }

  close(): void {
    const { lost } = this.spool.close();
    if (lost > 0)
      this.log.error(
        { lost, state: this.config.state },
        'stopped while the spool could not write: reports held in memory were not stored',
      );
    // its keep-alive connections; nothing is in flight once the caller stopped the agent
    this.forwarder.close().catch(() => undefined);
  }
}

/**
 * Resolves after `ms` or as soon as `signal` aborts. The abort listener goes when the wait ends either way:
 * `{ once: true }` alone leaves it on a signal that never aborts, one more per cycle for the daemon's life.
 */
export function waitOrAbort(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

export function summarise(report: Report, probes: ProbeName[]): CycleSummary {
  const outcomes: Record<string, number> = {};
  const failures: CycleSummary['failures'] = [];
  for (const r of report.results) {
    outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
    if (r.outcome !== 'ok' && failures.length < 50) {
      failures.push({
        probe: r.probe,
        target: r.target,
        ...(r.probe === 'reachability' ? { check: r.port ? `${r.check}/${r.port}` : r.check } : {}),
        outcome: r.outcome,
        ...(r.error ? { error: r.error } : {}),
      });
    }
  }
  return {
    reportId: report.reportId,
    startedAt: report.startedAt,
    finishedAt: report.finishedAt,
    cycleMs: report.health.cycleMs,
    probes,
    reports: report.cycle?.parts ?? 1,
    outcomes,
    failures,
  };
}
