import { execFile } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { setMaxListeners } from 'node:events';
import type { Socket } from 'node:net';
import { hostname } from 'node:os';
import { type TLSSocket, connect as tlsConnect } from 'node:tls';
import si from 'systeminformation';
import type { DeviceRef, Outcome, SecurityResult } from '../../../protocol/report.js';
import type { AgentConfig, DeviceConfig, RoomConfig, SnmpAuth } from '../config.js';
import { type AgentPair, HttpTimeoutError, smallRequest } from '../http-client.js';
import { deviceChecks, type ResolvedCheck, urlHost } from '../inventory.js';
import { deadline, httpAgents } from './device-checks.js';
import {
  createLimiter,
  decodeText,
  elapsedMs,
  errnoCode,
  errorText,
  type Family,
  findExecutable,
  openTcp,
  outcomeOfErrno,
  raceAbort,
  resolveHost,
  type TcpConnectResult,
  tcpConnect,
} from './net-util.js';
import type { Probe, ProbeContext } from './probe.js';
import { asText, classify, ProbeAbortedError, SnmpClient, scrub } from './uplink-snmp.js';

/**
 * The security baseline scan (docs/architecture.md, "Security baseline"): checks without credentials, each reported as one
 * SecurityResult per (rule, target[, port]) with `finding` true (problem present) or false (passing),
 * so the collector can open and resolve findings. Severity and 等保 clauses are the collector's policy.
 *
 * Gentle by design: every network check goes through one limiter (`concurrency`), TCP checks are
 * connect-only (FTP reads the greeting, RTSP sends one DESCRIBE, HTTP one GET), the only credentials
 * tried are the two default SNMP communities (and, when SNMPv3 is required, the configured community),
 * and only the inventory's devices, the agent host and the configured TLS services are looked at.
 */

export const SECURITY_RULES = [
  'cleartext-telnet',
  'cleartext-ftp',
  'cleartext-tftp',
  'http-admin-no-tls',
  'snmp-default-community',
  'snmp-v1v2c-enabled',
  'high-risk-port',
  'rtsp-no-auth',
  'tls-expired',
  'tls-expiring',
  'tls-old-protocol',
  'tls-self-signed',
  'host-firewall-off',
  'host-os-eol',
] as const;
export type SecurityRule = (typeof SECURITY_RULES)[number];

/**
 * High-risk ports (GB/T 22239-2019 8.1.4.4): RPC 135, NetBIOS 137–139, SMB 445, RDP 3389, VNC 5900–5902,
 * MSSQL 1433, MySQL 3306, PostgreSQL 5432, Redis 6379, MongoDB 27017. NetBIOS 137 (name service) and
 * 138 (datagram service) are UDP services in reality; this scan is connect-only, so they are tested
 * over TCP only (a TCP listener there is rare but still worth reporting; an open UDP 137/138 is not seen).
 */
export const HIGH_RISK_PORTS: readonly number[] = [
  135, 137, 138, 139, 445, 3389, 5900, 5901, 5902, 1433, 3306, 5432, 6379, 27017,
];

/** Ports the device rules look at; `https` is where http-admin-no-tls looks for a TLS alternative. */
export type SecurityPortKey =
  | 'cleartext-telnet'
  | 'cleartext-ftp'
  | 'cleartext-tftp'
  | 'http-admin-no-tls'
  | 'https'
  | 'rtsp-no-auth';

export const DEFAULT_SECURITY_PORTS: Readonly<Record<SecurityPortKey, number>> = {
  'cleartext-telnet': 23,
  'cleartext-ftp': 21,
  'cleartext-tftp': 69,
  'http-admin-no-tls': 80,
  https: 443,
  'rtsp-no-auth': 554,
};

/** Device types that stream video over RTSP (checked even without an rtsp check in the inventory). */
const RTSP_TYPES = new Set(['camera', 'encoder', 'recorder', 'nvr']);
const DEFAULT_COMMUNITIES = ['public', 'private'] as const;
const SYS_DESCR = '1.3.6.1.2.1.1.1.0';
const EXPIRING_DAYS = 30;
const DAY_MS = 86_400_000;
const MAX_BODY = 64 * 1024;
const HOST_CMD_TIMEOUT_MS = 10_000;

export interface SecurityProbeOptions {
  /** Test seam: point rules at other ports (default: the real numbers, DEFAULT_SECURITY_PORTS). */
  ports?: Partial<Record<SecurityPortKey, number>>;
  /** Test seam: the high-risk ports to try (default HIGH_RISK_PORTS). */
  highRiskPorts?: readonly number[];
  /** Run the agent-host rules (host-firewall-off, host-os-eol); default true. */
  hostChecks?: boolean;
}

/** What one check found, before the common fields are added. */
interface Verdict {
  outcome: Outcome;
  finding: boolean;
  evidence: string;
  value?: number;
  error?: string;
}

interface Subject {
  rule: SecurityRule;
  target: string;
  device?: DeviceRef;
  port?: number;
}

/** Text safe for evidence: no control characters, bounded. */
function clean(text: string, max = 200): string {
  return text
    .replace(/\p{Cc}+/gu, ' ')
    .trim()
    .slice(0, max);
}

function quote(text: string, max = 200): string {
  return JSON.stringify(clean(text, max));
}

/** Every configured SNMP secret (communities and v3 keys) except the well-known defaults. */
export function configuredSecrets(config: AgentConfig): string[] {
  const out = new Set<string>();
  const add = (o: { community?: string; authKey?: string; privKey?: string } | undefined) => {
    for (const v of [o?.community, o?.authKey, o?.privKey]) if (v) out.add(v);
  };
  add(config.inventory.snmp);
  add(config.probes['uplink-snmp'].snmp);
  for (const room of config.rooms) {
    add(room.defaults?.snmp);
    for (const d of room.devices) {
      for (const c of deviceChecks(config, room, d)) if (c.kind === 'snmp') add(c.auth);
    }
  }
  for (const d of DEFAULT_COMMUNITIES) out.delete(d);
  return [...out];
}

function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join('[redacted]');
  return out;
}

// ---------------------------------------------------------------------------------------------
// TCP port rules

