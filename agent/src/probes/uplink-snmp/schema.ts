// The `probes.uplink-snmp` block of the agent's config: its schema and its cross-field checks.
import { type Static, Type } from 'typebox';
import { TagValue } from '../../../../protocol/school.js';
import type { Problem } from '../../../../protocol/validate.js';
import { SnmpAuth } from '../../inventory-config.js';
import { Seconds } from '../lib/config-parts.js';

const IfRef = {
  ifName: Type.Optional(TagValue('interface name (ifName or ifDescr)', 128)),
  ifIndex: Type.Optional(Type.Integer({ minimum: 1, maximum: 2 ** 31 - 1 })),
};

export const UplinkSnmpConfig = Type.Object(
  {
    enabled: Type.Boolean({
      default: false,
      description: 'read the border router over SNMP (needs device and uplink)',
    }),
    intervalS: Seconds(60, 10, 86_400, 'seconds between two reads of the counters'),
    timeoutS: Seconds(20, 1, 3_600, 'a read is abandoned after this many seconds'),
    device: Type.Optional(
      Type.Object(
        {
          name: TagValue('border router name'),
          address: Type.String({
            minLength: 1,
            maxLength: 255,
            description: 'its IPv4/IPv6 address or host name',
          }),
        },
        { additionalProperties: false, description: 'the border router: required when enabled' },
      ),
    ),
    snmp: SnmpAuth,
    uplink: Type.Optional(
      Type.Object(IfRef, {
        additionalProperties: false,
        description: 'the uplink interface (exactly one of ifName, ifIndex): required when enabled',
      }),
    ),
    ports: Type.Array(
      Type.Object(
        {
          ...IfRef,
          role: Type.Enum(['core', 'access'], {
            description: 'core: must run at 10 Gbit/s or more; access: 1 Gbit/s or more',
          }),
        },
        { additionalProperties: false },
      ),
      { default: [], maxItems: 1024, description: 'ports whose speed is checked (backbone target)' },
    ),
  },
  { additionalProperties: false, default: {} },
);
export type UplinkSnmpConfig = Static<typeof UplinkSnmpConfig>;

/** Cross-field checks of `probes.uplink-snmp` (paths from the config's root). */
export function uplinkSnmpProblems(snmp: UplinkSnmpConfig): Problem[] {
  const problems: Problem[] = [];
  if (snmp.enabled) {
    if (!snmp.device)
      problems.push({ path: 'probes/uplink-snmp/device', message: 'is required when the probe is enabled' });
    if (!snmp.uplink)
      problems.push({ path: 'probes/uplink-snmp/uplink', message: 'is required when the probe is enabled' });
  }
  const ifRefs: [string, { ifName?: string; ifIndex?: number } | undefined][] = [
    ['probes/uplink-snmp/uplink', snmp.uplink],
    ...snmp.ports.map((p, i): [string, typeof p] => [`probes/uplink-snmp/ports/${i}`, p]),
  ];
  for (const [path, ref] of ifRefs) {
    if (ref && (ref.ifName === undefined) === (ref.ifIndex === undefined)) {
      problems.push({ path, message: 'needs exactly one of ifName or ifIndex' });
    }
  }
  if (snmp.snmp.version === '2c' && snmp.enabled && !snmp.snmp.community) {
    problems.push({ path: 'probes/uplink-snmp/snmp/community', message: 'is required for SNMP v2c' });
  }
  if (snmp.snmp.version === '3' && (!snmp.snmp.user || !snmp.snmp.authKey || !snmp.snmp.privKey)) {
    problems.push({
      path: 'probes/uplink-snmp/snmp',
      message: 'SNMP v3 needs user, authKey and privKey (authPriv)',
    });
  }
  return problems;
}
