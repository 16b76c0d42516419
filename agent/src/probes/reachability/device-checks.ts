import type { Outcome } from '../../../../protocol/report.js';
import type { AgentPair } from '../../http-client.js';
import { HttpTimeoutError, smallRequest } from '../../http-client.js';
import type { SnmpAuth } from '../../inventory-config.js';
import { deadline } from '../lib/deadline.js';
import { elapsedMs, errnoCode, errorText, type Family, openTcp, outcomeOfErrno } from '../lib/net-util.js';
import { parseRtspAnswer, readRtspAnswer, rtspRequest, rtspUri } from '../lib/rtsp.js';

/**
 * The application-level checks of the device probe: RTSP OPTIONS, HTTP(S) GET, SNMP system and
 * interface state. Each takes an already resolved address, a per-check timeout and the probe's
 * signal; none throws: every failure is an outcome.
 */

/** What a check observed; the common fields (device, target, at, durationMs …) are added around it. */
export interface Observation {
  outcome: Outcome;
  up: boolean;
  family?: Family;
  address?: string;
  rttMs?: number;
  lossPct?: number;
  sent?: number;
  received?: number;
  status?: number;
  url?: string;
  uptimeS?: number;
  sysDescr?: string;
  ifDown?: number;
  authFailure?: boolean;
  error?: string;
}

export interface Resolved {
  address: string;
  family: Family;
}

// ---------------------------------------------------------------------------------------------
// RTSP

