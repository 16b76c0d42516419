import { describe, expect, it } from 'vitest';
import { SYMPTOMS } from '../../agent/src/probes/ipv6/score.js';
import {
  alertTime,
  evidenceZh,
  ipv6ReasonZh,
  mlpsZh,
  roomDownZh,
  uplinkReasonZh,
} from '../../collector/src/alerts/alert-words.js';
import { ALERT_RULES, desiredAlerts, type SchoolFacts } from '../../collector/src/alerts/rules.js';
import { DEFAULT_BASELINE_FILE, loadBaseline } from '../../collector/src/baseline.js';
import { roomAlertCandidates } from '../../collector/src/evaluate/availability.js';
import { evaluateIpv6 } from '../../collector/src/evaluate/ipv6.js';
import { roomsOf } from '../../collector/src/evaluate/targets/rooms.js';
import { evaluateUplink } from '../../collector/src/evaluate/uplink.js';
import type { AgentRecord, ComplianceRow } from '../../collector/src/store/state.js';
import { DEFAULT_TARGETS_FILE, loadTargets } from '../../collector/src/targets.js';
import type { BandwidthResult, Ipv6Result, ReachabilityResult } from '../../protocol/report.js';
import type { School } from '../../protocol/school.js';

// The zh alert texts are Chinese: the evaluation's English reasons, a room's down checks and the
// security probe's commonest evidence are said in Chinese (built here by the real builders, so a reworded
// phrase fails), and times are the school's local time: 北京时间, or the offset of another zone.

const baseline = loadBaseline(DEFAULT_BASELINE_FILE);
const targets = loadTargets(DEFAULT_TARGETS_FILE);
const NOW = new Date('2026-12-06T08:05:00.000Z'); // 16:05 in Beijing
const ago = (s: number) => new Date(NOW.getTime() - s * 1000).toISOString();

/** ASCII words a Chinese IT text keeps as they are: protocol, unit, product and standard names. */
const TERMS = new Set([
  'IPv6',
  'IPv4',
  'TCP',
  'UDP',
  'ICMP',
  'ping',
  'SNMP',
  'SNMPv2c',
  'SNMPv3',
  'DNS',
  'AAAA',
  'MTU',
  'TLS',
  'SSH',
  'Telnet',
  'FTP',
  'SFTP',
  'FTPS',
  'DHCPv6',
  'SLAAC',
  'RA',
  'Mbps',
  'UTC',
  'GB',
  'T',
  'Linux',
]);

/** The English words left in a zh text once the names and ids it quotes are taken out. */
function englishWords(text: string, quoted: readonly string[]): string[] {
  let t = text;
  for (const q of [...quoted].sort((a, b) => b.length - a.length)) t = t.split(q).join(' ');
  // an item of a 等保 clause: `7.1.4.1 身份鉴别 c)`
  t = t.replace(/(^|\s)[a-z]\)/g, ' ');
  return (t.match(/[A-Za-z][A-Za-z0-9-]*/g) ?? []).filter((w) => !TERMS.has(w));
}

describe('times in the school’s zone', () => {
  it('zh says 北京时间 for Asia/Shanghai and the offset elsewhere; en gives the offset', () => {
    expect(alertTime(NOW.toISOString(), 'Asia/Shanghai', 'zh')).toBe('2026-12-06 16:05（北京时间）');
    expect(alertTime(NOW.toISOString(), 'Asia/Shanghai', 'en')).toBe('2026-12-06 16:05 UTC+08:00');
    expect(alertTime(NOW.toISOString(), 'Asia/Urumqi', 'zh')).toBe('2026-12-06 14:05（UTC+06:00）');
    expect(alertTime(NOW.toISOString(), 'UTC', 'en')).toBe('2026-12-06 08:05 UTC+00:00');
    // a day boundary crossed by the zone
    expect(alertTime('2026-12-31T16:30:00.000Z', 'Asia/Shanghai', 'zh')).toBe('2027-01-01 00:30（北京时间）');
    // a zone Node does not know: Beijing time rather than an exception
    expect(alertTime(NOW.toISOString(), 'Mars/Olympus', 'zh')).toBe('2026-12-06 16:05（北京时间）');
    expect(alertTime('not a time', 'Asia/Shanghai', 'zh')).toBe('not a time');
  });
});

