import { describe, expect, it } from 'vitest';
import { clockFindings } from '../../collector/src/evaluate/clock.js';
import {
  evaluateCompliance,
  noEvidence,
  roomStates,
  TARGET_NAMES,
  tierOf,
} from '../../collector/src/evaluate/compliance.js';
import { DEFAULT_TARGETS_FILE, loadTargets } from '../../collector/src/targets.js';
import type { ReachabilityResult } from '../../protocol/report.js';
import type { School } from '../../protocol/school.js';

const targets = loadTargets(DEFAULT_TARGETS_FILE);
const school: School = { id: 's', name: '星海', timezone: 'Asia/Shanghai' };

function check(
  device: string,
  room: string,
  roomType: string,
  up: boolean,
  extra: Partial<ReachabilityResult> = {},
) {
  return {
    probe: 'reachability',
    target: device,
    outcome: up ? 'ok' : 'timeout',
    durationMs: 1,
    at: '2026-11-23T01:00:00.000Z',
    device: { name: device, address: '10.203.1.1', room, roomType, critical: true },
    check: 'icmp',
    up,
    ...extra,
  } as ReachabilityResult;
}

describe('tierOf', () => {
  it.each([
    [{}, 'small'],
    [{ pupils: 999 }, 'small'],
    [{ pupils: 1000 }, 'medium'],
    [{ pupils: 2500 }, 'medium'],
    [{ pupils: 2501 }, 'large'],
    [{ pupils: 100, tier: 'large' as const }, 'large'],
  ])('%o → %s', (s, tier) => {
    expect(tierOf(s, targets)).toBe(tier);
  });
});

const NOW = new Date('2026-11-23T01:05:00.000Z'); // a Monday, 09:05 in Shanghai: teaching hours

describe('evaluateCompliance', () => {
  it('without data every target is no_data, but 校校通 is not met: no agent is enrolled', () => {
    const rows = evaluateCompliance(noEvidence(school), targets, NOW);
    expect(rows.map((r) => r.target)).toEqual([...TARGET_NAMES]);
    expect(rows.filter((r) => r.state !== 'no_data').map((r) => [r.target, r.state, r.reason])).toEqual([
      ['school_connected', 'not_met', 'no agent enrolled: the school is not connected to monitoring'],
    ]);
    expect(rows.find((r) => r.target === 'uplink_bandwidth')).toMatchObject({
      goal: 300,
      reason: 'no speed test reported yet; target 300 Mbps × 0.9 = 270 Mbps',
      evidenceAt: null,
      expiresAt: null,
    });
  });

  it('a recording room is up when all its critical devices pass all checks; a school without one is 未建', () => {
    const rows = evaluateCompliance(
      {
        ...noEvidence(school),
        latest: [
          check('录播主机', '录播室 1', 'recording', true),
          check('录播主机', '录播室 1', 'recording', true, { check: 'tcp', port: 80 }),
          check('黑板', '智慧教室 301', 'smart', false),
        ],
      },
      targets,
      NOW,
    );
    expect(rows.find((r) => r.target === 'recording_room_working')).toMatchObject({
      state: 'met',
      value: 1,
      goal: 1,
      reason: '1 of 1 recording room(s) up: 录播室 1',
      evidenceAt: '2026-11-23T01:00:00.000Z',
      expiresAt: '2026-11-23T01:15:00.000Z',
    });
    expect(rows.find((r) => r.target === 'recording_room')).toMatchObject({
      state: 'met',
      reason: 'has 1 recording room(s): 录播室 1',
    });
    // the smart classroom's only device never answered: declared, not 建有, and not working
    expect(rows.find((r) => r.target === 'smart_classroom')).toMatchObject({
      state: 'not_met',
      value: 0,
      reason: '0 of 1 needed; declared but never answered: 智慧教室 301',
    });
    expect(rows.find((r) => r.target === 'smart_classroom_working')).toMatchObject({
      state: 'not_met',
      value: 0,
      reason: '0 of 1 smart classroom(s) up, 1 needed; down: 智慧教室 301: 黑板 (icmp timeout)',
    });
    // a room that answered once is still 建有 while its device is down
    const answered = evaluateCompliance(
      {
        ...noEvidence(school),
        latest: [check('黑板', '智慧教室 301', 'smart', false)],
        answeredRooms: new Set(['smart|智慧教室 301']),
      },
      targets,
      NOW,
    );
    expect(answered.find((r) => r.target === 'smart_classroom')?.state).toBe('met');
    expect(answered.find((r) => r.target === 'recording_room')).toMatchObject({
      state: 'not_met',
      reason: 'no recording room in the inventory (未建)',
    });
  });

  it('a non-critical device does not take its room down; one failed check of a critical device does', () => {
    const rooms = roomStates(
      [
        check('摄像机', '录播室 2', 'recording', false, {
          device: { name: '摄像机', address: 'x', room: '录播室 2', roomType: 'recording', critical: false },
        }),
        check('主机', '录播室 2', 'recording', true),
        check('主机B', '录播室 3', 'recording', true),
        check('主机B', '录播室 3', 'recording', false, { check: 'tcp', port: 554, outcome: 'refused' }),
      ],
      'recording',
    );
    expect(rooms.map((r) => ({ name: r.name, up: r.up, down: r.down, at: r.at }))).toEqual([
      { name: '录播室 2', up: true, down: [], at: '2026-11-23T01:00:00.000Z' },
      { name: '录播室 3', up: false, down: ['主机B (tcp/554 refused)'], at: '2026-11-23T01:00:00.000Z' },
    ]);
  });
});

describe('clockFindings', () => {
  const agent = (clockOffsetMs: number | null) => ({
    id: 'ag_1',
    schoolId: 's',
    hostname: 'nas',
    version: '0.1.0',
    enrolledAt: '2026-11-23T00:00:00.000Z',
    lastSeenAt: '2026-11-23T01:00:00.000Z',
    clockOffsetMs,
    lastReportId: null,
  });
  it('flags only agents beyond the threshold, either direction', () => {
    expect(clockFindings([agent(null), agent(29_999), agent(-30_000)], 30_000, 2)).toEqual([]);
    const [f] = clockFindings([agent(-45_250)], 30_000, 2);
    expect(f).toMatchObject({ rule: 'agent_clock_unsynchronised', severity: 'medium', target: 'ag_1' });
    // 安全审计 b) (audit records with date and time) of the school's protection level
    expect(f!.mlps).toMatch(/^GB\/T 22239-2019 7\.1\.4\.3 安全审计 b\)/);
    expect(clockFindings([agent(-45_250)], 30_000, 3)[0]!.mlps).toMatch(
      /^GB\/T 22239-2019 8\.1\.4\.3 安全审计 b\)/,
    );
    expect(f!.evidence).toBe(
      'agent ag_1 on nas: clock behind the collector by 45.3 s at 2026-11-23T01:00:00.000Z',
    );
  });
});

describe('SNMP v3 authentication failure', () => {
  it('is not an outage: the device answered (a credentials problem, reported as such by the agent)', () => {
    const rooms = roomStates(
      [
        check('录播主机', '录播室 9', 'recording', true),
        check('录播主机', '录播室 9', 'recording', false, {
          check: 'snmp',
          outcome: 'error',
          authFailure: true,
        }),
      ],
      'recording',
    );
    expect(rooms[0]).toMatchObject({ up: true, down: [] });
  });
});
