// How `campuswatch-agent probe reachability` shows one check of one device: down (or refusing the SNMP
// credentials) with what to do, or (verbose) up with its round-trip time.
import type { ReachabilityResult } from '../../../../protocol/report.js';
import { DEVICE_HINTS, type ResultPrinter, t, where } from '../print.js';

export const printReachability: ResultPrinter<ReachabilityResult> = (r, lang, out) => {
  const check = `${r.check}${r.port !== undefined ? `/${r.port}` : ''}`;
  const subject = `${where(r.device, r.target)}${r.device.critical ? ' [critical]' : ''}`;
  if (r.up) {
    const rtt = r.rttMs !== undefined ? ` ${r.rttMs.toFixed(1)} ms` : '';
    out.lines.push({ problem: false, text: `up       ${subject}  ${check}${rtt}` });
    return;
  }
  const hint = r.authFailure
    ? DEVICE_HINTS.authFailure
    : r.check === 'snmp'
      ? DEVICE_HINTS.snmpFailed
      : DEVICE_HINTS.down;
  const evidence = [r.outcome, r.status !== undefined ? `status ${r.status}` : '', r.error ?? '']
    .filter(Boolean)
    .join(', ');
  out.lines.push({
    problem: true,
    text: `${r.authFailure ? 'AUTH    ' : 'DOWN    '} ${subject}  ${check}: ${evidence} → ${t(lang, hint)}`,
  });
};
