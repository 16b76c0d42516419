import { type Static, Type } from 'typebox';
import { type CrossCheck, loadConfigFile, parseConfig } from '../../protocol/config-file.js';
import { isValidTimezone, School, TagValue } from '../../protocol/school.js';
import type { Problem } from '../../protocol/validate.js';

const Seconds = (def: number, min: number, max: number) =>
  Type.Integer({ default: def, minimum: min, maximum: max });

export const DeviceConfig = Type.Object(
  {
    name: TagValue('device name'),
    address: Type.String({ minLength: 1, maxLength: 255, description: 'IPv4/IPv6 address or host name' }),
    type: Type.Optional(TagValue('device type (recorder, camera, switch …)', 64)),
    critical: Type.Boolean({ default: true }),
    icmp: Type.Boolean({ default: true }),
    tcp: Type.Array(Type.Integer({ minimum: 1, maximum: 65535 }), { default: [], maxItems: 32 }),
  },
  { additionalProperties: false },
);
export type DeviceConfig = Static<typeof DeviceConfig>;

export const RoomConfig = Type.Object(
  {
    name: TagValue('room name'),
    type: TagValue('room type: recording, smart, classroom, lab, core, ap …', 64),
    building: Type.Optional(Type.String({ maxLength: 200 })),
    devices: Type.Array(DeviceConfig, { default: [], maxItems: 5000 }),
  },
  { additionalProperties: false },
);
export type RoomConfig = Static<typeof RoomConfig>;

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

export const AgentConfig = Type.Object(
  {
    school: School,
    collector: Type.Object(
      {
        url: Type.String({ pattern: '^https?://[^\\s/]+(/.*)?$', description: 'http(s)://host[:port]' }),
        caFile: Type.Optional(Type.String({ minLength: 1 })),
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
            concurrency: Type.Integer({ default: 16, minimum: 1, maximum: 256 }),
          },
          { additionalProperties: false, default: {} },
        ),
        bandwidth: BandwidthConfig,
        'uplink-snmp': UplinkSnmpConfig,
      },
      { additionalProperties: false, default: {} },
    ),
    rooms: Type.Array(RoomConfig, { default: [], maxItems: 2000 }),
  },
  { additionalProperties: false },
);
export type AgentConfig = Static<typeof AgentConfig>;

const crossCheck: CrossCheck<AgentConfig> = (c) => {
  const problems: Problem[] = [];
  if (!isValidTimezone(c.school.timezone)) {
    problems.push({
      path: 'school/timezone',
      message: `unknown time zone ${JSON.stringify(c.school.timezone)}`,
    });
  }
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
  const seen = new Map<string, string>();
  c.rooms.forEach((room, r) => {
    room.devices.forEach((d, i) => {
      const path = `rooms/${r}/devices/${i}/name`;
      const prev = seen.get(d.name);
      if (prev)
        problems.push({ path, message: `duplicate device name ${JSON.stringify(d.name)} (also at ${prev})` });
      else seen.set(d.name, path);
    });
  });
  return problems;
};

export function loadAgentConfig(file: string): AgentConfig {
  return loadConfigFile(AgentConfig, file, crossCheck);
}

export function parseAgentConfig(text: string, file = '<inline>'): AgentConfig {
  return parseConfig(AgentConfig, text, file, crossCheck);
}
