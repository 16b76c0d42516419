import { isatty } from 'node:tty';
import type { Command } from 'commander';
import { type DestinationStream, pino } from 'pino';
import { UsageError } from './cli.js';

// How both programs print their log lines: `json` (one pino object a line, for log shippers) or
// `pretty` (one readable line: local time with its offset, level word, message, then the fields). Chosen
// by --log-format, else CAMPUSWATCH_LOG_FORMAT (the systemd units set pretty for the journal), else pretty
// on a terminal and json otherwise. Redaction happens before either: a secret is `[redacted]` in both.

export const LOG_FORMATS = ['pretty', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export const LOG_FORMAT_ENV = 'CAMPUSWATCH_LOG_FORMAT';

function isLogFormat(s: string): s is LogFormat {
  return (LOG_FORMATS as readonly string[]).includes(s);
}

/** The format of the log lines: the flag, else the environment, else pretty on a terminal only. */
export function resolveLogFormat(
  flag: string | undefined,
  opts: { env?: NodeJS.ProcessEnv; isTty: boolean },
): LogFormat {
  if (flag !== undefined) {
    if (!isLogFormat(flag))
      throw new UsageError(`--log-format must be ${LOG_FORMATS.join(' or ')}, not ${JSON.stringify(flag)}`);
    return flag;
  }
  const env = (opts.env ?? process.env)[LOG_FORMAT_ENV];
  if (env !== undefined && env !== '') {
    if (!isLogFormat(env))
      throw new UsageError(
        `${LOG_FORMAT_ENV} must be ${LOG_FORMATS.join(' or ')}, not ${JSON.stringify(env)}`,
      );
    return env;
  }
  return opts.isTty ? 'pretty' : 'json';
}

/** Adds `--log-format` to a program (it may be given before or after the command). */
export function addLogFormatOption(program: Command): Command {
  return program.option(
    '--log-format <format>',
    `log lines: pretty (readable) or json (for log shippers); default: ${LOG_FORMAT_ENV}, else pretty on a terminal, json otherwise`,
  );
}

/** The format chosen for a program's run, for log lines written to the file descriptor `fd`. */
export function logFormatOf(program: Command, fd: number): LogFormat {
  const flag = (program.opts() as { logFormat?: string }).logFormat;
  return resolveLogFormat(flag, {
    isTty: isatty(fd),
  });
}

/**
 * Where log lines go: `fd` as JSON lines, or through pino-pretty (loaded only then) as one line each,
 * coloured only on a terminal. Both write synchronously: a line logged just before exit is not lost.
 */
export async function logDestination(format: LogFormat, fd: number): Promise<DestinationStream> {
  if (format === 'json') {
    return pino.destination({ dest: fd, sync: true });
  }
  const { default: pretty } = await import('pino-pretty');
  return pretty({
    destination: fd,
    sync: true,
    colorize: isatty(fd),
    singleLine: true,
    translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l o',
    ignore: 'pid,hostname',
  });
}
