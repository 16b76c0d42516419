import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mergeLatest } from '../../collector/src/ingest/merge-latest.js';
import { resultKey, shiftedResult } from '../../collector/src/store/state-store.js';
import type { ProbeResult } from '../../protocol/report.js';
import { makeReport } from '../helpers/reports.js';

/** The rule as first written (a Map over every result's key): what mergeLatest must still answer. */
function reference(previous: readonly ProbeResult[], incoming: readonly ProbeResult[]): ProbeResult[] {
  const byKey = new Map(previous.map((r) => [resultKey(r), r]));
  for (const r of incoming) {
    const old = byKey.get(resultKey(r));
    if (!old || Date.parse(r.at) >= Date.parse(old.at)) byKey.set(resultKey(r), r);
  }
  return [...byKey.values()];
}

const T0 = Date.UTC(2026, 11, 2, 2, 0, 0);
const target = fc.constantFrom(
  '录播主机 A1',
  '10.203.0.7',
  'cam-1',
  'switch-core',
  'https://www.example.edu.cn',
);
const at = fc.integer({ min: 0, max: 5 }).map((m) => new Date(T0 + m * 60_000).toISOString());
// only the fields resultKey and mergeLatest read, for each kind of key
const result: fc.Arbitrary<ProbeResult> = fc.oneof(
  fc.record({
    probe: fc.constant('reachability'),
    target,
    check: fc.constantFrom('icmp', 'tcp', 'http'),
    port: fc.option(fc.constantFrom(80, 554), { nil: undefined }),
    at,
  }),
  fc.record({ probe: fc.constant('bandwidth'), target, direction: fc.constantFrom('down', 'up'), at }),
  fc.record({
    probe: fc.constant('uplink-snmp'),
    target,
    device: fc.record({ name: fc.constantFrom('border', 'core') }),
    ifIndex: fc.constantFrom(1, 2),
    at,
  }),
  fc.record({
    probe: fc.constant('ipv6'),
    target,
    check: fc.constantFrom('dns', 'http'),
    service: fc.option(fc.constantFrom('www', 'mail'), { nil: undefined }),
    at,
  }),
  fc.record({
    probe: fc.constant('security'),
    target,
    rule: fc.constantFrom('telnet', 'rdp'),
    port: fc.constant(23),
    at,
  }),
  fc.record({ probe: fc.constant('host'), target, at }),
) as unknown as fc.Arbitrary<ProbeResult>;

describe('mergeLatest', () => {
  it('answers what a map over every key answers (same results, same order)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(result, { selector: resultKey, maxLength: 40 }),
        fc.array(result, { maxLength: 20 }),
        (previous, incoming) => {
          expect(mergeLatest(previous, incoming)).toStrictEqual(reference(previous, incoming));
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('shiftedResult', () => {
  const result = (at: string): ProbeResult => ({ ...makeReport().results[0]!, at });
  /** The rule as first written: parsed, moved and formatted again every time. */
  const slow = (at: string, shiftMs: number) => new Date(Date.parse(at) - shiftMs).toISOString();

  it('keeps the result itself exactly when parsing and formatting its time changes nothing', () => {
    const edge = fc.constantFrom(
      '2026-02-30T00:00:00.000Z', // read as 2 March
      '2025-02-29T08:00:00.000Z',
      '2024-02-29T08:00:00.000Z',
      '2026-01-01T24:00:00.000Z', // read as the next day
      '2026-12-02T10:00:00Z', // no milliseconds
      '2026-12-02T18:00:00.000+08:00',
      '2026-12-31T23:59:59.999Z',
    );
    const anyTime = fc
      .integer({ min: Date.UTC(1970, 0, 1), max: Date.UTC(2200, 0, 1) })
      .map((t) => new Date(t).toISOString());
    fc.assert(
      fc.property(fc.oneof(edge, anyTime), fc.constantFrom(0, 0, 61_000, -1), (at, shiftMs) => {
        const r = result(at);
        const out = shiftedResult(r, shiftMs);
        expect(out.at).toBe(slow(at, shiftMs));
        expect(out === r).toBe(out.at === at);
        expect({ ...out, at }).toEqual(r);
      }),
      { numRuns: 500 },
    );
  });
});
