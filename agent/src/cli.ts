#!/usr/bin/env node
import { request } from 'undici';
import {
  EXIT_RUNTIME,
  EXIT_USAGE,
  formatTable,
  newProgram,
  runProgram,
  UsageError,
} from '../../protocol/cli.js';
import { PACKAGE_VERSION } from '../../protocol/version.js';
import { CampusAgent } from './agent.js';
import { type AgentConfig, loadAgentConfig } from './config.js';
import { enroll, loadIdentity } from './identity.js';
import { createLogger } from './log.js';

const program = newProgram(
  'campuswatch-agent',
  'School-side agent: probes the campus network and reports to the campuswatch collector.',
  PACKAGE_VERSION,
);

const DEFAULT_CONFIG = '/etc/campuswatch/agent.yaml';

program
  .command('enroll')
  .description('exchange a one-time enrolment code for this agent token (stored with mode 0600)')
  .requiredOption('--collector <url>', 'collector URL, e.g. https://collector.example.edu.cn')
  .requiredOption('--code <code>', 'one-time code from `campuswatch-collector enroll-code`')
  .requiredOption('--state <dir>', 'state directory (token, spool); the same as `state:` in agent.yaml')
  .action(async (opts: { collector: string; code: string; state: string }) => {
    if (!/^https?:\/\//.test(opts.collector)) throw new UsageError('--collector must be an http(s):// URL');
    const identity = await enroll({ collectorUrl: opts.collector, code: opts.code, stateDir: opts.state });
    process.stdout.write(`enrolled as agent ${identity.agentId} for school ${identity.schoolId}\n`);
  });

program
  .command('once')
  .description('run one full cycle, deliver it (or keep it spooled) and exit 0')
  .option('--config <file>', 'agent YAML config', DEFAULT_CONFIG)
  .action(async (opts: { config: string }) => {
    const config = loadAgentConfig(opts.config);
    const agent = CampusAgent.open(config, { log: createLogger() });
    try {
      const { report, flush } = await agent.once({
        signal: AbortSignal.timeout(config.collector.requestTimeoutS * 4000),
      });
      const depth = agent.spool.counters().depth;
      process.stdout.write(
        `report ${report.reportId}: ${report.results.length} results; delivered ${flush.delivered}, spooled ${depth}` +
          `${flush.stopped ? ` (collector: ${'message' in flush.stopped ? flush.stopped.message : flush.stopped.kind})` : ''}\n`,
      );
    } finally {
      agent.close();
    }
  });

program
  .command('run')
  .description('run continuously: probe on schedule, spool, forward')
  .option('--config <file>', 'agent YAML config', DEFAULT_CONFIG)
  .action(async (opts: { config: string }) => {
    const config = loadAgentConfig(opts.config);
    const log = createLogger();
    const agent = CampusAgent.open(config, { log });
    const stop = new AbortController();
    for (const sig of ['SIGTERM', 'SIGINT'] as const) {
      process.once(sig, () => {
        log.info({ signal: sig }, 'stopping');
        stop.abort();
      });
    }
    log.info(
      { school: config.school.id, agentId: agent.identity.agentId, collector: config.collector.url },
      'agent started',
    );
    try {
      await agent.run(stop.signal);
    } finally {
      agent.close();
    }
  });

function summary(config: AgentConfig): string {
  const s = config.school;
  const lines = [
    `school      ${s.id}  ${s.name}`,
    `            district ${s.district ?? '-'}, group ${s.group ?? '-'}, tier ${s.tier ?? (s.pupils !== undefined ? `${s.pupils} pupils` : '-')}, area ${s.area ?? '-'}, ${s.timezone}`,
    `collector   ${config.collector.url}`,
    `state       ${config.state}`,
    `cycle       every ${config.cycle.intervalS}s ± ${config.cycle.jitterPct}%, spool cap ${config.spool.maxReports} reports`,
    '',
    formatTable(
      ['probe', 'enabled', 'interval', 'timeout'],
      Object.entries(config.probes).map(([name, p]) => [
        name,
        p.enabled ? 'yes' : 'no',
        `${p.intervalS}s`,
        `${p.timeoutS}s`,
      ]),
    ),
    '',
  ];
  const devices = config.rooms.flatMap((r) =>
    r.devices.map((d) => [
      r.name,
      r.type,
      d.name,
      d.type ?? '-',
      d.address,
      [d.icmp ? 'icmp' : '', ...d.tcp.map((p) => `tcp/${p}`)].filter(Boolean).join(' '),
      d.critical ? 'yes' : 'no',
    ]),
  );
  lines.push(`${config.rooms.length} rooms, ${devices.length} devices`);
  if (devices.length > 0) {
    lines.push(
      formatTable(['room', 'room type', 'device', 'type', 'address', 'checks', 'critical'], devices),
    );
  }
  return lines.join('\n');
}

program
  .command('check-config')
  .description('validate the config and print a readable summary')
  .option('--config <file>', 'agent YAML config', DEFAULT_CONFIG)
  .action((opts: { config: string }) => {
    const config = loadAgentConfig(opts.config);
    process.stdout.write(`${opts.config}: OK\n\n${summary(config)}\n`);
  });

program
  .command('status')
  .description('for the IT officer: last cycle, spool, last delivery, whether the collector answers')
  .option('--config <file>', 'agent YAML config', DEFAULT_CONFIG)
  .option('--json', 'print JSON')
  .action(async (opts: { config: string; json?: boolean }) => {
    const config = loadAgentConfig(opts.config);
    const loaded = loadIdentity(config.state);
    let collector: string;
    try {
      const res = await request(new URL('/healthz', config.collector.url), {
        signal: AbortSignal.timeout(5000),
      });
      await res.body.text();
      collector = res.statusCode === 200 ? 'answers' : `answers HTTP ${res.statusCode}`;
    } catch (err) {
      collector = `does not answer (${(err as Error).message})`;
    }
    let status: Record<string, unknown> = {
      enrolled: Boolean(loaded),
      collector,
      collectorUrl: config.collector.url,
    };
    if (loaded) {
      const agent = CampusAgent.open(config);
      try {
        status = {
          ...status,
          agentId: loaded.identity.agentId,
          school: loaded.identity.schoolId,
          spool: agent.spool.counters(),
          lastDeliveryAt: agent.spool.getMeta('lastDeliveryAt') ?? null,
          lastCycle: agent.lastCycle() ?? null,
        };
      } finally {
        agent.close();
      }
    }
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
      return;
    }
    const last = status.lastCycle as ReturnType<CampusAgent['lastCycle']> | null;
    const spool = status.spool as
      | { depth: number; dropped: number; rejected: number; delivered: number }
      | undefined;
    const out = [
      `school       ${config.school.id}  ${config.school.name}`,
      `enrolled     ${loaded ? `yes, agent ${loaded.identity.agentId}` : 'NO: run campuswatch-agent enroll'}`,
      `collector    ${config.collector.url} ${collector}`,
      `last cycle   ${last ? `${last.finishedAt} (${Math.round(last.cycleMs)} ms, probes ${last.probes.join(', ')})` : 'none yet'}`,
    ];
    if (last) {
      out.push(
        `results      ${
          Object.entries(last.outcomes)
            .map(([k, v]) => `${v} ${k}`)
            .join(', ') || 'none'
        }`,
      );
      for (const f of last.failures.slice(0, 10)) {
        out.push(
          `  ! ${f.probe} ${f.target}${f.check ? ` ${f.check}` : ''}: ${f.outcome}${f.error ? ` (${f.error})` : ''}`,
        );
      }
    }
    if (spool) {
      out.push(
        `spool        ${spool.depth} waiting, ${spool.delivered} delivered, ${spool.dropped} dropped, ${spool.rejected} refused`,
      );
    }
    out.push(`last sent    ${(status.lastDeliveryAt as string | null) ?? 'never'}`);
    process.stdout.write(`${out.join('\n')}\n`);
    if (!loaded || collector !== 'answers') process.exitCode = EXIT_RUNTIME;
  });

if (process.argv.length <= 2) {
  program.outputHelp();
  process.exit(EXIT_USAGE);
}
await runProgram(program);
