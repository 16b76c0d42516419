/**
 * The probe kinds, in the order a report lists them. Kept apart from report.ts (the TypeBox schemas)
 * so that the agent's CLI can name its commands without loading them; report.ts checks that both agree.
 */
export const PROBE_NAMES = [
  'host',
  'reachability',
  'bandwidth',
  'uplink-snmp',
  'ipv6',
  'security',
  'live-class',
] as const;
export type ProbeName = (typeof PROBE_NAMES)[number];
