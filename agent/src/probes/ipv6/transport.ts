import { createHash } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { request as httpRequest } from 'node:http';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { type ConnectionOptions, type TLSSocket, connect as tlsConnect } from 'node:tls';
import type { Outcome } from '../../../../protocol/report.js';
import { deadlineText } from '../lib/deadline.js';
import { elapsedMs, errnoCode, errorText, type Family, outcomeOfErrno, raceAbort } from '../lib/net-util.js';

/**
 * The connections the checks make: a target URL, one address of a family, a TCP (and TLS) connection
 * with its times, and one HTTP GET over it. Nothing here throws: failures come back as values.
 */

/** Happy Eyeballs: Node's default attempt delay (RFC 8305 recommends 250 ms). */
export const HE_ATTEMPT_MS = 250;
/** Bodies are hashed up to this size; the path-MTU check needs only more than 1280 bytes. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;
const USER_AGENT = 'campuswatch-agent (ipv6 probe)';

const noop = (): void => {};

export interface Target {
  name: string;
  url: URL;
  /** Host name or address as in the URL, without brackets. */
  host: string;
  port: number;
  tls: boolean;
}

export function parseTarget(name: string, text: string): Target | string {
  try {
    const url = new URL(text);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return `unsupported URL scheme in ${text}`;
    const tls = url.protocol === 'https:';
    const host = url.hostname.replace(/^\[(.+)\]$/, '$1');
    return { name, url, host, port: url.port ? Number(url.port) : tls ? 443 : 80, tls };
  } catch {
    return `invalid URL ${text}`;
  }
}

/** One address of `family` for `host` (an IP literal as it is; names via the system's getaddrinfo). */
export async function addressOf(
  host: string,
  family: Family,
  signal: AbortSignal,
): Promise<{ address: string } | { error: string }> {
  const kind = isIP(host);
  if (kind === family) return { address: host };
  if (kind !== 0) return { error: `${host} is an IPv${kind} address: nothing to try over IPv${family}` };
  try {
    const raced = await raceAbort(lookup(host, { family }), signal);
    if (raced.aborted) return { error: `name resolution of ${host}: ${deadlineText(signal)}` };
    return { address: raced.value.address };
  } catch (err) {
    return { error: `no IPv${family} address for ${host} (${errnoCode(err) ?? 'error'})` };
  }
}

/** Waits for `event` or an error or the abort, then removes its listeners. */
function settle(
  socket: Socket,
  event: 'connect' | 'secureConnect',
  signal: AbortSignal,
): Promise<{ ok: true } | { ok: false; err?: Error }> {
  return new Promise((resolve) => {
    const done = (r: { ok: true } | { ok: false; err?: Error }) => {
      socket.off(event, onOk);
      socket.off('error', onErr);
      signal.removeEventListener('abort', onAbort);
      resolve(r);
    };
    const onOk = () => done({ ok: true });
    const onErr = (err: Error) => done({ ok: false, err });
    const onAbort = () => done({ ok: false });
    socket.once(event, onOk);
    socket.once('error', onErr);
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
  });
}

type Opened =
  | {
      ok: true;
      socket: Socket;
      connectMs: number;
      tlsMs?: number;
      family: Family;
      address: string;
      attempted?: string[];
    }
  | {
      ok: false;
      outcome: Outcome;
      text: string;
      /** TCP connected, the TLS handshake failed: `code` is the TLS error code. */
      tlsFailed: boolean;
      code?: string;
      connectMs?: number;
    };

interface OpenOptions {
  host: string;
  port: number;
  /** Force a family (host is then an address of it), or let Happy Eyeballs choose (`auto`). */
  family: Family | 'auto';
  tls?: { servername: string | undefined; rejectUnauthorized: boolean };
}

function familyOf(socket: Socket): Family | undefined {
  if (socket.remoteFamily === 'IPv6') return 6;
  if (socket.remoteFamily === 'IPv4') return 4;
  return undefined;
}

