import { describe, expect, it } from 'vitest';
import { ALERT_RULES, desiredAlerts, type SchoolFacts } from '../../collector/src/alerts/rules.js';
import { DEFAULT_BASELINE_FILE, loadBaseline } from '../../collector/src/baseline.js';
import { AGENT_STATUSES, agentStatus } from '../../collector/src/evaluate/agent-status.js';
import { agentStatusLines } from '../../collector/src/store/fleet-points.js';
import { lineOf, validatePoint } from '../../collector/src/store/line-protocol.js';
import type { AgentRecord } from '../../collector/src/store/state.js';
import type { School } from '../../protocol/school.js';
import { pointOfLine } from '../helpers/line-protocol.js';

const baseline = loadBaseline(DEFAULT_BASELINE_FILE);
const NOW = new Date('2026-12-02T02:00:00.000Z');
const ago = (s: number) => new Date(NOW.getTime() - s * 1000).toISOString();

const school: School = {
  id: 'sz-xinghai-junior',
  // every character the line protocol escapes in a tag, and Chinese
  name: '苏州工业园区星海实验中学, 初中部 =东区',
  district: '苏州工业园区',
  group: '星海教育集团',
  area: 'urban',
  timezone: 'Asia/Shanghai',
};

function agent(id: string, enrolledAgoS: number, lastSeenAgoS: number | null): AgentRecord {
  return {
    id,
    schoolId: school.id,
    hostname: `星海-${id}`,
    version: '0.1.0',
    enrolledAt: ago(enrolledAgoS),
    lastSeenAt: lastSeenAgoS === null ? null : ago(lastSeenAgoS),
    clockOffsetMs: null,
    lastReportId: null,
    name: null,
    revokedAt: null,
    spoolDepth: null,
  };
}

const settings = { findingSeverity: 'high' as const, agentSilentS: 180, neverReportedAfterS: 3600 };

function facts(agents: AgentRecord[]): SchoolFacts {
  return { school, agents, findings: [], compliance: [], roomsDown: [] };
}

const alertsFor = (agents: AgentRecord[], s = settings) => desiredAlerts(facts(agents), baseline, s, NOW);

describe('agentStatus', () => {
  it('never_reported without a report, silent past agentSilentS, reporting otherwise', () => {
    expect(agentStatus(agent('a', 10, null), NOW, 180)).toEqual({
      status: 'never_reported',
      enrolledS: 10,
      silentS: 10,
    });
    expect(agentStatus(agent('a', 7200, 180), NOW, 180).status).toBe('reporting');
    expect(agentStatus(agent('a', 7200, 181), NOW, 180)).toEqual({
      status: 'silent',
      enrolledS: 7200,
      silentS: 181,
    });
    // an enrolment or report stamped after `now` (a clock step) counts as just now, not negative
    expect(agentStatus(agent('a', -30, -5), NOW, 180)).toEqual({
      status: 'reporting',
      enrolledS: 0,
      silentS: 0,
    });
  });
});

