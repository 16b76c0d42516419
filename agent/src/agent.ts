import { v7 as uuidv7 } from 'uuid';
import type { ProbeName, ProbeResult, Report } from '../../protocol/report.js';
import { checkReport } from '../../protocol/report-check.js';
import { formatProblem } from '../../protocol/validate.js';
import { PACKAGE_VERSION, REPORT_SCHEMA_VERSION } from '../../protocol/version.js';
import type { AgentConfig } from './config.js';
import { type FlushResult, Forwarder } from './forwarder.js';
import { type Identity, loadIdentity, spoolFile } from './identity.js';
import { type Logger, silentLogger } from './log.js';
import type { Probe } from './probes/probe.js';
import { PROBES } from './probes/registry.js';
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

  private constructor(
    readonly config: AgentConfig,
    readonly identity: Identity,
    token: string,
    private readonly opts: AgentOptions,
  ) {
    this.log = opts.log ?? silentLogger();
    this.now = opts.now ?? (() => new Date());
    this.registry = opts.registry ?? PROBES;
    this.spool = new Spool(spoolFile(config.state), config.spool.maxReports);
    this.forwarder = new Forwarder({
      collectorUrl: config.collector.url,
      token,
      spool: this.spool,
      log: this.log,
      now: this.now,
      requestTimeoutMs: config.collector.requestTimeoutS * 1000,
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
      throw new AgentSetupError(
        `this agent is not enrolled: no identity in ${config.state}; run 'campuswatch-agent enroll --collector URL --code CODE --state ${config.state}'`,
      );
    }
    if (loaded.identity.schoolId !== config.school.id) {
      throw new AgentSetupError(
        `the agent was enrolled for school ${JSON.stringify(loaded.identity.schoolId)} but its config says school.id ${JSON.stringify(config.school.id)}`,
      );
    }
    return new CampusAgent(config, loaded.identity, loaded.token, opts);
  }

  /**
   * One cycle: run the due probes (all enabled probes when `all`), build one report, check it against
   * the protocol and write it to the spool before anything is sent.
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
      },
      results,
    };
    const check = checkReport(report);
    if (!check.ok) {
      // A bug in a probe, not a network failure: keep it visible rather than spool a report the collector refuses.
      throw new Error(`the agent built an invalid report: ${check.problems.map(formatProblem).join('; ')}`);
    }
    const { dropped } = this.spool.enqueue(report);
    if (dropped > 0) {
      this.log.error(
        { dropped, cap: this.config.spool.maxReports, totalDropped: counters.dropped + dropped },
        'spool full: dropped the oldest reports',
      );
    }
    this.spool.setMeta('lastCycle', JSON.stringify(summarise(report, names)));
    this.log.info(
      { reportId: report.reportId, probes: names, results: results.length, cycleMs: report.health.cycleMs },
      'cycle spooled',
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
    const forwarding = this.forwarder.run(signal);
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
    this.spool.close();
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
    outcomes,
    failures,
  };
}
