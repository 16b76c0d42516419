import ping, { type PingResponse } from 'ping';
import type { DeviceRef, Outcome, ReachabilityResult } from '../../../../protocol/report.js';
import { deviceChecks, type ResolvedCheck } from '../../inventory.js';
import type { DeviceConfig, RoomConfig } from '../../inventory-config.js';
import {
  elapsedMs,
  type Family,
  findExecutable,
  httpAgents,
  mapLimit,
  type Resolution,
  raceAbort,
  resolveHost,
  tcpConnect,
} from '../lib/net-util.js';
import type { KindProbe, ProbeContext } from '../probe.js';
import { httpCheck, type Observation, rtspCheck, snmpCheck } from './device-checks.js';
import { runFping } from './fping.js';
import type { ReachabilityConfig } from './schema.js';
import type { ReachabilitySlice } from './slice.js';

interface Check {
  room: RoomConfig;
  device: DeviceConfig;
  check: ResolvedCheck;
}

/** The ping programs this run can use; looked up once per run. */
interface PingPrograms {
  ping?: string;
  ping6?: string;
}

export const PING_MISSING =
  'the ping program is missing: install iputils-ping (Debian/Ubuntu: apt-get install iputils-ping)';

/** Interval between echo requests of one check (iputils allows 0.2 s for unprivileged users). */
const PING_INTERVAL_S = '0.2';

/** Below this many ICMP targets one `ping` per device is as quick as one fping for the batch. */
export const FPING_MIN_TARGETS = 8;
/** fping: pause between any two echo requests, and between two to the same target. */
const FPING_INTERVAL_MS = 1;
const FPING_PERIOD_MS = 200;

function listChecks(config: ReachabilitySlice): Check[] {
  const checks: Check[] = [];
  for (const room of config.rooms) {
    for (const device of room.devices) {
      for (const check of deviceChecks(config, room, device)) checks.push({ room, device, check });
    }
  }
  return checks;
}

function deviceRef(room: RoomConfig, device: DeviceConfig): DeviceRef {
  const ref: DeviceRef = {
    name: device.name,
    address: device.address,
    room: room.name,
    roomType: room.type,
    critical: device.critical,
    type: device.type,
  };
  return ref;
}

