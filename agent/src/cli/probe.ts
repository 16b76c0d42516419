// `campuswatch-agent probe <kind>` and `probe devices`: one probe run now, its results printed (nothing spooled).
import type { Command } from 'commander';
import { formatTable } from '../../../protocol/cli.js';
import { PROBE_NAMES } from '../../../protocol/probe-names.js';
import type { ReachabilityResult } from '../../../protocol/report.js';
import { enrolledCredentials } from '../credentials.js';
import { PROBES } from '../probes/registry.js';
import { createLogger, DEFAULT_CONFIG, EXIT_PROBLEMS, langOption, loadAgentConfig } from './common.js';
import { registerProbeBandwidth } from './probe-bandwidth.js';

export function registerProbe(program: Command): void {
  const probe = program
    .command('probe')
    .description('run one probe now and print its results (nothing is spooled)');

  registerProbeBandwidth(program, probe);

  for (const name of PROBE_NAMES.filter((n) => n !== 'bandwidth')) {
    probe
      .command(name)
      .description(`run the configured ${name} probe once and print its results`)
      .option('--config <file>', 'agent YAML config', DEFAULT_CONFIG)
      .option('--json', 'print JSON')
      .option('--verbose', 'also print the checks that passed')
      .option('--lang <lang>', 'zh or en (default: from LC_ALL / LANG)')
      .action(async (opts: { config: string; json?: boolean; verbose?: boolean; lang?: string }) => {
        const lang = langOption(opts.lang);
        const config = await loadAgentConfig(opts.config);
        const results = await PROBES[name].run(config, {
          signal: AbortSignal.timeout(config.probes[name].timeoutS * 1000),
          log: await createLogger(program, process.env.CAMPUSWATCH_LOG_LEVEL ?? 'warn'),
          now: () => new Date(),
          // the identity of the state directory, loaded only if the kind needs it (the probe says when it is missing)
          credentials: enrolledCredentials(config),
        });
        // the IPv6 probe's verdict is its score row: lift it to the top for scripts and for the IT officer
        const score = results.find((r) => r.probe === 'ipv6' && r.check === 'score');
        const scores =
          score?.probe === 'ipv6'
            ? {
                score_v6: score.scoreV6 ?? null,
                score_v4only: score.scoreV4only ?? null,
                symptoms: score.symptoms ?? [],
              }
            : {};
        const { probeReport, renderReport } = await import('../probe-report.js');
        const report = probeReport(results, lang);
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ probe: name, ...scores, results }, null, 2)}\n`);
        } else {
          process.stdout.write(renderReport(report, 'check', opts.verbose === true));
        }
        if (report.problems.length > 0) process.exitCode = EXIT_PROBLEMS;
      });
  }

  probe
    .command('devices')
    .description(
      'check every inventoried device now (the reachability probe) and print device and room status',
    )
    .option('--config <file>', 'agent YAML config', DEFAULT_CONFIG)
    .option('--json', 'print { devices, rooms, results } as JSON')
    .option('--verbose', 'also print the devices that are up, and the device and room tables')
    .option('--lang <lang>', 'zh or en (default: from LC_ALL / LANG)')
    .action(async (opts: { config: string; json?: boolean; verbose?: boolean; lang?: string }) => {
      const lang = langOption(opts.lang);
      const config = await loadAgentConfig(opts.config);
      const all = await PROBES.reachability.run(config, {
        signal: AbortSignal.timeout(config.probes.reachability.timeoutS * 1000),
        log: await createLogger(program, process.env.CAMPUSWATCH_LOG_LEVEL ?? 'warn'),
        now: () => new Date(),
      });
      const results = all.filter((r): r is ReachabilityResult => r.probe === 'reachability');
      const { checkText, deviceStatuses, roomStatuses } = await import('../device-status.js');
      const devices = deviceStatuses(results);
      const rooms = roomStatuses(results);
      const { deviceReport, renderReport } = await import('../probe-report.js');
      const report = deviceReport(devices, lang);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ devices, rooms, results }, null, 2)}\n`);
      } else {
        process.stdout.write(renderReport(report, 'device', opts.verbose === true));
      }
      if (!opts.json && opts.verbose) {
        process.stdout.write(
          `${formatTable(
            ['room', 'device', 'type', 'address', 'status', 'checks'],
            devices.map((d) => [
              d.room,
              d.name,
              d.type ?? '-',
              d.address,
              d.up ? 'up' : d.authFailure ? 'AUTH-FAILURE' : d.critical ? 'DOWN' : 'down',
              d.checks.map(checkText).join(', '),
            ]),
          )}\n\n${formatTable(
            ['room', 'type', 'status', 'devices up', 'critical down'],
            rooms.map((r) => [
              r.name,
              r.type ?? '-',
              r.up ? 'up' : 'DOWN',
              `${r.devicesUp}/${r.devices}`,
              r.criticalDown.join(', ') || '-',
            ]),
          )}\n`,
        );
      }
      if (report.problems.length > 0) process.exitCode = EXIT_PROBLEMS;
    });
}
