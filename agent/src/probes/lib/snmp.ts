import snmp from 'net-snmp';
import type { Outcome } from '../../../../protocol/report.js';
import type { SnmpAuth } from '../../inventory-config.js';
import { decodeText, errnoCode, type Family, outcomeOfErrno } from './net-util.js';

/**
 * The SNMP client the probes share (uplink-snmp, reachability's snmp check, the security scan): a net-snmp
 * session (v2c community or v3 authPriv) wrapped in promises that end when the caller's signal aborts,
 * bounded walks, value decoding, and the classification of a library error into an outcome and a message
 * that never carries a secret.
 */

/** The MIB-II / IF-MIB objects the probes read. */
export const OID = {
  sysDescr: '1.3.6.1.2.1.1.1.0',
  sysUpTime: '1.3.6.1.2.1.1.3.0',
  ifDescr: '1.3.6.1.2.1.2.2.1.2',
  ifSpeed: '1.3.6.1.2.1.2.2.1.5',
  ifOperStatus: '1.3.6.1.2.1.2.2.1.8',
  ifName: '1.3.6.1.2.1.31.1.1.1.1',
  ifHCInOctets: '1.3.6.1.2.1.31.1.1.1.6',
  ifHCOutOctets: '1.3.6.1.2.1.31.1.1.1.10',
  ifHighSpeed: '1.3.6.1.2.1.31.1.1.1.15',
} as const;

/** Varbinds per GET request (small enough for any agent's PDU size). */
const GET_CHUNK = 24;
/** getBulk max-repetitions when walking ifName/ifDescr. */
const WALK_REPETITIONS = 40;
/** ifOperStatus up(1). */
export const IF_OPER_UP = 1;
/** Rows one walk reads from a device at most (a switch stack has a few hundred interfaces). */
export const DEFAULT_WALK_MAX_ROWS = 10_000;
/** Share of a probe's timeout one device's walk may take at most. */
export const DEFAULT_WALK_TIME_SHARE = 0.25;

/** How far one walk may go: rows read, and milliseconds from `since` (default: the walk's start). */
export interface WalkLimits {
  maxRows: number;
  maxMs: number;
  /** `performance.now()` the time budget counts from: the start of the device's check. */
  since?: number;
}

/** Why a walk stopped before the end of its subtree. */
export interface WalkCut {
  reason: 'rows' | 'time';
  /** Rows read before it stopped. */
  rows: number;
  /** Milliseconds since `limits.since` when it stopped. */
  ms: number;
  limits: WalkLimits;
}

export interface WalkResult {
  /** `index → value` for OIDs `base.index`. */
  rows: Map<number, unknown>;
  /** Set when a limit stopped the walk: `rows` then holds only what was read. */
  cut?: WalkCut;
}

/** `ifOperStatus walk cut after 10000 rows (at most 10000 rows per walk)`, for a result's error. */
export function describeWalkCut(column: string, cut: WalkCut): string {
  return cut.reason === 'rows'
    ? `${column} walk cut after ${cut.rows} rows (at most ${cut.limits.maxRows} rows per walk)`
    : `${column} walk cut after ${(cut.ms / 1000).toFixed(1)} s and ${cut.rows} rows (at most ${(cut.limits.maxMs / 1000).toFixed(1)} s per device)`;
}

/** An SNMP failure as a result states it: its outcome and a message without secrets. */
export type SnmpFailure = { outcome: Outcome; error: string };

/** Thrown inside a request when the caller's signal aborts; a probe turns it into a `timeout` outcome. */
export class ProbeAbortedError extends Error {
  override readonly name = 'ProbeAbortedError';
}

// ---------------------------------------------------------------------------------------------
// Values

export function asText(value: unknown): string | undefined {
  if (Buffer.isBuffer(value)) return decodeText(value);
  if (typeof value === 'string') return value;
  return undefined;
}

export function asNumber(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'bigint') return Number(value);
  return undefined;
}

/** Counter64 arrives as a variable-length big-endian Buffer (the typings say bigint). */
export function counter64(value: unknown): bigint | undefined {
  if (Buffer.isBuffer(value)) return value.length === 0 ? 0n : BigInt(`0x${value.toString('hex')}`);
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  return undefined;
}

/** Removes every occurrence of the configured secrets from a text meant for a result or a log. */
export function scrub(text: string, s: SnmpAuth): string {
  let out = text;
  for (const secret of [s.community, s.authKey, s.privKey]) {
    if (secret) out = out.split(secret).join('[redacted]');
  }
  return out.slice(0, 2000);
}

// ---------------------------------------------------------------------------------------------
// Session

