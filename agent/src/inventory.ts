import { isIP } from 'node:net';
import { Value } from 'typebox/value';
import type { Problem } from '../../protocol/validate.js';
import {
  DEVICE_TYPES,
  isDeviceType,
  isRoomType,
  ROOM_TYPES,
  unknownWordMessage,
} from '../../protocol/vocabulary.js';
import {
  BUILTIN_TYPE_CHECKS,
  type CheckSpec,
  type DeviceConfig,
  type RoomConfig,
  type SiteInventory,
  SnmpAuth,
  type SnmpOverride,
} from './inventory-config.js';

/**
 * The school's inventory turned into the checks to run. Which checks a device gets, first match wins:
 * the device's own `checks` (or the legacy `icmp`/`tcp` keys), the room's `defaults.checks`,
 * `inventory.deviceTypeDefaults[type]`, the defaults of its type (built-in, or for a custom type its
 * `inventory.customDeviceTypes[].checks`, else icmp). SNMP settings are merged
 * field by field: SnmpAuth defaults ← inventory.snmp ← room.defaults.snmp ← the check's own.
 */

export const DEFAULT_RTSP_PORT = 554;

export type ResolvedCheck =
  | { kind: 'icmp' }
  | { kind: 'tcp'; port: number }
  | { kind: 'rtsp'; port: number; path: string }
  | { kind: 'http'; url: string; expectStatus?: number[] }
  | { kind: 'snmp'; auth: SnmpAuth };

/** Where a device's checks came from; `custom`: its type's entry in inventory.customDeviceTypes. */
export type ChecksSource = 'device' | 'legacy' | 'room' | 'inventory' | 'built-in' | 'custom';

/** The checks of a custom device type declared without `checks`. */
export const CUSTOM_TYPE_CHECKS: readonly CheckSpec[] = ['icmp'];

/** The address as it goes into a URL host (`[::1]` for IPv6 literals). */
export function urlHost(address: string): string {
  const bare = address.replace(/^\[(.*)\]$/, '$1');
  return isIP(bare) === 6 ? `[${bare}]` : bare;
}

const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** An IPv4/IPv6 literal (IPv6 optionally in brackets) or an RFC 1123 host name (last label not all digits). */
export function isAddressOrHostName(address: string): boolean {
  const bare = address.replace(/^\[(.*)\]$/, '$1');
  if (isIP(bare) !== 0) return bare === address || isIP(bare) === 6;
  if (address.length > 253) return false;
  const labels = address.replace(/\.$/, '').split('.');
  if (!labels.every((l) => LABEL.test(l))) return false;
  // "10.203.1.300" is not a host name: a top-level label is never all digits.
  return !/^\d+$/.test(labels[labels.length - 1] ?? '');
}

function withoutUndefined(o: SnmpOverride | undefined): SnmpOverride {
  return Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as SnmpOverride;
}

export function snmpSettings(
  config: SiteInventory,
  room: RoomConfig,
  own: SnmpOverride | undefined,
): SnmpAuth {
  const base = Value.Default(SnmpAuth, {}) as SnmpAuth;
  return {
    ...base,
    ...withoutUndefined(config.inventory.snmp),
    ...withoutUndefined(room.defaults?.snmp),
    ...withoutUndefined(own),
  };
}

/** The check specs of a device and where they came from. */
export function checkSpecs(
  config: SiteInventory,
  room: RoomConfig,
  device: DeviceConfig,
): { specs: readonly CheckSpec[]; source: ChecksSource } {
  if (device.checks) return { specs: device.checks, source: 'device' };
  if (device.icmp !== undefined || device.tcp !== undefined) {
    const specs: CheckSpec[] = device.icmp === false ? [] : ['icmp'];
    for (const port of device.tcp ?? []) specs.push({ tcp: port });
    return { specs, source: 'legacy' };
  }
  if (room.defaults?.checks) return { specs: room.defaults.checks, source: 'room' };
  const fromInventory = config.inventory.deviceTypeDefaults[device.type];
  if (fromInventory) return { specs: fromInventory, source: 'inventory' };
  return typeChecks(config, device.type);
}

