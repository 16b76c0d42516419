import { type Static, Type } from 'typebox';
import { PROBE_NAMES, type ProbeName } from './probe-names.js';
import { TagValue } from './school.js';

/** Outcome of one probe check: failure is data (docs/architecture.md, "Failures are data"), never an exception. */
export const Outcome = Type.Enum(['ok', 'timeout', 'refused', 'unreachable', 'error']);
export type Outcome = Static<typeof Outcome>;

const DateTime = Type.String({ format: 'date-time', maxLength: 40 });
const DurationMs = Type.Number({
  minimum: 0,
  maximum: 86_400_000,
  description: 'milliseconds, 0 to one day',
});
const Count = Type.Integer({ minimum: 0, maximum: 1e12 });
const Bytes = Type.Number({ minimum: 0, maximum: 1e18 });
const Pct = Type.Number({ minimum: 0, maximum: 100 });
const ShortText = (max = 200) => Type.String({ maxLength: max });

/** Fields every result carries. */
const common = {
  target: TagValue('what the check looked at (device name, host name)'),
  outcome: Outcome,
  durationMs: DurationMs,
  at: DateTime,
  error: Type.Optional(ShortText(2000)),
};

export const HostNic = Type.Object(
  {
    name: ShortText(64),
    up: Type.Boolean(),
    speedMbps: Type.Union([Type.Number({ minimum: 0, maximum: 1e7 }), Type.Null()]),
    virtual: Type.Boolean(),
    mac: ShortText(64),
    ipv4: Type.Array(ShortText(64), { maxItems: 64 }),
    ipv6: Type.Array(ShortText(64), { maxItems: 64 }),
  },
  { additionalProperties: false },
);

export const HostResult = Type.Object(
  {
    probe: Type.Literal('host'),
    ...common,
    os: Type.Object(
      {
        platform: ShortText(),
        distro: ShortText(),
        release: ShortText(),
        kernel: ShortText(),
        arch: ShortText(),
      },
      { additionalProperties: false },
    ),
    uptimeS: Type.Number({ minimum: 0, maximum: 1e10 }),
    cpu: Type.Object(
      {
        cores: Type.Integer({ minimum: 0, maximum: 4096 }),
        model: ShortText(),
        loadPct: Type.Union([Pct, Type.Null()]),
      },
      { additionalProperties: false },
    ),
    memory: Type.Object({ totalBytes: Bytes, usedBytes: Bytes }, { additionalProperties: false }),
    disks: Type.Array(
      Type.Object(
        { mount: ShortText(512), sizeBytes: Bytes, usedBytes: Bytes },
        { additionalProperties: false },
      ),
      { maxItems: 256 },
    ),
    nics: Type.Array(HostNic, { maxItems: 256 }),
  },
  { additionalProperties: false },
);
export type HostResult = Static<typeof HostResult>;

