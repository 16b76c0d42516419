import type { ProbeName } from '../../../protocol/probe-names.js';
import type { Probe, ProbeKind } from './probe.js';

/**
 * A probe whose module is loaded when it first runs: an agent that never runs the speed test or the
 * security scan does not carry their libraries (SNMP, TLS scanning, systeminformation) in memory, and a
 * one-shot CLI command starts fast.
 */
function lazy(kind: ProbeName, load: () => Promise<Probe>): Probe {
  let loaded: Promise<Probe> | undefined;
  return {
    kind,
    async run(config, ctx) {
      loaded ??= load();
      return (await loaded).run(config, ctx);
    },
  };
}

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
  host: lazy('host', async () => (await import('./host.js')).hostProbe),
  reachability: lazy('reachability', async () => (await import('./reachability.js')).reachabilityProbe),
  bandwidth: lazy('bandwidth', async () => (await import('./bandwidth.js')).bandwidthProbe),
  'uplink-snmp': lazy('uplink-snmp', async () => (await import('./uplink-snmp.js')).uplinkSnmpProbe),
  ipv6: lazy('ipv6', async () => (await import('./ipv6.js')).ipv6Probe),
  security: lazy('security', async () => (await import('./security.js')).securityProbe),
};
