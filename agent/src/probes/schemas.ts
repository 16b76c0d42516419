// Every probe kind's config block and its cross-field checks, one line each, from the kinds' folders
// (agent/src/probes/<kind>/schema.ts). agent/src/config.ts assembles `probes` from this map; the types make it
// complete: a probe kind added to protocol/probe-names.ts without its schema here does not compile.
import type { Static, TSchema } from 'typebox';
import { PROBE_NAMES, type ProbeName } from '../../../protocol/probe-names.js';
import type { Problem } from '../../../protocol/validate.js';
import { BandwidthConfig, bandwidthProblems } from './bandwidth/schema.js';
import { HostConfig } from './host/schema.js';
import { Ipv6Config } from './ipv6/schema.js';
import { LiveClassConfig, liveClassProblems } from './live-class/schema.js';
import { ReachabilityConfig } from './reachability/schema.js';
import { SecurityConfig } from './security/schema.js';
import { UplinkSnmpConfig, uplinkSnmpProblems } from './uplink-snmp/schema.js';

/** The `probes` block's keys in the order of the probe kinds (the order of the config reference, too). */
export const PROBE_SCHEMAS = {
  host: HostConfig,
  reachability: ReachabilityConfig,
  bandwidth: BandwidthConfig,
  'uplink-snmp': UplinkSnmpConfig,
  ipv6: Ipv6Config,
  security: SecurityConfig,
  'live-class': LiveClassConfig,
} satisfies Record<ProbeName, TSchema>;

/** Each kind's block as the config holds it after validation (defaults applied). */
export type ProbeBlocks = { [K in ProbeName]: Static<(typeof PROBE_SCHEMAS)[K]> };

/** A kind's cross-field checks of its own block: problems with paths from the config's root. */
export type ProbeCrossCheck<K extends ProbeName> = (block: ProbeBlocks[K]) => Problem[];

/** The kinds whose block has checks that a schema cannot say (one field required by another, sums, SNMP v3 keys). */
export const PROBE_CROSS_CHECKS: { readonly [K in ProbeName]?: ProbeCrossCheck<K> } = {
  bandwidth: bandwidthProblems,
  'uplink-snmp': uplinkSnmpProblems,
  'live-class': liveClassProblems,
};

function kindProblems<K extends ProbeName>(kind: K, probes: ProbeBlocks): Problem[] {
  const check = PROBE_CROSS_CHECKS[kind];
  return check ? check(probes[kind]) : [];
}

/** Every kind's cross-field checks, in the order of the probe kinds. */
export function probeBlockProblems(probes: ProbeBlocks): Problem[] {
  return PROBE_NAMES.flatMap((kind) => kindProblems(kind, probes));
}
