// What a rule family works with during one scan: the scan's settings and deadline, the device or service
// being looked at, and the checks it plans (one piece of network work answering one or more rules).
import type { Socket } from 'node:net';
import type { AgentPair } from '../../http-client.js';
import { type Family, type Resolution, type TcpConnectResult, tcpConnect } from '../lib/net-util.js';
import type { SecurityConfig } from './schema.js';
import type { SecurityDevice } from './slice.js';
import type { SecurityRule, Subject, Verdict } from './verdict.js';

/** Ports the device rules look at; `https` is where http-admin-no-tls looks for a TLS alternative. */
export type SecurityPortKey =
  | 'cleartext-telnet'
  | 'cleartext-ftp'
  | 'cleartext-tftp'
  | 'http-admin-no-tls'
  | 'https'
  | 'rtsp-no-auth';

/** One scan's settings, deadline and shared resources, as every rule family sees them. */
export interface ScanEnv {
  /** `probes.security`. */
  config: SecurityConfig;
  ports: Readonly<Record<SecurityPortKey, number>>;
  highRiskPorts: readonly number[];
  /** Per connect (`connectTimeoutMs`). */
  timeoutMs: number;
  /** The scan's deadline. */
  signal: AbortSignal;
  secrets: readonly string[];
  agents: AgentPair;
  now: () => Date;
}

/** One piece of work answering one or more rules: `subjects[i]` gets the i-th verdict `run` returns. */
export interface Check {
  subjects: Subject[];
  run(): Promise<Verdict[]>;
}

/** A device during one scan: its name looked up once for all its checks. */
export interface DeviceScan {
  device: SecurityDevice;
  subject(rule: SecurityRule, port?: number): Subject;
  /** `fn` on the device's address; a failed lookup answers each of the `n` verdicts with that failure. */
  withAddress(n: number, fn: (address: string, family: Family) => Promise<Verdict[]>): Promise<Verdict[]>;
}

/** A configured TLS service (`probes.security.tls[]`). */
export interface TlsService {
  name: string;
  url: string;
}

export type DevicePlan = (d: DeviceScan, env: ScanEnv) => Check[];
export type ServicePlan = (svc: TlsService, env: ScanEnv) => Check[];
/** The agent host's checks run local commands: outside the connection limiter. */
export type HostPlan = (target: string, env: ScanEnv) => Check[];

/** A device as one scan looks at it. */
export function deviceScan(device: SecurityDevice, resolving: Promise<Resolution>): DeviceScan {
  return {
    device,
    subject: (rule, port) => ({
      rule,
      target: device.ref.name,
      device: device.ref,
      ...(port !== undefined ? { port } : {}),
    }),
    async withAddress(n, fn) {
      const r = await resolving;
      if (!r.ok)
        return Array.from({ length: n }, () => ({
          outcome: r.outcome,
          finding: false,
          evidence: `cannot resolve ${device.ref.address}`,
          error: r.error,
        }));
      return fn(r.address, r.family);
    },
  };
}

/** What a TCP connect says about a port: open is the problem (`finding` true). */
export function portVerdict(
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

export async function tcpPortCheck(
  host: string,
  port: number,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Verdict> {
  const c = await tcpConnect({ host, port, timeoutMs, signal });
  return portVerdict(c, 'TCP', port, timeoutMs, signal);
}

/** Reads until `done(buffer)` says so, `max` bytes, close, error or abort. */
export function readUntil(
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
