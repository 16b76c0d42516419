import type { ProbeName } from '../../../protocol/probe-names.js';
import { bandwidthKind } from './bandwidth/index.js';
import { hostKind } from './host/index.js';
import { ipv6Kind } from './ipv6/index.js';
import { liveClassKind } from './live-class/index.js';
import type { Probe, ProbeKind } from './probe.js';
import { reachabilityKind } from './reachability/index.js';
import { securityKind } from './security/index.js';
import { uplinkSnmpKind } from './uplink-snmp/index.js';

/**
 * A kind from its folder (agent/src/probes/<kind>/index.ts): loaded when it first runs, handed only its
 * slice of the config, and the collector's credentials only when it declares that it needs them.
 */
export function fromKind<Slice>(k: ProbeKind<Slice>): Probe {
  let loaded: ReturnType<ProbeKind<Slice>['load']> | undefined;
  return {
    kind: k.kind,
    async run(config, ctx) {
      loaded ??= k.load();
      const probe = await loaded;
      const { credentials, ...rest } = ctx;
      return probe.run(k.slice(config), k.needsCredentials && credentials ? { ...rest, credentials } : rest);
    },
  };
}

/** Every probe kind by name (docs/architecture.md, "Probes"): an explicit map, no magic loading. */
export const PROBES: Record<ProbeName, Probe> = {
  host: fromKind(hostKind),
  reachability: fromKind(reachabilityKind),
  bandwidth: fromKind(bandwidthKind),
  'uplink-snmp': fromKind(uplinkSnmpKind),
  ipv6: fromKind(ipv6Kind),
  security: fromKind(securityKind),
  'live-class': fromKind(liveClassKind),
};
