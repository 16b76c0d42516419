import { setTimeout as delay } from 'node:timers/promises';
import type { Outcome, UplinkSnmpResult } from '../../../../protocol/report.js';
import { elapsedMs, resolveHost } from '../lib/net-util.js';
import {
  asNumber,
  classify,
  counter64,
  DEFAULT_WALK_MAX_ROWS,
  DEFAULT_WALK_TIME_SHARE,
  IF_OPER_UP,
  OID,
  ProbeAbortedError,
  SnmpClient,
  type SnmpFailure,
} from '../lib/snmp.js';
import type { KindProbe, ProbeContext } from '../probe.js';
import { type CounterSample, counterRate, utilPct } from './counter-rate.js';
import { type IfFound, type IfTarget, listTargets, resolveInterfaces, tagSafe } from './interfaces.js';
import type { UplinkSnmpConfig } from './schema.js';

/**
 * The school's border router over SNMP (measurement `uplink_snmp`; the `backbone` and `uplink_bandwidth` targets): the uplink's in/out
 * rate from two readings of its 64-bit octet counters, and the speed and state of the listed core and
 * access ports. SNMP v2c (community) or v3 authPriv. Interfaces are configured by ifName (matched
 * against ifName, then ifDescr) or by ifIndex.
 */

/** Pause before the second reading when no earlier reading of the uplink is kept. */
export const FIRST_POLL_PAUSE_MS = 5000;
/** Below this a second reading is not worth taking (agents cache counters for a few seconds). */
const MIN_PAUSE_MS = 1000;
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

type Failure = SnmpFailure;

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
export function createUplinkSnmpProbe(options: UplinkSnmpOptions = {}): KindProbe<UplinkSnmpConfig> {
  const samples = options.samples ?? SAMPLES;
  const firstPollPauseMs = options.firstPollPauseMs ?? FIRST_POLL_PAUSE_MS;

  return {
    async run(cfg: UplinkSnmpConfig, ctx: ProbeContext): Promise<UplinkSnmpResult[]> {
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

/** The agent's uplink-snmp probe (kind 'uplink-snmp', registered by index.ts). */
export const uplinkSnmpProbe: KindProbe<UplinkSnmpConfig> = createUplinkSnmpProbe();
