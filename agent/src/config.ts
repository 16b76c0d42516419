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
