import type { ProbeKind } from '../probe.js';
import type { Ipv6Slice } from './probe.js';

/**
 * The `ipv6` probe kind: its own `probes.ipv6` block, plus the collector's URL, which is the connectivity
 * target when `probes.ipv6.targets` is empty. README.md: the checks, the `score` row, measurement `ipv6`.
 */
export const ipv6Kind: ProbeKind<Ipv6Slice> = {
  kind: 'ipv6',
  slice: (config) => ({ ipv6: config.probes.ipv6, collectorUrl: config.collector.url }),
  load: async () => (await import('./probe.js')).ipv6Probe,
};