describe('agent-never-reported rule', () => {
  it('fires only after neverReportedAfterS, for an agent that never reported, with what the IT officer needs', () => {
    expect(alertsFor([agent('ag_new', 3600, null)])).toEqual([]);
    const [alert, ...rest] = alertsFor([agent('ag_new', 2 * 3600 + 5 * 60, null)]);
    expect(rest).toEqual([]);
    expect(alert).toMatchObject({
      fingerprint: `agent-never-reported|${school.id}|ag_new`,
      rule: 'agent-never-reported',
      severity: 'high',
      title: {
        zh: '探针已注册但从未上报：星海-ag_new',
        en: 'Agent enrolled but never reported: 星海-ag_new',
      },
      labels: { school: school.id, agent: 'ag_new' },
    });
    // the enrolment time in the school's zone (Asia/Shanghai): 北京时间 in zh, the offset in en
    const enrolled = new Date(NOW.getTime() - (2 * 3600 + 5 * 60) * 1000 + 8 * 3_600_000)
      .toISOString()
      .slice(0, 16)
      .replace('T', ' ');
    expect(alert!.detail.zh).toContain(`于 ${enrolled}（北京时间） 注册，已过去 2 小时 5 分钟`);
    expect(alert!.detail.en).toContain(`enrolled at ${enrolled} UTC+08:00, 2 h 5 min ago`);
    for (const text of [alert!.detail.zh, alert!.detail.en]) {
      expect(text).toContain('星海-ag_new');
      expect(text).toContain('campuswatch-agent status');
    }
    expect(alert!.detail.zh).toContain('服务是否已启动');
    expect(alert!.detail.en).toContain('service is running');
  });

  it('says how long in minutes, hours or days', () => {
    const detail = (s: number, threshold = 60) =>
      alertsFor([agent('x', s, null)], { ...settings, neverReportedAfterS: threshold })[0]!.detail;
    expect(detail(45 * 60).en).toContain(', 45 min ago');
    expect(detail(45 * 60).zh).toContain('已过去 45 分钟');
    expect(detail(3 * 3600).en).toContain(', 3 h ago');
    expect(detail(3 * 86_400 + 4 * 3600 + 59).zh).toContain('已过去 3 天 4 小时');
  });

  it('an agent that reported once is the agent-silent rule’s, never this one; silent iff status silent', () => {
    for (const lastSeen of [0, 100, 180, 181, 3600, 30 * 86_400]) {
      const a = agent('ag_old', 40 * 86_400, lastSeen);
      const rules = alertsFor([a]).map((x) => x.rule);
      expect(rules).not.toContain('agent-never-reported');
      expect(rules.includes('agent-silent'), `last seen ${lastSeen} s ago`).toBe(
        agentStatus(a, NOW, settings.agentSilentS).status === 'silent',
      );
    }
  });

  it('one alert per never-reported agent past the threshold, each with its own fingerprint', () => {
    const alerts = alertsFor([
      agent('ag_1', 4000, null),
      agent('ag_2', 100, null),
      agent('ag_3', 90_000, null),
      agent('ag_4', 90_000, 10),
    ]);
    expect(alerts.map((a) => a.fingerprint).sort()).toEqual([
      `agent-never-reported|${school.id}|ag_1`,
      `agent-never-reported|${school.id}|ag_3`,
    ]);
  });

  it('is a known rule (silences name rules from this list)', () => {
    expect(ALERT_RULES).toContain('agent-never-reported');
    expect(ALERT_RULES).toContain('agent-silent');
  });
});

describe('agentStatusLines (the agent_status series)', () => {
  const agents = [agent('ag_never', 7200, null), agent('ag_ok', 86_400, 60), agent('ag_gone', 86_400, 3600)];
  const other: School = { id: 'tc-shaxi', name: '太仓市沙溪高级中学', timezone: 'Asia/Shanghai' };
  const { lines, refused } = agentStatusLines(
    [
      { school, tier: 'large', agents },
      { school: other, tier: 'small', agents: [] },
    ],
    NOW,
    180,
  );

  it('one point per agent, tagged with the school, the agent and its status', () => {
    expect(refused).toEqual([]);
    expect(lines).toHaveLength(agents.length);
    const points = lines.map(pointOfLine);
    for (const [i, line] of lines.entries()) {
      const p = points[i]!;
      expect(() => validatePoint(p)).not.toThrow();
      // as the generic writer writes the same point: fields sorted by key, ms timestamp
      expect(lineOf(p)).toBe(line);
      expect(p.measurement).toBe('agent_status');
      expect((p.timestamp as Date).getTime()).toBe(NOW.getTime());
      expect(p.tags).toEqual({
        school: school.id,
        school_name: school.name,
        size_tier: 'large',
        district: school.district,
        group: school.group,
        area: 'urban',
        agent: agents[i]!.id,
        status: agentStatus(agents[i]!, NOW, 180).status,
      });
    }
    expect(points.map((p) => [p.tags?.agent, p.tags?.status, p.fields])).toEqual([
      ['ag_never', 'never_reported', { enrolled_s: 7200, never_reported: 1, silent_s: 7200 }],
      ['ag_ok', 'reporting', { enrolled_s: 86_400, never_reported: 0, silent_s: 60 }],
      ['ag_gone', 'silent', { enrolled_s: 86_400, never_reported: 0, silent_s: 3600 }],
    ]);
    expect(new Set(points.map((p) => p.tags?.status))).toEqual(new Set(AGENT_STATUSES));
  });

  it('escapes the school name and keeps the Chinese as it is', () => {
    expect(lines[0]).toMatch(
      /^agent_status,school=sz-xinghai-junior,school_name=苏州工业园区星海实验中学\\,\\ 初中部\\ \\=东区,size_tier=large,/,
    );
  });

  it('a school InfluxDB would refuse is left out and named; the others are written', () => {
    const bad: School = { ...other, id: 'bad', name: 'trailing\\' };
    const out = agentStatusLines(
      [
        { school: bad, tier: 'small', agents: [agent('ag_b', 10, null)] },
        { school, tier: 'large', agents: [agent('ag_g', 10, null)] },
      ],
      NOW,
      180,
    );
    expect(out.lines.map((l) => pointOfLine(l).tags?.agent)).toEqual(['ag_g']);
    expect(out.refused).toEqual([
      { school: 'bad', error: expect.stringMatching(/measurement "agent_status": tag "school_name"/) },
    ]);
  });
});
