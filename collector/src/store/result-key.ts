// The key a result is kept under in a school's latest results. Its own module so that what needs only the key
// (budgets.ts) does not import the state store, which imports it back.
import type { ProbeResult } from '../../../protocol/report.js';

/** Result identity inside a school: the latest result per probe, target and check. */
export function resultKey(r: ProbeResult): string {
  if (r.probe === 'reachability') return `reachability|${r.target}|${r.check}|${r.port ?? ''}`;
  if (r.probe === 'bandwidth') return `bandwidth|${r.direction}`;
  if (r.probe === 'uplink-snmp') return `uplink-snmp|${r.device.name}|${r.ifIndex}`;
  if (r.probe === 'ipv6') return `ipv6|${r.check}|${r.service ?? r.target}`;
  if (r.probe === 'security') return `security|${r.rule}|${r.target}|${r.port ?? 0}`;
  return `${r.probe}|${r.target}`;
}
