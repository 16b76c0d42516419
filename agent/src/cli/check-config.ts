// `campuswatch-agent check-config`: the config validated, and a readable summary (or every value explained).
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { formatTable } from '../../../protocol/cli.js';
import type { AgentConfig } from '../config.js';
import { DEFAULT_CONFIG, loadAgentConfig } from './common.js';

/** check-config's word on the state directory (a problem with it fails check-config before the summary). */
async function stateDirNote(dir: string): Promise<string> {
  const { checkStateDir, currentUserText } = await import('../state-dir.js');
  const r = checkStateDir(dir);
  if (!r.ok) return ` (${r.message})`;
  const user = currentUserText();
  return r.exists
    ? ` (readable and writable by ${user})`
    : ` (does not exist yet: enroll creates it; ${user} may)`;
}

async function summary(config: AgentConfig): Promise<string> {
  const { checkLabel, checkSpecs, deviceChecks } = await import('../inventory.js');
  const schedules = (await import('../probe-schedule.js')).probeSchedules(config, Date.now());
  const s = config.school;
  const lines = [
    `school      ${s.id}  ${s.name}`,
    `            district ${s.district ?? '-'}, group ${s.group ?? '-'}, tier ${s.tier ?? (s.pupils !== undefined ? `${s.pupils} pupils` : '-')}, area ${s.area ?? '-'}, ${s.timezone}`,
    `collector   ${config.collector.url}`,
    `state       ${config.state}${await stateDirNote(config.state)}`,
    `cycle       every ${config.cycle.intervalS}s ± ${config.cycle.jitterPct}%, spool cap ${config.spool.maxReports} reports`,
    '',
    formatTable(
      ['probe', 'enabled', 'interval', 'timeout', 'schedule'],
      Object.entries(config.probes).map(([name, p]) => [
        name,
        p.enabled ? 'yes' : 'no',
        `${p.intervalS}s`,
        `${p.timeoutS}s`,
        schedules[name as keyof typeof schedules],
      ]),
    ),
    '',
  ];
  const devices = config.rooms.flatMap((r) =>
    r.devices.map((d) => [
      r.name,
      r.type,
      d.name,
      d.type,
      d.address,
      deviceChecks(config, r, d).map(checkLabel).join(' ') || '-',
      d.critical ? 'yes' : 'no',
      checkSpecs(config, r, d).source,
    ]),
  );
  lines.push(`${config.rooms.length} rooms, ${devices.length} devices`);
  if (devices.length > 0) {
    lines.push(
      formatTable(
        ['room', 'room type', 'device', 'type', 'address', 'checks', 'critical', 'checks from'],
        devices,
      ),
    );
  }
  return lines.join('\n');
}

export function registerCheckConfig(program: Command): void {
  program
    .command('check-config')
    .description('validate the config and print a readable summary')
    .option('--config <file>', 'agent YAML config', DEFAULT_CONFIG)
    .option('--explain', 'print every effective value and where it came from (file, default, derived)')
    .action(async (opts: { config: string; explain?: boolean }) => {
      const config = await loadAgentConfig(opts.config);
      // the service user must be able to use its state directory: said here, not by the daemon later
      const { checkStateDir, StateDirError } = await import('../state-dir.js');
      const state = checkStateDir(config.state);
      if (!state.ok) throw new StateDirError(`${opts.config}: state: ${state.message}`);
      if (opts.explain) {
        const { explainConfig, renderExplain } = await import('../config-explain.js');
        process.stdout.write(
          renderExplain(opts.config, explainConfig(config, readFileSync(opts.config, 'utf8'))),
        );
        return;
      }
      process.stdout.write(`${opts.config}: OK\n\n${await summary(config)}\n`);
    });
}
