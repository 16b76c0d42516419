// The `probes.ipv6` block of the agent's config: its schema and its cross-field checks.
import { type Static, Type } from 'typebox';
import { TagValue } from '../../../../protocol/school.js';
import { Seconds, Url } from '../lib/config-parts.js';

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
