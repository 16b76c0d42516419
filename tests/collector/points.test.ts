import { describe, expect, it } from 'vitest';
import { benchSchools, ReportTemplate } from '../../bench/school-profile.js';
import { DEFAULT_BASELINE_FILE, loadBaseline } from '../../collector/src/baseline.js';
import { evaluateCompliance, noEvidence, tierOf } from '../../collector/src/evaluate/compliance.js';
import { type FindingRecord, nextFindings } from '../../collector/src/evaluate/findings.js';
import { InfluxRejectedError } from '../../collector/src/store/influx.js';
import { lineOf, validatePoint } from '../../collector/src/store/line-protocol.js';
import { type PointContext, reportLines } from '../../collector/src/store/points.js';
import { DEFAULT_TARGETS_FILE, loadTargets } from '../../collector/src/targets.js';
import type { Report } from '../../protocol/report.js';
import type { School } from '../../protocol/school.js';
import { pointOfLine } from '../helpers/line-protocol.js';

const targets = loadTargets(DEFAULT_TARGETS_FILE);
const baseline = loadBaseline(DEFAULT_BASELINE_FILE);
const AT = new Date('2026-12-02T02:00:00.000Z');

/** A report of every probe (the bench's `full` cycle plus the host probe), profile 4 having an open finding. */
function fullReport(school: School): Report {
  const full = JSON.parse(new ReportTemplate(4, 0, 1, 'full').fill(school.id, 'ag_1', AT)) as Report;
  const host = JSON.parse(new ReportTemplate(4, 0, 1, 'host').fill(school.id, 'ag_1', AT)) as Report;
  return { ...full, results: [...host.results.filter((r) => r.probe === 'host'), ...full.results] };
}

function contextOf(report: Report, school: School, shiftMs = 0): PointContext {
  const findings = nextFindings(new Map(), report.results, baseline, school);
  const accepted: FindingRecord = {
    ...findings[0]!,
    target: '服务器 2',
    state: 'accepted',
    acceptedUntil: '2027-01-31',
    acceptedReason: '厂商维护窗口',
    value: 3,
  };
  const compliance = evaluateCompliance(
    { ...noEvidence(school), latest: report.results, availability: { up: 9, total: 10 }, findings },
    targets,
    AT,
  );
  const tier = tierOf(school, targets);
  return {
    school,
    tier,
    uplinkGoalMbps: targets.uplink.tiers[tier].mbps,
    shiftMs,
    clockOffsetMs: shiftMs + 250,
    receivedAt: new Date(AT.getTime() + 1500),
    compliance,
    findings: [...findings, accepted],
  };
}

const school: School = {
  ...benchSchools(5)[4]!,
  // every character the line protocol escapes, a quote, a backslash inside, and Chinese
  name: '苏州市 第一,中学=本部 "东" a\\b',
  district: '姑苏区',
};

