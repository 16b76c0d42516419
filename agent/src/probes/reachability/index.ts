import type { ProbeKind } from '../probe.js';
import type { ReachabilitySlice } from './slice.js';

/**
 * The reachability kind (README.md beside this file; `campuswatch-agent probe devices`): the probe sees its
 * `probes.reachability` block and the inventory and rooms whose devices it checks, nothing else of the config.
 */
export const reachabilityKind: ProbeKind<ReachabilitySlice> = {
  kind: 'reachability',
  slice: (config) => ({
    reachability: config.probes.reachability,
    inventory: config.inventory,
    rooms: config.rooms,
  }),
  load: async () => (await import('./probe.js')).reachabilityProbe,
};