function portVerdict(
  c: TcpConnectResult,
  proto: string,
  port: number,
  timeoutMs: number,
  signal: AbortSignal,
): Verdict {
  if (c.outcome === 'ok') return { outcome: 'ok', finding: true, evidence: `${proto} ${port} open` };
  if (c.outcome === 'refused')
    return { outcome: 'ok', finding: false, evidence: `${proto} ${port} refused (closed)` };
  if (c.outcome === 'timeout') {
    const evidence = signal.aborted
      ? `the scan deadline passed before ${proto} ${port} answered`
      : `no answer on ${proto} ${port} within ${timeoutMs} ms (filtered, or the device is down)`;
    return { outcome: 'timeout', finding: false, evidence, error: c.error ?? evidence };
  }
  return {
    outcome: c.outcome,
    finding: false,
    evidence: `cannot tell whether ${proto} ${port} is open`,
    error: c.error ?? c.outcome,
  };
}

async function tcpPortCheck(host: string, port: number, timeoutMs: number, signal: AbortSignal) {
  const c = await tcpConnect({ host, port, timeoutMs, signal });
  return portVerdict(c, 'TCP', port, timeoutMs, signal);
}

/** Reads until `done(buffer)` says so, `max` bytes, close, error or abort. */
function readUntil(
  socket: Socket,
  signal: AbortSignal,
  done: (buf: Buffer) => boolean,
  max: number,
): Promise<{ data: Buffer; complete: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (complete: boolean) => {
      socket.removeListener('data', onData);
      socket.removeListener('close', onClose);
      socket.removeListener('error', onClose);
      signal.removeEventListener('abort', onAbort);
      resolve({ data: Buffer.concat(chunks), complete });
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      const all = Buffer.concat(chunks);
      if (done(all)) finish(true);
      else if (size >= max) finish(false);
    };
    const onClose = () => finish(done(Buffer.concat(chunks)));
    const onAbort = () => finish(false);
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.once('error', onClose);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** FTP: the port open is the finding; the 220 greeting is the evidence when it arrives in time. */
async function ftpCheck(
  host: string,
  port: number,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Verdict> {
  const d = deadline(signal, timeoutMs * 2);
  try {
    const c = await openTcp({ host, port, timeoutMs, signal: d.signal });
    if (c.outcome !== 'ok' || !c.socket) return portVerdict(c, 'TCP', port, timeoutMs, signal);
    const socket = c.socket;
    try {
      const read = await readUntil(socket, d.signal, (b) => b.includes(0x0a), 1024);
      const line = read.data.toString('latin1').split(/\r?\n/)[0] ?? '';
      if (line.trim() !== '') {
        socket.end('QUIT\r\n');
        return { outcome: 'ok', finding: true, evidence: `TCP ${port} open; banner ${quote(line)}` };
      }
      return {
        outcome: 'ok',
        finding: true,
        evidence: `TCP ${port} open; no FTP greeting within ${timeoutMs * 2} ms`,
      };
    } finally {
      socket.destroy();
    }
  } finally {
    d.clear();
  }
}

// ---------------------------------------------------------------------------------------------
// TFTP (UDP)

/** A TFTP read request (RFC 1350): opcode 1, file name, mode "octet". */
export function tftpReadRequest(file: string): Buffer {
  return Buffer.concat([
    Buffer.from([0, 1]),
    Buffer.from(file, 'ascii'),
    Buffer.from([0]),
    Buffer.from('octet', 'ascii'),
    Buffer.from([0]),
  ]);
}

function sameAddress(a: string, b: string): boolean {
  return a.replace(/^::ffff:/, '') === b.replace(/^::ffff:/, '');
}

/**
 * Sends one RRQ for a file that does not exist and waits for any TFTP answer (ERROR or DATA, which a
 * server sends from a new port). A DATA packet is answered with an ERROR so the server stops. No
 * reply: not found (closed or filtered — UDP cannot tell them apart).
 */
async function tftpCheck(
  address: string,
  family: Family,
  port: number,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Verdict> {
  if (signal.aborted)
    return { outcome: 'timeout', finding: false, evidence: 'the scan deadline passed', error: 'aborted' };
  const socket = createSocket(family === 6 ? 'udp6' : 'udp4');
  const file = `campuswatch-${randomBytes(6).toString('hex')}.absent`;
  return new Promise<Verdict>((resolve) => {
    let settled = false;
    const finish = (v: Verdict) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.close();
      resolve(v);
    };
    socket.on('message', (msg, rinfo) => {
      if (!sameAddress(rinfo.address, address) || msg.length < 4) return;
      const opcode = msg.readUInt16BE(0);
      if (opcode === 5) {
        const code = msg.readUInt16BE(2);
        const end = msg.indexOf(0, 4);
        const text = msg.subarray(4, end < 0 ? msg.length : end).toString('latin1');
        finish({
          outcome: 'ok',
          finding: true,
          evidence: `UDP ${port} answered a TFTP read request with ERROR ${code} ${quote(text, 100)}`,
        });
      } else if (opcode === 3) {
        const block = msg.readUInt16BE(2);
        const stop = Buffer.concat([Buffer.from([0, 5, 0, 0]), Buffer.from('not wanted\0', 'ascii')]);
        socket.send(stop, rinfo.port, rinfo.address, () => {
          finish({
            outcome: 'ok',
            finding: true,
            evidence: `UDP ${port} answered a TFTP read request with DATA block ${block} (${msg.length - 4} bytes)`,
          });
        });
      }
    });
    socket.on('error', (err) => {
      finish({
        outcome: outcomeOfErrno(errnoCode(err)),
        finding: false,
        evidence: `cannot tell whether TFTP answers on UDP ${port}`,
        error: errorText(err),
      });
    });
    const onAbort = () =>
      finish({
        outcome: 'timeout',
        finding: false,
        evidence: `the scan deadline passed before a TFTP answer on UDP ${port}`,
        error: 'aborted',
      });
    const timer = setTimeout(
      () =>
        finish({
          outcome: 'ok',
          finding: false,
          evidence: `no TFTP reply on UDP ${port} within ${timeoutMs} ms (closed or filtered)`,
        }),
      timeoutMs,
    );
    signal.addEventListener('abort', onAbort, { once: true });
    socket.send(tftpReadRequest(file), port, address);
  });
}

// ---------------------------------------------------------------------------------------------
// HTTP admin page without TLS

const ADMIN_PAGE =
  /type\s*=\s*["']?password|\blog\s?in\b|\blogon\b|\bsign\s?in\b|\badmin|\bmanagement\b|\bpassword\b|登录|登陆|管理|密码|用户名/i;

export function htmlTitle(html: string): string | undefined {
  const m = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(html);
  return m?.[1] !== undefined ? clean(m[1].replace(/\s+/g, ' '), 200) : undefined;
}

async function httpAdminCheck(
  address: string,
  httpPort: number,
  httpsPort: number,
  timeoutMs: number,
  signal: AbortSignal,
  agents: AgentPair,
): Promise<Verdict> {
  const url = new URL(`http://${urlHost(address)}:${httpPort}/`);
  const d = deadline(signal, timeoutMs * 2);
  let status: number;
  let title: string | undefined;
  let admin: boolean;
  let why: string;
  try {
    const res = await smallRequest(url, {
      method: 'GET',
      signal: d.signal,
      agent: agents.for(url),
      headers: { 'user-agent': 'campuswatch' },
      connectTimeoutMs: timeoutMs * 2,
      headersTimeoutMs: timeoutMs * 2,
      maxBody: MAX_BODY,
      partialBody: true,
    });
    status = res.status;
    const body = res.bodyError ? Buffer.alloc(0) : res.bytes;
    const location = res.headers.location;
    const auth = res.headers['www-authenticate'];
    const html = decodeText(body);
    title = htmlTitle(html);
    if (status >= 300 && status < 400 && typeof location === 'string' && /^https:/i.test(location)) {
      return {
        outcome: 'ok',
        finding: false,
        evidence: `HTTP ${status} on port ${httpPort} redirects to ${quote(location, 200)}`,
      };
    }
    if (status === 401 && auth !== undefined) {
      admin = true;
      why = `HTTP authentication (${clean(String(auth).split(/\s/)[0] ?? '', 20)})`;
    } else {
      admin = status < 400 && ADMIN_PAGE.test(html);
      why = admin ? 'a login/admin page' : 'no login or admin page seen';
    }
  } catch (err) {
    if (d.signal.aborted) {
      return {
        outcome: 'timeout',
        finding: false,
        evidence: `no HTTP answer on port ${httpPort} within ${timeoutMs * 2} ms`,
        error: signal.aborted ? 'the scan deadline passed' : `no HTTP answer within ${timeoutMs * 2} ms`,
      };
    }
    const inner = err instanceof Error && err.cause !== undefined ? err.cause : err;
    const code = errnoCode(inner) ?? errnoCode(err);
    if (code === 'ECONNREFUSED')
      return { outcome: 'ok', finding: false, evidence: `TCP ${httpPort} refused (no HTTP)` };
    if (err instanceof HttpTimeoutError && err.phase === 'connect')
      return {
        outcome: 'timeout',
        finding: false,
        evidence: `no answer on TCP ${httpPort} within ${timeoutMs} ms`,
        error: 'connect timeout',
      };
    return {
      outcome: outcomeOfErrno(code),
      finding: false,
      evidence: `cannot tell: the HTTP request to port ${httpPort} failed`,
      error: `HTTP request failed (${code ?? 'error'}): ${errorText(inner)}`,
    };
  } finally {
    d.clear();
  }
  const seen = `HTTP ${status} on port ${httpPort}${title !== undefined ? `, title ${quote(title)}` : ''}`;
  if (!admin) return { outcome: 'ok', finding: false, evidence: `${seen}: ${why}` };
  const tls = await tcpConnect({ host: address, port: httpsPort, timeoutMs, signal });
  if (tls.outcome === 'ok')
    return {
      outcome: 'ok',
      finding: false,
      evidence: `${seen}: ${why}, but TCP ${httpsPort} (HTTPS) also answers`,
    };
  const closed =
    tls.outcome === 'refused' ? 'refused' : tls.outcome === 'timeout' ? 'no answer' : tls.outcome;
  return {
    outcome: 'ok',
    finding: true,
    evidence: `${seen}: ${why} over cleartext; TCP ${httpsPort} (HTTPS) ${closed}`,
  };
}

// ---------------------------------------------------------------------------------------------
// RTSP DESCRIBE

const HEADER_END = Buffer.from('\r\n\r\n');

function rtspDone(buf: Buffer): boolean {
  const end = buf.indexOf(HEADER_END);
  if (end < 0) return false;
  const head = buf.subarray(0, end).toString('latin1');
  const len = Number(/^content-length:\s*(\d+)/im.exec(head)?.[1] ?? '0');
  return buf.length >= end + 4 + Math.min(len, MAX_BODY);
}

async function rtspCheck(
  address: string,
  port: number,
  path: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Verdict> {
  const d = deadline(signal, timeoutMs * 2);
  try {
    const c = await openTcp({ host: address, port, timeoutMs, signal: d.signal });
    if (c.outcome !== 'ok' || !c.socket) {
      const v = portVerdict(c, 'TCP', port, timeoutMs, signal);
      return v.outcome === 'ok' ? { ...v, evidence: `${v.evidence}: no RTSP` } : v;
    }
    const socket = c.socket;
    try {
      const uri = `rtsp://${urlHost(address)}:${port}${path}`;
      socket.write(
        `DESCRIBE ${uri} RTSP/1.0\r\nCSeq: 2\r\nAccept: application/sdp\r\nUser-Agent: campuswatch\r\n\r\n`,
      );
      const read = await readUntil(socket, d.signal, rtspDone, MAX_BODY + 8192);
      const text = read.data.toString('latin1');
      const end = text.indexOf('\r\n\r\n');
      const head = end >= 0 ? text.slice(0, end) : text;
      const body = end >= 0 ? text.slice(end + 4) : '';
      const statusLine = head.split(/\r?\n/)[0] ?? '';
      const m = /^RTSP\/\d\.\d (\d{3})/.exec(statusLine);
      if (!m?.[1]) {
        if (d.signal.aborted && read.data.length === 0) {
          return {
            outcome: 'timeout',
            finding: false,
            evidence: `no RTSP answer to DESCRIBE within ${timeoutMs * 2} ms`,
            error: signal.aborted ? 'the scan deadline passed' : 'no RTSP answer in time',
          };
        }
        return {
          outcome: 'error',
          finding: false,
          evidence: `TCP ${port} open but no RTSP status line`,
          error: `not an RTSP answer: ${quote(statusLine, 100)}`,
        };
      }
      const status = Number(m[1]);
      const type = /^content-type:\s*([^\r\n;]+)/im.exec(head)?.[1]?.trim() ?? '';
      const sdp = /application\/sdp/i.test(type) || /^v=0\r?$/m.test(body);
      if (status === 200 && sdp) {
        const media = body.match(/^m=\w+/gm)?.map((s) => s.slice(2)) ?? [];
        const session = /^s=(.*)$/m.exec(body)?.[1];
        return {
          outcome: 'ok',
          finding: true,
          evidence: `DESCRIBE ${path} without credentials: ${quote(statusLine, 100)}, SDP ${Buffer.byteLength(body, 'latin1')} bytes${media.length > 0 ? ` (media: ${media.join(', ')})` : ''}${session !== undefined ? `, session ${quote(session, 80)}` : ''}`,
        };
      }
      const challenge = /^www-authenticate:\s*(\w+)/im.exec(head)?.[1];
      const extra =
        status === 401 && challenge !== undefined
          ? ` (authentication required: ${clean(challenge, 20)})`
          : status === 200
            ? ' without an SDP body'
            : '';
      return {
        outcome: 'ok',
        finding: false,
        evidence: `DESCRIBE ${path}: ${quote(statusLine, 100)}${extra}`,
      };
    } finally {
      socket.destroy();
    }
  } finally {
    d.clear();
  }
}

// ---------------------------------------------------------------------------------------------
// SNMP

type SnmpAnswer =
  | { answered: true; sysDescr?: string }
  | { answered: false; silent: true }
  | { answered: false; silent: false; outcome: Outcome; error: string };

/** One v2c GET of sysDescr with `community`; never throws. */
async function snmpV2cGet(
  address: string,
  family: Family,
  base: SnmpAuth,
  community: string,
  signal: AbortSignal,
): Promise<SnmpAnswer> {
  const s: SnmpAuth = {
    version: '2c',
    community,
    port: base.port,
    timeoutMs: base.timeoutMs,
    retries: base.retries,
    authProtocol: 'sha',
    privProtocol: 'aes',
  };
  const where = `${address} port ${s.port}`;
  let client: SnmpClient | undefined;
  try {
    client = new SnmpClient(address, family, s, signal);
    const values = await client.get([SYS_DESCR]);
    const descr = asText(values.get(SYS_DESCR));
    return descr !== undefined ? { answered: true, sysDescr: descr } : { answered: true };
  } catch (caught) {
    const err = signal.aborted ? new ProbeAbortedError('aborted') : caught;
    if (err instanceof Error && err.name === 'RequestTimedOutError') return { answered: false, silent: true };
    // An error-status answer (noSuchName, genErr …) is still an answer to this community.
    if (err instanceof Error && err.name === 'RequestFailedError') return { answered: true };
    const f = classify(err, s, where, client);
    return { answered: false, silent: false, outcome: f.outcome, error: f.error };
  } finally {
    client?.close();
  }
}

interface SnmpVerdicts {
  defaults: Verdict;
  v2c?: Verdict;
}

async function snmpChecks(
  address: string,
  family: Family,
  auth: SnmpAuth,
  v3Required: boolean,
  timeoutMs: number,
  signal: AbortSignal,
  secrets: readonly string[],
): Promise<SnmpVerdicts> {
  // Never wait longer than the scan's connect timeout per attempt, at most two attempts.
  const base: SnmpAuth = {
    ...auth,
    timeoutMs: Math.min(auth.timeoutMs, timeoutMs),
    retries: Math.min(auth.retries, 1),
  };
  const wait = `${base.timeoutMs} ms × ${base.retries + 1} attempt(s)`;
  let answeredBy: { community: string; sysDescr?: string } | undefined;
  for (const community of DEFAULT_COMMUNITIES) {
    const a = await snmpV2cGet(address, family, base, community, signal);
    if (a.answered) {
      answeredBy = { community, ...(a.sysDescr !== undefined ? { sysDescr: a.sysDescr } : {}) };
      break;
    }
    if (!a.silent) {
      const failed: Verdict = {
        outcome: a.outcome,
        finding: false,
        evidence: `cannot tell: the SNMP request with community "${community}" failed`,
        error: redact(a.error, secrets),
      };
      return { defaults: failed, ...(v3Required ? { v2c: failed } : {}) };
    }
  }
  const descr =
    answeredBy?.sysDescr !== undefined
      ? `; sysDescr ${quote(redact(scrub(answeredBy.sysDescr, auth), secrets), 200)}`
      : '';
  const defaults: Verdict = answeredBy
    ? {
        outcome: 'ok',
        finding: true,
        evidence: `SNMPv2c GET sysDescr answered with the default community "${answeredBy.community}"${descr}`,
      }
    : {
        outcome: 'ok',
        finding: false,
        evidence: `no answer with the default communities "public" or "private" within ${wait} each`,
      };
  if (!v3Required) return { defaults };
  if (answeredBy)
    return {
      defaults,
      v2c: {
        outcome: 'ok',
        finding: true,
        evidence: `SNMPv3 required, but the device answers SNMPv2c (default community "${answeredBy.community}")`,
      },
    };
  if (!auth.community) {
    return {
      defaults,
      v2c: {
        outcome: 'ok',
        finding: false,
        evidence: `no SNMPv2c answer with the default communities within ${wait} each (no community configured)`,
      },
    };
  }
  const own = await snmpV2cGet(address, family, base, auth.community, signal);
  if (own.answered)
    return {
      defaults,
      v2c: {
        outcome: 'ok',
        finding: true,
        evidence: 'SNMPv3 required, but the device answers SNMPv2c with the configured community',
      },
    };
  if (!own.silent)
    return {
      defaults,
      v2c: {
        outcome: own.outcome,
        finding: false,
        evidence: 'cannot tell: the SNMPv2c request with the configured community failed',
        error: redact(scrub(own.error, auth), secrets),
      },
    };
  return {
    defaults,
    v2c: {
      outcome: 'ok',
      finding: false,
      evidence: `no SNMPv2c answer with the configured or default communities within ${wait} each`,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// TLS

const SELF_SIGNED_CODES = new Set(['DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN']);
/** Client-side OpenSSL errors: this agent cannot offer the protocol at all (not the server's answer). */
const LOCAL_PROTOCOL_CODES = new Set([
  'ERR_SSL_NO_PROTOCOLS_AVAILABLE',
  'ERR_SSL_NO_CIPHERS_AVAILABLE',
  'ERR_SSL_NO_CIPHER_MATCH',
]);

type TlsVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

interface TlsHandshake {
  /** The TCP connection was established (so a TLS failure is the server's answer). */
  connected: boolean;
  ok: boolean;
  protocol?: string;
  cipher?: string;
  cert?: X509Certificate;
  authorizationError?: string;
  code?: string;
  outcome?: Outcome;
  error?: string;
}

function authCode(e: unknown): string | undefined {
  if (typeof e === 'string') return e;
  return errnoCode(e) ?? (e instanceof Error ? e.message : undefined);
}

function handshake(
  address: string,
  port: number,
  servername: string | undefined,
  timeoutMs: number,
  signal: AbortSignal,
  versions?: { min: TlsVersion; max: TlsVersion },
): Promise<TlsHandshake> {
  return new Promise((resolve) => {
    if (signal.aborted) {
      resolve({ connected: false, ok: false, outcome: 'timeout', error: 'the scan deadline passed' });
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
        error: 'the scan deadline passed during the TLS handshake',
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

function isoDay(d: Date): string {
  return Number.isNaN(d.getTime()) ? 'invalid date' : d.toISOString().slice(0, 10);
}

async function tlsChecks(
  url: string,
  timeoutMs: number,
  signal: AbortSignal,
  now: Date,
): Promise<{ port: number; verdicts: Array<[SecurityRule, Verdict]> }> {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = u.port ? Number(u.port) : 443;
  const allRules: SecurityRule[] = ['tls-expired', 'tls-expiring', 'tls-self-signed', 'tls-old-protocol'];
  const failAll = (outcome: Outcome, error: string, evidence: string) => ({
    port,
    verdicts: allRules.map((r): [SecurityRule, Verdict] => [r, { outcome, finding: false, evidence, error }]),
  });
  const resolved = await resolveHost(host, signal);
  if (!resolved.ok) return failAll(resolved.outcome, resolved.error, `cannot resolve ${host}`);
  const servername = resolved.address === host ? undefined : host;
  let main = await handshake(resolved.address, port, servername, timeoutMs * 2, signal);
  if (!main.ok && main.connected && !signal.aborted) {
    // a server that speaks only TLS 1.0/1.1 refuses Node's default minimum (1.2): read its certificate
    // with the old versions allowed, so the old-protocol finding is reported rather than an error
    main = await handshake(resolved.address, port, servername, timeoutMs * 2, signal, {
      min: 'TLSv1',
      max: 'TLSv1.3',
    });
  }
  if (!main.ok || !main.cert) {
    const outcome = main.ok ? 'error' : (main.outcome ?? 'error');
    return failAll(
      outcome,
      main.error ?? 'the server sent no certificate',
      `no TLS handshake with ${host}:${port}${main.code ? ` (${main.code})` : ''}`,
    );
  }
  const cert = main.cert;
  const notBefore = new Date(cert.validFrom);
  const notAfter = new Date(cert.validTo);
  const daysLeft = Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS);
  const subject = clean(cert.subject.replace(/\n/g, ', '), 200);
  const issuer = clean(cert.issuer.replace(/\n/g, ', '), 200);
  const dates = `certificate ${quote(subject)} valid ${isoDay(notBefore)} to ${isoDay(notAfter)}`;
  const expired = notAfter.getTime() <= now.getTime();
  const verdicts: Array<[SecurityRule, Verdict]> = [];
  verdicts.push([
    'tls-expired',
    {
      outcome: 'ok',
      finding: expired,
      value: daysLeft,
      evidence: expired ? `${dates}: expired ${-daysLeft} day(s) ago` : `${dates}: not expired`,
    },
  ]);
  const expiring = !expired && daysLeft < EXPIRING_DAYS;
  verdicts.push([
    'tls-expiring',
    {
      outcome: 'ok',
      finding: expiring,
      value: daysLeft,
      evidence: expired
        ? `${dates}: already expired`
        : `${dates}: ${daysLeft} day(s) left${expiring ? ` (< ${EXPIRING_DAYS})` : ''}`,
    },
  ]);
  const sameName = cert.issuer === cert.subject;
  const selfCode =
    main.authorizationError !== undefined && SELF_SIGNED_CODES.has(main.authorizationError)
      ? main.authorizationError
      : undefined;
  const selfSigned = sameName || selfCode !== undefined;
  const verification = main.authorizationError ?? 'verified';
  verdicts.push([
    'tls-self-signed',
    {
      outcome: 'ok',
      finding: selfSigned,
      evidence: `${sameName ? `issuer = subject = ${quote(subject)}` : `issuer ${quote(issuer)}`}; verification: ${clean(verification, 100)}`,
    },
  ]);
  verdicts.push([
    'tls-old-protocol',
    await oldProtocolCheck(resolved.address, port, servername, timeoutMs, signal),
  ]);
  return { port, verdicts };
}

async function oldProtocolCheck(
  address: string,
  port: number,
  servername: string | undefined,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Verdict> {
  const accepted: string[] = [];
  const refused: string[] = [];
  for (const v of ['TLSv1', 'TLSv1.1'] as const) {
    const h = await handshake(address, port, servername, timeoutMs * 2, signal, { min: v, max: v });
    if (h.ok) {
      accepted.push(`${v} (${h.cipher ?? 'cipher unknown'})`);
      continue;
    }
    if (h.code !== undefined && LOCAL_PROTOCOL_CODES.has(h.code)) {
      return {
        outcome: 'error',
        finding: false,
        evidence: `cannot tell: this agent's OpenSSL cannot offer ${v} (${h.code})`,
        error: `the local OpenSSL cannot offer ${v} even at security level 0 (${h.code}); a "not found" would be false`,
      };
    }
    if (h.outcome === 'timeout' || !h.connected) {
      return {
        outcome: h.outcome ?? 'error',
        finding: false,
        evidence: `cannot tell: no ${v} handshake attempt completed`,
        error: h.error ?? 'no connection',
      };
    }
    refused.push(`${v} refused${h.code ? ` (${h.code})` : ''}`);
  }
  if (accepted.length > 0)
    return {
      outcome: 'ok',
      finding: true,
      evidence: `accepts ${accepted.join(', ')}${refused.length > 0 ? `; ${refused.join('; ')}` : ''}`,
    };
  return { outcome: 'ok', finding: false, evidence: refused.join('; ') };
}

// ---------------------------------------------------------------------------------------------
// Agent host

function run(
  file: string,
  args: string[],
  signal: AbortSignal,
): Promise<{ ok: true; stdout: string } | { ok: false; error: string }> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { timeout: HOST_CMD_TIMEOUT_MS, signal, maxBuffer: 8 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err)
          resolve({
            ok: false,
            error: clean(`${errnoCode(err) ?? 'failed'}: ${stderr || err.message}`, 300),
          });
        else resolve({ ok: true, stdout });
      },
    );
  });
}

const SBIN_PATH = `${process.env.PATH ?? ''}:/usr/sbin:/sbin:/usr/local/sbin`;

export interface RulesetSummary {
  rules: number;
  dropPolicy: boolean;
  tables: number;
}

/** Counts the rules and drop policies of `nft list ruleset` output. */
export function summarizeNft(text: string): RulesetSummary {
  let rules = 0;
  let tables = 0;
  let dropPolicy = false;
  const stack: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.endsWith('{')) {
      const kind = line.split(/\s+/)[0] ?? '';
      if (kind === 'table') tables++;
      stack.push(kind);
      continue;
    }
    if (line === '}') {
      stack.pop();
      continue;
    }
    if (stack[stack.length - 1] !== 'chain') continue;
    if (/\bpolicy\s+drop\b/.test(line)) dropPolicy = true;
    if (/^type\s+\S+\s+hook\b/.test(line) || /^policy\s/.test(line)) continue;
    rules++;
  }
  return { rules, dropPolicy, tables };
}

/** Counts the rules (-A) and non-ACCEPT policies (-P) of `iptables -S` output. */
export function summarizeIptables(text: string): { rules: number; nonAcceptPolicies: number } {
  let rules = 0;
  let nonAcceptPolicies = 0;
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t.startsWith('-A ')) rules++;
    else if (t.startsWith('-P ') && !/\sACCEPT$/.test(t)) nonAcceptPolicies++;
  }
  return { rules, nonAcceptPolicies };
}

async function firewallCheck(signal: AbortSignal): Promise<Verdict> {
  if (process.platform !== 'linux')
    return {
      outcome: 'error',
      finding: false,
      evidence: `cannot tell: firewall check implemented for Linux only (this host: ${process.platform})`,
      error: 'cannot tell',
    };
  const [nft, ipt] = await Promise.all([
    findExecutable('nft', SBIN_PATH),
    findExecutable('iptables', SBIN_PATH),
  ]);
  const parts: string[] = [];
  const failures: string[] = [];
  let told = false;
  let active = false;
  if (nft) {
    const r = await run(nft, ['list', 'ruleset'], signal);
    if (r.ok) {
      told = true;
      const s = summarizeNft(r.stdout);
      if (s.rules > 0 || s.dropPolicy) active = true;
      parts.push(`nft: ${s.tables} table(s), ${s.rules} rule(s)${s.dropPolicy ? ', a drop policy' : ''}`);
    } else failures.push(`nft list ruleset failed (${r.error})`);
  } else parts.push('nft: not installed');
  if (ipt) {
    const r = await run(ipt, ['-S'], signal);
    if (r.ok) {
      told = true;
      const s = summarizeIptables(r.stdout);
      if (s.rules > 0 || s.nonAcceptPolicies > 0) active = true;
      parts.push(`iptables: ${s.rules} rule(s), ${s.nonAcceptPolicies} non-ACCEPT polic(ies)`);
    } else failures.push(`iptables -S failed (${r.error})`);
  } else parts.push('iptables: not installed');
  if (!told)
    return {
      outcome: signal.aborted ? 'timeout' : 'error',
      finding: false,
      evidence: `cannot tell: ${[...parts, ...failures].join('; ')}`,
      error: `cannot tell whether a host firewall is active: ${failures.length > 0 ? failures.join('; ') : 'neither nft nor iptables is installed'}`,
    };
  const evidence = clean([...parts, ...failures].join('; '), 1000);
  return { outcome: 'ok', finding: !active, evidence: active ? evidence : `no filtering rules: ${evidence}` };
}

export interface OsEol {
  /** e.g. "Debian 11", "Windows 10 22H2". */
  product: string;
  /** End of (free) security support, YYYY-MM-DD. */
  eol: string;
}

// Debian: end of Debian LTS (the last free security updates), from distro-info-data's debian.csv
// column eol-lts (https://wiki.debian.org/LTS).
const DEBIAN_EOL: Record<string, string> = {
  '7': '2018-05-31',
  '8': '2020-06-30',
  '9': '2022-06-30',
  '10': '2024-06-30',
  '11': '2026-08-31',
  '12': '2028-06-30',
  '13': '2030-06-30',
};
// Ubuntu: end of standard support, from distro-info-data's ubuntu.csv column eol
// (https://wiki.ubuntu.com/Releases, https://ubuntu.com/about/release-cycle); ESM is paid.
const UBUNTU_EOL: Record<string, string> = {
  '12.04': '2017-04-28',
  '14.04': '2019-04-25',
  '16.04': '2021-04-30',
  '18.04': '2023-05-31',
  '20.04': '2025-05-29',
  '22.04': '2027-06-01',
  '22.10': '2023-07-20',
  '23.04': '2024-01-25',
  '23.10': '2024-07-11',
  '24.04': '2029-05-31',
  '24.10': '2025-07-10',
  '25.04': '2026-01-15',
  '25.10': '2026-07-09',
  '26.04': '2031-05-29',
};
// CentOS: https://www.centos.org/centos-linux-eol/ and https://www.centos.org/cl-vs-cs/ (Stream).
const CENTOS_EOL: Record<string, string> = { '6': '2020-11-30', '7': '2024-06-30', '8': '2021-12-31' };
const CENTOS_STREAM_EOL: Record<string, string> = { '8': '2024-05-31', '9': '2027-05-31' };
// Windows by build number, Home/Pro servicing end (Enterprise/Education editions often run longer):
// Microsoft Lifecycle, https://learn.microsoft.com/lifecycle/products/windows-10-home-and-pro,
// …/windows-11-home-and-pro, …/windows-7, …/windows-81, and the Windows Server product pages.
const WINDOWS_CLIENT_EOL: Array<[build: number, product: string, eol: string]> = [
  [7601, 'Windows 7', '2020-01-14'],
  [9600, 'Windows 8.1', '2023-01-10'],
  [19044, 'Windows 10 21H2', '2023-06-13'],
  [19045, 'Windows 10 22H2', '2025-10-14'],
  [22000, 'Windows 11 21H2', '2023-10-10'],
  [22621, 'Windows 11 22H2', '2024-10-08'],
  [22631, 'Windows 11 23H2', '2025-11-11'],
  [26100, 'Windows 11 24H2', '2026-10-13'],
  [26200, 'Windows 11 25H2', '2027-10-12'],
];
const WINDOWS_SERVER_EOL: Array<[build: number, product: string, eol: string]> = [
  [7601, 'Windows Server 2008 R2', '2020-01-14'],
  [9200, 'Windows Server 2012', '2023-10-10'],
  [9600, 'Windows Server 2012 R2', '2023-10-10'],
  [14393, 'Windows Server 2016', '2027-01-12'],
  [17763, 'Windows Server 2019', '2029-01-09'],
  [20348, 'Windows Server 2022', '2031-10-14'],
  [26100, 'Windows Server 2025', '2034-10-10'],
];

/** The end-of-life date of an OS as systeminformation's osInfo() names it, or undefined when unknown. */
export function osEndOfLife(os: { distro: string; release: string; build?: string }): OsEol | undefined {
  const distro = os.distro.toLowerCase();
  const release = os.release.trim();
  if (distro.includes('debian')) {
    const major = /^(\d+)/.exec(release)?.[1];
    const eol = major !== undefined ? DEBIAN_EOL[major] : undefined;
    return eol && major ? { product: `Debian ${major}`, eol } : undefined;
  }
  if (distro.includes('ubuntu')) {
    const v = /^(\d+\.\d+)/.exec(release)?.[1];
    const eol = v !== undefined ? UBUNTU_EOL[v] : undefined;
    return eol && v ? { product: `Ubuntu ${v}`, eol } : undefined;
  }
  if (distro.includes('centos')) {
    const major = /^(\d+)/.exec(release)?.[1];
    if (major === undefined) return undefined;
    const stream = distro.includes('stream');
    const eol = (stream ? CENTOS_STREAM_EOL : CENTOS_EOL)[major];
    return eol ? { product: `CentOS ${stream ? 'Stream ' : ''}${major}`, eol } : undefined;
  }
  if (distro.includes('windows')) {
    // LTSC/LTSB editions have their own, longer lifecycles: not in this table.
    if (/\blts[bc]\b/.test(distro)) return undefined;
    const build = Number(os.build || /^\d+\.\d+\.(\d+)/.exec(release)?.[1] || Number.NaN);
    if (!Number.isFinite(build)) return undefined;
    const table = distro.includes('server') ? WINDOWS_SERVER_EOL : WINDOWS_CLIENT_EOL;
    const row = table.find(([b]) => b === build);
    if (row) return { product: row[1], eol: row[2] };
    // An older Windows 10 feature update (before 21H2): all of them are out of support.
    if (!distro.includes('server') && build >= 10240 && build < 19044)
      return { product: `Windows 10 build ${build}`, eol: '2023-06-13' };
    return undefined;
  }
  return undefined;
}

/** Days from the EOL date to `now` (positive = past end of life). */
export function daysPastEol(eol: string, now: Date): number {
  return Math.floor((now.getTime() - Date.parse(`${eol}T00:00:00Z`)) / DAY_MS);
}

async function osEolCheck(signal: AbortSignal, now: Date): Promise<Verdict> {
  let info: si.Systeminformation.OsData;
  try {
    const raced = await raceAbort(si.osInfo(), signal);
    if (raced.aborted)
      return {
        outcome: 'timeout',
        finding: false,
        evidence: 'cannot tell: osInfo() did not finish',
        error: 'aborted',
      };
    info = raced.value;
  } catch (err) {
    return {
      outcome: 'error',
      finding: false,
      evidence: 'cannot tell: osInfo() failed',
      error: errorText(err),
    };
  }
  const name = clean(`${info.distro} ${info.release}${info.build ? ` (build ${info.build})` : ''}`, 200);
  const eol = osEndOfLife(info);
  if (!eol)
    return {
      outcome: 'error',
      finding: false,
      evidence: `cannot tell: no end-of-life date known for ${quote(name)}`,
      error: 'unknown OS release: not in the end-of-life table',
    };
  const days = daysPastEol(eol.eol, now);
  return {
    outcome: 'ok',
    finding: days > 0,
    value: days,
    evidence:
      days > 0
        ? `${quote(name)} = ${eol.product}, end of life ${eol.eol}: ${days} day(s) past`
        : `${quote(name)} = ${eol.product}, supported until ${eol.eol} (${-days} day(s) left)`,
  };
}

// ---------------------------------------------------------------------------------------------
// The probe

interface DeviceEntry {
  room: RoomConfig;
  device: DeviceConfig;
  ref: DeviceRef;
  checks: ResolvedCheck[];
}

function deviceEntries(config: AgentConfig): DeviceEntry[] {
  const out: DeviceEntry[] = [];
  for (const room of config.rooms) {
    for (const device of room.devices) {
      out.push({
        room,
        device,
        ref: {
          name: device.name,
          address: device.address,
          type: device.type,
          room: room.name,
          roomType: room.type,
          critical: device.critical,
        },
        checks: deviceChecks(config, room, device),
      });
    }
  }
  return out;
}

function hostTarget(): string {
  const name = clean(hostname(), 200).replace(/\\+$/, '');
  return name === '' ? 'agent-host' : name;
}

/** Factory with test seams; the agent uses `securityProbe`. Never throws. */
export function createSecurityProbe(options: SecurityProbeOptions = {}): Probe {
  const ports = { ...DEFAULT_SECURITY_PORTS, ...options.ports };
  const highRisk = options.highRiskPorts ?? HIGH_RISK_PORTS;
  const hostChecks = options.hostChecks ?? true;

  return {
    kind: 'security',
    async run(config: AgentConfig, ctx: ProbeContext): Promise<SecurityResult[]> {
      const cfg = config.probes.security;
      // Every check in flight listens for the deadline (up to `concurrency` connections, a name
      // lookup per device, the host commands): they listen on the scan's own signal, which has no
      // listener limit, and only that one listens on the caller's.
      const scan = new AbortController();
      setMaxListeners(0, scan.signal);
      const onAbort = () => scan.abort(ctx.signal.reason);
      if (ctx.signal.aborted) scan.abort(ctx.signal.reason);
      else ctx.signal.addEventListener('abort', onAbort, { once: true });
      const signal = scan.signal;
      const at = ctx.now().toISOString();
      const timeoutMs = cfg.connectTimeoutMs;
      const secrets = configuredSecrets(config);
      const limit = createLimiter(cfg.concurrency);
      const results: SecurityResult[] = [];

      const emit = (s: Subject, v: Verdict, startedAt: number) => {
        const r: SecurityResult = {
          probe: 'security',
          target: s.target,
          outcome: v.outcome,
          durationMs: elapsedMs(startedAt),
          at,
          rule: s.rule,
          finding: v.finding,
          evidence: redact(clean(v.evidence, 1000), secrets).slice(0, 1000),
        };
        if (s.device) r.device = s.device;
        if (s.port !== undefined) r.port = s.port;
        if (v.value !== undefined) r.value = v.value;
        if (v.error !== undefined) r.error = redact(v.error, secrets).slice(0, 2000);
        results.push(r);
      };

      /** Runs one check under the limiter; an unexpected exception becomes an 'error' result. */
      const task = (subjects: Subject[], fn: () => Promise<Verdict[]>) =>
        limit(async () => {
          const startedAt = performance.now();
          let verdicts: Verdict[];
          try {
            verdicts = signal.aborted
              ? subjects.map(() => ({
                  outcome: 'timeout' as const,
                  finding: false,
                  evidence: 'the scan deadline passed before this check ran',
                  error: 'aborted',
                }))
              : await fn();
          } catch (err) {
            verdicts = subjects.map(() => ({
              outcome: 'error' as const,
              finding: false,
              evidence: 'cannot tell: the check failed unexpectedly',
              error: errorText(err),
            }));
          }
          subjects.forEach((s, i) => {
            const v = verdicts[i];
            if (v) emit(s, v, startedAt);
          });
        });

      const agents = httpAgents();
      const jobs: Promise<void>[] = [];
      try {
        for (const e of deviceEntries(config)) {
          const target = e.device.name;
          const device = e.ref;
          const subj = (rule: SecurityRule, port?: number): Subject => ({
            rule,
            target,
            device,
            ...(port !== undefined ? { port } : {}),
          });
          const resolving = resolveHost(e.device.address, signal);
          const withAddress = async (
            n: number,
            fn: (address: string, family: Family) => Promise<Verdict[]>,
          ): Promise<Verdict[]> => {
            const r = await resolving;
            if (!r.ok)
              return Array.from({ length: n }, () => ({
                outcome: r.outcome,
                finding: false,
                evidence: `cannot resolve ${e.device.address}`,
                error: r.error,
              }));
            return fn(r.address, r.family);
          };

          const telnet = ports['cleartext-telnet'];
          jobs.push(
            task([subj('cleartext-telnet', telnet)], () =>
              withAddress(1, async (a) => [await tcpPortCheck(a, telnet, timeoutMs, signal)]),
            ),
          );
          const ftp = ports['cleartext-ftp'];
          jobs.push(
            task([subj('cleartext-ftp', ftp)], () =>
              withAddress(1, async (a) => [await ftpCheck(a, ftp, timeoutMs, signal)]),
            ),
          );
          const tftp = ports['cleartext-tftp'];
          jobs.push(
            task([subj('cleartext-tftp', tftp)], () =>
              withAddress(1, async (a, f) => [await tftpCheck(a, f, tftp, timeoutMs, signal)]),
            ),
          );
          const http = ports['http-admin-no-tls'];
          jobs.push(
            task([subj('http-admin-no-tls', http)], () =>
              withAddress(1, async (a) => [
                await httpAdminCheck(a, http, ports.https, timeoutMs, signal, agents),
              ]),
            ),
          );
          for (const port of highRisk) {
            jobs.push(
              task([subj('high-risk-port', port)], () =>
                withAddress(1, async (a) => {
                  const v = await tcpPortCheck(a, port, timeoutMs, signal);
                  return [{ ...v, value: port }];
                }),
              ),
            );
          }
          // SNMP: only devices the inventory knows to speak SNMP (an snmp check), on its port.
          const snmpCheck = e.checks.find(
            (c): c is Extract<ResolvedCheck, { kind: 'snmp' }> => c.kind === 'snmp',
          );
          if (snmpCheck) {
            const auth = snmpCheck.auth;
            const subjects = [subj('snmp-default-community', auth.port)];
            if (cfg.snmpV3Required) subjects.push(subj('snmp-v1v2c-enabled', auth.port));
            jobs.push(
              task(subjects, () =>
                withAddress(subjects.length, async (a, f) => {
                  const v = await snmpChecks(a, f, auth, cfg.snmpV3Required, timeoutMs, signal, secrets);
                  return v.v2c ? [v.defaults, v.v2c] : [v.defaults];
                }),
              ),
            );
          }
          // RTSP: devices with an rtsp check, and video devices by type (default port and path).
          const rtspChecks = e.checks.filter(
            (c): c is Extract<ResolvedCheck, { kind: 'rtsp' }> => c.kind === 'rtsp',
          );
          const rtspTargets =
            rtspChecks.length > 0
              ? rtspChecks.map((c) => ({ port: c.port, path: c.path }))
              : RTSP_TYPES.has(e.device.type)
                ? [{ port: ports['rtsp-no-auth'], path: '/' }]
                : [];
          const seenPorts = new Set<number>();
          for (const t of rtspTargets) {
            if (seenPorts.has(t.port)) continue;
            seenPorts.add(t.port);
            jobs.push(
              task([subj('rtsp-no-auth', t.port)], () =>
                withAddress(1, async (a) => [await rtspCheck(a, t.port, t.path, timeoutMs, signal)]),
              ),
            );
          }
        }

        for (const svc of cfg.tls) {
          const port = URL.canParse(svc.url) ? new URL(svc.url).port : '';
          const base = { target: svc.name, port: port ? Number(port) : 443 };
          const rules: SecurityRule[] = [
            'tls-expired',
            'tls-expiring',
            'tls-self-signed',
            'tls-old-protocol',
          ];
          jobs.push(
            task(
              rules.map((rule) => ({ rule, ...base })),
              async () => {
                const r = await tlsChecks(svc.url, timeoutMs, signal, ctx.now());
                const byRule = new Map(r.verdicts);
                return rules.map(
                  (rule) =>
                    byRule.get(rule) ?? {
                      outcome: 'error',
                      finding: false,
                      evidence: 'not checked',
                      error: 'not checked',
                    },
                );
              },
            ),
          );
        }

        if (hostChecks && cfg.hostChecks) {
          const target = hostTarget();
          // Local commands: not network work, so outside the connection limiter.
          const hostJob = async (rule: SecurityRule, fn: () => Promise<Verdict>) => {
            const startedAt = performance.now();
            let v: Verdict;
            try {
              v = await fn();
            } catch (err) {
              v = { outcome: 'error', finding: false, evidence: 'cannot tell', error: errorText(err) };
            }
            emit({ rule, target }, v, startedAt);
          };
          jobs.push(hostJob('host-firewall-off', () => firewallCheck(signal)));
          jobs.push(hostJob('host-os-eol', () => osEolCheck(signal, ctx.now())));
        }

        await Promise.all(jobs);
      } finally {
        ctx.signal.removeEventListener('abort', onAbort);
        agents.destroy();
      }
      const findings = results.filter((r) => r.finding).length;
      ctx.log.debug({ results: results.length, findings }, 'security scan done');
      return results;
    },
  };
}

/** The agent's security baseline probe (kind 'security'). */
export const securityProbe: Probe = createSecurityProbe();
