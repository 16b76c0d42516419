import { X509Certificate } from 'node:crypto';
import { type Static, Type } from 'typebox';
import {
  type CrossCheck,
  isLoopbackHost,
  loadConfigFile,
  parseConfig,
  readConfiguredFile,
} from '../../protocol/config-file.js';
import { isValidTimezone, School, TAG_VALUE_PATTERN, TagValue } from '../../protocol/school.js';
import type { Problem } from '../../protocol/validate.js';
import type { DeviceType } from '../../protocol/vocabulary.js';
import { inventoryProblems } from './inventory.js';

const Seconds = (def: number, min: number, max: number) =>
  Type.Integer({ default: def, minimum: min, maximum: max });

const ProbeCommon = (intervalS: number, timeoutS: number) => ({
  enabled: Type.Boolean({ default: true }),
  intervalS: Seconds(intervalS, 10, 86_400),
  timeoutS: Seconds(timeoutS, 1, 3_600),
});

const HHMM = Type.String({ pattern: '^([01]\\d|2[0-3]):[0-5]\\d$', description: 'HH:MM' });

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

/** The built-in device types (protocol/vocabulary.ts); each has default checks. Re-exported for existing imports. */
export { DEVICE_TYPES, type DeviceType } from '../../protocol/vocabulary.js';

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
    customRoomTypes: Type.Array(TagValue('custom room type', 64), { default: [], maxItems: 64 }),
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

const IfRef = {
  ifName: Type.Optional(TagValue('interface name (ifName or ifDescr)', 128)),
  ifIndex: Type.Optional(Type.Integer({ minimum: 1, maximum: 2 ** 31 - 1 })),
};

export const UplinkSnmpConfig = Type.Object(
  {
    enabled: Type.Boolean({ default: false }),
    intervalS: Seconds(60, 10, 86_400),
    timeoutS: Seconds(20, 1, 3_600),
    device: Type.Optional(
      Type.Object(
        { name: TagValue('border router name'), address: Type.String({ minLength: 1, maxLength: 255 }) },
        { additionalProperties: false },
      ),
    ),
    snmp: SnmpAuth,
    uplink: Type.Optional(Type.Object(IfRef, { additionalProperties: false })),
    ports: Type.Array(
      Type.Object({ ...IfRef, role: Type.Enum(['core', 'access']) }, { additionalProperties: false }),
      { default: [], maxItems: 1024 },
    ),
  },
  { additionalProperties: false, default: {} },
);
export type UplinkSnmpConfig = Static<typeof UplinkSnmpConfig>;

export const BandwidthConfig = Type.Object(
  {
    enabled: Type.Boolean({ default: false }),
    intervalS: Seconds(86_400, 60, 30 * 86_400),
    timeoutS: Seconds(120, 10, 3_600),
    method: Type.Enum(['http', 'iperf3'], { default: 'http' }),
    /** Speed-test base URL; default: the collector's own (it may hand out a dedicated one with the slot). */
    server: Type.Optional(Type.String({ pattern: '^https?://[^\\s/]+(/.*)?$' })),
    streams: Type.Integer({ default: 4, minimum: 1, maximum: 16 }),
    maxStreams: Type.Integer({ default: 16, minimum: 1, maximum: 16 }),
    durationS: Type.Number({ default: 10, minimum: 2, maximum: 60 }),
    omitS: Type.Number({ default: 2, minimum: 0, maximum: 30 }),
    iperf3: Type.Optional(
      Type.Object(
        {
          host: Type.String({ minLength: 1 }),
          port: Type.Integer({ default: 5201, minimum: 1, maximum: 65535 }),
        },
        { additionalProperties: false },
      ),
    ),
    /** Scheduled tests run in this window of school time, at a per-school offset. */
    window: Type.Object(
      { start: HHMM, end: HHMM },
      { additionalProperties: false, default: { start: '01:00', end: '05:00' } },
    ),
  },
  { additionalProperties: false, default: {} },
);
export type BandwidthConfig = Static<typeof BandwidthConfig>;

const Url = Type.String({ pattern: '^https?://[^\\s/]+(/.*)?$', description: 'http(s) URL' });

