// The school's inventory in the agent config: rooms, devices, the checks of each and the SNMP settings they
// use. Its own module so that inventory.ts (which resolves and checks it) and config.ts (which assembles the
// whole agent config and runs inventory.ts's checks) do not import each other.
import { type Static, Type } from 'typebox';
import { TAG_VALUE_PATTERN, TagValue } from '../../protocol/school.js';
import type { DeviceType } from '../../protocol/vocabulary.js';

export const SnmpAuth = Type.Object(
  {
    version: Type.Enum(['2c', '3'], { default: '2c' }),
    community: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    user: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    authProtocol: Type.Enum(['md5', 'sha', 'sha224', 'sha256', 'sha384', 'sha512'], { default: 'sha' }),
    authKey: Type.Optional(Type.String({ minLength: 8, maxLength: 256 })),
    privProtocol: Type.Enum(['des', 'aes', 'aes256b', 'aes256r'], { default: 'aes' }),
    privKey: Type.Optional(Type.String({ minLength: 8, maxLength: 256 })),
    port: Type.Integer({ default: 161, minimum: 1, maximum: 65535 }),
    timeoutMs: Type.Integer({ default: 3000, minimum: 100, maximum: 60_000 }),
    retries: Type.Integer({ default: 1, minimum: 0, maximum: 5 }),
  },
  { additionalProperties: false, default: {} },
);
export type SnmpAuth = Static<typeof SnmpAuth>;

/** SNMP settings without defaults: merged field by field inventory.snmp ← room.defaults.snmp ← check. */
export const SnmpOverride = Type.Object(
  {
    version: Type.Optional(Type.Enum(['2c', '3'])),
    community: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    user: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    authProtocol: Type.Optional(Type.Enum(['md5', 'sha', 'sha224', 'sha256', 'sha384', 'sha512'])),
    authKey: Type.Optional(Type.String({ minLength: 8, maxLength: 256 })),
    privProtocol: Type.Optional(Type.Enum(['des', 'aes', 'aes256b', 'aes256r'])),
    privKey: Type.Optional(Type.String({ minLength: 8, maxLength: 256 })),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 60_000 })),
    retries: Type.Optional(Type.Integer({ minimum: 0, maximum: 5 })),
  },
  { additionalProperties: false },
);
export type SnmpOverride = Static<typeof SnmpOverride>;

const Port = Type.Integer({ minimum: 1, maximum: 65535 });

/** One check of a device: `icmp`, `{ tcp: 80 }`, `{ rtsp: {…} }`, `{ http: {…} }` or `{ snmp: {…} }`. */
export const CheckSpec = Type.Union([
  Type.Literal('icmp'),
  Type.Object({ tcp: Port }, { additionalProperties: false }),
  Type.Object(
    {
      rtsp: Type.Object(
        {
          port: Type.Optional(Port),
          path: Type.Optional(Type.String({ pattern: '^/[^\\s]*$', maxLength: 500 })),
        },
        { additionalProperties: false },
      ),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      http: Type.Object(
        {
          url: Type.Optional(Type.String({ pattern: '^https?://[^\\s/]+(/\\S*)?$', maxLength: 2000 })),
          expectStatus: Type.Optional(
            Type.Array(Type.Integer({ minimum: 100, maximum: 599 }), { minItems: 1, maxItems: 32 }),
          ),
        },
        { additionalProperties: false },
      ),
    },
    { additionalProperties: false },
  ),
  Type.Object({ snmp: SnmpOverride }, { additionalProperties: false }),
]);
export type CheckSpec = Static<typeof CheckSpec>;

const CheckList = Type.Array(CheckSpec, { maxItems: 64 });

/** Built-in default checks per device type (overridden by inventory.deviceTypeDefaults, room and device). */
export const BUILTIN_TYPE_CHECKS: Readonly<Record<DeviceType, readonly CheckSpec[]>> = {
  camera: ['icmp', { rtsp: {} }],
  encoder: ['icmp', { rtsp: {} }],
  recorder: ['icmp', { http: {} }, { snmp: {} }],
  nvr: ['icmp', { http: {} }, { rtsp: {} }],
  switch: [{ snmp: {} }],
  router: [{ snmp: {} }],
  ap: ['icmp', { snmp: {} }],
  panel: ['icmp'],
  projector: ['icmp'],
  server: ['icmp'],
  pc: ['icmp'],
  other: ['icmp'],
};

export const DeviceConfig = Type.Object(
  {
    name: TagValue('device name'),
    /** A built-in device type or one of inventory.customDeviceTypes (checked with the inventory). */
    type: Type.String({
      minLength: 1,
      maxLength: 64,
      pattern: TAG_VALUE_PATTERN,
      default: 'other',
      description: 'device type: recorder, encoder, camera, panel, … or a custom one',
    }),
    address: Type.String({ minLength: 1, maxLength: 255, description: 'IPv4/IPv6 address or host name' }),
    critical: Type.Boolean({ default: true }),
    /** The checks to run; default: the room's, then the device type's. */
    checks: Type.Optional(CheckList),
    /** Legacy (before `checks`): ICMP on/off (default on when `tcp` is given). */
    icmp: Type.Optional(Type.Boolean()),
    /** Legacy (before `checks`): TCP ports to connect to. */
    tcp: Type.Optional(Type.Array(Port, { maxItems: 32 })),
  },
  { additionalProperties: false },
);
export type DeviceConfig = Static<typeof DeviceConfig>;

export const RoomConfig = Type.Object(
  {
    name: TagValue('room name'),
    /** A built-in room type or one of inventory.customRoomTypes (checked with the inventory). */
    type: TagValue('room type: recording, smart, classroom, lab, core, ap, … or a custom one', 64),
    building: Type.Optional(Type.String({ maxLength: 200 })),
    floor: Type.Optional(
      Type.Union([Type.Integer({ minimum: -10, maximum: 200 }), Type.String({ maxLength: 50 })]),
    ),
    defaults: Type.Optional(
      Type.Object(
        { checks: Type.Optional(CheckList), snmp: Type.Optional(SnmpOverride) },
        { additionalProperties: false },
      ),
    ),
    devices: Type.Array(DeviceConfig, { default: [], maxItems: 5000 }),
  },
  { additionalProperties: false },
);
export type RoomConfig = Static<typeof RoomConfig>;

export const InventoryConfig = Type.Object(
  {
    /** Room types beyond the built-in ones (protocol/vocabulary.ts ROOM_TYPES). */
    customRoomTypes: Type.Array(TagValue('custom room type', 64), {
      description: 'Room types beyond the built-in ones (protocol/vocabulary.ts ROOM_TYPES).',
      default: [],
      maxItems: 64,
    }),
    /** Device types beyond the built-in ones; their default checks are `checks`, else icmp. */
    customDeviceTypes: Type.Array(
      Type.Object(
        { name: TagValue('custom device type', 64), checks: Type.Optional(CheckList) },
        { additionalProperties: false },
      ),
      { default: [], maxItems: 64 },
    ),
    /** Default checks per device type (built-in or custom), replacing that type's own defaults. */
    deviceTypeDefaults: Type.Record(Type.String(), CheckList, { default: {} }),
    /** SNMP credentials and settings for every device's snmp check (rooms and checks may override). */
    snmp: Type.Optional(SnmpOverride),
  },
  { additionalProperties: false, default: {} },
);
export type InventoryConfig = Static<typeof InventoryConfig>;

/** What inventory.ts reads of an agent config (an AgentConfig is one). */
export interface SiteInventory {
  inventory: InventoryConfig;
  rooms: readonly RoomConfig[];
}
