import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { PACKAGE_VERSION } from '../../protocol/version.js';
import { describeConnectError, smallRequest } from './http-client.js';

/** What enrolment gave this agent; the token itself lives in its own 0600 file. */
export interface Identity {
  agentId: string;
  schoolId: string;
  collectorUrl: string;
  enrolledAt: string;
}

export class EnrollError extends Error {
  override readonly name = 'EnrollError';
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const identityFile = (stateDir: string) => join(stateDir, 'identity.json');
export const tokenFile = (stateDir: string) => join(stateDir, 'token');
export const spoolFile = (stateDir: string) => join(stateDir, 'spool.sqlite');

function writePrivate(file: string, content: string): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, content, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, file);
}

export function saveIdentity(stateDir: string, identity: Identity, token: string): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  writePrivate(tokenFile(stateDir), `${token}\n`);
  writePrivate(identityFile(stateDir), `${JSON.stringify(identity, null, 2)}\n`);
}

export function loadIdentity(stateDir: string): { identity: Identity; token: string } | undefined {
  if (!existsSync(identityFile(stateDir)) || !existsSync(tokenFile(stateDir))) return undefined;
  const identity = JSON.parse(readFileSync(identityFile(stateDir), 'utf8')) as Identity;
  const token = readFileSync(tokenFile(stateDir), 'utf8').trim();
  return { identity, token };
}

/** Exchanges a one-time enrolment code for a per-agent token bound to one school. */
export async function enroll(opts: {
  collectorUrl: string;
  code: string;
  stateDir: string;
  signal?: AbortSignal;
  /** PEM CA bundle: when set, only it is trusted for the collector's certificate. */
  ca?: string | Buffer;
}): Promise<Identity> {
  const url = new URL('/api/v1/enroll', opts.collectorUrl);
  let res: Awaited<ReturnType<typeof smallRequest>>;
  try {
    res = await smallRequest(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: opts.code, hostname: hostname(), agentVersion: PACKAGE_VERSION }),
      signal: opts.signal ?? AbortSignal.timeout(30_000),
      ...(opts.ca ? { ca: opts.ca } : {}),
    });
  } catch (err) {
    throw new EnrollError(
      `cannot reach the collector at ${opts.collectorUrl}: ${describeConnectError(err)}`,
      undefined,
      {
        cause: err,
      },
    );
  }
  const { text } = res;
  if (res.status !== 201 && res.status !== 200) {
    let message = text;
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? text;
    } catch {
      // keep the raw text
    }
    // a proxy's error page may echo the request: the one-time code goes no further
    if (opts.code.length >= 4) message = message.split(opts.code).join('[redacted]');
    message = message.slice(0, 500);
    throw new EnrollError(`enrolment refused (HTTP ${res.status}): ${message}`, res.status);
  }
  const body = JSON.parse(text) as { agentId: string; schoolId: string; token: string };
  const identity: Identity = {
    agentId: body.agentId,
    schoolId: body.schoolId,
    collectorUrl: opts.collectorUrl,
    enrolledAt: new Date().toISOString(),
  };
  saveIdentity(opts.stateDir, identity, body.token);
  return identity;
}
