import { v7 as uuidv7 } from 'uuid';
import type { Report, SecurityResult } from '../../protocol/report.js';

/** A small valid report for tests that need one (spool, forwarder, ingest). */
export function makeReport(
  opts: { agentId?: string; schoolId?: string; at?: Date; device?: string } = {},
): Report {
  const at = opts.at ?? new Date();
  const iso = at.toISOString();
  const device = opts.device ?? '录播主机 A1';
  return {
    schema: 1,
    reportId: uuidv7(),
    agentId: opts.agentId ?? 'ag_test',
    schoolId: opts.schoolId ?? 'sz-001',
    agentVersion: '0.1.0',
    startedAt: iso,
    finishedAt: iso,
    health: { spoolDepth: 0, spoolDropped: 0, spoolRejected: 0, cycleMs: 1, rssMb: 50 },
    results: [
      {
        probe: 'reachability',
        target: device,
        outcome: 'ok',
        durationMs: 1,
        at: iso,
        device: {
          name: device,
          address: '127.0.0.1',
          room: '录播室 1',
          roomType: 'recording',
          critical: true,
        },
        check: 'icmp',
        up: true,
        rttMs: 0.05,
        lossPct: 0,
        sent: 1,
        received: 1,
        family: 4,
      },
    ],
  };
}

/** A report whose one result is the Telnet check of a recording host: open (a finding) or closed. */
export function telnetReport(opts: { agentId: string; schoolId: string; at: Date; open: boolean }): Report {
  const base = makeReport(opts);
  const result: SecurityResult = {
    probe: 'security',
    target: '录播主机 A1',
    outcome: 'ok',
    durationMs: 2,
    at: base.startedAt,
    rule: 'cleartext-telnet',
    finding: opts.open,
    evidence: opts.open ? 'TCP 23 open' : 'TCP 23 refused (closed)',
    port: 23,
  };
  return { ...base, results: [result] };
}
