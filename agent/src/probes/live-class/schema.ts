// The `probes.live-class` block of the agent's config: its schema and its cross-field checks.
import { type Static, Type } from 'typebox';
import type { Problem } from '../../../../protocol/validate.js';
import { Seconds } from '../lib/config-parts.js';

const Limit = (def: number, max: number, description: string) =>
  Type.Number({ default: def, minimum: 0, maximum: max, description });

/** The city's live-class platform (专递课堂, 名师课堂) and the packet train sent to it. */
export const LiveClassConfig = Type.Object(
  {
    enabled: Type.Boolean({ default: false, description: 'measure the path to the live-class platform' }),
    intervalS: Seconds(300, 10, 86_400, 'seconds between two packet trains'),
    timeoutS: Seconds(10, 2, 3_600, 'a packet not echoed this many seconds after the run began is lost'),
    platform: Type.Optional(
      Type.Object(
        {
          name: Type.String({ minLength: 1, maxLength: 200, description: 'the platform as people call it' }),
          host: Type.String({ minLength: 1, maxLength: 255, description: 'host name or address' }),
          port: Type.Integer({ minimum: 1, maximum: 65535 }),
          transport: Type.Enum(['udp-echo', 'tcp'], {
            default: 'udp-echo',
            description: 'udp-echo: the platform echoes each datagram (RFC 862); tcp: it echoes a TCP stream',
          }),
        },
        { additionalProperties: false, description: 'required when enabled' },
      ),
    ),
    packets: Type.Integer({ default: 50, minimum: 2, maximum: 10_000, description: 'packets in one train' }),
    packetBytes: Type.Integer({
      default: 200,
      minimum: 20,
      maximum: 1400,
      description: 'bytes per packet (an RTP packet of voice/video is ~200)',
    }),
    intervalMs: Type.Integer({
      default: 20,
      minimum: 1,
      maximum: 1000,
      description: 'milliseconds between two packets (20: one voice/video frame)',
    }),
    maxOneWayDelayMs: Limit(150, 10_000, 'one-way delay limit, ms (ITU-T G.114)'),
    maxJitterMs: Limit(30, 10_000, 'jitter limit, ms'),
    maxLossPct: Limit(1, 100, 'loss limit, %'),
  },
  { additionalProperties: false, default: {} },
);
export type LiveClassConfig = Static<typeof LiveClassConfig>;

/** Cross-field checks of `probes.live-class` (paths from the config's root). */
export function liveClassProblems(c: LiveClassConfig): Problem[] {
  const problems: Problem[] = [];
  if (c.enabled && !c.platform)
    problems.push({ path: 'probes/live-class/platform', message: 'is required when enabled' });
  const trainMs = c.packets * c.intervalMs;
  if (trainMs >= c.timeoutS * 1000)
    problems.push({
      path: 'probes/live-class/timeoutS',
      message: `must leave time for the echoes: the train itself takes ${trainMs} ms (packets × intervalMs)`,
    });
  return problems;
}