/** A net-snmp session wrapped in promises; every request ends when ctx.signal aborts. */
export class SnmpClient {
  private readonly session: snmp.Session;
  private closed = false;
  /** Last error the session emitted (an undecodable datagram): the request it concerned times out. */
  sessionError: unknown;

  constructor(
    target: string,
    family: Family,
    s: SnmpAuth,
    private readonly signal: AbortSignal,
  ) {
    const transport = family === 6 ? 'udp6' : 'udp4';
    // backoff 1: every attempt waits timeoutMs, so a silent agent costs timeoutMs × (retries + 1).
    const common = { port: s.port, timeout: s.timeoutMs, retries: s.retries, backoff: 1, transport } as const;
    if (s.version === '3') {
      const user: snmp.User = {
        name: s.user ?? '',
        level: snmp.SecurityLevel.authPriv,
        authProtocol: snmp.AuthProtocols[s.authProtocol],
        authKey: s.authKey ?? '',
        privProtocol: snmp.PrivProtocols[s.privProtocol],
        privKey: s.privKey ?? '',
      };
      this.session = snmp.createV3Session(target, user, { ...common, version: snmp.Version3 });
    } else {
      this.session = snmp.createSession(target, s.community ?? '', { ...common, version: snmp.Version2c });
    }
    // Errors emitted on the session escape any surrounding try/catch: keep the last one.
    this.session.on('error', (err: unknown) => {
      this.sessionError = err;
    });
  }

  /**
   * SNMPv3: did the agent answer engine discovery (a Report carrying its engine ID)? The library keeps
   * what it learnt on the session (not in its typings). When it did but the request itself then goes
   * unanswered, the agent could not decrypt it: net-snmp's snmpd drops such requests silently.
   */
  engineAnswered(): boolean {
    const params: unknown = Reflect.get(this.session, 'msgSecurityParameters');
    if (typeof params !== 'object' || params === null) return false;
    const engineId: unknown = Reflect.get(params, 'msgAuthoritativeEngineID');
    return Buffer.isBuffer(engineId) && engineId.length > 0;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.session.close();
    } catch {
      // already closed by the library
    }
  }

  /** Runs one library call; rejects with ProbeAbortedError when the signal aborts first. */
  private call<T>(start: (done: (err: unknown, value?: T) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.signal.aborted) {
        reject(new ProbeAbortedError('aborted'));
        return;
      }
      let settled = false;
      const onAbort = () => {
        if (settled) return;
        settled = true;
        reject(new ProbeAbortedError('aborted'));
      };
      this.signal.addEventListener('abort', onAbort, { once: true });
      try {
        start((err, value) => {
          if (settled) return;
          settled = true;
          this.signal.removeEventListener('abort', onAbort);
          if (err) reject(err);
          else resolve(value as T);
        });
      } catch (err) {
        settled = true;
        this.signal.removeEventListener('abort', onAbort);
        reject(err);
      }
    });
  }

  /** GET; a missing OID is a varbind error in its place (undefined here), not a rejection. */
  async get(oids: readonly string[]): Promise<Map<string, unknown>> {
    const out = new Map<string, unknown>();
    for (let i = 0; i < oids.length; i += GET_CHUNK) {
      const chunk = oids.slice(i, i + GET_CHUNK);
      const varbinds = await this.call<snmp.Varbind[]>((done) =>
        this.session.get([...chunk], (err, vbs) => done(err, vbs ?? [])),
      );
      for (const vb of varbinds) {
        if (!snmp.isVarbindError(vb)) out.set(vb.oid, vb.value);
      }
    }
    return out;
  }

  /**
   * Walks a subtree; returns `index → value` for OIDs `base.index`. A device whose table never ends (or
   * that answers slowly forever) is cut after `limits.maxRows` rows or `limits.maxMs`, whichever comes
   * first: the walk then resolves with what it read and why it stopped, and asks for nothing more.
   */
  walk(
    base: string,
    limits: WalkLimits = { maxRows: DEFAULT_WALK_MAX_ROWS, maxMs: Number.POSITIVE_INFINITY },
  ): Promise<WalkResult> {
    const rows = new Map<number, unknown>();
    const prefix = `${base}.`;
    const since = limits.since ?? performance.now();
    let read = 0;
    let cut: WalkCut | undefined;
    const stop = (reason: WalkCut['reason']): WalkCut => {
      cut ??= { reason, rows: read, ms: Math.round(performance.now() - since), limits };
      return cut;
    };
    return this.call<WalkResult>((done) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (err: unknown) => {
        clearTimeout(timer);
        done(err, cut ? { rows, cut } : { rows });
      };
      if (Number.isFinite(limits.maxMs)) {
        // an answer that is late but in time for its own request keeps the walk going: end it here
        timer = setTimeout(
          () => {
            stop('time');
            finish(null);
          },
          Math.max(0, limits.maxMs - (performance.now() - since)),
        );
      }
      this.session.subtree(
        base,
        WALK_REPETITIONS,
        (varbinds: snmp.Varbind[]) => {
          if (cut) return true; // cut by time while this answer was on its way
          for (const vb of varbinds) {
            if (snmp.isVarbindError(vb) || !vb.oid.startsWith(prefix)) continue;
            if (read >= limits.maxRows) {
              stop('rows');
              return true;
            }
            read++;
            const index = Number(vb.oid.slice(prefix.length));
            if (Number.isSafeInteger(index)) rows.set(index, vb.value);
          }
          return false;
        },
        (err: unknown) => finish(err),
      );
    });
  }
}

