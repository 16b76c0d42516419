// The live-class probe kind: the path to the city's live-class platform (README.md beside this file; its config: schema.ts, sample.yaml).
import type { ProbeKind } from '../probe.js';
import type { LiveClassConfig } from './schema.js';

export const liveClassKind: ProbeKind<LiveClassConfig> = {
  kind: 'live-class',
  // its own block only: the platform and the train are all it needs
  slice: (config) => config.probes['live-class'],
  load: async () => (await import('./probe.js')).liveClassProbe,
};
