// The bandwidth probe kind: the uplink speed test (README.md beside this file; its config: schema.ts, sample.yaml).
import type { ProbeKind } from '../probe.js';
import type { BandwidthSlice } from './probe.js';

export type { BandwidthSlice } from './probe.js';

export const bandwidthKind: ProbeKind<BandwidthSlice> = {
  kind: 'bandwidth',
  slice: (config) => ({ bandwidth: config.probes.bandwidth, collectorUrl: config.collector.url }),
  // the HTTP method takes a slot from the collector's speed-test service with the agent's token
  needsCredentials: true,
  load: async () => (await import('./probe.js')).bandwidthProbe,
};
