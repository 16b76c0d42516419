// How `campuswatch-agent probe uplink-snmp` shows one interface: the SNMP read failed, the port is down, or
// (verbose) up with its link speed and rates.
import type { UplinkSnmpResult } from '../../../../protocol/report.js';
import { DEVICE_HINTS, type ResultPrinter, type Text, t } from '../print.js';

const PORT_DOWN: Text = {
  en: 'the interface is down: check the cable and the other end',
  zh: '接口未连通：请检查网线和对端设备',
};

export const printUplinkSnmp: ResultPrinter<UplinkSnmpResult> = (r, lang, out) => {
  const subject = `${r.device.name} (${r.device.address}) ${r.ifName || `ifIndex ${r.ifIndex}`} [${r.role}]`;
  if (r.outcome !== 'ok') {
    out.lines.push({
      problem: true,
      text: `FAILED   ${subject}: ${r.outcome}${r.error ? ` (${r.error})` : ''} → ${t(lang, DEVICE_HINTS.snmpFailed)}`,
    });
    return;
  }
  if (!r.operUp) {
    out.lines.push({
      problem: true,
      text: `DOWN     ${subject}: ifOperStatus not up → ${t(lang, PORT_DOWN)}`,
    });
    return;
  }
  const rates =
    r.inMbps !== undefined
      ? ` in ${r.inMbps.toFixed(1)} Mbps, out ${(r.outMbps ?? 0).toFixed(1)} Mbps${r.utilPct !== undefined ? `, ${r.utilPct.toFixed(0)}%` : ''}`
      : r.note
        ? ` (${r.note})`
        : '';
  const speed = r.ifSpeedMbps !== undefined ? ` ${r.ifSpeedMbps} Mbps link` : '';
  out.lines.push({ problem: false, text: `up       ${subject}${speed}${rates}` });
};
