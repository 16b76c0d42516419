import { setTimeout as delay } from 'node:timers/promises';
import snmp from 'net-snmp';
import type { Outcome, UplinkSnmpResult } from '../../../protocol/report.js';
import type { AgentConfig, SnmpAuth } from '../config.js';
import { type CounterSample, counterRate, utilPct } from './counter-rate.js';
import { decodeText, elapsedMs, errnoCode, type Family, outcomeOfErrno, resolveHost } from './net-util.js';
import type { Probe, ProbeContext } from './probe.js';

/**
 * The school's border router over SNMP (measurement `uplink_snmp`; the `backbone` and `uplink_bandwidth` targets): the uplink's in/out
 * rate from two readings of its 64-bit octet counters, and the speed and state of the listed core and
 * access ports. SNMP v2c (community) or v3 authPriv. Interfaces are configured by ifName (matched
 * against ifName, then ifDescr) or by ifIndex.
 */

type UplinkSnmpConfig = AgentConfig['probes']['uplink-snmp'];
type Role = UplinkSnmpResult['role'];

export const OID = {
  sysUpTime: '1.3.6.1.2.1.1.3.0',
  ifDescr: '1.3.6.1.2.1.2.2.1.2',
  ifSpeed: '1.3.6.1.2.1.2.2.1.5',
  ifOperStatus: '1.3.6.1.2.1.2.2.1.8',
  ifName: '1.3.6.1.2.1.31.1.1.1.1',
  ifHCInOctets: '1.3.6.1.2.1.31.1.1.1.6',
  ifHCOutOctets: '1.3.6.1.2.1.31.1.1.1.10',
  ifHighSpeed: '1.3.6.1.2.1.31.1.1.1.15',
} as const;

/** Pause before the second reading when no earlier reading of the uplink is kept. */
export const FIRST_POLL_PAUSE_MS = 5000;
/** Below this a second reading is not worth taking (agents cache counters for a few seconds). */
const MIN_PAUSE_MS = 1000;
/** Varbinds per GET request for the ports (small enough for any agent's PDU size). */
const GET_CHUNK = 24;
/** getBulk max-repetitions when walking ifName/ifDescr. */
const WALK_REPETITIONS = 40;
const IF_OPER_UP = 1;
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

/** The `note` of an uplink whose agent has no ifHCInOctets/ifHCOutOctets (no ifXTable): no rates. */
export const NO_HC_COUNTERS = 'no-64bit-counters';

export interface UplinkSnmpOptions {
  /**
   * Pause before a second reading when no earlier reading of the uplink is kept (default 5 s; cut
   * to what the probe's deadline, `timeoutS`, leaves). 0: never take a second reading (note 'first-poll').
   */
  firstPollPauseMs?: number;
  /** Where the previous uplink readings are kept (default: one map for the whole process). */
  samples?: Map<string, StoredSample>;
}

export interface StoredSample extends CounterSample {
  /** Wall-clock time of the reading (ms since the epoch), to let very old readings expire. */
  wallMs: number;
}

/** The last reading of each uplink, by `address|port|ifIndex`, so the next run covers the whole interval. */
const SAMPLES = new Map<string, StoredSample>();

/** Forgets every kept uplink reading (tests; a restarted agent starts empty anyway). */
export function forgetUplinkSamples(): void {
  SAMPLES.clear();
}

/** A configured interface, by name or index. */
interface IfTarget {
  role: Role;
  ifName?: string;
  ifIndex?: number;
}

/** A configured interface found on the device. */
interface IfFound extends IfTarget {
  index: number;
  name: string;
}

type Failure = { outcome: Outcome; error: string };

/** Thrown inside the probe when ctx.signal aborts; never leaves `run`. */
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

