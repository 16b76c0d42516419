// Schema parts every probe kind's config uses.
import { Type } from 'typebox';

export const Seconds = (def: number, min: number, max: number, description?: string) =>
  Type.Integer({ default: def, minimum: min, maximum: max, ...(description ? { description } : {}) });

/** enabled, intervalS, timeoutS: every probe has them (the agent's cross-check keeps timeoutS < intervalS). */
export const ProbeCommon = (intervalS: number, timeoutS: number) => ({
  enabled: Type.Boolean({ default: true, description: 'run this probe on its schedule' }),
  intervalS: Seconds(intervalS, 10, 86_400, 'seconds between two runs'),
  timeoutS: Seconds(timeoutS, 1, 3_600, 'a run is abandoned after this many seconds (less than intervalS)'),
});

export const HHMM = Type.String({ pattern: '^([01]\\d|2[0-3]):[0-5]\\d$', description: 'HH:MM' });

export const Url = Type.String({ pattern: '^https?://[^\\s/]+(/.*)?$', description: 'http(s) URL' });