/** A TCP (and optionally TLS) connection with its connect and handshake times. Never throws. */
export async function open(o: OpenOptions, signal: AbortSignal): Promise<Opened> {
  const startedAt = performance.now();
  const tcp =
    o.family === 'auto'
      ? netConnect({
          host: o.host,
          port: o.port,
          autoSelectFamily: true,
          autoSelectFamilyAttemptTimeout: HE_ATTEMPT_MS,
        })
      : netConnect({ host: o.host, port: o.port, family: o.family });
  // Stays attached: an error after our own listeners are gone must not crash the process.
  tcp.on('error', noop);
  const c = await settle(tcp, 'connect', signal);
  if (!c.ok) {
    tcp.destroy();
    if (!c.err) return { ok: false, outcome: 'timeout', text: deadlineText(signal), tlsFailed: false };
    const code = errnoCode(c.err);
    const r: Opened = {
      ok: false,
      outcome: outcomeOfErrno(code),
      text: code ?? errorText(c.err),
      tlsFailed: false,
    };
    if (code !== undefined) r.code = code;
    return r;
  }
  const connectMs = elapsedMs(startedAt);
  const family = familyOf(tcp) ?? (o.family === 'auto' ? 6 : o.family);
  const address = tcp.remoteAddress ?? o.host;
  const attempted = (tcp as Socket & { autoSelectFamilyAttemptedAddresses?: string[] })
    .autoSelectFamilyAttemptedAddresses;
  const base = { ok: true as const, connectMs, family, address, ...(attempted ? { attempted } : {}) };
  if (!o.tls) return { ...base, socket: tcp };

  const tlsStartedAt = performance.now();
  const opts: ConnectionOptions = {
    socket: tcp,
    host: address,
    rejectUnauthorized: o.tls.rejectUnauthorized,
    ALPNProtocols: ['http/1.1'],
  };
  if (o.tls.servername !== undefined) opts.servername = o.tls.servername;
  const secure: TLSSocket = tlsConnect(opts);
  secure.on('error', noop);
  const s = await settle(secure, 'secureConnect', signal);
  if (!s.ok) {
    secure.destroy();
    tcp.destroy();
    if (!s.err)
      return {
        ok: false,
        outcome: 'timeout',
        text: `TLS: ${deadlineText(signal)}`,
        tlsFailed: false,
        connectMs,
      };
    const code = errnoCode(s.err) ?? 'TLS_ERROR';
    return { ok: false, outcome: 'error', text: `TLS: ${code}`, tlsFailed: true, code, connectMs };
  }
  return { ...base, socket: secure, tlsMs: elapsedMs(tlsStartedAt) };
}

export interface HttpResponse {
  status?: number;
  bytes: number;
  sha256: string;
  /** The whole body arrived (or the first MAX_BODY_BYTES of it). */
  complete: boolean;
  /** From sending the request to the response headers (≈ one round trip plus the server's time). */
  headersMs?: number;
  totalMs: number;
  contentLength?: number;
  failure?: { outcome: Outcome; text: string };
}

/** GET `url` over an open connection (HTTP/1.1, `Connection: close`); destroys the socket. */
export function httpGet(socket: Socket, url: URL, signal: AbortSignal): Promise<HttpResponse> {
  return new Promise((resolve) => {
    const startedAt = performance.now();
    const hash = createHash('sha256');
    let bytes = 0;
    let status: number | undefined;
    let headersMs: number | undefined;
    let contentLength: number | undefined;
    let settled = false;
    const req = httpRequest({
      createConnection: () => socket,
      method: 'GET',
      path: `${url.pathname}${url.search}`,
      headers: { host: url.host, 'user-agent': USER_AGENT, accept: '*/*', connection: 'close' },
    });
    const finish = (complete: boolean, failure?: HttpResponse['failure']) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      const r: HttpResponse = { bytes, sha256: hash.digest('hex'), complete, totalMs: elapsedMs(startedAt) };
      if (status !== undefined) r.status = status;
      if (headersMs !== undefined) r.headersMs = headersMs;
      if (contentLength !== undefined) r.contentLength = contentLength;
      if (failure) r.failure = failure;
      req.destroy();
      socket.destroy();
      resolve(r);
    };
    const onAbort = () => finish(false, { outcome: 'timeout', text: deadlineText(signal) });
    req.on('response', (res) => {
      status = res.statusCode;
      headersMs = elapsedMs(startedAt);
      const len = Number(res.headers['content-length']);
      if (Number.isFinite(len) && len >= 0) contentLength = len;
      res.on('data', (chunk: Buffer) => {
        if (settled) return;
        hash.update(chunk);
        bytes += chunk.length;
        if (bytes >= MAX_BODY_BYTES) finish(true);
      });
      res.on('end', () => finish(true));
      res.on('error', (err) => finish(false, { outcome: 'error', text: errnoCode(err) ?? errorText(err) }));
      res.on('aborted', () => finish(false, { outcome: 'error', text: 'the response was cut off' }));
    });
    req.on('error', (err) => {
      const code = errnoCode(err);
      finish(false, { outcome: outcomeOfErrno(code), text: code ?? errorText(err) });
    });
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    else req.end();
  });
}

export const bracket = (address: string): string => (address.includes(':') ? `[${address}]` : address);
export const servernameOf = (t: Target): string | undefined => (isIP(t.host) === 0 ? t.host : undefined);

export function describeHttp(r: HttpResponse, c: { connectMs: number; tlsMs?: number }): string {
  const tls = c.tlsMs !== undefined ? `, TLS ${c.tlsMs} ms` : '';
  const status =
    r.status !== undefined ? `HTTP ${r.status}, ${r.bytes} bytes` : `no response (${r.bytes} bytes)`;
  return `${status}; connect ${c.connectMs} ms${tls}, headers ${r.headersMs ?? '-'} ms, total ${r.totalMs} ms`;
}