/** A name usable as a tag value: no control characters, no trailing backslash, ≤ 128 characters. */
function tagSafe(name: string): string {
  return name
    .replace(/\p{Cc}/gu, '')
    .trim()
    .replace(/\\+$/, '')
    .slice(0, 128);
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
): Failure {
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

// ---------------------------------------------------------------------------------------------
// Interfaces

function listTargets(cfg: UplinkSnmpConfig): IfTarget[] {
  const out: IfTarget[] = [];
  if (cfg.uplink) out.push({ role: 'uplink', ...cfg.uplink });
  for (const p of cfg.ports) {
    const t: IfTarget = { role: p.role };
    if (p.ifName !== undefined) t.ifName = p.ifName;
    if (p.ifIndex !== undefined) t.ifIndex = p.ifIndex;
    out.push(t);
  }
  return out;
}

/** Index of `name` in a walked name column: exact match first, then a unique case-insensitive one. */
function findName(names: Map<number, unknown>, name: string): number | undefined {
  const lower = name.toLowerCase();
  let ci: number | undefined;
  let ciCount = 0;
  for (const [index, value] of names) {
    const text = asText(value);
    if (text === undefined) continue;
    if (text === name) return index;
    if (text.toLowerCase() === lower) {
      ci = index;
      ciCount++;
    }
  }
  return ciCount === 1 ? ci : undefined;
}

/**
 * Finds each configured interface: names via a walk of ifName, then of ifDescr for the names not
 * found; indexes by reading their ifName/ifDescr. Interfaces that do not exist get a failure.
 */
async function resolveInterfaces(
  client: SnmpClient,
  targets: IfTarget[],
  deviceName: string,
  limits: WalkLimits,
): Promise<Array<IfFound | (IfTarget & Failure)>> {
  const byName = targets.filter((t) => t.ifName !== undefined);
  let names = new Map<number, unknown>();
  let descrs: Map<number, unknown> | undefined;
  const cuts: string[] = [];
  if (byName.length > 0) {
    // both walks share the device's time budget
    const shared = { ...limits, since: limits.since ?? performance.now() };
    const walked = await client.walk(OID.ifName, shared);
    names = walked.rows;
    if (walked.cut) cuts.push(describeWalkCut('ifName', walked.cut));
    if (byName.some((t) => findName(names, t.ifName ?? '') === undefined)) {
      const walkedDescr = await client.walk(OID.ifDescr, shared);
      descrs = walkedDescr.rows;
      if (walkedDescr.cut) cuts.push(describeWalkCut('ifDescr', walkedDescr.cut));
    }
  }
  const indexes = targets.filter((t) => t.ifName === undefined && t.ifIndex !== undefined);
  const labels =
    indexes.length > 0
      ? await client.get(
          indexes.flatMap((t) => [
            `${OID.ifName}.${t.ifIndex}`,
            `${OID.ifDescr}.${t.ifIndex}`,
            `${OID.ifOperStatus}.${t.ifIndex}`,
          ]),
        )
      : new Map<string, unknown>();
  return targets.map((t) => {
    if (t.ifName !== undefined) {
      let index = findName(names, t.ifName);
      if (index === undefined && descrs) index = findName(descrs, t.ifName);
      if (index === undefined) {
        const seen = new Set([...names.keys(), ...(descrs?.keys() ?? [])]).size;
        return {
          ...t,
          outcome: 'error',
          error: `interface "${t.ifName}" not found on ${deviceName} (looked in ifName and ifDescr of ${seen} interface(s)${cuts.length > 0 ? `; ${cuts.join('; ')}` : ''})`,
        };
      }
      return { ...t, index, name: t.ifName };
    }
    const index = t.ifIndex ?? 0;
    const name =
      asText(labels.get(`${OID.ifName}.${index}`)) ?? asText(labels.get(`${OID.ifDescr}.${index}`)) ?? '';
    const exists = name !== '' || labels.has(`${OID.ifOperStatus}.${index}`);
    if (!exists) {
      return {
        ...t,
        outcome: 'error',
        error: `ifIndex ${index} not found on ${deviceName} (no ifName, ifDescr or ifOperStatus)`,
      };
    }
    return { ...t, index, name: tagSafe(name) || `ifIndex ${index}` };
  });
}

// ---------------------------------------------------------------------------------------------
// Readings

interface PortReading {
  operUp: boolean;
  ifSpeedMbps?: number;
}

interface UplinkReading extends PortReading {
  sample?: CounterSample;
  sysUptimeTicks?: number;
}

function speedOf(values: Map<string, unknown>, index: number): number | undefined {
  const high = asNumber(values.get(`${OID.ifHighSpeed}.${index}`));
  if (high !== undefined) return high;
  const bps = asNumber(values.get(`${OID.ifSpeed}.${index}`));
  return bps !== undefined ? Math.round(bps / 1e4) / 100 : undefined;
}

function portOids(index: number): string[] {
  return [`${OID.ifHighSpeed}.${index}`, `${OID.ifOperStatus}.${index}`, `${OID.ifSpeed}.${index}`];
}

function portReading(values: Map<string, unknown>, index: number): PortReading {
  const r: PortReading = { operUp: asNumber(values.get(`${OID.ifOperStatus}.${index}`)) === IF_OPER_UP };
  const speed = speedOf(values, index);
  if (speed !== undefined) r.ifSpeedMbps = speed;
  return r;
}

async function readUplink(client: SnmpClient, index: number): Promise<UplinkReading> {
  const values = await client.get([
    OID.sysUpTime,
    `${OID.ifHCInOctets}.${index}`,
    `${OID.ifHCOutOctets}.${index}`,
    ...portOids(index),
  ]);
  const atMs = performance.now();
  const reading: UplinkReading = portReading(values, index);
  const ticks = asNumber(values.get(OID.sysUpTime));
  const inOctets = counter64(values.get(`${OID.ifHCInOctets}.${index}`));
  const outOctets = counter64(values.get(`${OID.ifHCOutOctets}.${index}`));
  if (ticks !== undefined) reading.sysUptimeTicks = ticks;
  if (ticks !== undefined && inOctets !== undefined && outOctets !== undefined) {
    reading.sample = { atMs, sysUptimeTicks: ticks, inOctets, outOctets };
  }
  return reading;
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/** Milliseconds left before the probe's deadline (its timeoutS, counted from the start of the run). */
function remainingMs(startedAt: number, cfg: UplinkSnmpConfig): number {
  return cfg.timeoutS * 1000 - (performance.now() - startedAt);
}

/**
 * Factory (tests pass their own pause and sample store); the agent uses `uplinkSnmpProbe`.
 * Never throws: every failure is an outcome in the results, one result per configured interface.
 */
export function createUplinkSnmpProbe(options: UplinkSnmpOptions = {}): Probe {
  const samples = options.samples ?? SAMPLES;
  const firstPollPauseMs = options.firstPollPauseMs ?? FIRST_POLL_PAUSE_MS;

  return {
    kind: 'uplink-snmp',
    async run(config: AgentConfig, ctx: ProbeContext): Promise<UplinkSnmpResult[]> {
      const cfg = config.probes['uplink-snmp'];
      const s = cfg.snmp;
      const device = cfg.device;
      const targets = listTargets(cfg);
      if (!device || targets.length === 0) {
        ctx.log.warn('uplink-snmp: no device or interface configured; nothing to read');
        return [];
      }
      const at = ctx.now().toISOString();
      const startedAt = performance.now();
      const where = `${device.address} port ${s.port}`;

      const result = (
        t: IfTarget,
        fields: Partial<UplinkSnmpResult> & { outcome: Outcome },
      ): UplinkSnmpResult => {
        const r: UplinkSnmpResult = {
          probe: 'uplink-snmp',
          target: device.name,
          device: { name: device.name, address: device.address },
          role: t.role,
          ifIndex: t.ifIndex ?? 0,
          ifName: tagSafe(t.ifName ?? '') || `ifIndex ${t.ifIndex ?? 0}`,
          operUp: false,
          durationMs: 0,
          at,
          ...fields,
        };
        r.durationMs = elapsedMs(startedAt);
        return r;
      };
      const failAll = (f: Failure) => targets.map((t) => result(t, f));

      if (s.version === '3' && (!s.user || !s.authKey || !s.privKey)) {
        return failAll({ outcome: 'error', error: 'SNMP v3 needs user, authKey and privKey (authPriv)' });
      }
      if (s.version === '2c' && !s.community) {
        return failAll({ outcome: 'error', error: 'SNMP v2c needs a community' });
      }
      const resolved = await resolveHost(device.address, ctx.signal);
      if (!resolved.ok) return failAll({ outcome: resolved.outcome, error: resolved.error });

      let client: SnmpClient;
      try {
        client = new SnmpClient(resolved.address, resolved.family, s, ctx.signal);
      } catch (err) {
        return failAll(classify(err, s, where, undefined));
      }
      const onAbort = () => client.close();
      ctx.signal.addEventListener('abort', onAbort, { once: true });
      try {
        const found = await resolveInterfaces(client, targets, device.name, {
          maxRows: DEFAULT_WALK_MAX_ROWS,
          maxMs: cfg.timeoutS * 1000 * DEFAULT_WALK_TIME_SHARE,
        });
        const ports = found.filter((f): f is IfFound => 'index' in f && f.role !== 'uplink');
        const uplink = found.find((f): f is IfFound => 'index' in f && f.role === 'uplink');

        let first: UplinkReading | undefined;
        if (uplink) first = await readUplink(client, uplink.index);
        const portValues =
          ports.length > 0
            ? await client.get(ports.flatMap((p) => portOids(p.index)))
            : new Map<string, unknown>();

        let last = first;
        const rateFields: Partial<UplinkSnmpResult> = {};
        if (uplink && first) {
          const key = `${resolved.address}|${s.port}|${uplink.index}`;
          // A reading older than a few intervals (the agent was stopped) would average over hours.
          const stored = samples.get(key);
          const maxAgeMs = (3 * cfg.intervalS + cfg.timeoutS) * 1000;
          let prev: CounterSample | undefined =
            stored && Date.now() - stored.wallMs <= maxAgeMs ? stored : undefined;
          if (first.sample && prev === undefined && firstPollPauseMs > 0) {
            // No earlier reading: take a second one after a pause, within the deadline.
            const budget = s.timeoutMs * (s.retries + 1) + 250;
            const pause = Math.min(firstPollPauseMs, remainingMs(startedAt, cfg) - budget);
            if (pause >= Math.min(MIN_PAUSE_MS, firstPollPauseMs)) {
              await delay(pause, undefined, { signal: ctx.signal }).catch(() => {
                throw new ProbeAbortedError('aborted');
              });
              prev = first.sample;
              last = await readUplink(client, uplink.index);
            }
          }
          if (last?.sample) {
            const rate = counterRate(prev, last.sample, last.ifSpeedMbps);
            if ('note' in rate) {
              rateFields.note = rate.note;
            } else {
              rateFields.inMbps = rate.inMbps;
              rateFields.outMbps = rate.outMbps;
              const util = utilPct(rate, last.ifSpeedMbps);
              if (util !== undefined) rateFields.utilPct = util;
            }
            samples.set(key, { ...last.sample, wallMs: Date.now() });
          } else {
            rateFields.note = NO_HC_COUNTERS;
          }
        }

        const results = found.map((f) => {
          if (!('index' in f)) return result(f, { outcome: f.outcome, error: f.error });
          const base = {
            outcome: 'ok' as const,
            ifIndex: f.index,
            ifName: tagSafe(f.name) || `ifIndex ${f.index}`,
          };
          if (f.role === 'uplink' && last) {
            const r = result(f, { ...base, operUp: last.operUp, ...rateFields });
            if (last.ifSpeedMbps !== undefined) r.ifSpeedMbps = last.ifSpeedMbps;
            if (last.sysUptimeTicks !== undefined) r.sysUptimeS = round3(last.sysUptimeTicks / 100);
            return r;
          }
          const reading = portReading(portValues, f.index);
          const r = result(f, { ...base, operUp: reading.operUp });
          if (reading.ifSpeedMbps !== undefined) r.ifSpeedMbps = reading.ifSpeedMbps;
          return r;
        });
        ctx.log.debug(
          {
            device: device.name,
            interfaces: results.length,
            failed: results.filter((r) => r.outcome !== 'ok').length,
          },
          'uplink-snmp read',
        );
        return results;
      } catch (err) {
        const failure = classify(
          ctx.signal.aborted ? new ProbeAbortedError('aborted') : err,
          s,
          where,
          client,
        );
        ctx.log.debug(
          { device: device.name, outcome: failure.outcome, error: failure.error },
          'uplink-snmp failed',
        );
        return failAll(failure);
      } finally {
        ctx.signal.removeEventListener('abort', onAbort);
        client.close();
      }
    },
  };
}

/** The agent's uplink-snmp probe (kind 'uplink-snmp'). */
export const uplinkSnmpProbe: Probe = createUplinkSnmpProbe();
