// `reachability`: one `device` point per device and check (with `maintenance` 1/0 when the report is
// written with the school's maintenance windows); kept per device, check and port.
import type { ReachabilityResult } from '../../../protocol/report.js';
import { bit, type ResultKind, resultTime } from './result-kind.js';

export const reachabilityResults: ResultKind<ReachabilityResult> = {
  probe: 'reachability',
  key: (r) => `reachability|${r.target}|${r.check}|${r.port ?? ''}`,
  keyHoldsTarget: true,
  lines(r, out, ctx) {
    const t = resultTime(r, ctx);
    out.begin('device').tag('device', r.device.name).tag('check', r.check);
    if (r.device.room) out.tag('room', r.device.room);
    if (r.device.roomType) out.tag('room_type', r.device.roomType);
    if (r.device.type) out.tag('device_type', r.device.type);
    if (r.port) out.tag('port', String(r.port));
    if (r.family) out.num('family', r.family);
    out.opt('loss_pct', r.lossPct);
    if (ctx.maintenance)
      out.num('maintenance', bit(ctx.maintenance({ room: r.device.room, device: r.device.name }, t)));
    out.str('outcome', r.outcome).opt('rtt_ms', r.rttMs).num('up', bit(r.up)).end(t);
  },
  rollups: [{ measurement: 'device', fields: ['up', 'rtt_ms', 'loss_pct'] }],
};