export const Ipv6Config = Type.Object(
  {
    enabled: Type.Boolean({ default: true }),
    intervalS: Seconds(3600, 60, 86_400),
    timeoutS: Seconds(60, 5, 600),
    /** Connectivity targets (TCP + HTTP over v6 and v4); default: the collector's URL. */
    targets: Type.Array(
      Type.Object({ name: TagValue('target name'), url: Url }, { additionalProperties: false }),
      {
        default: [],
        maxItems: 32,
      },
    ),
    /** Names whose AAAA the resolver must return; default: the targets' host names. */
    dnsNames: Type.Array(Type.String({ minLength: 1, maxLength: 253 }), { default: [], maxItems: 32 }),
    /** A name published only over IPv6 (AAAA only) that must resolve. */
    v6OnlyName: Type.Optional(Type.String({ minLength: 1, maxLength: 253 })),
    /** A dual-stack URL: which family the agent's connection used (Happy Eyeballs). */
    dualStackUrl: Type.Optional(Url),
    /** A URL over IPv6 whose response is larger than 1280 bytes (path MTU / ICMPv6 Packet Too Big). */
    mtuUrl: Type.Optional(Url),
    /** The school's own services (website, learning platform, recording platform). */
    services: Type.Array(
      Type.Object({ name: TagValue('service name'), url: Url }, { additionalProperties: false }),
      {
        default: [],
        maxItems: 32,
      },
    ),
    /** Above this degradation ratio IPv6 counts as slow. */
    slowRatio: Type.Number({ default: 0.5, minimum: 0, maximum: 100 }),
    connectTimeoutMs: Type.Integer({ default: 5000, minimum: 100, maximum: 60_000 }),
  },
  { additionalProperties: false, default: {} },
);
export type Ipv6Config = Static<typeof Ipv6Config>;

/** The security baseline scan (DESIGN §6): gentle, connect-only, only inventory devices and the agent host. */
export const SecurityConfig = Type.Object(
  {
    enabled: Type.Boolean({ default: false }),
    intervalS: Seconds(86_400, 300, 30 * 86_400),
    timeoutS: Seconds(300, 10, 3_600),
    /** Connections in flight at once across the whole scan. */
    concurrency: Type.Integer({ default: 16, minimum: 1, maximum: 128 }),
    connectTimeoutMs: Type.Integer({ default: 2000, minimum: 100, maximum: 30_000 }),
    /** Also check the agent's own host (host-firewall-off, host-os-eol); false where the agent runs in a container. */
    hostChecks: Type.Boolean({ default: true }),
    /** Public services whose TLS certificates are checked (expiry, protocol versions, self-signed). */
    tls: Type.Array(
      Type.Object(
        {
          name: TagValue('service name'),
          url: Type.String({
            pattern: '^https://[^\\s/]+(/\\S*)?$',
            maxLength: 2000,
            description: 'https URL',
          }),
        },
        { additionalProperties: false },
      ),
      { default: [], maxItems: 64 },
    ),
    /** Devices that must speak SNMPv3 only (v1/v2c answering is a finding). */
    snmpV3Required: Type.Boolean({ default: false }),
  },
  { additionalProperties: false, default: {} },
);
export type SecurityConfig = Static<typeof SecurityConfig>;

export const AgentConfig = Type.Object(
  {
    school: School,
    collector: Type.Object(
      {
        url: Type.String({ pattern: '^https?://[^\\s/]+(/.*)?$', description: 'http(s)://host[:port]' }),
        /** PEM CA certificate(s): when set, only these are trusted for the collector and its speed-test service. */
        caFile: Type.Optional(Type.String({ minLength: 1 })),
        /** Speak plain HTTP to a collector that is not on loopback (the token travels in clear text). */
        allowPlainHttp: Type.Boolean({ default: false }),
        requestTimeoutS: Seconds(30, 1, 600),
      },
      { additionalProperties: false },
    ),
    state: Type.String({ default: '/var/lib/campuswatch-agent', minLength: 1 }),
    cycle: Type.Object(
      {
        intervalS: Seconds(60, 5, 86_400),
        jitterPct: Type.Number({ default: 10, minimum: 0, maximum: 50 }),
      },
      { additionalProperties: false, default: {} },
    ),
    spool: Type.Object(
      { maxReports: Type.Integer({ default: 20_000, minimum: 10, maximum: 10_000_000 }) },
      { additionalProperties: false, default: {} },
    ),
    probes: Type.Object(
      {
        host: Type.Object(ProbeCommon(300, 20), { additionalProperties: false, default: {} }),
        reachability: Type.Object(
          {
            ...ProbeCommon(60, 30),
            pingCount: Type.Integer({ default: 3, minimum: 1, maximum: 20 }),
            tcpTimeoutMs: Type.Integer({ default: 3000, minimum: 100, maximum: 60_000 }),
            concurrency: Type.Integer({ default: 16, minimum: 1, maximum: 1024 }),
            /** ICMP: one fping process for the sweep (auto: when fping exists and the sweep is large), or ping per device. */
            icmpMethod: Type.Enum(['auto', 'fping', 'ping'], { default: 'auto' }),
          },
          { additionalProperties: false, default: {} },
        ),
        bandwidth: BandwidthConfig,
        'uplink-snmp': UplinkSnmpConfig,
        ipv6: Ipv6Config,
        security: SecurityConfig,
      },
      { additionalProperties: false, default: {} },
    ),
    inventory: InventoryConfig,
    rooms: Type.Array(RoomConfig, { default: [], maxItems: 2000 }),
  },
  { additionalProperties: false },
);
export type AgentConfig = Static<typeof AgentConfig>;

