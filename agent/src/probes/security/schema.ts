// The `probes.security` block of the agent's config: its schema and its cross-field checks.
import { type Static, Type } from 'typebox';
import { TagValue } from '../../../../protocol/school.js';
import { Seconds } from '../lib/config-parts.js';

/** The security baseline scan (docs/architecture.md, "Security baseline"): gentle, connect-only, only inventory devices and the agent host. */
export const SecurityConfig = Type.Object(
  {
    enabled: Type.Boolean({
      default: false,
      description: 'run the security baseline scan (config/baseline.yaml)',
    }),
    intervalS: Seconds(86_400, 300, 30 * 86_400, 'seconds between two scans'),
    timeoutS: Seconds(300, 10, 3_600, 'a scan is abandoned after this many seconds'),
    /** Connections in flight at once across the whole scan. */
    concurrency: Type.Integer({
      description: 'Connections in flight at once across the whole scan.',
      default: 16,
      minimum: 1,
      maximum: 128,
    }),
    connectTimeoutMs: Type.Integer({
      default: 2000,
      minimum: 100,
      maximum: 30_000,
      description: 'per connect',
    }),
    /** Also check the agent's own host (host-firewall-off, host-os-eol); false where the agent runs in a container. */
    hostChecks: Type.Boolean({
      default: true,
      description: "also check the agent's own host (firewall, OS end of life); false in a container",
    }),
    /** Public services whose TLS certificates are checked (expiry, protocol versions, self-signed). */
    tls: Type.Array(
      Type.Object(
        {
          name: TagValue('service name'),
          url: Type.String({
            pattern: '^https://[^\\s/]+(/\\S*)?$',
            maxLength: 2000,
            description: 'https URL',
          }),
        },
        { additionalProperties: false },
      ),
      { default: [], maxItems: 64 },
    ),
    /** Devices that must speak SNMPv3 only (v1/v2c answering is a finding). */
    snmpV3Required: Type.Boolean({
      description: 'Devices that must speak SNMPv3 only (v1/v2c answering is a finding).',
      default: false,
    }),
  },
  { additionalProperties: false, default: {} },
);
export type SecurityConfig = Static<typeof SecurityConfig>;
