// The school's inventory in the agent config: rooms, devices, the checks of each and the SNMP settings they
// use. Its own module so that inventory.ts (which resolves and checks it) and config.ts (which assembles the
// whole agent config and runs inventory.ts's checks) do not import each other.
import { type Static, Type } from 'typebox';
import { TAG_VALUE_PATTERN, TagValue } from '../../protocol/school.js';
import type { DeviceType } from '../../protocol/vocabulary.js';

/** The SNMP settings' descriptions (the configuration reference shows them). */
const SNMP_TEXT = {
  version: 'SNMP version: "2c" (a community) or "3" (authPriv: user, authKey, privKey)',
  community: 'v2c community (a secret: better an env or file reference)',
  user: 'v3 user name',
  authProtocol: 'v3 authentication protocol',
  authKey: 'v3 authentication key (a secret)',
  privProtocol: 'v3 privacy (encryption) protocol',
  privKey: 'v3 privacy key (a secret)',
  port: 'UDP port',
  timeoutMs: 'per request',
  retries: 'retries after a timeout',
} as const;

export const SnmpAuth = Type.Object(
  {
    version: Type.Enum(['2c', '3'], { default: '2c', description: SNMP_TEXT.version }),
    community: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: SNMP_TEXT.community })),
    user: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: SNMP_TEXT.user })),
    authProtocol: Type.Enum(['md5', 'sha', 'sha224', 'sha256', 'sha384', 'sha512'], {
      default: 'sha',
      description: SNMP_TEXT.authProtocol,
    }),
    authKey: Type.Optional(Type.String({ minLength: 8, maxLength: 256, description: SNMP_TEXT.authKey })),
    privProtocol: Type.Enum(['des', 'aes', 'aes256b', 'aes256r'], {
      default: 'aes',
      description: SNMP_TEXT.privProtocol,
    }),
    privKey: Type.Optional(Type.String({ minLength: 8, maxLength: 256, description: SNMP_TEXT.privKey })),
    port: Type.Integer({ default: 161, minimum: 1, maximum: 65535, description: SNMP_TEXT.port }),
    timeoutMs: Type.Integer({
      default: 3000,
      minimum: 100,
      maximum: 60_000,
      description: SNMP_TEXT.timeoutMs,
    }),
    retries: Type.Integer({ default: 1, minimum: 0, maximum: 5, description: SNMP_TEXT.retries }),
  },
  { additionalProperties: false, default: {} },
);
export type SnmpAuth = Static<typeof SnmpAuth>;

/** SNMP settings without defaults: merged field by field inventory.snmp ← room.defaults.snmp ← check. */
export const SnmpOverride = Type.Object(
  {
    version: Type.Optional(Type.Enum(['2c', '3'], { description: SNMP_TEXT.version })),
    community: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: SNMP_TEXT.community })),
    user: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: SNMP_TEXT.user })),
    authProtocol: Type.Optional(
      Type.Enum(['md5', 'sha', 'sha224', 'sha256', 'sha384', 'sha512'], {
        description: SNMP_TEXT.authProtocol,
      }),
    ),
    authKey: Type.Optional(Type.String({ minLength: 8, maxLength: 256, description: SNMP_TEXT.authKey })),
    privProtocol: Type.Optional(
      Type.Enum(['des', 'aes', 'aes256b', 'aes256r'], { description: SNMP_TEXT.privProtocol }),
    ),
    privKey: Type.Optional(Type.String({ minLength: 8, maxLength: 256, description: SNMP_TEXT.privKey })),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535, description: SNMP_TEXT.port })),
    timeoutMs: Type.Optional(
      Type.Integer({ minimum: 100, maximum: 60_000, description: SNMP_TEXT.timeoutMs }),
    ),
    retries: Type.Optional(Type.Integer({ minimum: 0, maximum: 5, description: SNMP_TEXT.retries })),
  },
  { additionalProperties: false },
);
export type SnmpOverride = Static<typeof SnmpOverride>;