describe('English phrases of the evaluation in Chinese', () => {
  const bw = (direction: 'down' | 'up', mbps: number, minutesAgo: number): BandwidthResult => ({
    probe: 'bandwidth',
    target: 'collector',
    outcome: 'ok',
    durationMs: 10_000,
    at: ago(minutesAgo * 60),
    method: 'http',
    direction,
    mbps,
    streams: 4,
    durationS: 10,
    bytes: mbps * 1_250_000,
  });

  it('the uplink reason: every part said, figures kept', () => {
    const k = targets.uplink.lastTests;
    const slow = Array.from({ length: k }, (_, i) => [
      bw('down', 80 + i, i * 60),
      bw('up', 40, i * 60),
    ]).flat();
    const row = evaluateUplink(slow, 1000, targets);
    expect(row.state).toBe('not_met');
    const zh = uplinkReasonZh(row.reason, row);
    expect(englishWords(zh, [])).toEqual([]);
    expect(zh).toContain(`下行最近一次 80 Mbps`);
    expect(zh).toContain(`最近 ${k} 次测速均低于目标`);
    expect(zh).toContain(`目标 1000 Mbps × ${targets.uplink.tolerance}`);
    // fewer tests than a verdict needs, and no test at all
    const early = evaluateUplink([bw('down', 80, 0)], 1000, targets);
    expect(englishWords(uplinkReasonZh(early.reason, early), [])).toEqual([]);
    expect(uplinkReasonZh(early.reason, early)).toContain('上行：尚无测速结果');
    const none = evaluateUplink([], 1000, targets);
    expect(uplinkReasonZh(none.reason, none)).toMatch(/^尚无测速结果；目标 1000 Mbps/);
  });

  it('the IPv6 reason: scores, services and each symptom of the agent’s scoring', () => {
    const symptoms = [
      SYMPTOMS.noDefaultRoute,
      SYMPTOMS.resolverNotV6,
      SYMPTOMS.slow(0.75),
      SYMPTOMS.noAaaa('www.edu.cn'),
      SYMPTOMS.serviceNotV6('学校官网'),
    ];
    const score: Ipv6Result = {
      probe: 'ipv6',
      target: 'ipv6',
      outcome: 'ok',
      durationMs: 1,
      at: ago(60),
      check: 'score',
      ok: false,
      scoreV6: 0,
      scoreV4only: 0,
      symptoms,
    };
    const service: Ipv6Result = { ...score, check: 'service', service: '学校官网', symptoms: [] };
    delete service.scoreV6;
    delete service.scoreV4only;
    const row = evaluateIpv6([score, service], targets);
    expect(row.state).toBe('not_met');
    const zh = ipv6ReasonZh(row.reason, row);
    expect(englishWords(zh, ['www.edu.cn'])).toEqual([]);
    expect(zh).toContain(`IPv6 评分 0/10（目标 ${targets.ipv6.minScore}/10）`);
    expect(zh).toContain('1 项学校服务中 0 项可通过 IPv6 访问');
    expect(zh).toContain('慢约 75%');
    expect(zh).toContain('学校官网');
    expect(ipv6ReasonZh('no IPv6 readiness check reported yet', row)).toBe('尚未收到 IPv6 就绪度检测结果');
  });

  it('a room’s down devices: each check and how it failed', () => {
    const check = (
      device: string,
      c: ReachabilityResult['check'],
      outcome: ReachabilityResult['outcome'],
      port?: number,
    ): ReachabilityResult => ({
      probe: 'reachability',
      target: device,
      outcome,
      durationMs: 1,
      at: ago(60),
      device: { name: device, address: '10.0.0.9', room: '录播室 1', roomType: 'recording', critical: true },
      check: c,
      up: false,
      ...(port ? { port } : {}),
    });
    const [room] = roomsOf([
      check('录播主机 A1, 东楼', 'tcp', 'refused', 554),
      check('录播主机 A1, 东楼', 'icmp', 'timeout'),
      check('摄像机 (后排)', 'rtsp', 'unreachable', 554),
    ]);
    const [candidate] = roomAlertCandidates(
      [{ room: room!.name, roomType: 'recording', since: ago(3600), detail: room!.down.join('; ') }],
      NOW,
      targets,
    );
    expect(roomDownZh(candidate!.detail)).toBe(
      '录播主机 A1, 东楼：TCP 554 端口连接被拒绝、ping（ICMP）超时无响应；摄像机 (后排)：RTSP 554 端口不可达',
    );
  });

  it('the security probe’s commonest evidence, and the 等保 clause without its English gloss', () => {
    expect(evidenceZh('TCP 23 open')).toBe('TCP 23 端口开放');
    expect(evidenceZh('TCP 21 open; banner "220 ProFTPD Server"')).toBe(
      'TCP 21 端口开放，欢迎信息 "220 ProFTPD Server"',
    );
    expect(
      evidenceZh('SNMPv2c GET sysDescr answered with the default community "public"; sysDescr "H3C S5130"'),
    ).toBe('用默认团体名“public”即可通过 SNMPv2c 读取设备信息，设备描述 "H3C S5130"');
    // a phrase not known here: kept, marked as the probe's own words
    expect(evidenceZh('accepts TLSv1.0')).toBe('探针原文：accepts TLSv1.0');
    expect(mlpsZh('7.1.4.1 身份鉴别 c) (credentials protected in transit)')).toBe('7.1.4.1 身份鉴别 c)');
    for (const rule of Object.values(baseline.rules))
      for (const clause of Object.values(rule.mlps)) expect(englishWords(mlpsZh(clause), [])).toEqual([]);
  });
});

