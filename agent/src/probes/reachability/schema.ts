// The `probes.reachability` block of the agent's config: its schema and its cross-field checks.
import { type Static, Type } from 'typebox';
import { ProbeCommon } from '../lib/config-parts.js';

export const ReachabilityConfig = Type.Object(
  {
    ...ProbeCommon(60, 30),
    pingCount: Type.Integer({
      default: 3,
      minimum: 1,
      maximum: 20,
      description: 'ICMP echoes per device',
    }),
    tcpTimeoutMs: Type.Integer({
      default: 3000,
      minimum: 100,
      maximum: 60_000,
      description: 'per connect',
    }),
    concurrency: Type.Integer({
      default: 16,
      minimum: 1,
      maximum: 1024,
      description: 'devices checked at once',
    }),
    snmpWalkMaxRows: Type.Integer({
      default: 10_000,
      minimum: 100,
      maximum: 1_000_000,
      description: "rows of a device's ifOperStatus walk read at most (the rest is cut, and said so)",
    }),
    snmpWalkTimeShare: Type.Number({
      default: 0.25,
      minimum: 0.01,
      maximum: 1,
      description:
        "share of timeoutS one device's SNMP check may walk at most before the walk is cut (an endless table frees its slot)",
    }),
    /** ICMP: one fping process for the sweep (auto: when fping exists and the sweep is large), or ping per device. */
    icmpMethod: Type.Enum(['auto', 'fping', 'ping'], {
      description:
        'ICMP: one fping process for the sweep (auto: when fping exists and the sweep is large), or ping per device.',
      default: 'auto',
    }),
  },
  { additionalProperties: false, default: {} },
);
export type ReachabilityConfig = Static<typeof ReachabilityConfig>;
