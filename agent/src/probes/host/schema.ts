// The `probes.host` block of the agent's config: its schema and its cross-field checks.
import { type Static, Type } from 'typebox';
import { ProbeCommon } from '../lib/config-parts.js';

/** The agent's own host: load, memory, disk, clock. */
export const HostConfig = Type.Object(ProbeCommon(300, 20), { additionalProperties: false, default: {} });
export type HostConfig = Static<typeof HostConfig>;
