import { isIP } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { describeConnectError } from './http-client.js';

/** `scheme://host:port` with the port always written (the default one included: it is the port in question). */
function withScheme(url: URL, protocol: 'http:' | 'https:'): string {
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return `${protocol}//${url.hostname}:${port}`;
}

/**
 * `https://` to a port that speaks plain HTTP: OpenSSL reads the server's HTTP answer as a TLS record
 * (`wrong version number`). Said in words, with the URL that would work.
 */
export function tlsToPlainPort(err: unknown, url: URL): string | undefined {
  if (url.protocol !== 'https:') return undefined;
  const e = err as NodeJS.ErrnoException | undefined;
  const text = e instanceof Error ? e.message : '';
  if (e?.code !== 'ERR_SSL_WRONG_VERSION_NUMBER' && !/wrong version number|http request/i.test(text))
    return undefined;
  return `the collector at ${withScheme(url, 'https:')} does not speak TLS on this port; use ${withScheme(url, 'http:')} or check the port`;
}

function plainToTlsPortMessage(url: URL): string {
  return `the collector at ${withScheme(url, 'http:')} speaks TLS (HTTPS) on this port, not plain HTTP; use ${withScheme(url, 'https:')} or check the port`;
}

/**
 * A proxy or web server answering a plain HTTP request on its TLS port in words (nginx: "The plain HTTP
 * request was sent to HTTPS port", Go: "Client sent an HTTP request to an HTTPS server").
 */
export function plainToTlsAnswer(url: URL, status: number, body: string): string | undefined {
  if (url.protocol !== 'http:' || status !== 400) return undefined;
  return /plain HTTP request was sent to HTTPS port|HTTP request to an HTTPS server/i.test(
    body.slice(0, 4096),
  )
    ? plainToTlsPortMessage(url)
    : undefined;
}

/**
 * Does `host:port` complete a TLS handshake (any certificate)? True when it does, false when the port
 * answers otherwise (drops, refuses, a record that is not TLS). How long to wait is the caller's: when
 * `signal` aborts first (a port that accepts and never answers), the promise rejects with its reason.
 */
export function speaksTls(url: URL, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const socket = tlsConnect({
      host,
      port: Number(url.port || 80),
      rejectUnauthorized: false,
      ...(isIP(host) === 0 ? { servername: host } : {}),
    });
    const settle = () => {
      signal.removeEventListener('abort', aborted);
      socket.destroy();
    };
    const aborted = () => {
      settle();
      reject(signal.reason);
    };
    signal.addEventListener('abort', aborted, { once: true });
    socket.once('secureConnect', () => {
      settle();
      resolve(true);
    });
    socket.once('error', () => {
      settle();
      resolve(false);
    });
  });
}

/**
 * `http://` to a TLS port: the server drops the connection (or answers with a TLS alert the HTTP parser
 * cannot read). Only then is the port tried with a TLS handshake, to say so for certain, for as long as
 * `signal` allows.
 */
export async function plainToTlsPort(
  err: unknown,
  url: URL,
  signal: AbortSignal,
): Promise<string | undefined> {
  if (url.protocol !== 'http:') return undefined;
  const e = err as NodeJS.ErrnoException | undefined;
  const code = e?.code ?? '';
  if (code !== 'ECONNRESET' && code !== 'EPIPE' && !code.startsWith('HPE_')) return undefined;
  // a handshake the caller's time ran out for says nothing for certain: the plain description stands
  const tls = await speaksTls(url, signal).catch(() => false);
  return tls ? plainToTlsPortMessage(url) : undefined;
}

/**
 * A failed exchange with the collector as one line for a person: a TLS/plain HTTP mismatch in words
 * (either way), else describeConnectError's line. `signal` bounds the TLS handshake that may be tried.
 */
export async function explainConnectError(err: unknown, url: URL, signal: AbortSignal): Promise<string> {
  return tlsToPlainPort(err, url) ?? (await plainToTlsPort(err, url, signal)) ?? describeConnectError(err);
}
