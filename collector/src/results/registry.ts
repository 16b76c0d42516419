// Every probe kind's result module, one line each. The type makes the list complete: a probe kind added to
// protocol/probe-names.ts without a module here does not compile.
import { PROBE_NAMES, type ProbeName } from '../../../protocol/probe-names.js';
import type { ProbeResult } from '../../../protocol/report.js';
import { bandwidthResults } from './bandwidth.js';
import { hostResults } from './host.js';
import { ipv6Results } from './ipv6.js';
import { liveClassResults } from './live-class.js';
import { reachabilityResults } from './reachability.js';
import type { ResultKind, RollupMeasurement } from './result-kind.js';
import { securityResults } from './security.js';
import { uplinkSnmpResults } from './uplink-snmp.js';

export const RESULT_KINDS: { readonly [K in ProbeName]: ResultKind<Extract<ProbeResult, { probe: K }>> } = {
  host: hostResults,
  reachability: reachabilityResults,
  bandwidth: bandwidthResults,
  'uplink-snmp': uplinkSnmpResults,
  ipv6: ipv6Results,
  security: securityResults,
  'live-class': liveClassResults,
};

/** The module of a result's kind. */
export function resultKindOf<R extends ProbeResult>(r: R): ResultKind<R> {
  // (the compiler cannot relate RESULT_KINDS[r.probe] to R: the mapped type above makes it so)
  return RESULT_KINDS[r.probe as ProbeName] as unknown as ResultKind<R>;
}

/** The probe kinds' rolled-up measurements, in the order of the probe kinds. */
export const RESULT_ROLLUPS: readonly RollupMeasurement[] = PROBE_NAMES.flatMap(
  (probe) => RESULT_KINDS[probe].rollups,
);
