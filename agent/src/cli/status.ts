// `campuswatch-agent status`: for the IT officer, the last cycle, the spool, the disk and the collector.
import { statfsSync } from 'node:fs';
import type { Command } from 'commander';
import { EXIT_RUNTIME } from '../../../protocol/cli.js';
import type { CampusAgent } from '../agent.js';
import { readCaFile, smallRequest } from '../http-client.js';
import { loadIdentity } from '../identity.js';
import type { SpoolCounters } from '../spool/spool.js';
import { DEFAULT_CONFIG, loadAgentConfig, mib, openAgent } from './common.js';

/** Free space on the state directory's filesystem: below 1 MiB a report may not fit (`full`). */
function stateDisk(dir: string): { freeBytes: number; full: boolean } | null {
  try {
    const s = statfsSync(dir);
    const freeBytes = s.bavail * s.bsize;
    return { freeBytes, full: freeBytes < 1048576 };
  } catch {
    return null;
  }
}

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('for the IT officer: last cycle, spool, last delivery, whether the collector answers')
    .option('--config <file>', 'agent YAML config', DEFAULT_CONFIG)
    .option('--json', 'print JSON')
    .action(async (opts: { config: string; json?: boolean }) => {
      const config = await loadAgentConfig(opts.config);
      const loaded = loadIdentity(config.state);
      let collector: string;
      // the question's time: the request and, when it fails, the TLS handshake that tells why
      const signal = AbortSignal.timeout(5000);
      try {
        const caFile = config.collector.caFile;
        const res = await smallRequest(new URL('/healthz', config.collector.url), {
          signal,
          ...(caFile ? { ca: readCaFile(caFile) } : {}),
        });
        collector = res.status === 200 ? 'answers' : `answers HTTP ${res.status}`;
      } catch (err) {
        const { explainConnectError } = await import('../http-errors.js');
        const why = await explainConnectError(err, new URL('/healthz', config.collector.url), signal);
        collector = `does not answer (${why})`;
      }
      let status: Record<string, unknown> = {
        enrolled: Boolean(loaded),
        collector,
        collectorUrl: config.collector.url,
      };
      if (loaded) {
        const agent = await openAgent(config).catch((err: unknown) => {
          if (/^SQLITE_(BUSY|LOCKED)/.test(String((err as { code?: unknown }).code)))
            throw new Error(
              `the spool in ${config.state} is held by the running agent alone (it started on a full disk and opened it exclusively); restart it once there is room`,
            );
          throw err;
        });
        try {
          status = {
            ...status,
            agentId: loaded.identity.agentId,
            school: loaded.identity.schoolId,
            spool: agent.spool.counters(),
            disk: stateDisk(config.state),
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
      const spool = status.spool as SpoolCounters | undefined;
      const disk = status.disk as ReturnType<typeof stateDisk> | undefined;
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
          `spool        ${spool.depth} waiting, ${spool.delivered} delivered, ${spool.dropped} dropped, ${spool.rejected} refused (dead letters; ${spool.deadDropped} dropped beyond the cap)`,
        );
        if (spool.failure)
          out.push(
            `  ! the spool cannot write since ${spool.failure.since}: ${spool.failure.message}; new reports are held in memory by the running agent`,
          );
        if (spool.unstored > 0)
          out.push(
            `  ! ${spool.unstored} cycle${spool.unstored === 1 ? '' : 's'} could not be written to the spool (disk full)`,
          );
      }
      if (disk) {
        out.push(
          `disk         ${mib(disk.freeBytes)} free for ${config.state}${disk.full ? ': FULL, new reports cannot be stored; free some space (the agent recovers by itself)' : ''}`,
        );
      }
      out.push(`last sent    ${(status.lastDeliveryAt as string | null) ?? 'never'}`);
      process.stdout.write(`${out.join('\n')}\n`);
      if (!loaded || collector !== 'answers' || disk?.full || spool?.failure) process.exitCode = EXIT_RUNTIME;
    });
}
