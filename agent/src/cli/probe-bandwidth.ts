// `campuswatch-agent probe bandwidth`: the configured speed test (the registry's probe: http or iperf3), or an
// HTTP speed test against a server named on the command line.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../../../protocol/cli.js';
import type { BandwidthResult } from '../../../protocol/report.js';
import type { AgentConfig } from '../config.js';
import { enrolledCredentials } from '../credentials.js';
import { tokenFile } from '../identity.js';
import { runSpeedtest, SpeedtestError } from '../probes/bandwidth/speedtest-client.js';
import { PROBES } from '../probes/registry.js';
import { createLogger, EXIT_PROBLEMS, loadAgentConfig, readCaFileOrUsage } from './common.js';

interface BandwidthOptions {
  server?: string;
  tokenFile?: string;
  caFile?: string;
  config?: string;
  streams?: string;
  maxStreams?: string;
  duration?: string;
  json?: boolean;
}

function bandwidthSummary(results: BandwidthResult[]): Record<string, unknown> {
  const down = results.find((r) => r.direction === 'down');
  const up = results.find((r) => r.direction === 'up');
  return {
    method: down?.method ?? up?.method ?? null,
    target: down?.target ?? up?.target ?? null,
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

/** The test's figures: the command line's, else the config's (`probes.bandwidth`), else the defaults. */
function figures(opts: BandwidthOptions, bw: AgentConfig['probes']['bandwidth'] | undefined) {
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
  const omitS = bw?.omitS ?? 2;
  return { streams, maxStreams, durationS, omitS };
}

/** Prints the results (one object with --json) and sets exit code 3 when a direction failed. */
function printResults(
  results: BandwidthResult[],
  opts: BandwidthOptions,
  omitS: number,
  live: boolean,
): void {
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
  const p90 = (v: unknown) => (v === null ? '' : ` (p90 ${v})`);
  process.stdout.write(
    `${[
      `download   ${s.download_mbps} Mbps${p90(s.download_p90_mbps)}`,
      `upload     ${s.upload_mbps} Mbps${p90(s.upload_p90_mbps)}`,
      `streams    ${s.streams}, ${s.duration_s} s per direction after a ${omitS} s warm-up`,
      `RTT        idle ${s.rtt_idle_ms ?? '-'} ms, under load ${s.rtt_loaded_ms ?? '-'} ms`,
      `method     ${s.method} against ${s.target}`,
    ].join('\n')}\n`,
  );
}

/**
 * `--config FILE` alone: the probe the agent runs on its schedule (the registry's), with the config's method —
 * iperf3 against its server, or http against the speed-test service with the token of the state directory
 * (not enrolled: both directions fail, naming the directory and the fix). --streams, --max-streams and
 * --duration override the config's figures, --ca-file its collector.caFile.
 */
async function configuredTest(program: Command, opts: BandwidthOptions & { config: string }): Promise<void> {
  const config = await loadAgentConfig(opts.config);
  const bw = config.probes.bandwidth;
  const { streams, maxStreams, durationS, omitS } = figures(opts, bw);
  if (opts.caFile) readCaFileOrUsage(opts.caFile, '--ca-file');
  const tuned: AgentConfig = {
    ...config,
    probes: { ...config.probes, bandwidth: { ...bw, streams, maxStreams, durationS } },
  };
  const all = await PROBES.bandwidth.run(tuned, {
    signal: AbortSignal.timeout(Math.max(bw.timeoutS, (omitS + durationS) * 2 + 120) * 1000),
    log: await createLogger(program, process.env.CAMPUSWATCH_LOG_LEVEL ?? 'warn'),
    now: () => new Date(),
    credentials: enrolledCredentials(config, opts.caFile ?? config.collector.caFile),
  });
  printResults(
    all.filter((r): r is BandwidthResult => r.probe === 'bandwidth'),
    opts,
    omitS,
    false,
  );
}

/** `--server URL --token-file FILE` (each may come from --config): an HTTP speed test, live on a terminal. */
async function serverTest(program: Command, opts: BandwidthOptions): Promise<void> {
  const config = opts.config ? await loadAgentConfig(opts.config) : undefined;
  const bw = config?.probes.bandwidth;
  const server = opts.server ?? bw?.server ?? config?.collector.url;
  const tokenPath = opts.tokenFile ?? (config ? tokenFile(config.state) : undefined);
  if (!server || !tokenPath)
    throw new UsageError('give --server URL and --token-file FILE, or --config FILE');
  const { streams, maxStreams, durationS, omitS } = figures(opts, bw);
  let token: string;
  try {
    token = readFileSync(tokenPath, 'utf8').trim();
  } catch (err) {
    throw new UsageError(
      `cannot read the token file ${tokenPath}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`,
    );
  }
  const caFile = opts.caFile ?? config?.collector.caFile;
  const ca = caFile ? readCaFileOrUsage(caFile, opts.caFile ? '--ca-file' : 'collector.caFile') : undefined;
  const live = !opts.json && process.stdout.isTTY;
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
      log: await createLogger(program, process.env.CAMPUSWATCH_LOG_LEVEL ?? 'warn'),
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
    if (opts.json) process.stdout.write(`${JSON.stringify({ outcome, error: (err as Error).message })}\n`);
    else {
      process.stdout.write(
        `FAILED   speed test to ${server}: ${outcome}: ${(err as Error).message}\n1 problem on 1 check\n`,
      );
    }
    process.exitCode = EXIT_PROBLEMS;
    return;
  }
  printResults(results, opts, omitS, live);
}

export function registerProbeBandwidth(program: Command, probe: Command): void {
  probe
    .command('bandwidth')
    .description(
      'the uplink speed test: with --config alone, the configured probe (method http against the speed-test service with the enrolled token, or method iperf3 against its iperf3 server); with --server / --token-file, an HTTP speed test against that server',
    )
    .option('--server <url>', 'collector URL (speed-test service)')
    .option('--token-file <file>', 'agent token file (from enroll: <state>/token)')
    .option('--config <file>', 'agent YAML config: method, server, token and settings from there')
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
    .action(async (opts: BandwidthOptions) => {
      if (opts.config !== undefined && opts.server === undefined && opts.tokenFile === undefined)
        await configuredTest(program, { ...opts, config: opts.config });
      else await serverTest(program, opts);
    });
}
