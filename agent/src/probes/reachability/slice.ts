import type { SiteInventory } from '../../inventory-config.js';
import type { ReachabilityConfig } from './schema.js';

/** What the reachability probe sees: its own `probes.reachability` block, and the inventory and rooms it checks. */
export interface ReachabilitySlice extends SiteInventory {
  reachability: ReachabilityConfig;
}