const Port = Type.Integer({ minimum: 1, maximum: 65535, description: 'TCP port' });

/** One check of a device: `icmp`, `{ tcp: 80 }`, `{ rtsp: {…} }`, `{ http: {…} }` or `{ snmp: {…} }`. */
export const CheckSpec = Type.Union([
  Type.Literal('icmp'),
  Type.Object({ tcp: Port }, { additionalProperties: false }),
  Type.Object(
    {
      rtsp: Type.Object(
        {
          port: Type.Optional(
            Type.Integer({ minimum: 1, maximum: 65535, description: 'RTSP port (default 554)' }),
          ),
          path: Type.Optional(
            Type.String({
              pattern: '^/[^\\s]*$',
              maxLength: 500,
              description: 'path of the OPTIONS request (default /)',
            }),
          ),
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
          url: Type.Optional(
            Type.String({
              pattern: '^https?://[^\\s/]+(/\\S*)?$',
              maxLength: 2000,
              description: 'the page to GET (default http://<address>/)',
            }),
          ),
          expectStatus: Type.Optional(
            Type.Array(Type.Integer({ minimum: 100, maximum: 599 }), {
              minItems: 1,
              maxItems: 32,
              description: 'HTTP statuses that count as up (default: any answer below 500)',
            }),
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
    critical: Type.Boolean({
      default: true,
      description: 'the room counts as down when a critical device is down',
    }),
    /** The checks to run; default: the room's, then the device type's. */
    checks: Type.Optional(
      Type.Array(CheckSpec, {
        maxItems: 64,
        description: "the checks to run; default: the room's, then the type's",
      }),
    ),
    /** Legacy (before `checks`): ICMP on/off (default on when `tcp` is given). */
    icmp: Type.Optional(Type.Boolean({ description: 'legacy form of checks: ICMP on or off' })),
    /** Legacy (before `checks`): TCP ports to connect to. */
    tcp: Type.Optional(Type.Array(Port, { maxItems: 32, description: 'legacy form of checks: TCP ports' })),
  },
  { additionalProperties: false },
);
export type DeviceConfig = Static<typeof DeviceConfig>;

export const RoomConfig = Type.Object(
  {
    name: TagValue('room name'),
    /** A built-in room type or one of inventory.customRoomTypes (checked with the inventory). */
    type: TagValue('room type: recording, smart, classroom, lab, core, ap, … or a custom one', 64),
    building: Type.Optional(Type.String({ maxLength: 200, description: 'shown with the room' })),
    floor: Type.Optional(
      Type.Union([Type.Integer({ minimum: -10, maximum: 200 }), Type.String({ maxLength: 50 })], {
        description: 'a number or a name ("B1")',
      }),
    ),
    defaults: Type.Optional(
      Type.Object(
        {
          checks: Type.Optional(
            Type.Array(CheckSpec, {
              maxItems: 64,
              description: "checks of the room's devices that name none",
            }),
          ),
          snmp: Type.Optional(SnmpOverride),
        },
        { additionalProperties: false, description: "defaults for the room's devices" },
      ),
    ),
    devices: Type.Array(DeviceConfig, { default: [], maxItems: 5000, description: "the room's devices" }),
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
        {
          name: TagValue('custom device type', 64),
          checks: Type.Optional(
            Type.Array(CheckSpec, { maxItems: 64, description: "the type's default checks (default: icmp)" }),
          ),
        },
        { additionalProperties: false },
      ),
      { default: [], maxItems: 64, description: 'device types beyond the built-in ones' },
    ),
    /** Default checks per device type (built-in or custom), replacing that type's own defaults. */
    deviceTypeDefaults: Type.Record(Type.String(), CheckList, {
      default: {},
      description: "default checks per device type (built-in or custom), replacing the type's own",
    }),
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
