/**
 * A compliance target is its module: the term report's criterion, the console's unit and the section of
 * targets.yaml come from the module in the targets registry, with the texts and the schema they had when
 * they were a switch, a map and a part of targets.ts.
 */
import { describe, expect, it } from 'vitest';
import { TARGETS } from '../../collector/src/evaluate/targets/registry.js';
import { parseTargets, TargetsConfig } from '../../collector/src/targets.js';
import { criterionOf } from '../../collector/src/term-report/criteria.js';

const BASE =
  'uplink: {tolerance: 0.8, tiers: {small: {maxPupils: 1000, mbps: 300}, medium: {maxPupils: 2000, mbps: 500}, large: {mbps: 1000}}}\n' +
  'backbone: {coreMinMbps: 10000, accessMinMbps: 1000}\nipv6: {minScore: 8.5, districtGoalPct: 100}\n' +
  'recordingRoom: {minPerSchool: 2, districtGoalPct: 80}\nsmartClassroom: {minPerSchool: 1, districtGoalPct: 100}\n' +
  'wirelessCoverage: {minPct: 95}\ninteractiveClassrooms: {minPct: 90}\nconnected: {maxAge: 20m}\n' +
  'multimediaRooms: {per100Pupils: {primary: 2.3, nine-year: 2.4}}\n' +
  "deviceAvailability: {minPct: 95, windowDays: 14, teachingHours: {days: [mon], start: '08:00', end: '17:00'}}\n";

describe('target modules', () => {
  it("each target's criterion in both languages, from its own section's values", () => {
    const t = parseTargets(`${BASE}security: {maxOpenSeverity: medium}\n`);
    const texts = Object.fromEntries(
      TARGETS.map((m) => [m.name, [criterionOf(m.name, t, 'zh'), criterionOf(m.name, t, 'en')]]),
    );
    expect(texts).toEqual({
      school_connected: ['探针在 20m 内上报', 'an agent reported within 20m'],
      uplink_bandwidth: [
        '下行与上行 ≥ 300/500/1000 Mbit/s（小/中/大规模）× 0.8',
        'down and up ≥ 300/500/1000 Mbit/s (small/medium/large) × 0.8',
      ],
      backbone: [
        '核心端口 ≥ 10000、接入端口 ≥ 1000 Mbit/s',
        'core ports ≥ 10000, access ports ≥ 1000 Mbit/s',
      ],
      ipv6: ['就绪评分 ≥ 8.5，校内服务支持 IPv6', 'readiness score ≥ 8.5, services over IPv6'],
      wireless_coverage: ['教学用房有在线 AP ≥ 95%', 'teaching rooms with an AP up ≥ 95%'],
      interactive_classrooms: [
        '教室有可用多媒体交互设备 ≥ 90%',
        'classrooms with a working panel or projector ≥ 90%',
      ],
      multimedia_rooms: [
        '每百名学生网络多媒体教室 ≥ 小学 2.3、九年一贯制 2.4',
        'multimedia rooms per 100 pupils ≥ primary 2.3, nine-year 2.4',
      ],
      recording_room: ['建有录播室 ≥ 2 间', 'recording rooms ≥ 2'],
      recording_room_working: ['录播室教学时段可用', 'the recording room works in teaching hours'],
      smart_classroom: ['建有智慧教室 ≥ 1 间', 'smart classrooms ≥ 1'],
      smart_classroom_working: ['智慧教室教学时段可用', 'the smart classroom works in teaching hours'],
      device_availability: [
        '关键设备教学时段可用率 ≥ 95%（14 天）',
        'critical devices up ≥ 95% in teaching hours (14 days)',
      ],
      security: ['无高于中危的未整改安全隐患', 'no open finding above medium'],
      live_class: [
        '到专递课堂平台单向时延 ≤ 150 ms、抖动 ≤ 30 ms、丢包 ≤ 1%（探针所测限值）',
        'to the live-class platform: one way ≤ 150 ms, jitter ≤ 30 ms, loss ≤ 1 % (the limits each train carries)',
      ],
    });
  });

  it('the criteria follow the values that change their words; a target this version does not list has none', () => {
    const none = parseTargets(
      `${BASE}security: {maxOpenSeverity: none}\nipv6: {minScore: 9, requireServices: false, districtGoalPct: 100}\n`.replace(
        'ipv6: {minScore: 8.5, districtGoalPct: 100}\n',
        '',
      ),
    );
    expect(criterionOf('security', none, 'zh')).toBe('无未整改的安全隐患');
    expect(criterionOf('security', none, 'en')).toBe('no open finding');
    expect(criterionOf('ipv6', none, 'en')).toBe('readiness score ≥ 9');
    const low = parseTargets(`${BASE}security: {maxOpenSeverity: low}\n`);
    expect(criterionOf('security', low, 'zh')).toBe('无高于低危的未整改安全隐患');
    expect(criterionOf('retired_target', low, 'zh')).toBe('');
  });

  it("targets.yaml's sections are the modules' sections, in the documented order", () => {
    const sections = Object.keys(TargetsConfig.properties).filter((k) => k !== 'districts');
    expect(sections).toEqual([
      'uplink',
      'backbone',
      'ipv6',
      'recordingRoom',
      'smartClassroom',
      'interactiveClassrooms',
      'wirelessCoverage',
      'connected',
      'multimediaRooms',
      'deviceAvailability',
      'security',
      'liveClass',
    ]);
    const properties: Record<string, unknown> = TargetsConfig.properties;
    for (const m of TARGETS) expect(properties[m.section], m.name).toBe(m.sectionSchema);
    expect(new Set(TARGETS.map((m) => m.section))).toEqual(new Set(sections));
  });

  it("a module's section checks its fields and fills its defaults; a district's override keeps only what it sets", () => {
    const city = `${BASE}security: {maxOpenSeverity: medium}\n`;
    expect(() => parseTargets(`${city}liveClass: {maxAge: soon}\n`, 'targets.yaml')).toThrow(
      /^targets\.yaml: liveClass\.maxAge: /m,
    );
    // a district states only what it changes: the section's defaults are not filled in there
    const t = parseTargets(`${city}districts: {武进区: {liveClass: {districtGoalPct: 90}}}\n`);
    expect(t.districts.武进区).toEqual({ liveClass: { districtGoalPct: 90 } });
    expect(t.liveClass).toEqual({ maxAge: '1h' });
  });

  it("a district's override is checked as its section is: an unknown key or a bad value names its field", () => {
    const city = `${BASE}security: {maxOpenSeverity: medium}\n`;
    expect(() =>
      parseTargets(`${city}districts: {武进区: {liveClass: {goalPct: 90}}}\n`, 'targets.yaml'),
    ).toThrow(/^targets\.yaml: districts\.武进区\.liveClass\.goalPct: unknown key/m);
    expect(() =>
      parseTargets(`${city}districts: {武进区: {liveClass: {maxAge: soon}}}\n`, 'targets.yaml'),
    ).toThrow(/^targets\.yaml: districts\.武进区\.liveClass\.maxAge: must match/m);
    expect(() =>
      parseTargets(`${city}districts: {武进区: {uplink: {tiers: {large: {mbps: fast}}}}}\n`, 'targets.yaml'),
    ).toThrow(/^targets\.yaml: districts\.武进区\.uplink\./m);
  });
});