describe('every alert rule’s zh text', () => {
  const school: School = {
    id: 'sz-xinghai-junior',
    name: '苏州工业园区星海实验中学',
    district: '苏州工业园区',
    timezone: 'Asia/Shanghai',
  };
  const agent = (id: string, lastSeenAgoS: number | null): AgentRecord => ({
    id,
    schoolId: school.id,
    hostname: `星海-${id}`,
    version: '0.1.0',
    enrolledAt: ago(7200),
    lastSeenAt: lastSeenAgoS === null ? null : ago(lastSeenAgoS),
    clockOffsetMs: null,
    lastReportId: null,
    name: null,
    revokedAt: null,
    spoolDepth: null,
  });
  const row = (r: Omit<ComplianceRow, 'evidenceAt' | 'expiresAt'>): ComplianceRow => ({
    ...r,
    evidenceAt: ago(60),
    expiresAt: null,
  });
  const uplinkTests = Array.from({ length: targets.uplink.lastTests }, (_, i) => ({
    probe: 'bandwidth' as const,
    target: 'collector',
    outcome: 'ok' as const,
    durationMs: 1,
    at: ago(i * 3600),
    method: 'http' as const,
    direction: (i % 2 ? 'up' : 'down') as 'up' | 'down',
    mbps: 50,
    streams: 4,
    durationS: 10,
    bytes: 1,
  }));
  const uplink = evaluateUplink(uplinkTests, 1000, targets);
  const ipv6 = evaluateIpv6(
    [
      {
        probe: 'ipv6',
        target: 'ipv6',
        outcome: 'ok',
        durationMs: 1,
        at: ago(60),
        check: 'score',
        ok: false,
        scoreV6: 0,
        scoreV4only: 0,
        symptoms: [SYMPTOMS.noGlobalAddress],
      },
    ],
    targets,
  );
  const facts: SchoolFacts = {
    school,
    agents: [agent('ag_silent', 3600), agent('ag_new', null)],
    findings: [
      {
        schoolId: school.id,
        rule: 'cleartext-telnet',
        target: '录播主机 A1',
        port: 23,
        severity: 'high',
        mlps: baseline.rules['cleartext-telnet']!.mlps[2]!,
        protectionLevel: 2,
        state: 'open',
        evidence: 'TCP 23 open',
        value: null,
        firstSeen: ago(600),
        lastSeen: ago(60),
        count: 3,
        resolvedAt: null,
        acceptedUntil: null,
        acceptedReason: null,
        effective: 'open',
      } as SchoolFacts['findings'][number],
    ],
    compliance: [row({ ...uplink, state: 'not_met' }), row(ipv6)],
    roomsDown: [
      {
        rule: 'recording_room_down',
        room: '录播室 1',
        since: ago(1800),
        minutes: 30,
        detail: '录播主机 A1 (tcp/554 refused, icmp timeout)',
      },
    ],
    overBudget: [
      {
        schoolId: school.id,
        agentId: 'ag_silent',
        at: ago(300),
        times: 2,
        budget: 'devicesPerSchool',
        limit: 500,
        count: 731,
      },
    ],
  };
  const alerts = desiredAlerts(
    facts,
    baseline,
    { findingSeverity: 'high', agentSilentS: 180, neverReportedAfterS: 3600 },
    NOW,
  );
  // what the texts quote as it is: names, ids, commands and config keys
  const quoted = [
    school.id,
    'ag_silent',
    'ag_new',
    '星海-ag_silent',
    '星海-ag_new',
    '录播主机 A1',
    'systemctl status campuswatch-agent',
    'campuswatch-agent status',
    'budgets.schools.sz-xinghai-junior.devicesPerSchool',
    'devicesPerSchool',
  ];

  it('one alert of each rule', () => {
    expect([...new Set(alerts.map((a) => a.rule))].sort()).toEqual([...ALERT_RULES].sort());
  });

  it.each([...ALERT_RULES])('%s: no English words but the names and ids it quotes', (rule) => {
    const a = alerts.find((x) => x.rule === rule)!;
    expect(englishWords(`${a.title.zh}\n${a.detail.zh}`, quoted)).toEqual([]);
    expect(a.detail.zh).toMatch(/\p{Script=Han}/u);
  });

  it('times in the school’s local time: 北京时间 in zh, the offset in en', () => {
    const silent = alerts.find((a) => a.rule === 'agent-silent')!;
    expect(silent.detail.zh).toBe(
      '探针 ag_silent 已 60 分钟没有上报（最后一次 2026-12-06 15:05（北京时间））',
    );
    expect(silent.detail.en).toBe(
      'agent ag_silent has not reported for 60 min (last at 2026-12-06 15:05 UTC+08:00)',
    );
    const never = alerts.find((a) => a.rule === 'agent-never-reported')!;
    expect(never.detail.zh).toContain('于 2026-12-06 14:05（北京时间） 注册');
    const budget = alerts.find((a) => a.rule === 'over-budget')!;
    expect(budget.title.zh).toBe('上报超出学校容量预算：设备数 731 / 500');
    expect(budget.detail.zh).toContain('最近一次 2026-12-06 16:00（北京时间）');
    for (const a of alerts) expect(`${a.title.zh}${a.detail.zh}`).not.toMatch(/\d{4}-\d\d-\d\dT/);
  });

  it('a finding says its remediation in Chinese (config/baseline.yaml remediationZh)', () => {
    const finding = alerts.find((a) => a.rule === 'finding')!;
    expect(finding.detail.zh).toBe(
      `证据：TCP 23 端口开放；等保条款（第二级）：7.1.4.1 身份鉴别 c)；整改：${baseline.rules['cleartext-telnet']!.remediationZh}`,
    );
    expect(finding.detail.en).toContain(`fix: ${baseline.rules['cleartext-telnet']!.remediation}`);
  });
});
