// The rule table: every rule of the security scan, the family that checks it and the plan that does.
// A family's plan may answer several rules with one piece of work (the SNMP check answers both SNMP
// rules, the TLS check all four TLS rules): it appears once per rule here and runs once per target.
import type { DevicePlan, HostPlan, ServicePlan } from '../check.js';
import type { SecurityRule } from '../verdict.js';
import { ftpPlan, httpAdminPlan, telnetPlan, tftpPlan } from './cleartext.js';
import { firewallPlan, osEolPlan } from './host.js';
import { highRiskPlan } from './ports.js';
import { rtspPlan } from './rtsp.js';
import { snmpPlan } from './snmp.js';
import { tlsPlan } from './tls.js';

/** One file each under rules/. */
export type RuleFamily = 'cleartext' | 'ports' | 'snmp' | 'rtsp' | 'tls' | 'host';

/** What a rule looks at: every inventory device, every configured TLS service, or the agent host. */
export type RuleEntry =
  | { family: RuleFamily; scope: 'device'; plan: DevicePlan }
  | { family: RuleFamily; scope: 'service'; plan: ServicePlan }
  | { family: RuleFamily; scope: 'host'; plan: HostPlan };

/** Every rule (the compiler checks that none is missing); the order is the order checks are started in. */
export const RULES: { readonly [R in SecurityRule]: RuleEntry } = {
  'cleartext-telnet': { family: 'cleartext', scope: 'device', plan: telnetPlan },
  'cleartext-ftp': { family: 'cleartext', scope: 'device', plan: ftpPlan },
  'cleartext-tftp': { family: 'cleartext', scope: 'device', plan: tftpPlan },
  'http-admin-no-tls': { family: 'cleartext', scope: 'device', plan: httpAdminPlan },
  'high-risk-port': { family: 'ports', scope: 'device', plan: highRiskPlan },
  'snmp-default-community': { family: 'snmp', scope: 'device', plan: snmpPlan },
  'snmp-v1v2c-enabled': { family: 'snmp', scope: 'device', plan: snmpPlan },
  'rtsp-no-auth': { family: 'rtsp', scope: 'device', plan: rtspPlan },
  'tls-expired': { family: 'tls', scope: 'service', plan: tlsPlan },
  'tls-expiring': { family: 'tls', scope: 'service', plan: tlsPlan },
  'tls-self-signed': { family: 'tls', scope: 'service', plan: tlsPlan },
  'tls-old-protocol': { family: 'tls', scope: 'service', plan: tlsPlan },
  'host-firewall-off': { family: 'host', scope: 'host', plan: firewallPlan },
  'host-os-eol': { family: 'host', scope: 'host', plan: osEolPlan },
};

type Plans = { device: DevicePlan[]; service: ServicePlan[]; host: HostPlan[] };

/** The distinct plans of each scope, in table order: a plan answering several rules runs once. */
export function rulePlans(): Plans {
  const out: Plans = { device: [], service: [], host: [] };
  for (const entry of Object.values(RULES)) {
    switch (entry.scope) {
      case 'device':
        if (!out.device.includes(entry.plan)) out.device.push(entry.plan);
        break;
      case 'service':
        if (!out.service.includes(entry.plan)) out.service.push(entry.plan);
        break;
      case 'host':
        if (!out.host.includes(entry.plan)) out.host.push(entry.plan);
        break;
    }
  }
  return out;
}