describe('reportLines', () => {
  const report = fullReport(school);
  const lines = reportLines(report, contextOf(report, school));

  it('writes the spool’s health when the agent reports its disk full (fields in key order)', () => {
    const full: Report = {
      ...report,
      health: {
        ...report.health,
        spoolUnstored: 3,
        spoolDeadDropped: 2,
        spoolFailure: { since: AT.toISOString(), message: 'store a report: database or disk is full' },
      },
    };
    const agent = reportLines(full, contextOf(full, school)).find((l) => l.startsWith('agent,'))!;
    const point = pointOfLine(agent);
    expect(lineOf(point)).toBe(agent);
    expect(point.fields).toMatchObject({ spool_unstored: 3, spool_dead_dropped: 2, spool_failing: 1 });
    // a healthy spool writes none of them
    const healthy = lines.find((l) => l.startsWith('agent,'))!;
    expect(healthy).not.toMatch(/spool_unstored|spool_dead_dropped|spool_failing/);
  });

  it('writes every measurement of a report, each line as lineOf writes the same point', () => {
    const measurements = new Set(lines.map((l) => pointOfLine(l).measurement));
    expect([...measurements].sort()).toEqual(
      [
        'agent',
        'compliance',
        'device',
        'finding',
        'host',
        'host_disk',
        'host_nic',
        'ipv6',
        'uplink_snmp',
        'uplink_speedtest',
      ].sort(),
    );
    for (const line of lines) {
      const point = pointOfLine(line);
      expect(() => validatePoint(point)).not.toThrow();
      // lineOf (checked against node-influx's writer in influx-store.test.ts) sorts fields by key
      expect(lineOf(point)).toBe(line);
      expect(point.tags).toMatchObject({ school: school.id, school_name: school.name, district: '姑苏区' });
    }
    // the loopback NIC is left out; the accepted finding carries its end of acceptance
    expect(lines.some((l) => l.includes(',nic=lo'))).toBe(false);
    const accepted = lines.map(pointOfLine).find((p) => p.tags?.target === '服务器 2')!;
    expect(accepted.fields).toMatchObject({
      open: 0,
      value: 3,
      accepted_until_s: Date.parse('2027-01-31T23:59:59+08:00') / 1000,
    });
  });

  it('escapes tag values and keeps Chinese text as it is', () => {
    const device = lines.find((l) => l.startsWith('device,') && l.includes('录播主机'))!;
    expect(
      device.startsWith(
        'device,school=bench-00004,school_name=苏州市\\ 第一\\,中学\\=本部\\ "东"\\ a\\b,size_tier=',
      ),
    ).toBe(true);
    expect(device).toMatch(/,device=录播主机\\ A1,check=icmp,room=录播室\\ 1,room_type=recording,/);
    expect(device).toMatch(/ family=4,loss_pct=0,outcome="ok",rtt_ms=[\d.]+,up=1 \d+$/);
  });

  it("moves every point by the agent's clock shift", () => {
    const shifted = reportLines(report, contextOf(report, school, 61_000));
    expect(shifted).toHaveLength(lines.length);
    shifted.forEach((line, i) => {
      const before = pointOfLine(lines[i]!).timestamp as Date;
      const after = pointOfLine(line).timestamp as Date;
      // finding points carry the collector's own (already shifted) times
      if (pointOfLine(line).measurement !== 'finding')
        expect(before.getTime() - after.getTime()).toBe(61_000);
    });
    const agent = pointOfLine(shifted[0]!);
    expect(agent.fields).toMatchObject({ clock_shifted: 1, clock_offset_s: 61.25 });
  });

  it('refuses a point InfluxDB would refuse, naming the measurement and the tag or field', () => {
    const cases: [(r: Report) => void, RegExp][] = [
      [
        (r) => {
          const snmp = r.results.find((x) => x.probe === 'uplink-snmp');
          if (snmp?.probe === 'uplink-snmp') snmp.ifName = 'Gi0/1\\';
        },
        /measurement "uplink_snmp": tag "ifname" value "Gi0\/1\\\\" ends in a backslash/,
      ],
      [
        (r) => {
          const dev = r.results.find((x) => x.probe === 'reachability');
          if (dev?.probe === 'reachability') dev.device.room = '录播室\u0007';
        },
        /measurement "device": tag "room" value "录播室\\u0007" contains a control character/,
      ],
      [
        (r) => {
          const dev = r.results.find((x) => x.probe === 'reachability');
          if (dev?.probe === 'reachability') dev.rttMs = Number.POSITIVE_INFINITY; // JSON's 1e400
        },
        /measurement "device": field "rtt_ms" must be a finite number/,
      ],
    ];
    for (const [mutate, message] of cases) {
      const bad = structuredClone(report);
      mutate(bad);
      expect(() => reportLines(bad, contextOf(bad, school))).toThrow(InfluxRejectedError);
      expect(() => reportLines(bad, contextOf(bad, school))).toThrow(message);
    }
    expect(() => reportLines(report, contextOf(report, { ...school, group: '第一集团\\' }))).toThrow(
      /measurement "agent": tag "group" value "第一集团\\\\" ends in a backslash/,
    );
  });
});
