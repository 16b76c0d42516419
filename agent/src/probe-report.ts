import type { ProbeName } from '../../protocol/probe-names.js';
import type { ProbeResult } from '../../protocol/report.js';
import type { DeviceStatus } from './device-status.js';
import { printBandwidth } from './probes/bandwidth/print.js';
import { printHost } from './probes/host/print.js';
import { printIpv6 } from './probes/ipv6/print.js';
import { printLiveClass } from './probes/live-class/print.js';
import {
  DEVICE_HINTS,
  type Lang,
  type PrintOut,
  type ReportLine,
  type ResultPrinters,
  t,
} from './probes/print.js';
import { printReachability } from './probes/reachability/print.js';
import { printSecurity } from './probes/security/print.js';
import { printUplinkSnmp } from './probes/uplink-snmp/print.js';

/**
 * What `campuswatch-agent probe <name>` prints without --json (pure): the problems first, one line
 * each with the device, the rule or check, the evidence and what to do; then one summary line; the
 * healthy lines only when asked (--verbose).
 */

// Each kind's printing lives in its folder (agent/src/probes/<kind>/print.ts); re-exported for existing imports.
export { SECURITY_REMEDIATION } from './probes/security/print.js';
export type { Lang, ReportLine };

export interface ProbeReport {
  problems: string[];
  healthy: string[];
  checks: number;
  /** Lines printed after the summary whatever is wrong (the IPv6 score and its reasons, the host). */
  notes: string[];
}

/**
 * Every kind's printer, from its folder: only the print files are loaded (the CLI prints a run without loading
 * the probes' libraries). A kind without a printer does not compile.
 */
const PRINTERS: ResultPrinters = {
  host: printHost,
  reachability: printReachability,
  bandwidth: printBandwidth,
  'uplink-snmp': printUplinkSnmp,
  ipv6: printIpv6,
  security: printSecurity,
  'live-class': printLiveClass,
};

/** One result through its kind's printer (the map's type relates the kind to its result). */
function printResult<K extends ProbeName>(
  kind: K,
  r: Extract<ProbeResult, { probe: K }>,
  lang: Lang,
  out: PrintOut,
) {
  PRINTERS[kind](r, lang, out);
}

/** The lines for the results of one probe run; the IPv6 score row becomes notes (score and reasons). */
export function probeReport(results: readonly ProbeResult[], lang: Lang): ProbeReport {
  const out: PrintOut = { lines: [], notes: [] };
  for (const r of results) printResult(r.probe, r, lang, out);
  const { lines, notes } = out;
  return {
    problems: lines.filter((l) => l.problem).map((l) => l.text),
    healthy: lines.filter((l) => !l.problem).map((l) => l.text),
    checks: lines.length,
    notes,
  };
}

/** `probe devices`: one line per device that is not up (critical ones first), from the device statuses. */
export function deviceReport(devices: readonly DeviceStatus[], lang: Lang): ProbeReport {
  const line = (d: DeviceStatus) => {
    const failed = d.checks.filter((c) => !c.up);
    const evidence = failed
      .map(
        (c) =>
          `${c.check}${c.port !== undefined ? `/${c.port}` : ''} ${c.outcome}${c.error ? ` (${c.error})` : ''}`,
      )
      .join('; ');
    const ok = d.checks
      .filter((c) => c.up)
      .map((c) => `${c.check}${c.port !== undefined ? `/${c.port}` : ''}`)
      .join(' ');
    const subject = `${d.room} / ${d.name} (${d.address})${d.critical ? ' [critical]' : ''}`;
    if (d.up) return `up       ${subject}  ${ok}`;
    const hint = d.authFailure ? DEVICE_HINTS.authFailure : DEVICE_HINTS.down;
    return `${d.authFailure ? 'AUTH    ' : 'DOWN    '} ${subject}  ${evidence} → ${t(lang, hint)}`;
  };
  const down = devices.filter((d) => !d.up).sort((a, b) => Number(b.critical) - Number(a.critical));
  return {
    problems: down.map(line),
    healthy: devices.filter((d) => d.up).map(line),
    checks: devices.length,
    notes: [],
  };
}

/** The text to print: problems, then the summary line, then (verbose) the healthy lines, then notes. */
export function renderReport(report: ProbeReport, what: 'check' | 'device', verbose: boolean): string {
  const n = report.problems.length;
  const on = `on ${report.checks} ${what}${report.checks === 1 ? '' : 's'}`;
  const summary = n === 0 ? `no problems ${on}` : `${n} ${n === 1 ? 'problem' : 'problems'} ${on}`;
  const out = [...report.problems, summary];
  if (verbose && report.healthy.length > 0) out.push('', ...report.healthy);
  if (report.notes.length > 0) out.push('', ...report.notes);
  return `${out.join('\n')}\n`;
}
