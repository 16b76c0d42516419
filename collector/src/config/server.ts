/** The collector's own service: its state store, the ingest path's limits, the HTTP server's and the speed test's. */
import { type Static, Type } from 'typebox';

/** host:port, an IPv6 host in brackets. */
export const LISTEN_PATTERN = '^(\\[[0-9A-Fa-f:.]+\\]|[^\\s:]+):\\d{1,5}$';

/** Where the state lives: SQLite in dataDir (one collector) or PostgreSQL (several collectors share it). */
export const StateConfig = Type.Object(
  {
    kind: Type.Union([Type.Literal('sqlite'), Type.Literal('postgres')], { default: 'sqlite' }),
    /**
     * postgres://user:password@host:port/database (kind postgres). It carries a password: give it as
     * `${env:NAME}` or `${file:/path}` rather than inline.
     */
    url: Type.Optional(Type.String({ pattern: '^postgres(ql)?://\\S+$' })),
    /** Connections in the pool of each collector (plus one held for the alert leadership lock). */
    poolMax: Type.Integer({ default: 10, minimum: 1, maximum: 1000 }),
    /**
     * SQLite: latest results kept parsed in memory (≈ 340 B of heap each, but RSS grows 2–5× that, see
     * bench/README.md), so a report does not re-read its
     * school's; 0 turns it off. A school with one agent has ~40, with ten campus agents ~400.
     */
    latestCacheResults: Type.Integer({ default: 500_000, minimum: 0, maximum: 100_000_000 }),
  },
  { additionalProperties: false, default: {} },
);
export type StateConfig = Static<typeof StateConfig>;

export const IngestConfig = Type.Object(
  {
    bodyLimitBytes: Type.Integer({ default: 1_048_576, minimum: 1024, maximum: 64 * 1_048_576 }),
    /**
     * A gzip-compressed body (`Content-Encoding: gzip`, as agents send reports) may inflate to at most
     * this many bytes; beyond it the request is refused with 413 as soon as that much was inflated (a
     * gzip bomb costs no more). `bodyLimitBytes` still bounds the bytes on the wire.
     */
    decodedBodyLimitBytes: Type.Integer({
      default: 4 * 1_048_576,
      minimum: 1024,
      maximum: 256 * 1_048_576,
    }),
    retryAfterS: Type.Integer({ default: 30, minimum: 1, maximum: 3600 }),
    /**
     * Reports being stored at once (validated, written, evaluated); beyond it a report is answered 503 +
     * Retry-After before its body is read, and the agent keeps it. Bounds the collector's backlog (and
     * memory) when InfluxDB or the collector cannot keep up, instead of agents timing out on requests
     * the collector then still works through.
     */
    maxConcurrent: Type.Integer({ default: 256, minimum: 1, maximum: 100_000 }),
    /** Reports older than this (after clock correction) are refused with 400: keep it below the raw retention. */
    maxAgeDays: Type.Integer({ default: 89, minimum: 1, maximum: 3650 }),
    /**
     * Results (and a report's start and end) stamped further than this past the collector's clock, after
     * the clock correction, are refused with 400 naming the field. A result from the future would stay the
     * device's latest state until that time and hide the outages reported meanwhile (a BIOS clock set to
     * local time before NTP corrects it stamps results hours ahead while the report's sent-at is right).
     * A few minutes cover the agent's clock drifting between two NTP corrections.
     */
    futureToleranceS: Type.Integer({ default: 300, minimum: 0, maximum: 86_400 }),
    /**
     * Reports per agent: a sustained rate and a burst (429 + Retry-After beyond). The defaults let an
     * agent flush a day of spooled reports (1440) in about a minute and stop one stuck in a loop.
     */
    ratePerAgent: Type.Object(
      {
        perSecond: Type.Number({ default: 20, minimum: 0.01, maximum: 100_000 }),
        burst: Type.Integer({ default: 200, minimum: 1, maximum: 1_000_000 }),
      },
      { additionalProperties: false, default: {} },
    ),
  },
  { additionalProperties: false, default: {} },
);
export type IngestConfig = Static<typeof IngestConfig>;

/** HTTP server limits: slow or oversized requests are cut off (slow-loris, header floods). */
export const HttpConfig = Type.Object(
  {
    /** The whole request head must arrive within this (Node's headersTimeout): 408 otherwise. */
    headersTimeoutS: Type.Number({ default: 10, minimum: 1, maximum: 600 }),
    /** The whole request, body included, within this (Node's requestTimeout). */
    requestTimeoutS: Type.Number({ default: 60, minimum: 1, maximum: 3600 }),
    /** An idle keep-alive connection is closed after this. */
    keepAliveTimeoutS: Type.Number({ default: 65, minimum: 1, maximum: 3600 }),
    /** Request heads larger than this get 431. */
    maxHeaderBytes: Type.Integer({ default: 16_384, minimum: 1024, maximum: 1_048_576 }),
    /**
     * Open connections per listener (Node's server.maxConnections; upgraded upload streams count): one
     * beyond it is closed at once, and idle keep-alive connections are closed then to make room. Bounds
     * the collector's file descriptors; sized for thousands of agents' keep-alives.
     */
    maxConnections: Type.Integer({ default: 2000, minimum: 2, maximum: 1_000_000 }),
  },
  { additionalProperties: false, default: {} },
);
export type HttpConfig = Static<typeof HttpConfig>;

export const SpeedtestConfig = Type.Object(
  {
    enabled: Type.Boolean({ default: true }),
    /** Tests at once: the centre's own capacity divided by the per-school rate it should sustain. */
    maxConcurrent: Type.Integer({ default: 2, minimum: 1, maximum: 1000 }),
    /** How long a slot lasts unless released (covers both directions and the RTT checks). */
    slotTtlS: Type.Integer({ default: 90, minimum: 10, maximum: 3600 }),
    maxStreamSeconds: Type.Integer({ default: 40, minimum: 1, maximum: 600 }),
    /**
     * Upload streams, and download streams, open at once on one slot: beyond it a stream is refused with
     * 429. The agent opens at most 16 (its bandwidth.maxStreams); twice that leaves room for a stream
     * whose close the collector has not seen yet.
     */
    maxStreamsPerSlot: Type.Integer({ default: 32, minimum: 1, maximum: 1024 }),
    /** Own listener for the byte streams, so gigabit tests bypass a proxy in front of the API. */
    listen: Type.Optional(Type.String({ pattern: LISTEN_PATTERN })),
    /** URL agents use for the streams (default: the speed-test listener, else the API URL they used). */
    publicUrl: Type.Optional(Type.String({ pattern: '^https?://[^\\s/]+/?$' })),
  },
  { additionalProperties: false, default: {} },
);
export type SpeedtestConfig = Static<typeof SpeedtestConfig>;
