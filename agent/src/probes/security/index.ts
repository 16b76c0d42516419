// The security probe kind: the baseline scan (README.md beside this file; its config: schema.ts, sample.yaml;
// its rules: rules/index.ts).
import type { ProbeKind } from '../probe.js';
import { type SecuritySlice, securitySlice } from './slice.js';

export type { SecurityDevice, SecuritySlice } from './slice.js';

export const securityKind: ProbeKind<SecuritySlice> = {
  kind: 'security',
  // its own block, the inventory's devices it scans, and the configured SNMP secrets it must not report
  slice: securitySlice,
  load: async () => (await import('./probe.js')).securityProbe,
};
