import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fchmodSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Type } from 'typebox';
import { Value } from 'typebox/value';
import { formatProblem, toProblems } from '../../protocol/validate.js';
import { PACKAGE_VERSION } from '../../protocol/version.js';
import { describeConnectError, notSignedByCa, smallRequest } from './http-client.js';
import { plainToTlsAnswer, plainToTlsPort, tlsToPlainPort } from './http-errors.js';
import { assertStateDir } from './state-dir.js';

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

/**
 * Writes a 0600 file atomically: a new temporary file beside it, flushed to disk, then renamed over it.
 * A crash or a full disk leaves the old file as it was, never a half-written one.
 */
function writePrivate(file: string, content: string): void {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      fchmodSync(fd, 0o600); // whatever the umask
      writeSync(fd, content);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

export function saveIdentity(stateDir: string, identity: Identity, token: string): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  writePrivate(tokenFile(stateDir), `${token}\n`);
  writePrivate(identityFile(stateDir), `${JSON.stringify(identity, null, 2)}\n`);
}

export function loadIdentity(stateDir: string): { identity: Identity; token: string } | undefined {
  // a directory this user cannot read is a permissions problem to say, not an agent that is not enrolled
  assertStateDir(stateDir);
  if (!existsSync(identityFile(stateDir)) || !existsSync(tokenFile(stateDir))) return undefined;
  const identity = JSON.parse(readFileSync(identityFile(stateDir), 'utf8')) as Identity;
  const token = readFileSync(tokenFile(stateDir), 'utf8').trim();
  return { identity, token };
}

/** The collector's answer to a successful enrolment (201). */
const EnrollAnswer = Type.Object({
  agentId: Type.String({ minLength: 1, maxLength: 200, pattern: '^[\\x21-\\x7e]+$' }),
  schoolId: Type.String({ minLength: 1, maxLength: 200 }),
  token: Type.String({ minLength: 8, maxLength: 4096, pattern: '^[\\x21-\\x7e]+$' }),
});

const isJson = (contentType: string | undefined) =>
  /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(contentType?.trim() ?? '');

/**
 * Exchanges a one-time enrolment code for a per-agent token bound to one school. An existing token is
 * replaced only with `force`, and only by a valid answer of the collector.
 */
export async function enroll(opts: {
  collectorUrl: string;
  code: string;
  stateDir: string;
  signal?: AbortSignal;
  /** PEM CA bundle: when set, only it is trusted for the collector's certificate. */
  ca?: string | Buffer;
  /** Where `ca` was read from, named when the collector's certificate is not signed by it. */
  caFile?: string;
  /** Replace the token of an agent that is already enrolled. */
  force?: boolean;
}): Promise<Identity> {
  // before the code is spent: a token that cannot be written would waste it
  assertStateDir(opts.stateDir);
  if (!opts.force && existsSync(tokenFile(opts.stateDir))) {
    // checked before the code is spent: a second enrolment by mistake must not orphan this agent
    throw new EnrollError(
      `${tokenFile(opts.stateDir)}: this agent is already enrolled; enrolling again replaces its token (use --force to do so)`,
    );
  }
  const url = new URL('/api/v1/enroll', opts.collectorUrl);
  // the enrolment's time: the request and, when it fails, the TLS handshake that tells why
  const signal = opts.signal ?? AbortSignal.timeout(30_000);
  let res: Awaited<ReturnType<typeof smallRequest>>;
  try {
    res = await smallRequest(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: opts.code, hostname: hostname(), agentVersion: PACKAGE_VERSION }),
      signal,
      ...(opts.ca ? { ca: opts.ca } : {}),
    });
  } catch (err) {
    const untrusted = opts.caFile ? notSignedByCa(err, opts.caFile, opts.collectorUrl) : undefined;
    if (untrusted) throw new EnrollError(`${untrusted}. Nothing was saved`, undefined, { cause: err });
    // https:// to a plain HTTP port or http:// to a TLS one, in words
    const mismatch = tlsToPlainPort(err, url) ?? (await plainToTlsPort(err, url, signal));
    if (mismatch) throw new EnrollError(mismatch, undefined, { cause: err });
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
    const mismatch = plainToTlsAnswer(url, res.status, text);
    if (mismatch) throw new EnrollError(mismatch, res.status);
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
  const contentType = res.headers['content-type'];
  const notCollector = (what: string) =>
    new EnrollError(
      `the answer to the enrolment (HTTP ${res.status}${contentType ? ` ${contentType.split(';')[0]!.trim().slice(0, 80)}` : ''}) is not the collector's: ${what}; is --collector the collector's URL, with no proxy or captive portal in between? Nothing was saved`,
      res.status,
    );
  if (!isJson(contentType)) throw notCollector('not JSON');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw notCollector('not valid JSON');
  }
  if (!Value.Check(EnrollAnswer, parsed)) {
    const problems = toProblems([...Value.Errors(EnrollAnswer, parsed)]).map(formatProblem);
    throw notCollector(problems.slice(0, 3).join('; ') || 'unexpected shape');
  }
  const body = parsed;
  const identity: Identity = {
    agentId: body.agentId,
    schoolId: body.schoolId,
    collectorUrl: opts.collectorUrl,
    enrolledAt: new Date().toISOString(),
  };
  saveIdentity(opts.stateDir, identity, body.token);
  return identity;
}
