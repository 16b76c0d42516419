import { describe, expect, it } from 'vitest';
import { evaluateBackbone, evaluateUplink } from '../../collector/src/evaluate/uplink.js';
import { DEFAULT_TARGETS_FILE, loadTargets } from '../../collector/src/targets.js';
import type { BandwidthResult, UplinkSnmpResult } from '../../protocol/report.js';

const targets = loadTargets(DEFAULT_TARGETS_FILE); // tolerance 0.9, last 3 tests

let minute = 0;
function test(
  direction: 'down' | 'up',
  mbps: number,
  outcome: BandwidthResult['outcome'] = 'ok',
): BandwidthResult {
  minute++;
  return {
    probe: 'bandwidth',
    target: 'collector',
    outcome,
    durationMs: 10_000,
    at: new Date(Date.UTC(2026, 10, 23, 1, minute)).toISOString(),
    method: 'http',
    direction,
    mbps,
    streams: 4,
    durationS: 10,
    bytes: 1,
  };
}
const both = (down: number, up: number) => [test('down', down), test('up', up)];

describe('evaluateUplink (300 Mbps tier, tolerance 0.9 → 270, last 3 tests)', () => {
  it('met when the latest tests reach the threshold in both directions', () => {
    const row = evaluateUplink(both(287.5, 286.9), 300, targets);
    expect(row).toMatchObject({ target: 'uplink_bandwidth', state: 'met', value: 286.9, goal: 300 });
    expect(row.reason).toBe(
      'down 287.5 Mbps (median of last 1: 287.5); up 286.9 Mbps (median of last 1: 286.9); target 300 Mbps × 0.9 = 270 Mbps',
    );
  });

  it('one test below is not yet a verdict; three in a row are', () => {
    const one = evaluateUplink(both(239, 240), 300, targets);
    expect(one.state).toBe('no_data');
    expect(one.reason).toContain('1 of 3 tests below so far');
    const three = evaluateUplink([...both(239, 240), ...both(238, 241), ...both(240, 239)], 300, targets);
    expect(three).toMatchObject({ state: 'not_met', value: 239, goal: 300 });
    expect(three.reason).toContain('the last 3 tests were all below');
  });

  it('a good test among the last K keeps it met; only the last K count', () => {
    const history = [
      ...both(100, 100),
      ...both(100, 100),
      ...both(100, 100),
      ...both(280, 280),
      ...both(200, 200),
      ...both(200, 200),
    ];
    expect(evaluateUplink(history, 300, targets).state).toBe('met');
    expect(evaluateUplink([...history, ...both(200, 200)], 300, targets).state).toBe('not_met');
  });

  it('one direction failing is enough; failed tests (no measurement) are not counted', () => {
    const rows = [...both(290, 100), ...both(290, 100), ...both(290, 100)];
    expect(evaluateUplink(rows, 300, targets)).toMatchObject({ state: 'not_met', value: 100 });
    const failedOnly = [test('down', 0, 'refused'), test('up', 0, 'refused')];
    expect(evaluateUplink(failedOnly, 300, targets)).toMatchObject({ state: 'no_data', value: null });
  });
});

describe('evaluateBackbone', () => {
  const port = (ifName: string, role: 'core' | 'access', speed: number): UplinkSnmpResult => ({
    probe: 'uplink-snmp',
    target: '核心交换机',
    outcome: 'ok',
    durationMs: 5,
    at: '2026-11-23T01:00:00.000Z',
    device: { name: '核心交换机', address: '10.203.0.1' },
    role,
    ifIndex: 1,
    ifName,
    operUp: true,
    ifSpeedMbps: speed,
  });
  it('needs 10 Gbps core and 1 Gbps access ports', () => {
    expect(
      evaluateBackbone([port('TE0/1', 'core', 10000), port('GE0/2', 'access', 1000)], targets),
    ).toMatchObject({
      state: 'met',
      value: 10000,
      goal: 10000,
    });
    const slow = evaluateBackbone([port('TE0/1', 'core', 10000), port('FE0/3', 'access', 100)], targets);
    expect(slow).toMatchObject({ state: 'not_met' });
    expect(slow.reason).toBe('below target: 核心交换机 FE0/3 (access) 100 Mbps < 1000');
    expect(evaluateBackbone([], targets).state).toBe('no_data');
  });
});
