import type { ProbeKind } from '../probe.js';
import type { UplinkSnmpConfig } from './schema.js';

/**
 * The uplink-snmp kind (README.md beside this file): the probe sees only its `probes.uplink-snmp` block (the
 * border router, its SNMP credentials, the uplink and the ports); net-snmp is loaded with its first run.
 */
export const uplinkSnmpKind: ProbeKind<UplinkSnmpConfig> = {
  kind: 'uplink-snmp',
  slice: (config) => config.probes['uplink-snmp'],
  load: async () => (await import('./probe.js')).uplinkSnmpProbe,
};