/**
 * The default checks of a device type: the built-in ones, or a custom type's own (icmp unless it gives
 * `checks`). A type that is neither (refused when the config is loaded) gets those of `other`.
 */
export function typeChecks(
  config: SiteInventory,
  type: string,
): { specs: readonly CheckSpec[]; source: 'built-in' | 'custom' } {
  if (isDeviceType(type)) return { specs: BUILTIN_TYPE_CHECKS[type], source: 'built-in' };
  const custom = config.inventory.customDeviceTypes.find((t) => t.name === type);
  if (custom) return { specs: custom.checks ?? CUSTOM_TYPE_CHECKS, source: 'custom' };
  return { specs: BUILTIN_TYPE_CHECKS.other, source: 'built-in' };
}

/** Every room type the config may use: the built-in ones, then its custom ones. */
export function knownRoomTypes(config: SiteInventory): string[] {
  return [...new Set([...ROOM_TYPES, ...config.inventory.customRoomTypes])];
}

/** Every device type the config may use: the built-in ones, then its custom ones. */
export function knownDeviceTypes(config: SiteInventory): string[] {
  return [...new Set([...DEVICE_TYPES, ...config.inventory.customDeviceTypes.map((t) => t.name)])];
}

const ROOM_TYPE_HINT = 'declare custom ones in inventory.customRoomTypes';
const DEVICE_TYPE_HINT = 'declare custom ones in inventory.customDeviceTypes';

/**
 * The vocabularies: custom types must be new names (not a built-in one, not twice); every room type,
 * device type and key of deviceTypeDefaults must be known, else the message suggests the nearest.
 */
function vocabularyProblems(config: SiteInventory): Problem[] {
  const problems: Problem[] = [];
  const inv = config.inventory;
  const declared = (
    what: 'room' | 'device',
    names: readonly string[],
    builtIn: (n: string) => boolean,
    path: (i: number) => string,
  ) => {
    const seen = new Set<string>();
    names.forEach((name, i) => {
      if (builtIn(name)) {
        problems.push({
          path: path(i),
          message: `${JSON.stringify(name)} is a built-in ${what} type: use it without declaring it`,
        });
      } else if (seen.has(name)) {
        problems.push({ path: path(i), message: `${JSON.stringify(name)} is declared twice` });
      }
      seen.add(name);
    });
  };
  declared('room', inv.customRoomTypes, isRoomType, (i) => `inventory/customRoomTypes/${i}`);
  declared(
    'device',
    inv.customDeviceTypes.map((t) => t.name),
    isDeviceType,
    (i) => `inventory/customDeviceTypes/${i}/name`,
  );
  const roomTypes = knownRoomTypes(config);
  const deviceTypes = knownDeviceTypes(config);
  const roomTypeSet = new Set(roomTypes);
  const deviceTypeSet = new Set(deviceTypes);
  for (const type of Object.keys(inv.deviceTypeDefaults)) {
    if (!deviceTypeSet.has(type)) {
      problems.push({
        path: `inventory/deviceTypeDefaults/${type}`,
        message: unknownWordMessage('device type', type, deviceTypes, DEVICE_TYPE_HINT),
      });
    }
  }
  config.rooms.forEach((room, r) => {
    if (!roomTypeSet.has(room.type)) {
      problems.push({
        path: `rooms/${r}/type`,
        message: unknownWordMessage('room type', room.type, roomTypes, ROOM_TYPE_HINT),
      });
    }
    room.devices.forEach((d, i) => {
      if (!deviceTypeSet.has(d.type)) {
        problems.push({
          path: `rooms/${r}/devices/${i}/type`,
          message: unknownWordMessage('device type', d.type, deviceTypes, DEVICE_TYPE_HINT),
        });
      }
    });
  });
  return problems;
}

