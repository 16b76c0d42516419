import type { FastifyReply } from 'fastify';

/** The one error shape of the API, for every 4xx/5xx: `{ statusCode, error, message }`. */
export interface ApiError {
  statusCode: number;
  error: string;
  message: string;
}

const NAMES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  426: 'Upgrade Required',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function apiError(statusCode: number, message: string): ApiError {
  return { statusCode, error: NAMES[statusCode] ?? 'Error', message };
}

export function sendError(reply: FastifyReply, statusCode: number, message: string): FastifyReply {
  return reply.code(statusCode).send(apiError(statusCode, message));
}

/** An error the client should retry (429, 503): with `Retry-After` in whole seconds. */
export function sendRetryLater(
  reply: FastifyReply,
  statusCode: number,
  retryAfterS: number,
  message: string,
): FastifyReply {
  reply.header('retry-after', String(retryAfterS));
  return sendError(reply, statusCode, message);
}

/**
 * Whether an error is the collector's disk refusing a write (its state or outbox full): a state the agents
 * wait out (503 + Retry-After), not a failure of the request. SQLite rolls back the transaction it was
 * in, so nothing of the report is half-written.
 */
export function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT';
}
