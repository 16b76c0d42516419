#!/usr/bin/env node
import { existsSync, readFileSync, statfsSync } from 'node:fs';
import {
  EXIT_RUNTIME,
  EXIT_USAGE,
  formatTable,
  newProgram,
  runProgram,
  UsageError,
} from '../../protocol/cli.js';
import { isLoopbackHost } from '../../protocol/config-error.js';
import { parseEnrollCode } from '../../protocol/enroll-code.js';
import { addLogFormatOption, logDestination, logFormatOf } from '../../protocol/log-format.js';
import { PROBE_NAMES } from '../../protocol/probe-names.js';
import type { BandwidthResult, ReachabilityResult } from '../../protocol/report.js';
import { collectorUrlProblem } from '../../protocol/url-check.js';
import { PACKAGE_VERSION } from '../../protocol/version.js';
import type { CampusAgent } from './agent.js';
import type { AgentConfig } from './config.js';
import { CaFileError, readCaFile, smallRequest } from './http-client.js';
import { enroll, loadIdentity, tokenFile } from './identity.js';
import type { Logger } from './log.js';
import { PROBES } from './probes/registry.js';
import { runSpeedtest, SpeedtestError } from './probes/bandwidth/speedtest-client.js';
import type { SpoolCounters } from './spool/spool.js';

const program = newProgram(
  'campuswatch-agent',
  'School-side agent: probes the campus network and reports to the campuswatch collector.',
  PACKAGE_VERSION,
);
addLogFormatOption(program);

const DEFAULT_CONFIG = '/etc/campuswatch/agent.yaml';

/** `probe …` exit code when the probe ran and found something wrong (a device down, a finding, a failed check). */
const EXIT_PROBLEMS = 3;

function langOption(lang: string | undefined): 'zh' | 'en' {
  if (lang !== undefined && lang !== 'zh' && lang !== 'en') throw new UsageError('--lang must be zh or en');
  const locale = process.env.LC_ALL || process.env.LC_MESSAGES || process.env.LANG || '';
  return lang ?? (locale.toLowerCase().startsWith('zh') ? 'zh' : 'en');
}

// Each command loads what it needs (config schema, spool, logger) when it runs: `--help`, `enroll` and
// `probe bandwidth` start in a fraction of the time and memory of the daemon.
async function loadAgentConfig(file: string): Promise<AgentConfig> {
  return (await import('./config.js')).loadAgentConfig(file);
}
async function createLogger(level?: string): Promise<Logger> {
  const destination = await logDestination(logFormatOf(program, 2), 2);
  return (await import('./log.js')).createLogger(level, destination);
}
async function openAgent(config: AgentConfig, log?: Logger): Promise<CampusAgent> {
  const { CampusAgent } = await import('./agent.js');
  return CampusAgent.open(config, log ? { log } : {});
}

/** A CA file named on the command line: unreadable is a usage error (exit 2) naming the option. */
function readCaFileOrUsage(file: string, setting: string): Buffer {
  try {
    return readCaFile(file, setting);
  } catch (err) {
    if (err instanceof CaFileError) throw new UsageError(err.message);
    throw err;
  }
}

program
  .command('enroll')
  .description('exchange a one-time enrolment code for this agent token (stored with mode 0600)')
  .requiredOption('--collector <url>', 'collector URL, e.g. https://collector.example.edu.cn')
  .requiredOption('--code <code>', 'one-time code from `campuswatch-collector enroll-code`')
  .requiredOption('--state <dir>', 'state directory (token, spool); the same as `state:` in agent.yaml')
  .option('--ca-file <file>', 'PEM CA certificate(s) to trust for the collector (as collector.caFile)')
  .option(
    '--allow-plain-http',
    'allow an http:// collector that is not on loopback (the code travels in clear)',
  )
  .option('--force', 'replace the token of an agent that is already enrolled (its old token stops working)')
  .action(
    async (opts: {
      collector: string;
      code: string;
      state: string;
      caFile?: string;
      allowPlainHttp?: boolean;
      force?: boolean;
    }) => {
      const urlProblem = collectorUrlProblem(opts.collector);
      if (urlProblem) throw new UsageError(`--collector: ${urlProblem}`);
      const url = new URL(opts.collector);
      const code = parseEnrollCode(opts.code);
      if (!code.ok)
        throw new UsageError(
          `--code: ${code.message}; retype it as 'campuswatch-collector enroll-code' printed it`,
        );
      if (url.protocol === 'http:' && !opts.allowPlainHttp && !isLoopbackHost(url.hostname)) {
        throw new UsageError(
          `--collector ${opts.collector}: plain HTTP to a non-loopback host sends the enrolment code and the token in clear text; use https:// or --allow-plain-http`,
        );
      }
      const ca = opts.caFile ? readCaFileOrUsage(opts.caFile, '--ca-file') : undefined;
      const identity = await enroll({
        collectorUrl: opts.collector,
        code: code.code,
        stateDir: opts.state,
        ...(ca && opts.caFile ? { ca, caFile: opts.caFile } : {}),
        ...(opts.force ? { force: true } : {}),
      });
      process.stdout.write(`enrolled as agent ${identity.agentId} for school ${identity.schoolId}\n`);
    },
  );

