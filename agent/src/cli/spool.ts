// `campuswatch-agent spool list|replay|drop`: the reports waiting and the dead letters.
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { formatTable, UsageError } from '../../../protocol/cli.js';
import { DEFAULT_CONFIG, loadAgentConfig, mib } from './common.js';

/** The spool of the configured state directory, for `spool …` (the daemon may be running: SQLite shares it). */
async function openSpool(configFile: string) {
  const config = await loadAgentConfig(configFile);
  const { spoolFile } = await import('../identity.js');
  const file = spoolFile(config.state);
  if (!existsSync(file))
    throw new Error(`${configFile}: state: no spool at ${file} yet (the agent has not run there)`);
  const { Spool } = await import('../spool/spool.js');
  try {
    return new Spool(file, config.spool.maxReports, { maxDeadLetters: config.spool.maxDeadLetters });
  } catch (err) {
    if (/^SQLITE_(BUSY|LOCKED)/.test(String((err as { code?: unknown }).code)))
      throw new Error(
        `the spool ${file} is held by the running agent alone (it started on a full disk and opened it exclusively); restart it once there is room`,
      );
    throw err;
  }
}

/** Refusals naming only times in the future: the agent's clock was ahead when it measured. */
const FUTURE_ONLY = (reason: string) =>
  reason.split('; ').every((part) => /in the future \(more than ingest\.futureToleranceS/.test(part));

/** The ids of a `replay` or `drop`: one id, or --all; not both, not neither. */
function spoolTargets(id: string | undefined, all: boolean | undefined, verb: string): string[] | 'all' {
  if (id && all) throw new UsageError(`${verb}: give a report id or --all, not both`);
  if (!id && !all) throw new UsageError(`${verb}: give a report id (see 'spool list --dead') or --all`);
  return all ? 'all' : [id!];
}

export function registerSpool(program: Command): void {
  const spool = program
    .command('spool')
    .description('the reports waiting to be sent, and those the collector refused for good (dead letters)');

  spool
    .command('list')
    .description('list the reports waiting (or, with --dead, the dead letters), oldest first')
    .option('--config <file>', 'agent YAML config', DEFAULT_CONFIG)
    .option('--dead', 'the dead letters: reports the collector refused for good')
    .option('--json', 'print JSON')
    .action(async (opts: { config: string; dead?: boolean; json?: boolean }) => {
      const s = await openSpool(opts.config);
      try {
        const c = s.counters();
        if (opts.dead) {
          const dead = s.deadLetters();
          if (opts.json) {
            process.stdout.write(
              `${JSON.stringify({ deadLetters: dead, kept: c.rejected, droppedBeyondCap: c.deadDropped, cap: s.maxDeadLetters }, null, 2)}\n`,
            );
            return;
          }
          if (dead.length > 0)
            process.stdout.write(
              `${formatTable(
                ['report', 'refused at', 'status', 'size', 'reason'],
                dead.map((d) => [
                  d.reportId,
                  d.rejectedAt,
                  String(d.status),
                  mib(d.bytes),
                  d.reason.length > 120 ? `${d.reason.slice(0, 119)}…` : d.reason,
                ]),
              )}\n\n`,
            );
          process.stdout.write(
            `${dead.length} dead letter${dead.length === 1 ? '' : 's'} (at most ${s.maxDeadLetters} kept, ${c.deadDropped} dropped beyond)\n`,
          );
          if (dead.some((d) => FUTURE_ONLY(d.reason)))
            process.stdout.write(
              "refused only for times in the future: the agent's clock was ahead when it measured; fix the clock (NTP), then 'spool replay' them if their times are right, or 'spool drop' them\n",
            );
          if (dead.length > 0)
            process.stdout.write(
              "'campuswatch-agent spool replay ID|--all' sends them again; 'spool drop ID|--all' deletes them\n",
            );
          return;
        }
        const queued = s.queued();
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ reports: queued, counters: c }, null, 2)}\n`);
          return;
        }
        if (queued.length > 0)
          process.stdout.write(
            `${formatTable(
              ['report', 'spooled at', 'attempts', 'size'],
              queued.map((q) => [q.reportId, q.createdAt, String(q.attempts), mib(q.bytes)]),
            )}\n\n`,
          );
        process.stdout.write(
          `${c.depth} report${c.depth === 1 ? '' : 's'} waiting, ${c.rejected} dead letter${c.rejected === 1 ? '' : 's'} ('spool list --dead')\n`,
        );
      } finally {
        s.close();
      }
    });

  spool
    .command('replay')
    .description('move a dead letter (or all) back to the queue: the agent sends it again')
    .argument('[id]', 'report id (from `spool list --dead`)')
    .option('--all', 'every dead letter')
    .option('--config <file>', 'agent YAML config', DEFAULT_CONFIG)
    .action(async (id: string | undefined, opts: { config: string; all?: boolean }) => {
      const targets = spoolTargets(id, opts.all, 'replay');
      const s = await openSpool(opts.config);
      try {
        const moved = s.replay(targets);
        for (const m of moved) process.stdout.write(`replayed ${m}\n`);
        process.stdout.write(
          `${moved.length} dead letter${moved.length === 1 ? '' : 's'} moved back to the queue; the running agent sends ${moved.length === 1 ? 'it' : 'them'} at its next try\n`,
        );
        if (targets !== 'all' && moved.length === 0) throw new Error(`no dead letter ${targets[0]}`);
      } finally {
        s.close();
      }
    });

  spool
    .command('drop')
    .description('delete a dead letter (or all) for good')
    .argument('[id]', 'report id (from `spool list --dead`)')
    .option('--all', 'every dead letter')
    .option('--config <file>', 'agent YAML config', DEFAULT_CONFIG)
    .action(async (id: string | undefined, opts: { config: string; all?: boolean }) => {
      const targets = spoolTargets(id, opts.all, 'drop');
      const s = await openSpool(opts.config);
      try {
        const gone = s.dropDead(targets);
        for (const g of gone) process.stdout.write(`dropped ${g}\n`);
        process.stdout.write(`${gone.length} dead letter${gone.length === 1 ? '' : 's'} deleted\n`);
        if (targets !== 'all' && gone.length === 0) throw new Error(`no dead letter ${targets[0]}`);
      } finally {
        s.close();
      }
    });
}
