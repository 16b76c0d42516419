import type { BandwidthResult, ProbeResult, UplinkSnmpResult } from '../../../protocol/report.js';
import type { TargetsConfig } from './targets/config.js';
import type { Verdict } from './targets/target.js';

const fmt = (x: number) => `${Math.round(x * 10) / 10}`;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Uplink bandwidth (the `uplink` section of config/targets.yaml): measured down and up ≥ tier target × tolerance. A direction misses the
 * target only when each of its last K successful tests missed it (one bad night does not flip a school);
 * fewer than K tests, all below, is not yet a verdict. Failed tests (no measurement) are not counted.
 * `tests` may hold any results; only speed tests are used, newest first after sorting.
 */
export function evaluateUplink(
  tests: readonly ProbeResult[],
  goalMbps: number,
  targets: TargetsConfig,
): Verdict {
  const k = targets.uplink.lastTests;
  const threshold = goalMbps * targets.uplink.tolerance;
  const ok = tests
    .filter((t): t is BandwidthResult => t.probe === 'bandwidth' && t.outcome === 'ok')
    .sort((a, b) => Date.parse(b.at) - Date.parse(a.at));
  const base = { target: 'uplink_bandwidth', goal: goalMbps } as const;
  const rule = `${goalMbps} Mbps × ${targets.uplink.tolerance} = ${fmt(threshold)} Mbps`;
  const verdicts = (['down', 'up'] as const).map((direction) => {
    const last = ok.filter((t) => t.direction === direction).slice(0, k);
    if (last.length === 0)
      return { direction, state: 'no_data' as const, value: undefined, text: `${direction}: no test yet` };
    const below = last.filter((t) => t.mbps < threshold).length;
    const value = median(last.map((t) => t.mbps));
    const text = `${direction} ${fmt(last[0]!.mbps)} Mbps (median of last ${last.length}: ${fmt(value)})`;
    if (below < last.length) return { direction, state: 'met' as const, value, text };
    if (last.length < k) {
      return {
        direction,
        state: 'no_data' as const,
        value,
        text: `${text}: ${below} of ${k} tests below so far`,
      };
    }
    return {
      direction,
      state: 'not_met' as const,
      value,
      text: `${text}: the last ${k} tests were all below`,
    };
  });
  const values = verdicts.map((v) => v.value).filter((v): v is number => v !== undefined);
  const value = values.length > 0 ? Math.round(Math.min(...values) * 100) / 100 : null;
  const reason = `${verdicts.map((v) => v.text).join('; ')}; target ${rule}`;
  if (verdicts.some((v) => v.state === 'not_met')) return { ...base, state: 'not_met', value, reason };
  if (verdicts.every((v) => v.state === 'met')) return { ...base, state: 'met', value, reason };
  if (ok.length === 0) {
    return { ...base, state: 'no_data', value: null, reason: `no speed test reported yet; target ${rule}` };
  }
  return { ...base, state: 'no_data', value, reason };
}

/** "万兆主干、千兆到桌面": every reported core port ≥ coreMinMbps and access port ≥ accessMinMbps (ifHighSpeed). */
export function evaluateBackbone(latest: readonly ProbeResult[], targets: TargetsConfig): Verdict {
  const ports = latest.filter(
    (r): r is UplinkSnmpResult =>
      r.probe === 'uplink-snmp' && r.role !== 'uplink' && r.ifSpeedMbps !== undefined,
  );
  const goal = targets.backbone.coreMinMbps;
  if (ports.length === 0) {
    return {
      target: 'backbone',
      state: 'no_data',
      value: null,
      goal,
      reason: 'no SNMP port speeds reported yet',
    };
  }
  const min = (role: 'core' | 'access') =>
    role === 'core' ? targets.backbone.coreMinMbps : targets.backbone.accessMinMbps;
  const slow = ports.filter((p) => p.ifSpeedMbps! < min(p.role as 'core' | 'access'));
  const core = ports.filter((p) => p.role === 'core').map((p) => p.ifSpeedMbps!);
  const value = core.length > 0 ? Math.min(...core) : Math.min(...ports.map((p) => p.ifSpeedMbps!));
  const counts = `${ports.filter((p) => p.role === 'core').length} core, ${ports.filter((p) => p.role === 'access').length} access ports`;
  if (slow.length === 0) {
    return {
      target: 'backbone',
      state: 'met',
      value,
      goal,
      reason: `${counts} at or above ${targets.backbone.coreMinMbps}/${targets.backbone.accessMinMbps} Mbps`,
    };
  }
  return {
    target: 'backbone',
    state: 'not_met',
    value,
    goal,
    reason: `below target: ${slow.map((p) => `${p.device.name} ${p.ifName} (${p.role}) ${p.ifSpeedMbps} Mbps < ${min(p.role as 'core' | 'access')}`).join(', ')}`,
  };
}
