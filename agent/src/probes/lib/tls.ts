// The TLS client the probes share: one handshake that never verifies (it reports what it saw: protocol,
// cipher, the peer's certificate, why verification would fail), bounded by a timeout and the caller's
// signal, optionally pinned to old protocol versions. Failures are data: it never throws.
import { X509Certificate } from 'node:crypto';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import type { Outcome } from '../../../../protocol/report.js';
import { errnoCode, errorText, outcomeOfErrno } from './net-util.js';

/** Client-side OpenSSL errors: this agent cannot offer the protocol at all (not the server's answer). */
export const LOCAL_PROTOCOL_CODES: ReadonlySet<string> = new Set([
  'ERR_SSL_NO_PROTOCOLS_AVAILABLE',
  'ERR_SSL_NO_CIPHERS_AVAILABLE',
  'ERR_SSL_NO_CIPHER_MATCH',
]);

/** OpenSSL's verification codes for a self-signed certificate (alone or at the root of the chain). */
export const SELF_SIGNED_CODES: ReadonlySet<string> = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
]);

export type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

export interface TlsHandshake {
  /** The TCP connection was established (so a TLS failure is the server's answer). */
  connected: boolean;
  ok: boolean;
  protocol?: string;
  cipher?: string;
  cert?: X509Certificate;
  /** Why the certificate would not verify (an OpenSSL code), when it would not. */
  authorizationError?: string;
  code?: string;
  outcome?: Outcome;
  error?: string;
}

function authCode(e: unknown): string | undefined {
  if (typeof e === 'string') return e;
  return errnoCode(e) ?? (e instanceof Error ? e.message : undefined);
}

/**
 * One TLS handshake with `address:port` (SNI `servername` when given), certificate not verified. With
 * `versions`, only those protocol versions are offered, at OpenSSL security level 0 (to see whether a
 * server still accepts TLS 1.0/1.1).
 */
export function tlsHandshake(
  address: string,
  port: number,
  servername: string | undefined,
  timeoutMs: number,
  signal: AbortSignal,
  versions?: { min: TlsVersion; max: TlsVersion },
): Promise<TlsHandshake> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve({
        connected: false,
        ok: false,
        outcome: 'timeout',
        error: 'the deadline passed before the TLS handshake',
      });
      return;
    }
    let socket: TLSSocket;
    let connected = false;
    let settled = false;
    const finish = (h: TlsHandshake) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket?.destroy();
      resolve(h);
    };
    const onAbort = () =>
      finish({
        connected,
        ok: false,
        outcome: 'timeout',
        error: 'the deadline passed during the TLS handshake',
      });
    const timer = setTimeout(
      () =>
        finish({
          connected,
          ok: false,
          outcome: 'timeout',
          error: `no TLS handshake within ${timeoutMs} ms`,
        }),
      timeoutMs,
    );
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      socket = tlsConnect({
        host: address,
        port,
        ...(servername !== undefined ? { servername } : {}),
        rejectUnauthorized: false,
        ...(versions
          ? { minVersion: versions.min, maxVersion: versions.max, ciphers: 'DEFAULT@SECLEVEL=0' }
          : {}),
      });
    } catch (err) {
      // The local OpenSSL refused the settings before any packet was sent.
      const code = errnoCode(err);
      finish({
        connected: false,
        ok: false,
        outcome: 'error',
        ...(code !== undefined ? { code } : {}),
        error: errorText(err),
      });
      return;
    }
    socket.once('connect', () => {
      connected = true;
    });
    socket.once('secureConnect', () => {
      const peer = socket.getPeerCertificate();
      let cert: X509Certificate | undefined;
      try {
        if (peer?.raw) cert = new X509Certificate(peer.raw);
      } catch {
        cert = undefined;
      }
      const h: TlsHandshake = { connected: true, ok: true };
      const protocol = socket.getProtocol();
      if (protocol) h.protocol = protocol;
      const cipher = socket.getCipher()?.name;
      if (cipher) h.cipher = cipher;
      if (cert) h.cert = cert;
      const auth = authCode(socket.authorizationError);
      if (auth !== undefined) h.authorizationError = auth;
      finish(h);
    });
    socket.on('error', (err) => {
      const code = errnoCode(err);
      finish({
        connected,
        ok: false,
        outcome: connected ? 'error' : outcomeOfErrno(code),
        ...(code !== undefined ? { code } : {}),
        error: errorText(err),
      });
    });
    socket.once('close', () =>
      finish({
        connected,
        ok: false,
        outcome: 'error',
        error: 'the server closed the connection during the handshake',
      }),
    );
  });
}
