import { X509Certificate } from 'node:crypto';
import { type Static, Type } from 'typebox';
import {
  type CrossCheck,
  isLoopbackHost,
  loadConfigFile,
  parseConfig,
  readConfiguredFile,
} from '../../protocol/config-file.js';
import { isValidTimezone, School, TagValue } from '../../protocol/school.js';
import { collectorUrlProblem } from '../../protocol/url-check.js';
import type { Problem } from '../../protocol/validate.js';
import { inventoryProblems } from './inventory.js';
import { InventoryConfig, RoomConfig, SnmpAuth } from './inventory-config.js';

/** `collector.maxReportBytes` by default: the collector's default `ingest.bodyLimitBytes` (1 MiB). */
export const DEFAULT_MAX_REPORT_BYTES = 1_048_576;

const Seconds = (def: number, min: number, max: number, description?: string) =>
  Type.Integer({ default: def, minimum: min, maximum: max, ...(description ? { description } : {}) });

const ProbeCommon = (intervalS: number, timeoutS: number) => ({
  enabled: Type.Boolean({ default: true, description: 'run this probe on its schedule' }),
  intervalS: Seconds(intervalS, 10, 86_400, 'seconds between two runs'),
  timeoutS: Seconds(timeoutS, 1, 3_600, 'a run is abandoned after this many seconds (less than intervalS)'),
});

const HHMM = Type.String({ pattern: '^([01]\\d|2[0-3]):[0-5]\\d$', description: 'HH:MM' });

/** The built-in device types (protocol/vocabulary.ts); each has default checks. Re-exported for existing imports. */
export { DEVICE_TYPES, type DeviceType } from '../../protocol/vocabulary.js';
/** The inventory's schema lives in inventory-config.ts (inventory.ts reads it without importing this file). */
export {
  BUILTIN_TYPE_CHECKS,
  CheckSpec,
  DeviceConfig,
  InventoryConfig,
  RoomConfig,
  SnmpAuth,
  SnmpOverride,
} from './inventory-config.js';

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

export const BandwidthConfig = Type.Object(
  {
    enabled: Type.Boolean({ default: false, description: 'run the scheduled speed test' }),
    intervalS: Seconds(86_400, 60, 30 * 86_400, 'seconds between two scheduled tests'),
    timeoutS: Seconds(120, 10, 3_600, 'a test is abandoned after this many seconds'),
    method: Type.Enum(['http', 'iperf3'], {
      default: 'http',
      description: "http: against the collector's speed-test service; iperf3: against an iperf3 server",
    }),
    /** Speed-test base URL; default: the collector's own (it may hand out a dedicated one with the slot). */
    server: Type.Optional(Type.String({ pattern: '^https?://[^\\s/]+(/.*)?$' })),
    streams: Type.Integer({
      default: 4,
      minimum: 1,
      maximum: 16,
      description: 'parallel TCP streams at first',
    }),
    maxStreams: Type.Integer({
      default: 16,
      minimum: 1,
      maximum: 16,
      description: 'streams may be added up to this many while the link is not full',
    }),
    durationS: Type.Number({
      default: 10,
      minimum: 2,
      maximum: 60,
      description: 'seconds measured per direction',
    }),
    omitS: Type.Number({ default: 2, minimum: 0, maximum: 30, description: 'warm-up seconds not counted' }),
    iperf3: Type.Optional(
      Type.Object(
        {
          host: Type.String({ minLength: 1, description: 'the iperf3 server' }),
          port: Type.Integer({ default: 5201, minimum: 1, maximum: 65535 }),
        },
        { additionalProperties: false, description: 'required when method is iperf3' },
      ),
    ),
    /** Scheduled tests run in this window of school time, at a per-school offset. */
    window: Type.Object(
      { start: HHMM, end: HHMM },
      {
        additionalProperties: false,
        default: { start: '01:00', end: '05:00' },
        description: "scheduled tests run in this window of the school's time, at a per-school offset",
      },
    ),
  },
  { additionalProperties: false, default: {} },
);
export type BandwidthConfig = Static<typeof BandwidthConfig>;

const Url = Type.String({ pattern: '^https?://[^\\s/]+(/.*)?$', description: 'http(s) URL' });

export const Ipv6Config = Type.Object(
  {
    enabled: Type.Boolean({ default: true, description: 'run the IPv6 readiness checks' }),
    intervalS: Seconds(3600, 60, 86_400, 'seconds between two runs'),
    timeoutS: Seconds(60, 5, 600, 'a run is abandoned after this many seconds'),
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
    v6OnlyName: Type.Optional(
      Type.String({
        description: 'A name published only over IPv6 (AAAA only) that must resolve.',
        minLength: 1,
        maxLength: 253,
      }),
    ),
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
    slowRatio: Type.Number({
      description: 'Above this degradation ratio IPv6 counts as slow.',
      default: 0.5,
      minimum: 0,
      maximum: 100,
    }),
    connectTimeoutMs: Type.Integer({
      default: 5000,
      minimum: 100,
      maximum: 60_000,
      description: 'per connect',
    }),
  },
  { additionalProperties: false, default: {} },
);
export type Ipv6Config = Static<typeof Ipv6Config>;

