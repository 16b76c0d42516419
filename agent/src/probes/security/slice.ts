// What the security scan sees of the agent's config: its own block, the inventory's devices with their
// resolved checks, and the configured SNMP secrets it must never report.
import type { DeviceRef } from '../../../../protocol/report.js';
import type { AgentConfig } from '../../config.js';
import { deviceChecks, type ResolvedCheck } from '../../inventory.js';
import type { SecurityConfig } from './schema.js';

/** The two communities every SNMP agent ships with: tried by the scan, so never counted as secrets. */
export const DEFAULT_COMMUNITIES = ['public', 'private'] as const;

/** One inventory device as the scan sees it: where it is, and which of its checks say where SNMP and RTSP listen. */
export interface SecurityDevice {
  ref: DeviceRef;
  checks: ResolvedCheck[];
}

/** The security probe's slice of the agent's config. */
export interface SecuritySlice {
  /** `probes.security`. */
  security: SecurityConfig;
  /** Every device of every room (the scan looks at the inventory's devices only). */
  devices: SecurityDevice[];
  /** Every configured SNMP secret except the well-known defaults: redacted from evidence and errors. */
  secrets: string[];
}

/** Every configured SNMP secret (communities and v3 keys) except the well-known defaults. */
export function configuredSecrets(config: AgentConfig): string[] {
  const out = new Set<string>();
  const add = (o: { community?: string; authKey?: string; privKey?: string } | undefined) => {
    for (const v of [o?.community, o?.authKey, o?.privKey]) if (v) out.add(v);
  };
  add(config.inventory.snmp);
  add(config.probes['uplink-snmp'].snmp);
  for (const room of config.rooms) {
    add(room.defaults?.snmp);
    for (const d of room.devices) {
      for (const c of deviceChecks(config, room, d)) if (c.kind === 'snmp') add(c.auth);
    }
  }
  for (const d of DEFAULT_COMMUNITIES) out.delete(d);
  return [...out];
}

export function securitySlice(config: AgentConfig): SecuritySlice {
  const devices: SecurityDevice[] = [];
  for (const room of config.rooms) {
    for (const device of room.devices) {
      devices.push({
        ref: {
          name: device.name,
          address: device.address,
          type: device.type,
          room: room.name,
          roomType: room.type,
          critical: device.critical,
        },
        checks: deviceChecks(config, room, device),
      });
    }
  }
  return { security: config.probes.security, devices, secrets: configuredSecrets(config) };
}
