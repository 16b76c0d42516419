import { pino } from 'pino';

export type Logger = pino.Logger;

/** Logs go to stderr as JSON lines; secrets are redacted wherever they appear. */
export function createLogger(level: string = process.env.CAMPUSWATCH_LOG_LEVEL ?? 'info'): Logger {
  return pino(
    {
      name: 'campuswatch-agent',
      level,
      redact: {
        paths: ['token', '*.token', 'authorization', '*.authorization', 'headers.authorization'],
        censor: '[redacted]',
      },
    },
    pino.destination(2),
  );
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