export const DeviceRef = Type.Object(
  {
    name: TagValue('device name'),
    address: ShortText(255),
    type: Type.Optional(TagValue('device type', 64)),
    room: Type.Optional(TagValue('room name')),
    roomType: Type.Optional(TagValue('room type', 64)),
    critical: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type DeviceRef = Static<typeof DeviceRef>;

export const ReachabilityResult = Type.Object(
  {
    probe: Type.Literal('reachability'),
    ...common,
    device: DeviceRef,
    check: Type.Enum(['icmp', 'tcp', 'snmp', 'rtsp', 'http']),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    /** Address family actually used (a dual-stack target may be reached over either). */
    family: Type.Optional(Type.Enum([4, 6])),
    address: Type.Optional(ShortText(255)),
    up: Type.Boolean(),
    rttMs: Type.Optional(DurationMs),
    lossPct: Type.Optional(Pct),
    sent: Type.Optional(Count),
    received: Type.Optional(Count),
    /** HTTP or RTSP status code of the answer. */
    status: Type.Optional(Type.Integer({ minimum: 100, maximum: 999 })),
    /** `check: http`: the URL requested (no credentials). */
    url: Type.Optional(ShortText(2000)),
    /** `check: snmp`: sysUpTime in seconds. */
    uptimeS: Type.Optional(Type.Number({ minimum: 0, maximum: 1e10 })),
    /** `check: snmp`: sysDescr. */
    sysDescr: Type.Optional(ShortText(500)),
    /** `check: snmp`: how many interfaces report ifOperStatus other than up. */
    ifDown: Type.Optional(Type.Integer({ minimum: 0, maximum: 1e6 })),
    /** `check: snmp`: the SNMP v3 agent rejected the user or keys (the device answers: not "down"). */
    authFailure: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type ReachabilityResult = Static<typeof ReachabilityResult>;

/** One direction of an active speed test (measurement `uplink_speedtest`). */
export const BandwidthResult = Type.Object(
  {
    probe: Type.Literal('bandwidth'),
    ...common,
    method: Type.Enum(['http', 'iperf3']),
    direction: Type.Enum(['down', 'up']),
    /** Mean over the steady phase (warm-up excluded). */
    mbps: Type.Number({ minimum: 0, maximum: 1e6 }),
    /** 90th percentile of short slices of the steady phase. */
    p90Mbps: Type.Optional(Type.Number({ minimum: 0, maximum: 1e6 })),
    streams: Type.Integer({ minimum: 0, maximum: 128 }),
    durationS: Type.Number({ minimum: 0, maximum: 3600 }),
    bytes: Bytes,
    rttIdleMs: Type.Optional(DurationMs),
    rttLoadedMs: Type.Optional(DurationMs),
    family: Type.Optional(Type.Enum([4, 6])),
  },
  { additionalProperties: false },
);
export type BandwidthResult = Static<typeof BandwidthResult>;

/** One interface read over SNMP (measurement `uplink_snmp`): the uplink with rates, or a core/access port's speed. */
export const UplinkSnmpResult = Type.Object(
  {
    probe: Type.Literal('uplink-snmp'),
    ...common,
    device: Type.Object(
      { name: TagValue('device name'), address: ShortText(255) },
      { additionalProperties: false },
    ),
    role: Type.Enum(['uplink', 'core', 'access']),
    ifIndex: Type.Integer({ minimum: 0, maximum: 2 ** 31 }),
    ifName: TagValue('interface name', 128),
    operUp: Type.Boolean(),
    ifSpeedMbps: Type.Optional(Type.Number({ minimum: 0, maximum: 1e7 })),
    /** Rates need two polls: absent on the first poll and right after a counter reset or device reboot. */
    inMbps: Type.Optional(Type.Number({ minimum: 0, maximum: 1e7 })),
    outMbps: Type.Optional(Type.Number({ minimum: 0, maximum: 1e7 })),
    utilPct: Type.Optional(Type.Number({ minimum: 0, maximum: 1000 })),
    sysUptimeS: Type.Optional(Type.Number({ minimum: 0, maximum: 1e10 })),
    /** Why rates are absent: 'first-poll', 'reboot', 'counter-reset'. */
    note: Type.Optional(ShortText(200)),
  },
  { additionalProperties: false },
);
export type UplinkSnmpResult = Static<typeof UplinkSnmpResult>;

/** The checks of the IPv6 readiness probe (test-ipv6.com style), and the row carrying both scores. */
export const IPV6_CHECKS = [
  'host-address',
  'default-route',
  'dns-aaaa',
  'dns-resolver-v6',
  'dns-v6-only',
  'tcp-v6',
  'tcp-v4',
  'http-v6',
  'http-v4',
  'dual-stack',
  'pmtu',
  'service',
  'score',
] as const;

export const Ipv6Result = Type.Object(
  {
    probe: Type.Literal('ipv6'),
    ...common,
    check: Type.Enum([...IPV6_CHECKS]),
    ok: Type.Boolean(),
    /** Connect or request time of the check. */
    ms: Type.Optional(DurationMs),
    family: Type.Optional(Type.Enum([4, 6])),
    address: Type.Optional(ShortText(255)),
    /** What was seen, in words (how an address was obtained, which name failed, …). */
    detail: Type.Optional(ShortText(1000)),
    /** School service checks: its configured name. */
    service: Type.Optional(TagValue('service name')),
    /** `check: score`: both scores 0-10 and the symptoms that set them. */
    scoreV6: Type.Optional(Type.Number({ minimum: 0, maximum: 10 })),
    scoreV4only: Type.Optional(Type.Number({ minimum: 0, maximum: 10 })),
    symptoms: Type.Optional(Type.Array(ShortText(200), { maxItems: 50 })),
    /** (v6 − v4) / v4 of connect time (China's national IPv6 monitoring reports it this way). */
    degradation: Type.Optional(Type.Number({ minimum: -1, maximum: 1e6 })),
  },
  { additionalProperties: false },
);
export type Ipv6Result = Static<typeof Ipv6Result>;

/**
 * One security baseline check (docs/architecture.md, "Security baseline") against one target: `finding` true when the problem is
 * present. Passing checks are reported too, so the collector can resolve a finding. Severity, 等保
 * clause and exceptions are the collector's policy (config/baseline.yaml); the agent reports facts.
 */
export const SecurityResult = Type.Object(
  {
    probe: Type.Literal('security'),
    ...common,
    /** Rule id of config/baseline.yaml, e.g. cleartext-telnet, snmp-default-community, high-risk-port, rtsp-no-auth, tls-expired. */
    rule: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{1,63}$' }),
    finding: Type.Boolean(),
    /** What was seen (banner, status line, certificate dates, open port …); never a secret. */
    evidence: ShortText(1000),
    device: Type.Optional(DeviceRef),
    port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
    /** Rule-specific number (days to certificate expiry, open port, …). */
    value: Type.Optional(Type.Number({ minimum: -1e9, maximum: 1e9 })),
  },
  { additionalProperties: false },
);
export type SecurityResult = Static<typeof SecurityResult>;

/**
 * Round trip, jitter and loss to the live-class platform (专递课堂, 名师课堂; measurement `live_class`): an
 * RTP-sized packet train echoed by the platform (agent/src/probes/live-class/README.md). The numbers are
 * absent when nothing came back; `limits` are the ones the agent's own verdict used (the collector judges
 * with targets.yaml `liveClass`).
 */
export const LiveClassResult = Type.Object(
  {
    probe: Type.Literal('live-class'),
    ...common,
    transport: Type.Enum(['udp-echo', 'tcp']),
    host: ShortText(255),
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
    /** Mean round trip of the answered packets. */
    rttMs: Type.Optional(DurationMs),
    rttP95Ms: Type.Optional(DurationMs),
    /** Estimated one-way delay: rttMs / 2. */
    oneWayMs: Type.Optional(DurationMs),
    /** RFC 3550 interarrival jitter estimate over the round-trip times, in arrival order. */
    jitterMs: Type.Optional(DurationMs),
    lossPct: Pct,
    sent: Type.Integer({ minimum: 0, maximum: 100_000 }),
    received: Type.Integer({ minimum: 0, maximum: 100_000 }),
    packetBytes: Type.Integer({ minimum: 0, maximum: 65_507 }),
    limits: Type.Object(
      { oneWayMs: DurationMs, jitterMs: DurationMs, lossPct: Pct },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type LiveClassResult = Static<typeof LiveClassResult>;

/**
 * What of a live-class result is past the limits it carries, in words (empty: within them; a train without
 * an echo is past them): the one verdict the agent's log and CLI, the `live_class` point and the compliance
 * target read.
 */
export function liveClassOverLimits(r: LiveClassResult): string[] {
  if (r.outcome !== 'ok' || r.oneWayMs === undefined || r.jitterMs === undefined)
    return [`no echo (${r.outcome}${r.error ? `: ${r.error}` : ''})`];
  const over: string[] = [];
  if (r.oneWayMs > r.limits.oneWayMs) over.push(`one-way delay ${r.oneWayMs} ms > ${r.limits.oneWayMs} ms`);
  if (r.jitterMs > r.limits.jitterMs) over.push(`jitter ${r.jitterMs} ms > ${r.limits.jitterMs} ms`);
  if (r.lossPct > r.limits.lossPct) over.push(`loss ${r.lossPct}% > ${r.limits.lossPct}%`);
  return over;
}

/** Every result kind, keyed by its `probe` discriminator. Add new probe result schemas here. */
export const RESULT_SCHEMAS = {
  host: HostResult,
  reachability: ReachabilityResult,
  bandwidth: BandwidthResult,
  'uplink-snmp': UplinkSnmpResult,
  ipv6: Ipv6Result,
  security: SecurityResult,
  'live-class': LiveClassResult,
} as const satisfies Record<ProbeName, unknown>; // both ways: a schema per name, no schema without one
export { PROBE_NAMES, type ProbeName };

export const ProbeResult = Type.Union([
  HostResult,
  ReachabilityResult,
  BandwidthResult,
  UplinkSnmpResult,
  Ipv6Result,
  SecurityResult,
  LiveClassResult,
]);
export type ProbeResult = Static<typeof ProbeResult>;

export const AgentHealth = Type.Object(
  {
    spoolDepth: Count,
    spoolDropped: Count,
    spoolRejected: Count,
    cycleMs: DurationMs,
    rssMb: Type.Number({ minimum: 0, maximum: 1e7 }),
    /** Cycles whose report the agent could not write to its spool (its disk full), since it was installed. */
    spoolUnstored: Type.Optional(Count),
    /** Dead letters the agent dropped, oldest first, to keep at most `spool.maxDeadLetters`. */
    spoolDeadDropped: Type.Optional(Count),
    /** Present while the agent's spool cannot write (its state directory's filesystem full, an I/O error). */
    spoolFailure: Type.Optional(
      Type.Object({ since: DateTime, message: ShortText(300) }, { additionalProperties: false }),
    ),
  },
  { additionalProperties: false },
);
export type AgentHealth = Static<typeof AgentHealth>;

/** Results one report may carry (a cycle with more is sent as several reports: `cycle`). */
export const MAX_RESULTS_PER_REPORT = 20_000;

const UUID_V7 = '^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$';

/**
 * A cycle whose results do not fit one request body is sent as several reports (parts), each with its own
 * reportId, delivered and acknowledged on its own. Every part carries the same `cycle`: its id, which part
 * it is (1-based), how many there are and the cycle's results in all. Optional and present only on a split
 * cycle: a report of one part is the same as before (collectors that predate parts take it).
 */
export const CycleParts = Type.Object(
  {
    id: Type.String({ pattern: UUID_V7, description: "the cycle's id (a lower-case UUIDv7)" }),
    part: Type.Integer({ minimum: 1, maximum: 10_000 }),
    parts: Type.Integer({ minimum: 2, maximum: 10_000 }),
    results: Type.Integer({ minimum: 0, maximum: 100_000_000 }),
  },
  { additionalProperties: false },
);
export type CycleParts = Static<typeof CycleParts>;

/** The envelope; `results` items are checked against RESULT_SCHEMAS by their `probe`. */
export const ReportEnvelope = Type.Object(
  {
    schema: Type.Literal(1),
    reportId: Type.String({ pattern: UUID_V7, description: 'a lower-case UUIDv7' }),
    agentId: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
    schoolId: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$' }),
    agentVersion: Type.String({ minLength: 1, maxLength: 64, pattern: '^[0-9A-Za-z.+-]+$' }),
    startedAt: DateTime,
    finishedAt: DateTime,
    health: AgentHealth,
    cycle: Type.Optional(CycleParts),
    results: Type.Array(Type.Unknown(), { maxItems: MAX_RESULTS_PER_REPORT }),
  },
  { additionalProperties: false },
);

export const Report = Type.Object(
  {
    schema: Type.Literal(1),
    reportId: Type.String(),
    agentId: Type.String(),
    schoolId: Type.String(),
    agentVersion: Type.String(),
    startedAt: Type.String(),
    finishedAt: Type.String(),
    health: AgentHealth,
    cycle: Type.Optional(CycleParts),
    results: Type.Array(ProbeResult),
  },
  { additionalProperties: false },
);
export type Report = Static<typeof Report>;