/** A finite number ≥ 0 from ping's string fields ('0.123', 'unknown', junk), or undefined. */
function nonNegative(value: unknown): number | undefined {
  const n =
    typeof value === 'number'
      ? value
      : typeof value === 'string' && value.trim() !== ''
        ? Number(value)
        : Number.NaN;
  return Number.isFinite(n) && n >= 0 ? n : undefined;
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/** `3 packets transmitted, 2 received, +1 duplicates, +1 errors, 33.3333% packet loss` (LANG=C). */
const SUMMARY = /^(\d+) packets transmitted, (\d+) (?:packets )?received(.*)$/m;
const ERRORS = /\+(\d+) errors/;
const UNREACHABLE_LINE = /^.*(?:unreachable|no route to host).*$/im;

/** Turns the `ping` package's response (string fields, possibly junk on failure) into a observation. */
export function interpretPing(
  response: PingResponse,
  requested: number,
  waitS: number,
): Omit<Observation, 'family' | 'address'> {
  const output = typeof response.output === 'string' ? response.output : '';
  const summary = SUMMARY.exec(output);
  const times = Array.isArray(response.times)
    ? response.times.filter((t) => nonNegative(t) !== undefined)
    : [];
  if (!summary) {
    // ping stopped before sending (e.g. "connect: Network is unreachable") or printed something else.
    const unreachable = UNREACHABLE_LINE.exec(output);
    if (unreachable) {
      return {
        outcome: 'unreachable',
        up: false,
        sent: 0,
        received: 0,
        lossPct: 100,
        error: unreachable[0].trim(),
      };
    }
    const firstLine = output.split('\n').find((l) => l.trim() !== '') ?? 'no output';
    return {
      outcome: 'error',
      up: false,
      error: `ping printed no statistics: ${firstLine.trim().slice(0, 500)}`,
    };
  }
  const sent = Number(summary[1]);
  const received = Number(summary[2]);
  const errors = Number(ERRORS.exec(summary[3] ?? '')?.[1] ?? 0);
  if (received > 0) {
    const computedLoss = sent > 0 ? Math.max(0, (1 - received / sent) * 100) : 0;
    const parsedLoss = nonNegative(response.packetLoss);
    const lossPct = round3(parsedLoss !== undefined && parsedLoss <= 100 ? parsedLoss : computedLoss);
    const avg = nonNegative(response.avg);
    const mean = times.length > 0 ? times.reduce((a, b) => a + b, 0) / times.length : undefined;
    const rtt = avg ?? mean;
    const observation: Omit<Observation, 'family' | 'address'> = {
      outcome: 'ok',
      up: true,
      sent,
      received,
      lossPct,
    };
    if (rtt !== undefined && rtt <= 86_400_000) observation.rttMs = round3(rtt);
    return observation;
  }
  if (errors > 0) {
    const line = UNREACHABLE_LINE.exec(output)?.[0].trim();
    return {
      outcome: 'unreachable',
      up: false,
      sent,
      received: 0,
      lossPct: 100,
      error: line ?? `${errors} ICMP error(s) for ${sent} echo request(s)`,
    };
  }
  return {
    outcome: 'timeout',
    up: false,
    sent,
    received: 0,
    lossPct: 100,
    error: `no echo reply to ${sent || requested} request(s) within ${waitS} s`,
  };
}

async function icmpCheck(
  resolved: { address: string; family: Family },
  cfg: ReachabilityConfig,
  programs: PingPrograms,
  signal: AbortSignal,
): Promise<Observation> {
  const { address, family } = resolved;
  if (!programs.ping && !(family === 6 && programs.ping6)) {
    return { outcome: 'error', up: false, family, address, error: PING_MISSING };
  }
  // Seconds to wait for a reply when none came (ping -W takes whole seconds).
  const waitS = Math.min(60, Math.max(1, Math.ceil(cfg.tcpTimeoutMs / 1000)));
  // The package runs `ping6` for v6; iputils' `ping -6` does the same where ping6 is absent.
  const useV6Program = family === 6 && programs.ping6 !== undefined;
  const extra = cfg.pingCount > 1 ? ['-i', PING_INTERVAL_S] : [];
  if (family === 6 && !useV6Program) extra.push('-6');
  try {
    // ping cannot be cancelled: on abort we stop waiting; the ping process ends by itself after at
    // most (pingCount − 1) × 0.2 s + waitS.
    const raced = await raceAbort(
      ping.promise.probe(address, {
        numeric: true,
        min_reply: cfg.pingCount,
        timeout: waitS,
        v6: useV6Program,
        extra,
      }),
      signal,
    );
    if (raced.aborted) {
      return {
        outcome: 'timeout',
        up: false,
        family,
        address,
        error: 'the probe deadline passed while pinging',
      };
    }
    return { ...interpretPing(raced.value, cfg.pingCount, waitS), family, address };
  } catch (err) {
    // The package rejects with a generic message when the program cannot be started.
    const missing = (await findExecutable(useV6Program ? 'ping6' : 'ping')) === undefined;
    const text = err instanceof Error ? err.message : String(err);
    return {
      outcome: 'error',
      up: false,
      family,
      address,
      error: missing ? PING_MISSING : `ping failed: ${text}`,
    };
  }
}

async function tcpCheck(
  resolved: { address: string; family: Family },
  port: number,
  cfg: ReachabilityConfig,
  signal: AbortSignal,
): Promise<Observation> {
  const r = await tcpConnect({ host: resolved.address, port, timeoutMs: cfg.tcpTimeoutMs, signal });
  const observation: Observation = {
    outcome: r.outcome,
    up: r.outcome === 'ok',
    family: r.family ?? resolved.family,
    address: r.address ?? resolved.address,
  };
  if (r.rttMs !== undefined) observation.rttMs = r.rttMs;
  if (r.error !== undefined) observation.error = r.error;
  return observation;
}

interface Sweep {
  cfg: ReachabilityConfig;
  programs: PingPrograms;
  resolve: (device: DeviceConfig) => Promise<Resolution>;
  /** ICMP observations of the fping batch by address, when the batch runs. */
  icmpBatch?: Promise<BatchOutcome>;
  http: ReturnType<typeof httpAgents>;
}

type BatchOutcome =
  | Map<string, Omit<Observation, 'family' | 'address'>>
  | { error: string; outcome: Outcome };

type Target = { address: string; family: Family };

async function runOne(c: Check, resolved: Target, sweep: Sweep, signal: AbortSignal): Promise<Observation> {
  const { cfg } = sweep;
  const check = c.check;
  switch (check.kind) {
    case 'icmp': {
      if (sweep.icmpBatch) {
        const batch = await sweep.icmpBatch;
        if (!(batch instanceof Map))
          return { outcome: batch.outcome, up: false, ...resolved, error: batch.error };
        const f = batch.get(resolved.address);
        if (f) return { ...f, ...resolved };
        return {
          outcome: 'error',
          up: false,
          ...resolved,
          error: 'fping printed no result for this address',
        };
      }
      return icmpCheck(resolved, cfg, sweep.programs, signal);
    }
    case 'tcp':
      return tcpCheck(resolved, check.port, cfg, signal);
    case 'rtsp':
      return rtspCheck(resolved, check.port, check.path, cfg.tcpTimeoutMs, signal);
    case 'http':
      return httpCheck(check.url, check.expectStatus, cfg.tcpTimeoutMs, signal, sweep.http);
    case 'snmp':
      return snmpCheck(resolved, check.auth, signal, {
        maxRows: cfg.snmpWalkMaxRows,
        maxMs: cfg.timeoutS * 1000 * cfg.snmpWalkTimeShare,
      });
  }
}

function checkPort(check: ResolvedCheck): number | undefined {
  if (check.kind === 'tcp' || check.kind === 'rtsp') return check.port;
  if (check.kind === 'snmp') return check.auth.port;
  return undefined;
}

async function runCheck(c: Check, sweep: Sweep, ctx: ProbeContext): Promise<ReachabilityResult> {
  const at = ctx.now().toISOString();
  const startedAt = performance.now();
  let observation: Observation;
  if (ctx.signal.aborted) {
    observation = { outcome: 'timeout', up: false, error: 'not started: the probe deadline passed' };
  } else if (c.check.kind === 'http') {
    // The URL names its own host (which may differ from the device address).
    observation = await httpCheck(
      c.check.url,
      c.check.expectStatus,
      sweep.cfg.tcpTimeoutMs,
      ctx.signal,
      sweep.http,
    );
  } else {
    const resolved = await sweep.resolve(c.device);
    if (!resolved.ok) observation = { outcome: resolved.outcome, up: false, error: resolved.error };
    else
      observation = await runOne(
        c,
        { address: resolved.address, family: resolved.family },
        sweep,
        ctx.signal,
      );
  }
  const result: ReachabilityResult = {
    probe: 'reachability',
    target: c.device.name,
    device: deviceRef(c.room, c.device),
    check: c.check.kind,
    ...observation,
    durationMs: elapsedMs(startedAt),
    at,
  };
  const port = checkPort(c.check);
  if (port !== undefined) result.port = port;
  return result;
}

async function fpingBatch(
  fping: string,
  checks: Check[],
  sweep: Sweep,
  signal: AbortSignal,
): Promise<BatchOutcome> {
  const devices = [...new Set(checks.filter((c) => c.check.kind === 'icmp').map((c) => c.device))];
  const resolved = await Promise.all(devices.map((d) => sweep.resolve(d)));
  const addresses = resolved.flatMap((r) => (r.ok ? [r.address] : []));
  const cfg = sweep.cfg;
  const run = await runFping(fping, addresses, {
    count: cfg.pingCount,
    timeoutMs: cfg.tcpTimeoutMs,
    periodMs: FPING_PERIOD_MS,
    intervalMs: FPING_INTERVAL_MS,
    signal,
  });
  if (!run.ok) return { outcome: run.aborted ? 'timeout' : 'error', error: run.error };
  return run.results;
}

/**
 * Is each inventoried device up? Every check of every device (ICMP, TCP connect, RTSP OPTIONS, HTTP,
 * SNMP) in one sweep, at most `concurrency` at once, each with its own deadline (tcpTimeoutMs for
 * TCP/RTSP/HTTP, the SNMP timeout × attempts) joined with the probe's signal; an SNMP device's
 * ifOperStatus walk stops after `snmpWalkMaxRows` rows or `snmpWalkTimeShare` of timeoutS, so that
 * devices with endless tables cannot hold every slot until the deadline. ICMP: one fping
 * process for the batch when fping exists and the sweep has ≥ FPING_MIN_TARGETS ICMP targets (or
 * `icmpMethod: fping`); otherwise `ping` per device. Host names are resolved once per device.
 */
export const reachabilityProbe: KindProbe<ReachabilitySlice> = {
  async run(config, ctx) {
    const cfg = config.reachability;
    const checks = listChecks(config);
    const programs: PingPrograms = {};
    const icmpTargets = new Set(checks.filter((c) => c.check.kind === 'icmp').map((c) => c.device)).size;
    let fping: string | undefined;
    if (icmpTargets > 0) {
      const [p4, p6, f] = await Promise.all([
        findExecutable('ping'),
        findExecutable('ping6'),
        cfg.icmpMethod === 'ping' ? undefined : findExecutable('fping'),
      ]);
      if (p4) programs.ping = p4;
      if (p6) programs.ping6 = p6;
      if (f && (cfg.icmpMethod === 'fping' || icmpTargets >= FPING_MIN_TARGETS)) fping = f;
      if (!p4 && !fping) ctx.log.warn(PING_MISSING);
      if (cfg.icmpMethod === 'fping' && !f) ctx.log.warn('icmpMethod fping: fping not found, using ping');
    }
    const resolutions = new Map<DeviceConfig, Promise<Resolution>>();
    const resolve = (device: DeviceConfig): Promise<Resolution> => {
      let r = resolutions.get(device);
      if (!r) {
        r = resolveHost(device.address, ctx.signal);
        resolutions.set(device, r);
      }
      return r;
    };
    const http = httpAgents();
    const sweep: Sweep = { cfg, programs, resolve, http };
    if (fping) sweep.icmpBatch = fpingBatch(fping, checks, sweep, ctx.signal);
    // Batched ICMP checks only wait for fping: they stay out of the concurrency limit.
    const batched = sweep.icmpBatch !== undefined;
    const isBatched = (c: Check) => batched && c.check.kind === 'icmp';
    const results: ReachabilityResult[] = new Array<ReachabilityResult>(checks.length);
    const indexed = checks.map((c, i) => ({ c, i }));
    try {
      await Promise.all([
        mapLimit(
          indexed.filter(({ c }) => !isBatched(c)),
          cfg.concurrency,
          async ({ c, i }) => {
            results[i] = await runCheck(c, sweep, ctx);
          },
        ),
        ...indexed
          .filter(({ c }) => isBatched(c))
          .map(async ({ c, i }) => {
            results[i] = await runCheck(c, sweep, ctx);
          }),
      ]);
    } finally {
      http.destroy();
    }
    const down = results.filter((r) => !r.up).length;
    ctx.log.debug({ checks: results.length, down, fping: batched }, 'device checks done');
    return results;
  },
};
