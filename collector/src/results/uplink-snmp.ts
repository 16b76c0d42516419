// `uplink-snmp`: one `uplink_snmp` point per interface of the border router and the core/access switches;
// kept per device and ifIndex.
import type { UplinkSnmpResult } from '../../../protocol/report.js';
import { bit, type ResultKind, resultTime } from './result-kind.js';

export const uplinkSnmpResults: ResultKind<UplinkSnmpResult> = {
  probe: 'uplink-snmp',
  key: (r) => `uplink-snmp|${r.device.name}|${r.ifIndex}`,
  keyHoldsTarget: false,
  lines(r, out, ctx) {
    out
      .begin('uplink_snmp')
      .tag('device', r.device.name)
      .tag('ifname', r.ifName)
      .tag('role', r.role)
      .opt('if_speed_mbps', r.ifSpeedMbps)
      .opt('in_mbps', r.inMbps)
      .num('ok', bit(r.outcome === 'ok'))
      .num('oper_up', bit(r.operUp))
      .opt('out_mbps', r.outMbps)
      .opt('util_pct', r.utilPct)
      .end(resultTime(r, ctx));
  },
  rollups: [{ measurement: 'uplink_snmp', fields: ['in_mbps', 'out_mbps', 'util_pct'] }],
};