/** `collector.url`: https, or plain HTTP to loopback, or allowed; `collector.caFile`: a readable PEM bundle. */
function collectorProblems(c: AgentConfig): Problem[] {
  const problems: Problem[] = [];
  let url: URL | undefined;
  try {
    url = new URL(c.collector.url);
  } catch {
    problems.push({ path: 'collector/url', message: `${JSON.stringify(c.collector.url)} is not a URL` });
  }
  if (url?.protocol === 'http:' && !c.collector.allowPlainHttp && !isLoopbackHost(url.hostname)) {
    problems.push({
      path: 'collector/url',
      message: `plain HTTP to the non-loopback host ${url.hostname} sends the agent token in clear text: use https:// or set collector.allowPlainHttp: true`,
    });
  }
  if (c.collector.caFile !== undefined) {
    const r = readConfiguredFile('collector/caFile', c.collector.caFile);
    if (!r.ok) problems.push(r.problem);
    else {
      try {
        new X509Certificate(r.content);
      } catch {
        problems.push({
          path: 'collector/caFile',
          message: `${c.collector.caFile} holds no PEM certificate`,
        });
      }
    }
  }
  return problems;
}

/**
 * Is the school's time zone known? A canonical IANA name is found in Intl.supportedValuesOf; only another
 * spelling (an alias such as UTC or Asia/Chongqing, other letter case) is tried with Intl.DateTimeFormat,
 * whose first use loads ICU's date-formatting data: ~8 MiB that the daemon would keep for good.
 */
function knownTimeZone(tz: string): boolean {
  return Intl.supportedValuesOf('timeZone').includes(tz) || isValidTimezone(tz);
}

const crossCheck: CrossCheck<AgentConfig> = (c) => {
  const problems: Problem[] = [];
  if (!knownTimeZone(c.school.timezone)) {
    problems.push({
      path: 'school/timezone',
      message: `unknown time zone ${JSON.stringify(c.school.timezone)}`,
    });
  }
  problems.push(...collectorProblems(c));
  for (const [name, p] of Object.entries(c.probes)) {
    if (p.timeoutS >= p.intervalS) {
      problems.push({
        path: `probes/${name}/timeoutS`,
        message: `must be less than intervalS (${p.intervalS})`,
      });
    }
  }
  const snmp = c.probes['uplink-snmp'];
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
  const bw = c.probes.bandwidth;
  if (bw.method === 'iperf3' && !bw.iperf3) {
    problems.push({ path: 'probes/bandwidth/iperf3', message: 'is required when method is iperf3' });
  }
  if (bw.streams > bw.maxStreams) {
    problems.push({
      path: 'probes/bandwidth/streams',
      message: `must not exceed maxStreams (${bw.maxStreams})`,
    });
  }
  problems.push(...inventoryProblems(c));
  return problems;
};

export function loadAgentConfig(file: string): AgentConfig {
  return loadConfigFile(AgentConfig, file, crossCheck);
}

export function parseAgentConfig(text: string, file = '<inline>'): AgentConfig {
  return parseConfig(AgentConfig, text, file, crossCheck);
}
