// The host probe kind: the agent's own machine (README.md beside this file; its config: schema.ts, sample.yaml).
import type { ProbeKind } from '../probe.js';
import type { HostConfig } from './schema.js';

export const hostKind: ProbeKind<HostConfig> = {
  kind: 'host',
  // its own block only: the probe reads the machine it runs on, nothing of the school's config
  slice: (config) => config.probes.host,
  load: async () => (await import('./probe.js')).hostProbe,
};
