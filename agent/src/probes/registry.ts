import type { ProbeName } from '../../../protocol/report.js';
import { hostProbe } from './host.js';
import type { Probe } from './probe.js';
import { reachabilityProbe } from './reachability.js';

/** Every probe kind by name (DESIGN §7.1): an explicit map, no magic loading. */
export const PROBES: Record<ProbeName, Probe> = {
  host: hostProbe,
  reachability: reachabilityProbe,
};