program
  .command('once')
  .description('run one full cycle, deliver it (or keep it spooled) and exit 0')
  .option('--config <file>', 'agent YAML config', DEFAULT_CONFIG)
  .action(async (opts: { config: string }) => {
    const config = await loadAgentConfig(opts.config);
    const agent = await openAgent(config, await createLogger());
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
    const log = await createLogger();
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

function bandwidthSummary(results: BandwidthResult[]): Record<string, unknown> {
  const down = results.find((r) => r.direction === 'down');
  const up = results.find((r) => r.direction === 'up');
  return {
    download_mbps: down?.mbps ?? null,
    upload_mbps: up?.mbps ?? null,
    download_p90_mbps: down?.p90Mbps ?? null,
    upload_p90_mbps: up?.p90Mbps ?? null,
    streams: Math.max(down?.streams ?? 0, up?.streams ?? 0),
    duration_s: down?.durationS ?? up?.durationS ?? null,
    rtt_idle_ms: down?.rttIdleMs ?? null,
    rtt_loaded_ms: Math.max(down?.rttLoadedMs ?? 0, up?.rttLoadedMs ?? 0) || null,
    bytes: (down?.bytes ?? 0) + (up?.bytes ?? 0),
    outcome: results.every((r) => r.outcome === 'ok')
      ? 'ok'
      : (results.find((r) => r.outcome !== 'ok')?.outcome ?? 'error'),
    error: results.find((r) => r.error)?.error ?? null,
    results,
  };
}

const probe = program
  .command('probe')
  .description('run one probe now and print its results (nothing is spooled)');

probe
  .command('bandwidth')
  .description('speed test against the collector (or --config for the configured server / iperf3)')
  .option('--server <url>', 'collector URL (speed-test service)')
  .option('--token-file <file>', 'agent token file (from enroll: <state>/token)')
  .option('--config <file>', 'agent YAML config: server, token and settings from there')
  .option('--streams <n>', 'parallel TCP streams to start with (1-16)')
  .option(
    '--max-streams <n>',
    'add streams during the warm-up while throughput still grows, up to this (1-16)',
  )
  .option('--duration <s>', 'seconds per direction after the warm-up')
  .option(
    '--ca-file <file>',
    'PEM CA certificate(s) to trust for an https server (default: collector.caFile)',
  )
  .option('--json', 'print one JSON object')
  .action(
    async (opts: {
      server?: string;
      tokenFile?: string;
      caFile?: string;
      config?: string;
      streams?: string;
      maxStreams?: string;
      duration?: string;
      json?: boolean;
    }) => {
      const config = opts.config ? await loadAgentConfig(opts.config) : undefined;
      const bw = config?.probes.bandwidth;
      const server = opts.server ?? bw?.server ?? config?.collector.url;
      const tokenPath = opts.tokenFile ?? (config ? tokenFile(config.state) : undefined);
      if (!server || !tokenPath)
        throw new UsageError('give --server URL and --token-file FILE, or --config FILE');
      const streams = opts.streams === undefined ? (bw?.streams ?? 4) : Number(opts.streams);
      if (!Number.isInteger(streams) || streams < 1 || streams > 16)
        throw new UsageError('--streams must be a whole number from 1 to 16');
      const durationS = opts.duration === undefined ? (bw?.durationS ?? 10) : Number(opts.duration);
      if (!Number.isFinite(durationS) || durationS < 1 || durationS > 60)
        throw new UsageError('--duration must be 1 to 60 seconds');
      const maxStreams =
        opts.maxStreams === undefined ? Math.max(streams, bw?.maxStreams ?? 16) : Number(opts.maxStreams);
      if (!Number.isInteger(maxStreams) || maxStreams < streams || maxStreams > 16) {
        throw new UsageError('--max-streams must be a whole number from --streams to 16');
      }
      let token: string;
      try {
        token = readFileSync(tokenPath, 'utf8').trim();
      } catch (err) {
        throw new UsageError(
          `cannot read the token file ${tokenPath}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
        );
      }
      const caFile = opts.caFile ?? config?.collector.caFile;
      const ca = caFile
        ? readCaFileOrUsage(caFile, opts.caFile ? '--ca-file' : 'collector.caFile')
        : undefined;
      const live = !opts.json && process.stdout.isTTY;
      const omitS = bw?.omitS ?? 2;
      let results: BandwidthResult[];
      try {
        results = await runSpeedtest({
          server,
          token,
          ...(ca ? { ca } : {}),
          streams,
          maxStreams,
          durationS,
          omitS,
          signal: AbortSignal.timeout(((omitS + durationS) * 2 + 120) * 1000),
          now: () => new Date(),
          log: await createLogger(process.env.CAMPUSWATCH_LOG_LEVEL ?? 'warn'),
          ...(live
            ? {
                onProgress: (p: { direction: string; mbps: number; streams: number; elapsedS: number }) =>
                  process.stdout.write(
                    `\r${p.direction === 'down' ? 'download' : 'upload  '}  ${p.streams.toString().padStart(2)} streams  ${p.elapsedS.toFixed(1).padStart(5)} s  ${p.mbps.toFixed(1).padStart(8)} Mbps   `,
                  ),
              }
            : {}),
        });
      } catch (err) {
        const outcome = err instanceof SpeedtestError ? err.outcome : 'error';
        if (opts.json)
          process.stdout.write(`${JSON.stringify({ outcome, error: (err as Error).message })}\n`);
        else {
          process.stdout.write(
            `FAILED   speed test to ${server}: ${outcome}: ${(err as Error).message}\n1 problem on 1 check\n`,
          );
        }
        process.exitCode = EXIT_PROBLEMS;
        return;
      }
      const s = bandwidthSummary(results);
      const failed = results.filter((r) => r.outcome !== 'ok');
      if (failed.length > 0) process.exitCode = EXIT_PROBLEMS;
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(s)}\n`);
        return;
      }
      if (live) process.stdout.write('\n');
      for (const r of failed) {
        process.stdout.write(
          `FAILED   speed test ${r.direction === 'down' ? 'download' : 'upload'}: ${r.outcome}${r.error ? ` (${r.error})` : ''}\n`,
        );
      }
      process.stdout.write(
        `${failed.length === 0 ? 'no problems' : `${failed.length} ${failed.length === 1 ? 'problem' : 'problems'}`} on ${results.length} check${results.length === 1 ? '' : 's'}\n`,
      );
      process.stdout.write(
        `${[
          `download   ${s.download_mbps} Mbps (p90 ${s.download_p90_mbps})`,
          `upload     ${s.upload_mbps} Mbps (p90 ${s.upload_p90_mbps})`,
          `streams    ${s.streams}, ${s.duration_s} s per direction after a ${omitS} s warm-up`,
          `RTT        idle ${s.rtt_idle_ms} ms, under load ${s.rtt_loaded_ms} ms`,
        ].join('\n')}\n`,
      );
    },
  );

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
        log: await createLogger(process.env.CAMPUSWATCH_LOG_LEVEL ?? 'warn'),
        now: () => new Date(),
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
      const { probeReport, renderReport } = await import('./probe-report.js');
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
  .description('check every inventoried device now (the reachability probe) and print device and room status')
  .option('--config <file>', 'agent YAML config', DEFAULT_CONFIG)
  .option('--json', 'print { devices, rooms, results } as JSON')
  .option('--verbose', 'also print the devices that are up, and the device and room tables')
  .option('--lang <lang>', 'zh or en (default: from LC_ALL / LANG)')
  .action(async (opts: { config: string; json?: boolean; verbose?: boolean; lang?: string }) => {
    const lang = langOption(opts.lang);
    const config = await loadAgentConfig(opts.config);
    const all = await PROBES.reachability.run(config, {
      signal: AbortSignal.timeout(config.probes.reachability.timeoutS * 1000),
      log: await createLogger(process.env.CAMPUSWATCH_LOG_LEVEL ?? 'warn'),
      now: () => new Date(),
    });
    const results = all.filter((r): r is ReachabilityResult => r.probe === 'reachability');
    const { checkText, deviceStatuses, roomStatuses } = await import('./device-status.js');
    const devices = deviceStatuses(results);
    const rooms = roomStatuses(results);
    const { deviceReport, renderReport } = await import('./probe-report.js');
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

/** check-config's word on the state directory (a problem with it fails check-config before the summary). */
async function stateDirNote(dir: string): Promise<string> {
  const { checkStateDir, currentUserText } = await import('./state-dir.js');
  const r = checkStateDir(dir);
  if (!r.ok) return ` (${r.message})`;
  const user = currentUserText();
  return r.exists
    ? ` (readable and writable by ${user})`
    : ` (does not exist yet: enroll creates it; ${user} may)`;
}

async function summary(config: AgentConfig): Promise<string> {
  const { checkLabel, checkSpecs, deviceChecks } = await import('./inventory.js');
  const schedules = (await import('./probe-schedule.js')).probeSchedules(config, Date.now());
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

program
  .command('check-config')
  .description('validate the config and print a readable summary')
  .option('--config <file>', 'agent YAML config', DEFAULT_CONFIG)
  .option('--explain', 'print every effective value and where it came from (file, default, derived)')
  .action(async (opts: { config: string; explain?: boolean }) => {
    const config = await loadAgentConfig(opts.config);
    // the service user must be able to use its state directory: said here, not by the daemon later
    const { checkStateDir, StateDirError } = await import('./state-dir.js');
    const state = checkStateDir(config.state);
    if (!state.ok) throw new StateDirError(`${opts.config}: state: ${state.message}`);
    if (opts.explain) {
      const { explainConfig, renderExplain } = await import('./config-explain.js');
      process.stdout.write(
        renderExplain(opts.config, explainConfig(config, readFileSync(opts.config, 'utf8'))),
      );
      return;
    }
    process.stdout.write(`${opts.config}: OK\n\n${await summary(config)}\n`);
  });

program
  .command('status')
  .description('for the IT officer: last cycle, spool, last delivery, whether the collector answers')
  .option('--config <file>', 'agent YAML config', DEFAULT_CONFIG)
  .option('--json', 'print JSON')
  .action(async (opts: { config: string; json?: boolean }) => {
    const config = await loadAgentConfig(opts.config);
    const loaded = loadIdentity(config.state);
    let collector: string;
    try {
      const caFile = config.collector.caFile;
      const res = await smallRequest(new URL('/healthz', config.collector.url), {
        signal: AbortSignal.timeout(5000),
        ...(caFile ? { ca: readCaFile(caFile) } : {}),
      });
      collector = res.status === 200 ? 'answers' : `answers HTTP ${res.status}`;
    } catch (err) {
      const { explainConnectError } = await import('./http-errors.js');
      const why = await explainConnectError(err, new URL('/healthz', config.collector.url));
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

/** The spool of the configured state directory, for `spool …` (the daemon may be running: SQLite shares it). */
async function openSpool(configFile: string) {
  const config = await loadAgentConfig(configFile);
  const { spoolFile } = await import('./identity.js');
  const file = spoolFile(config.state);
  if (!existsSync(file))
    throw new Error(`${configFile}: state: no spool at ${file} yet (the agent has not run there)`);
  const { Spool } = await import('./spool/spool.js');
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

const mib = (bytes: number) =>
  bytes >= 1073741824
    ? `${(bytes / 1073741824).toFixed(1)} GiB`
    : bytes >= 1048576
      ? `${(bytes / 1048576).toFixed(1)} MiB`
      : `${(bytes / 1024).toFixed(1)} KiB`;

/** Refusals naming only times in the future: the agent's clock was ahead when it measured. */
const FUTURE_ONLY = (reason: string) =>
  reason.split('; ').every((part) => /in the future \(more than ingest\.futureToleranceS/.test(part));

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

/** The ids of a `replay` or `drop`: one id, or --all; not both, not neither. */
function spoolTargets(id: string | undefined, all: boolean | undefined, verb: string): string[] | 'all' {
  if (id && all) throw new UsageError(`${verb}: give a report id or --all, not both`);
  if (!id && !all) throw new UsageError(`${verb}: give a report id (see 'spool list --dead') or --all`);
  return all ? 'all' : [id!];
}

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

if (process.argv.length <= 2) {
  program.outputHelp();
  process.exit(EXIT_USAGE);
}
await runProgram(program);
