import { describe, expect, it } from 'vitest';
import type { Report } from '../../protocol/report.js';
import { checkReport } from '../../protocol/report-check.js';
import { formatProblem } from '../../protocol/validate.js';

function sampleReport(overrides: Partial<Report> = {}): Report {
  return {
    schema: 1,
    reportId: '019a8a6e-7c1d-7abc-8def-0123456789ab',
    agentId: 'ag_test',
    schoolId: 'sz-001',
    agentVersion: '0.1.0',
    startedAt: '2026-11-23T01:00:00.000Z',
    finishedAt: '2026-11-23T01:00:02.000Z',
    health: { spoolDepth: 0, spoolDropped: 0, spoolRejected: 0, cycleMs: 2000, rssMb: 60 },
    results: [
      {
        probe: 'reachability',
        target: '录播主机',
        outcome: 'ok',
        durationMs: 12.5,
        at: '2026-11-23T01:00:01.000Z',
        device: { name: '录播主机', address: '10.203.1.10', room: '录播室 1', roomType: 'recording' },
        check: 'icmp',
        up: true,
        rttMs: 0.4,
        lossPct: 0,
        sent: 3,
        received: 3,
        family: 4,
      },
    ],
    ...overrides,
  };
}

const messages = (body: unknown) => {
  const r = checkReport(body);
  return r.ok ? [] : r.problems.map(formatProblem);
};

describe('checkReport', () => {
  it('accepts a valid report', () => {
    expect(checkReport(sampleReport()).ok).toBe(true);
  });

  it('carries room and device types as text: a custom type declared at the school is accepted', () => {
    const r = sampleReport();
    const [first] = r.results;
    if (first?.probe !== 'reachability') throw new Error('sample changed');
    const custom = { ...first, device: { ...first.device, type: '广播主机', roomType: '报告厅' } };
    expect(messages({ ...r, results: [custom] })).toEqual([]);
    const tooLong = { ...first, device: { ...first.device, roomType: 'x'.repeat(65) } };
    expect(messages({ ...r, results: [tooLong] })).toEqual([
      'results/0/device/roomType: must not have more than 64 characters',
    ]);
  });

  it('rejects an unknown schema version and says which versions are accepted', () => {
    const r = checkReport({ ...sampleReport(), schema: 2 });
    expect(r.ok).toBe(false);
    expect(r.ok ? null : r.unsupportedSchema).toBe(true);
    expect(messages({ ...sampleReport(), schema: 2 })).toEqual([
      'schema: unsupported report schema version 2; this collector accepts schema versions: 1',
    ]);
  });

  it('names missing fields, wrong types and unknown keys', () => {
    const { agentId: _drop, ...missing } = sampleReport();
    expect(messages(missing)).toEqual(['agentId: is required']);
    expect(messages({ ...sampleReport(), startedAt: 12 })).toEqual(['startedAt: must be string']);
    expect(messages({ ...sampleReport(), extra: true })).toEqual(['extra: unknown key']);
  });

  it('checks every result against the schema of its probe', () => {
    const base = sampleReport();
    const bad = {
      ...base,
      results: [
        { ...base.results[0]!, durationMs: -1 },
        { ...base.results[0]!, probe: 'nope' },
      ],
    };
    expect(messages(bad)).toEqual([
      'results/0/durationMs: must be >= 0',
      'results/1/probe: must be one of: "host", "reachability", "bandwidth", "uplink-snmp", "ipv6", "security", "live-class"',
    ]);
    const outcome = { ...base, results: [{ ...base.results[0]!, outcome: 'fine' }] };
    expect(messages(outcome)).toEqual([
      'results/0/outcome: must be one of: "ok", "timeout", "refused", "unreachable", "error"',
    ]);
  });

  it('rejects a device name ending in a backslash (InfluxDB would refuse that tag)', () => {
    const base = sampleReport();
    const r = { ...base.results[0]!, target: 'cam\\' } as Report['results'][number];
    expect(messages({ ...base, results: [r] })).toEqual([
      'results/0/target: must be non-empty text without control characters and must not end with a backslash',
    ]);
  });

  it('enforces the time window: finishedAt not before startedAt, results inside the window', () => {
    expect(messages(sampleReport({ finishedAt: '2026-11-23T00:59:59.000Z' }))).toEqual([
      'finishedAt: is before startedAt (2026-11-23T01:00:00.000Z)',
    ]);
    const base = sampleReport();
    const late = { ...base.results[0]!, at: '2026-11-23T01:00:05.000Z' } as Report['results'][number];
    expect(messages({ ...base, results: [late] })).toEqual([
      "results/0/at: 2026-11-23T01:00:05.000Z is outside the report's window 2026-11-23T01:00:00.000Z – 2026-11-23T01:00:02.000Z",
    ]);
  });

  it('rejects non-objects', () => {
    expect(messages([1, 2])).toEqual(['the report must be a JSON object']);
    expect(messages(null)).toEqual(['the report must be a JSON object']);
  });
});