export function resolveSpec(
  spec: CheckSpec,
  config: SiteInventory,
  room: RoomConfig,
  device: DeviceConfig,
): ResolvedCheck {
  if (spec === 'icmp') return { kind: 'icmp' };
  if ('tcp' in spec) return { kind: 'tcp', port: spec.tcp };
  if ('rtsp' in spec)
    return { kind: 'rtsp', port: spec.rtsp.port ?? DEFAULT_RTSP_PORT, path: spec.rtsp.path ?? '/' };
  if ('http' in spec) {
    const c: ResolvedCheck = { kind: 'http', url: spec.http.url ?? `http://${urlHost(device.address)}/` };
    if (spec.http.expectStatus) c.expectStatus = spec.http.expectStatus;
    return c;
  }
  return { kind: 'snmp', auth: snmpSettings(config, room, spec.snmp) };
}

/** Every check a device runs, with its settings resolved. */
export function deviceChecks(config: SiteInventory, room: RoomConfig, device: DeviceConfig): ResolvedCheck[] {
  return checkSpecs(config, room, device).specs.map((s) => resolveSpec(s, config, room, device));
}

/** A short label of a check for tables: `icmp`, `tcp/80`, `rtsp/554`, `http`, `snmp v3`. */
export function checkLabel(c: ResolvedCheck): string {
  switch (c.kind) {
    case 'icmp':
      return 'icmp';
    case 'tcp':
      return `tcp/${c.port}`;
    case 'rtsp':
      return `rtsp/${c.port}`;
    case 'http':
      return 'http';
    case 'snmp':
      return `snmp v${c.auth.version}`;
  }
}

export function snmpCredentialProblem(auth: SnmpAuth): string | undefined {
  if (auth.version === '3' && (!auth.user || !auth.authKey || !auth.privKey))
    return 'the snmp check needs SNMP v3 user, authKey and privKey (authPriv): set them in inventory.snmp, the room’s defaults.snmp or the check';
  if (auth.version === '2c' && !auth.community)
    return 'the snmp check needs SNMP credentials: a community (v2c) or a v3 user with keys, in inventory.snmp, the room’s defaults.snmp or the check';
  return undefined;
}

/**
 * Cross-field rules of the inventory: room and device types, names, addresses, legacy keys,
 * SNMP credentials.
 */
export function inventoryProblems(config: SiteInventory): Problem[] {
  const problems: Problem[] = vocabularyProblems(config);
  // a device's name is its identity in the school's results (the collector keeps one latest result per name and
  // check, and refuses a report that holds a name twice), so names are unique across the rooms, not only in one
  const roomOf = new Map<string, string>();
  config.rooms.forEach((room, r) => {
    room.devices.forEach((d, i) => {
      const base = `rooms/${r}/devices/${i}`;
      const earlier = roomOf.get(d.name);
      if (earlier === room.name) {
        problems.push({
          path: `${base}/name`,
          message: `duplicate device name ${JSON.stringify(d.name)} in room ${JSON.stringify(room.name)}`,
        });
      } else if (earlier !== undefined) {
        problems.push({
          path: `${base}/name`,
          message: `device name ${JSON.stringify(d.name)} is used in room ${JSON.stringify(earlier)} too: a device's name identifies it in the school's results, give each its own (e.g. ${JSON.stringify(`${d.name} ${room.name}`)})`,
        });
      }
      if (earlier === undefined) roomOf.set(d.name, room.name);
      if (!isAddressOrHostName(d.address)) {
        problems.push({
          path: `${base}/address`,
          message: `${JSON.stringify(d.address)} is not an IP address or host name`,
        });
      }
      if (d.checks && (d.icmp !== undefined || d.tcp !== undefined)) {
        problems.push({
          path: `${base}/checks`,
          message: 'use either checks or the legacy icmp/tcp keys, not both',
        });
      }
      const { specs, source } = checkSpecs(config, room, d);
      const snmp = specs.find(
        (s): s is Extract<CheckSpec, { snmp: unknown }> => typeof s === 'object' && 'snmp' in s,
      );
      if (snmp) {
        const problem = snmpCredentialProblem(snmpSettings(config, room, snmp.snmp));
        if (problem) {
          problems.push({
            path: source === 'device' ? `${base}/checks` : base,
            message:
              source === 'device'
                ? problem
                : `${problem} (the ${source} default checks of a ${d.type} include snmp)`,
          });
        }
      }
    });
  });
  return problems;
}
