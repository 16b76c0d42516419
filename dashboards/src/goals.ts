/**
 * The informatization goals the dashboards draw (thresholds, titles, descriptions), read from
 * `config/targets.yaml` at build time: the numbers live in that file only (the targets are configurable, the dashboards follow them).
 */
import { DEFAULT_TARGETS_FILE, loadTargets, type TargetsConfig } from '../../collector/src/targets.js';

export type { TargetsConfig };

export function loadGoals(file: string = DEFAULT_TARGETS_FILE): TargetsConfig {
  return loadTargets(file);
}

/** Share of schools that must meet a target for which targets.yaml sets no district goal: all of them. */
export const ALL_SCHOOLS_PCT = 100;

const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;

/** Severities above `security.maxOpenSeverity`: an open finding of one of these fails the security target. */
export function failingSeverities(t: TargetsConfig): string[] {
  const max = t.security.maxOpenSeverity;
  return max === 'none' ? [...SEVERITIES].reverse() : SEVERITIES.slice(SEVERITIES.indexOf(max) + 1).reverse();
}

/** `"severity" =~ /^(critical|high)$/` for the failing severities. */
export function failingSeverityCondition(t: TargetsConfig): string {
  return `"severity" =~ /^(${failingSeverities(t).join('|')})$/`;
}

/** `300/500/1000 Mbps` */
export function tierText(t: TargetsConfig): string {
  const { small, medium, large } = t.uplink.tiers;
  return `small ${small.mbps}, medium ${medium.mbps}, large ${large.mbps} Mbps`;
}

/** `Mon–Fri 07:30–17:30` (days as configured). */
export function teachingHoursText(t: TargetsConfig): string {
  const h = t.deviceAvailability.teachingHours;
  const days = h.days.map((d) => d[0]!.toUpperCase() + d.slice(1)).join(',');
  return `${days} ${h.start}–${h.end}`;
}

/** 10000 → `10G`, 1000 → `1G`, 300 → `300M`. */
export function speedText(mbps: number): string {
  return mbps >= 1000 && mbps % 1000 === 0 ? `${mbps / 1000}G` : `${mbps}M`;
}
