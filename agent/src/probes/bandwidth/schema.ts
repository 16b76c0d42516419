// The `probes.bandwidth` block of the agent's config: its schema and its cross-field checks.
import { type Static, Type } from 'typebox';
import type { Problem } from '../../../../protocol/validate.js';
import { HHMM, Seconds } from '../lib/config-parts.js';

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

/** Cross-field checks of `probes.bandwidth` (paths from the config's root). */
export function bandwidthProblems(bw: BandwidthConfig): Problem[] {
  const problems: Problem[] = [];
  if (bw.method === 'iperf3' && !bw.iperf3) {
    problems.push({ path: 'probes/bandwidth/iperf3', message: 'is required when method is iperf3' });
  }
  if (bw.streams > bw.maxStreams) {
    problems.push({
      path: 'probes/bandwidth/streams',
      message: `must not exceed maxStreams (${bw.maxStreams})`,
    });
  }
  return problems;
}