/** The security baseline scan (docs/architecture.md, "Security baseline"): gentle, connect-only, only inventory devices and the agent host. */
export const SecurityConfig = Type.Object(
  {
    enabled: Type.Boolean({
      default: false,
      description: 'run the security baseline scan (config/baseline.yaml)',
    }),
    intervalS: Seconds(86_400, 300, 30 * 86_400, 'seconds between two scans'),
    timeoutS: Seconds(300, 10, 3_600, 'a scan is abandoned after this many seconds'),
    /** Connections in flight at once across the whole scan. */
    concurrency: Type.Integer({
      description: 'Connections in flight at once across the whole scan.',
      default: 16,
      minimum: 1,
      maximum: 128,
    }),
    connectTimeoutMs: Type.Integer({
      default: 2000,
      minimum: 100,
      maximum: 30_000,
      description: 'per connect',
    }),
    /** Also check the agent's own host (host-firewall-off, host-os-eol); false where the agent runs in a container. */
    hostChecks: Type.Boolean({
      default: true,
      description: "also check the agent's own host (firewall, OS end of life); false in a container",
    }),
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
    snmpV3Required: Type.Boolean({
      description: 'Devices that must speak SNMPv3 only (v1/v2c answering is a finding).',
      default: false,
    }),
  },
  { additionalProperties: false, default: {} },
);
export type SecurityConfig = Static<typeof SecurityConfig>;

export const AgentConfig = Type.Object(
  {
    school: School,
    collector: Type.Object(
      {
        /** Checked in words by collectorProblems (a regular expression would be the error message). */
        url: Type.String({ minLength: 1, maxLength: 2000, description: 'http(s)://host[:port]' }),
        /** PEM CA certificate(s): when set, only these are trusted for the collector and its speed-test service. */
        caFile: Type.Optional(
          Type.String({
            description:
              'PEM CA certificate(s): when set, only these are trusted for the collector and its speed-test service.',
            minLength: 1,
          }),
        ),
        /** Speak plain HTTP to a collector that is not on loopback (the token travels in clear text). */
        allowPlainHttp: Type.Boolean({
          description:
            'Speak plain HTTP to a collector that is not on loopback (the token travels in clear text).',
          default: false,
        }),
        requestTimeoutS: Seconds(30, 1, 600, "seconds to wait for the collector's answer"),
        /**
         * A cycle whose report is larger is sent as several reports (parts), each at most this many bytes of
         * JSON before compression. The default is the collector's default `ingest.bodyLimitBytes`: keep it at
         * most the collector's body limit (a collector that predates gzip reads the body as it is sent).
         */
        maxReportBytes: Type.Optional(
          Type.Integer({
            default: DEFAULT_MAX_REPORT_BYTES,
            minimum: 16_384,
            maximum: 64 * 1_048_576,
            description:
              "a cycle's results are split into reports of at most this many bytes of JSON (before gzip); at most the collector's ingest.bodyLimitBytes",
          }),
        ),
        /** Send request bodies gzip-compressed (`Content-Encoding: gzip`). */
        gzip: Type.Optional(
          Type.Boolean({
            default: true,
            description:
              'send reports gzip-compressed (Content-Encoding: gzip); a collector that refuses them gets them uncompressed',
          }),
        ),
      },
      { additionalProperties: false },
    ),
    state: Type.String({
      default: '/var/lib/campuswatch-agent',
      minLength: 1,
      description: 'directory of the token and the spool; writable by the service user only',
    }),
    cycle: Type.Object(
      {
        intervalS: Seconds(60, 5, 86_400, 'seconds between two reports'),
        jitterPct: Type.Number({
          default: 10,
          minimum: 0,
          maximum: 50,
          description: 'random spread of the cycle, %',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    spool: Type.Object(
      {
        maxReports: Type.Integer({
          default: 20_000,
          minimum: 10,
          maximum: 10_000_000,
          description:
            'reports kept while the collector is away; the oldest are dropped (and counted) beyond',
        }),
        maxDeadLetters: Type.Integer({
          default: 100,
          minimum: 0,
          maximum: 100_000,
          description:
            'reports the collector refused for good, kept for `spool list --dead` and `spool replay`; the oldest are dropped (and counted) beyond',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    probes: Type.Object(
      {
        host: Type.Object(ProbeCommon(300, 20), { additionalProperties: false, default: {} }),
        reachability: Type.Object(
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
  const urlProblem = collectorUrlProblem(c.collector.url);
  if (urlProblem) problems.push({ path: 'collector/url', message: urlProblem });
  else url = new URL(c.collector.url);
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
