import { pino } from 'pino';

export type Logger = pino.Logger;

/**
 * What never reaches a log line: the agent token and Authorization headers, enrolment codes, SNMP
 * communities and v3 keys, passwords and secrets. pino `redact` paths, a few levels deep.
 */
export const AGENT_REDACT_PATHS: readonly string[] = [
  'token',
  '*.token',
  '*.*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  'req.headers.authorization',
  'enrollCode',
  '*.enrollCode',
  'community',
  '*.community',
  '*.*.community',
  'authKey',
  '*.authKey',
  '*.*.authKey',
  'privKey',
  '*.privKey',
  '*.*.privKey',
  'password',
  '*.password',
  'secret',
  '*.secret',
];

/**
 * Logs go to stderr as JSON lines (or to `destination`: readable lines, see protocol/log-format.ts);
 * secrets are redacted wherever they appear.
 */
export function createLogger(
  level: string = process.env.CAMPUSWATCH_LOG_LEVEL ?? 'info',
  destination: pino.DestinationStream = pino.destination(2),
): Logger {
  return pino(
    {
      name: 'campuswatch-agent',
      level,
      redact: { paths: [...AGENT_REDACT_PATHS], censor: '[redacted]' },
    },
    destination,
  );
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
