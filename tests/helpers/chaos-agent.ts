// Child process of the chaos run (tests/helpers/chaos.ts): one agent made of the real Spool and the real
// Forwarder (its `run` loop: backoff, Retry-After, kicks), without the scheduler and probes. It makes
// `count` reports at a fixed rate (report i is due at t0 + i × period), spools each before anything is
// sent, forwards in the background, and exits 0 once all are made and the spool is empty.
//
// Restarts continue where the last life stopped: the number of reports made is kept in the spool's meta
// table, written after each enqueue. A kill between the enqueue and that write makes the next life make
// the same report again — same reportId (tests/helpers/chaos-report.ts) — which the spool refuses as
// already there; had it been delivered meanwhile, the collector would see a replay. No new id is ever
// made for a report, so no kill can duplicate one.
//
// The parent starts every agent with t0Ms = 0 and, once all are up, writes `go <t0Ms>` on their stdin;
// a restarted agent gets t0Ms in its config.
//
// Lines on stdout (pipes are synchronous on Linux: a line is out before the next statement runs):
//   ready <made> <depth>        spool opened
//   spooled <index> <depth>     enqueue returned: report <index> is durable
//   again <index>               report <index> was spooled by a previous life (not spooled twice)
//   delivered <reportId>        the collector answered 2xx and the report left the spool
//   stop <kind> <status|code|-> a flush stopped (network error, 503/429/5xx, 401/403)
//   rejected <count>            reports refused for good (400/413/422), moved to the dead-letter table
//   done <json>                 all made, spool empty: the spool's counters
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { type FlushResult, Forwarder, type StopReason } from '../../agent/src/forwarder.js';
import { loadIdentity, spoolFile } from '../../agent/src/identity.js';
import { createLogger } from '../../agent/src/log.js';
import { Spool } from '../../agent/src/spool/spool.js';
import { type ChaosAgentConfig, chaosReport, chaosReportTime, MADE_META_KEY } from './chaos-report.js';

const out = (line: string) => process.stdout.write(`${line}\n`);

/** better-sqlite3's error for a second row with the same report_id (classified by its code). */
function isUniqueViolation(err: unknown): boolean {
  return (
    typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'SQLITE_CONSTRAINT_UNIQUE'
  );
}

/** The real Forwarder, telling the parent about every stopped flush and every refused report. */
class ReportingForwarder extends Forwarder {
  /** Called after every flush: a refused report leaves the spool too. */
  afterFlush: () => void = () => undefined;

  override delayAfter(stopped: StopReason): number {
    const detail =
      stopped.kind === 'unavailable' || stopped.kind === 'auth'
        ? String(stopped.status)
        : stopped.kind === 'network'
          ? (stopped.code ?? '-')
          : '-';
    out(`stop ${stopped.kind} ${detail}`);
    return super.delayAfter(stopped);
  }

  override async flush(signal?: AbortSignal): Promise<FlushResult> {
    const result = await super.flush(signal);
    if (result.rejected > 0) out(`rejected ${result.rejected}`);
    this.afterFlush();
    return result;
  }
}

/** The first line on stdin, `go <t0Ms>`: when every agent is up, the parent says when report 0 is due. */
async function awaitGo(): Promise<number> {
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    const m = /^go (\d+)$/.exec(line);
    if (m) {
      lines.close();
      process.stdin.destroy();
      return Number(m[1]);
    }
  }
  throw new Error('stdin closed before the parent said go');
}

async function main(config: ChaosAgentConfig): Promise<void> {
  const loaded = loadIdentity(config.stateDir);
  if (!loaded) throw new Error(`no identity in ${config.stateDir}`);
  const { agentId, schoolId } = loaded.identity;
  const spool = new Spool(spoolFile(config.stateDir), 1_000_000);
  let made = Number(spool.getMeta(MADE_META_KEY) ?? 0);
  out(`ready ${made} ${spool.counters().depth}`);

  const stop = new AbortController();
  let finished: () => void = () => undefined;
  const allDelivered = new Promise<void>((resolve) => {
    finished = resolve;
  });
  const checkFinished = () => {
    if (made >= config.count && spool.oldest(1).length === 0) finished();
  };
  const forwarder = new ReportingForwarder({
    collectorUrl: config.collectorUrl,
    token: loaded.token,
    spool,
    log: createLogger('error'),
    requestTimeoutMs: config.requestTimeoutMs,
    backoffBaseMs: config.backoffBaseMs,
    backoffMaxMs: config.backoffMaxMs,
    onDelivered: (reportId) => {
      out(`delivered ${reportId}`);
      checkFinished();
    },
  });
  forwarder.afterFlush = checkFinished;
  const forwarding = forwarder.run(stop.signal);

  // a first life waits for the start time; a restarted one was given it
  const plan = config.t0Ms > 0 ? config : { ...config, t0Ms: await awaitGo() };
  const agent = { agentId, schoolId, device: config.device };
  while (made < config.count) {
    const due = chaosReportTime(plan, made);
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait); // the fixed report rate
    const index = made;
    try {
      const { depth } = spool.enqueue(chaosReport(agent, plan, index));
      out(`spooled ${index} ${depth}`);
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      out(`again ${index}`);
    }
    made = index + 1;
    spool.setMeta(MADE_META_KEY, String(made));
    forwarder.kick();
  }
  checkFinished();
  await allDelivered;
  stop.abort();
  forwarder.kick();
  await forwarding;
  const counters = spool.counters();
  spool.close();
  out(`done ${JSON.stringify({ made, ...counters })}`);
  process.exit(0);
}

const arg = process.argv[2];
if (arg === undefined) {
  process.stderr.write('usage: chaos-agent.ts <config JSON>\n');
  process.exit(2);
}
main(JSON.parse(arg) as ChaosAgentConfig).catch((err: unknown) => {
  process.stderr.write(
    `chaos-agent failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
