// `campuswatch-agent once` and `run`: one cycle, or the daemon.
import type { Command } from 'commander';
import { createLogger, DEFAULT_CONFIG, loadAgentConfig, openAgent } from './common.js';

export function registerRun(program: Command): void {
  program
    .command('once')
    .description('run one full cycle, deliver it (or keep it spooled) and exit 0')
    .option('--config <file>', 'agent YAML config', DEFAULT_CONFIG)
    .action(async (opts: { config: string }) => {
      const config = await loadAgentConfig(opts.config);
      const agent = await openAgent(config, await createLogger(program));
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
      const config = await loadAgentConfig(opts.config);
      const log = await createLogger(program);
      const agent = await openAgent(config, log);
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
}
