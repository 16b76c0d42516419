// What the agent's commands share: the config file, the logger, the exit codes, a CA file named on the command line.
import type { Command } from 'commander';
import { UsageError } from '../../../protocol/cli.js';
import { logDestination, logFormatOf } from '../../../protocol/log-format.js';
import type { CampusAgent } from '../agent.js';
import type { AgentConfig } from '../config.js';
import { CaFileError, readCaFile } from '../http-client.js';
import type { Logger } from '../log.js';

export const DEFAULT_CONFIG = '/etc/campuswatch/agent.yaml';

/** `probe …` exit code when the probe ran and found something wrong (a device down, a finding, a failed check). */
export const EXIT_PROBLEMS = 3;

export function langOption(lang: string | undefined): 'zh' | 'en' {
  if (lang !== undefined && lang !== 'zh' && lang !== 'en') throw new UsageError('--lang must be zh or en');
  const locale = process.env.LC_ALL || process.env.LC_MESSAGES || process.env.LANG || '';
  return lang ?? (locale.toLowerCase().startsWith('zh') ? 'zh' : 'en');
}

// Each command loads what it needs (config schema, spool, logger) when it runs: `--help`, `enroll` and
// `probe bandwidth` start in a fraction of the time and memory of the daemon.
export async function loadAgentConfig(file: string): Promise<AgentConfig> {
  return (await import('../config.js')).loadAgentConfig(file);
}
/** The logger of a command: to stderr, in the format of `--log-format` (the program's option). */
export async function createLogger(program: Command, level?: string): Promise<Logger> {
  const destination = await logDestination(logFormatOf(program, 2), 2);
  return (await import('../log.js')).createLogger(level, destination);
}
export async function openAgent(config: AgentConfig, log?: Logger): Promise<CampusAgent> {
  const { CampusAgent } = await import('../agent.js');
  return CampusAgent.open(config, log ? { log } : {});
}

/** A CA file named on the command line: unreadable is a usage error (exit 2) naming the option. */
export function readCaFileOrUsage(file: string, setting: string): Buffer {
  try {
    return readCaFile(file, setting);
  } catch (err) {
    if (err instanceof CaFileError) throw new UsageError(err.message);
    throw err;
  }
}

/** A size as the spool and status commands print it. */
export const mib = (bytes: number) =>
  bytes >= 1073741824
    ? `${(bytes / 1073741824).toFixed(1)} GiB`
    : bytes >= 1048576
      ? `${(bytes / 1048576).toFixed(1)} MiB`
      : `${(bytes / 1024).toFixed(1)} KiB`;
