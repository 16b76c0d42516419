import type { ProbeName } from '../../../protocol/report.js';
import { bandwidthProbe } from './bandwidth.js';
import { hostProbe } from './host.js';
import { ipv6Probe } from './ipv6.js';
import type { Probe } from './probe.js';
import { reachabilityProbe } from './reachability.js';
import { securityProbe } from './security.js';
import { uplinkSnmpProbe } from './uplink-snmp.js';

/** Every probe kind by name (DESIGN §7.1): an explicit map, no magic loading. */
export const PROBES: Record<ProbeName, Probe> = {
  host: hostProbe,
  reachability: reachabilityProbe,
  bandwidth: bandwidthProbe,
  'uplink-snmp': uplinkSnmpProbe,
  ipv6: ipv6Probe,
  security: securityProbe,
};
