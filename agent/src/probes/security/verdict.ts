// The vocabulary of the security scan: its rule ids, what one check observed (a Verdict), and text
// helpers that keep evidence short, printable and free of secrets.
import type { DeviceRef, Outcome } from '../../../../protocol/report.js';

/** Every rule the scan reports (config/baseline.yaml; rules/index.ts says which family checks each). */
export const SECURITY_RULES = [
  'cleartext-telnet',
  'cleartext-ftp',
  'cleartext-tftp',
  'http-admin-no-tls',
  'snmp-default-community',
  'snmp-v1v2c-enabled',
  'high-risk-port',
  'rtsp-no-auth',
  'tls-expired',
  'tls-expiring',
  'tls-old-protocol',
  'tls-self-signed',
  'host-firewall-off',
  'host-os-eol',
] as const;
export type SecurityRule = (typeof SECURITY_RULES)[number];

/**
 * What one check observed, before the common fields are added. `finding` is the protocol's name for
 * "the problem is present" (SecurityResult.finding); the collector turns it into a finding record.
 */
export interface Verdict {
  outcome: Outcome;
  finding: boolean;
  evidence: string;
  value?: number;
  error?: string;
}

/** What a verdict is about: one rule on one target (a device, a TLS service, the agent host), maybe one port. */
export interface Subject {
  rule: SecurityRule;
  target: string;
  device?: DeviceRef;
  port?: number;
}

/** Text safe for evidence: no control characters, bounded. */
export function clean(text: string, max = 200): string {
  return text
    .replace(/\p{Cc}+/gu, ' ')
    .trim()
    .slice(0, max);
}

export function quote(text: string, max = 200): string {
  return JSON.stringify(clean(text, max));
}

/** Every occurrence of a configured secret replaced. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join('[redacted]');
  return out;
}