/** RTSP OPTIONS over TCP: any valid RTSP status line means the service answers (401 included). */
export async function rtspCheck(
  resolved: Resolved,
  port: number,
  path: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Observation> {
  const startedAt = performance.now();
  const d = deadline(signal, timeoutMs);
  try {
    const c = await openTcp({ host: resolved.address, port, timeoutMs, signal: d.signal });
    const base = { family: c.family ?? resolved.family, address: c.address ?? resolved.address };
    if (c.outcome !== 'ok' || !c.socket) {
      return { outcome: c.outcome, up: false, ...base, error: c.error ?? 'no connection' };
    }
    const socket = c.socket;
    try {
      socket.write(rtspRequest('OPTIONS', rtspUri(resolved.address, port, path), 1));
      const read = await readRtspAnswer(socket, d.signal, { upTo: 'status-line' });
      if (!read.complete && read.stop !== 'too-long') {
        if (d.signal.aborted) {
          return {
            outcome: 'timeout',
            up: false,
            ...base,
            error: signal.aborted
              ? 'the probe deadline passed while waiting for the RTSP answer'
              : `no RTSP answer within ${timeoutMs} ms`,
          };
        }
        const ended =
          typeof read.stop === 'object'
            ? `connection error: ${read.stop.error}`
            : read.stop === 'aborted'
              ? 'aborted'
              : 'the server closed the connection without a status line';
        return { outcome: 'error', up: false, ...base, error: ended };
      }
      const { statusLine: line, status } = parseRtspAnswer(read.data);
      if (status === undefined) {
        return {
          outcome: 'error',
          up: false,
          ...base,
          error: `not an RTSP status line: ${JSON.stringify(line.slice(0, 200))}`,
        };
      }
      return { outcome: 'ok', up: true, ...base, status, rttMs: elapsedMs(startedAt) };
    } finally {
      socket.destroy();
    }
  } finally {
    d.clear();
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP

/** How much of a page an HTTP check reads before it closes the connection (a camera may stream forever). */
const HTTP_CHECK_MAX_BODY = 64 * 1024;

/** The URL without user:password (results never carry secrets). */
function safeUrl(url: URL): string {
  const u = new URL(url.href);
  u.username = '';
  u.password = '';
  return u.href.slice(0, 2000);
}

function causeOf(err: unknown): unknown {
  return err instanceof Error && err.cause !== undefined ? err.cause : err;
}

/** HTTP(S) GET: up when the status is < 500, or one of `expectStatus` when given. */
export async function httpCheck(
  url: string,
  expectStatus: readonly number[] | undefined,
  timeoutMs: number,
  signal: AbortSignal,
  agents: AgentPair,
): Promise<Observation> {
  const startedAt = performance.now();
  const parsed = new URL(url);
  const shown = safeUrl(parsed);
  const d = deadline(signal, timeoutMs);
  try {
    const res = await smallRequest(parsed, {
      method: 'GET',
      signal: d.signal,
      agent: agents.for(parsed),
      headers: { 'user-agent': 'campuswatch' },
      connectTimeoutMs: timeoutMs,
      headersTimeoutMs: timeoutMs,
      maxBody: HTTP_CHECK_MAX_BODY,
      partialBody: true,
    });
    const rttMs = elapsedMs(startedAt, res.headAt);
    const status = res.status;
    const up = expectStatus ? expectStatus.includes(status) : status < 500;
    const f: Observation = { outcome: 'ok', up, status, url: shown, rttMs };
    if (!up)
      f.error = expectStatus
        ? `HTTP ${status}, expected ${expectStatus.join(' or ')}`
        : `HTTP ${status} (server error)`;
    return f;
  } catch (err) {
    if (d.signal.aborted) {
      return {
        outcome: 'timeout',
        up: false,
        url: shown,
        error: signal.aborted
          ? 'the probe deadline passed during the HTTP request'
          : `no HTTP answer within ${timeoutMs} ms`,
      };
    }
    const inner = causeOf(err);
    const code = errnoCode(inner) ?? errnoCode(err);
    if (err instanceof HttpTimeoutError) {
      return { outcome: 'timeout', up: false, url: shown, error: `no HTTP answer within ${timeoutMs} ms` };
    }
    const outcome = outcomeOfErrno(code);
    const tls = code !== undefined && /CERT|TLS|SSL|SELF_SIGNED|ERR_OSSL/.test(code);
    return {
      outcome,
      up: false,
      url: shown,
      error: `${tls ? 'TLS error' : 'HTTP request failed'} (${code ?? 'error'}): ${errorText(inner)}`.slice(
        0,
        2000,
      ),
    };
  } finally {
    d.clear();
  }
}

// ---------------------------------------------------------------------------------------------
// SNMP

/** ifOperStatus notPresent(6): a port with no transceiver is not "down". */
const IF_NOT_PRESENT = 6;

/** How far the ifOperStatus walk of one device may go: rows, and milliseconds from the check's start. */
export interface SnmpWalkBudget {
  maxRows: number;
  maxMs: number;
}

/**
 * sysUpTime, sysDescr and ifOperStatus of every interface (v2c or v3 authPriv). A device whose
 * ifOperStatus table never ends keeps its check slot only until `budget` runs out: the walk is cut, the
 * device counts as up (it answers) and the result's error says where and why the walk was cut.
 */
export async function snmpCheck(
  resolved: Resolved,
  s: SnmpAuth,
  signal: AbortSignal,
  budget?: SnmpWalkBudget,
): Promise<Observation> {
  // net-snmp is loaded with the first SNMP check: an inventory without one does not carry it in memory.
  const {
    asNumber,
    asText,
    classify,
    DEFAULT_WALK_MAX_ROWS,
    describeWalkCut,
    IF_OPER_UP,
    isSnmpAuthFailure,
    OID,
    ProbeAbortedError,
    SnmpClient,
    scrub,
  } = await import('../lib/snmp.js');
  const startedAt = performance.now();
  const base = { family: resolved.family, address: resolved.address };
  const where = `${resolved.address} port ${s.port}`;
  let client: InstanceType<typeof SnmpClient>;
  try {
    client = new SnmpClient(resolved.address, resolved.family, s, signal);
  } catch (err) {
    const f = classify(err, s, where, undefined);
    return { ...f, up: false, ...base };
  }
  const onAbort = () => client.close();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const values = await client.get([OID.sysUpTime, OID.sysDescr]);
    const rttMs = elapsedMs(startedAt);
    const walked = await client.walk(OID.ifOperStatus, {
      maxRows: budget?.maxRows ?? DEFAULT_WALK_MAX_ROWS,
      maxMs: budget?.maxMs ?? Number.POSITIVE_INFINITY,
      since: startedAt,
    });
    let ifDown = 0;
    for (const v of walked.rows.values()) {
      const n = asNumber(v);
      if (n !== undefined && n !== IF_OPER_UP && n !== IF_NOT_PRESENT) ifDown++;
    }
    const f: Observation = { outcome: 'ok', up: true, ...base, rttMs, ifDown };
    if (walked.cut) {
      f.error = `${describeWalkCut('ifOperStatus', walked.cut)}: ifDown counts the ${walked.rows.size} interface(s) read`;
    }
    const ticks = asNumber(values.get(OID.sysUpTime));
    if (ticks !== undefined && ticks >= 0) f.uptimeS = Math.round(ticks) / 100;
    const descr = asText(values.get(OID.sysDescr));
    if (descr !== undefined) f.sysDescr = scrub(descr.replace(/\p{Cc}/gu, ' ').trim(), s).slice(0, 500);
    return f;
  } catch (caught) {
    const err = signal.aborted ? new ProbeAbortedError('aborted') : caught;
    if (isSnmpAuthFailure(err, s, client)) {
      return {
        outcome: 'error',
        up: false,
        ...base,
        authFailure: true,
        error: scrub(
          `SNMP v3 authentication failed for user "${s.user ?? ''}": the agent answers but rejects the user or keys (check authKey/privKey, ${s.authProtocol}/${s.privProtocol})`,
          s,
        ),
      };
    }
    if (err instanceof Error && err.name === 'RequestTimedOutError') {
      return {
        outcome: 'timeout',
        up: false,
        ...base,
        error: `no answer (${s.version === '2c' ? 'wrong community or unreachable' : 'unreachable or no SNMP agent'}) from ${where} within ${s.timeoutMs} ms × ${s.retries + 1} attempt(s)`,
      };
    }
    const f = classify(err, s, where, client);
    return { ...f, up: false, ...base };
  } finally {
    signal.removeEventListener('abort', onAbort);
    client.close();
  }
}
