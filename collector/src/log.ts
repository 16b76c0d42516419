import { type DestinationStream, type Logger, pino } from 'pino';

/**
 * What never reaches a log line: bearer tokens and the Authorization header, enrolment codes, passwords,
 * notifier secrets and robot keys, webhook URLs (they carry their credential), SNMP communities and keys.
 * Paths are pino `redact` paths; a log object nests them at most a few levels deep.
 */
export const COLLECTOR_REDACT_PATHS: readonly string[] = [
  'req.headers.authorization',
  'state.url',
  '*.state.url',
  'req.headers.cookie',
  'req.headers["x-campuswatch-signature"]',
  'headers.authorization',
  '*.headers.authorization',
  'authorization',
  '*.authorization',
  'token',
  '*.token',
  '*.*.token',
  'adminToken',
  '*.adminToken',
  'enrollCode',
  '*.enrollCode',
  'req.body.code',
  'body.code',
  'password',
  '*.password',
  '*.*.password',
  'pass',
  '*.pass',
  'secret',
  '*.secret',
  '*.*.secret',
  'channels[*].secret',
  'channels[*].key',
  'channels[*].url',
  'channels[*].pass',
  '*.channels[*].secret',
  '*.channels[*].key',
  '*.channels[*].url',
  '*.channels[*].pass',
  'community',
  '*.community',
  'authKey',
  '*.authKey',
  'privKey',
  '*.privKey',
];

/** Query parameters that carry a credential: a wall display's address, `/wall?token=cwt1.…`, opened once. */
const SECRET_QUERY = /([?&]token=)[^&#]*/gi;

/** A request's URL as it may be logged: a credential in its query replaced by `[redacted]`. */
export function loggableUrl(url: string): string {
  return url.replace(SECRET_QUERY, '$1[redacted]');
}

/** What a log line says of a request (Fastify's own summary, the URL made loggable). */
interface RequestLike {
  method: string;
  url: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number | undefined } | null;
}
function requestSummary(req: RequestLike) {
  return {
    method: req.method,
    url: loggableUrl(req.url),
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}

/** The collector's logger: JSON lines on stdout (or `destination`), secrets redacted. */
export function createCollectorLogger(
  level: string = process.env.CAMPUSWATCH_LOG_LEVEL ?? 'info',
  destination?: DestinationStream,
): Logger {
  const options = {
    name: 'campuswatch-collector',
    level,
    redact: { paths: [...COLLECTOR_REDACT_PATHS], censor: '[redacted]' },
    serializers: { req: requestSummary },
  };
  return destination ? pino(options, destination) : pino(options);
}