/** net-snmp ≥ 3.2x rejects v3 answers outside the engine time window; @types/net-snmp lacks the code. */
const NOT_IN_TIME_WINDOW: unknown = Reflect.get(snmp.ResponseInvalidCode, 'ENotInTimeWindow');

/**
 * Did an SNMPv3 agent reject the user or keys? An authentication report (wrong user/authKey, or
 * outside the time window), an undecryptable answer, or — snmpd drops requests it cannot decrypt —
 * a timeout after the agent answered engine discovery (wrong privKey).
 */
export function isSnmpAuthFailure(
  err: unknown,
  s: SnmpAuth,
  session: { engineAnswered(): boolean } | undefined,
): boolean {
  if (s.version !== '3') return false;
  if (err instanceof Error && err.name === 'RequestTimedOutError') return session?.engineAnswered() === true;
  if (err instanceof snmp.ResponseInvalidError) {
    return (
      err.code === snmp.ResponseInvalidCode.EAuthFailure ||
      err.code === snmp.ResponseInvalidCode.ECouldNotDecrypt ||
      err.code === NOT_IN_TIME_WINDOW
    );
  }
  return false;
}

/** Turns a library error into an outcome and a message without secrets (never by message text). */
export function classify(
  err: unknown,
  s: SnmpAuth,
  where: string,
  session: { sessionError: unknown; engineAnswered(): boolean } | undefined,
): SnmpFailure {
  const attempts = s.retries + 1;
  if (err instanceof ProbeAbortedError) {
    return { outcome: 'timeout', error: `the probe deadline passed while waiting for ${where}` };
  }
  const sessionError = session?.sessionError;
  if (
    err instanceof Error &&
    err.name === 'RequestTimedOutError' &&
    s.version === '3' &&
    session?.engineAnswered()
  ) {
    return {
      outcome: 'error',
      error: scrub(
        `SNMPv3 authentication failed for user "${s.user ?? ''}" at ${where}: the agent answered engine discovery but not the encrypted request within ${s.timeoutMs} ms × ${attempts} attempt(s) — most likely a wrong privKey or privProtocol (${s.privProtocol})`,
        s,
      ),
    };
  }
  if (err instanceof Error && err.name === 'RequestTimedOutError') {
    const garbled =
      sessionError instanceof Error ? `; an undecodable answer arrived (${sessionError.message})` : '';
    const hint =
      s.version === '3'
        ? 'check the address, the port and that the SNMP agent is running'
        : 'a wrong community gets no answer either: check the community, the agent’s ACL, the address and the port';
    return {
      outcome: 'timeout',
      error: scrub(
        `no SNMP answer from ${where} within ${s.timeoutMs} ms × ${attempts} attempt(s) (${hint})${garbled}`,
        s,
      ),
    };
  }
  if (err instanceof snmp.ResponseInvalidError) {
    const code = err.code;
    if (
      code === snmp.ResponseInvalidCode.EAuthFailure ||
      code === snmp.ResponseInvalidCode.ECouldNotDecrypt ||
      code === NOT_IN_TIME_WINDOW
    ) {
      return {
        outcome: 'error',
        error: scrub(
          `SNMPv3 authentication failed for user "${s.user ?? ''}" at ${where}: ${err.message} — check authKey/privKey and authProtocol (${s.authProtocol}) / privProtocol (${s.privProtocol})`,
          s,
        ),
      };
    }
    return { outcome: 'error', error: scrub(`invalid SNMP response from ${where}: ${err.message}`, s) };
  }
  if (err instanceof snmp.RequestFailedError) {
    return { outcome: 'error', error: scrub(`the SNMP agent at ${where} refused: ${err.message}`, s) };
  }
  const code = errnoCode(err);
  const text = err instanceof Error ? err.message : String(err);
  return { outcome: outcomeOfErrno(code), error: scrub(`SNMP request to ${where} failed: ${text}`, s) };
}
