import type { ProtectionLevel, School } from '../../../protocol/school.js';
import { type BaselineConfig, SEVERITY_RANK, type Severity } from '../baseline.js';
import type { BudgetRefusal } from '../budgets.js';
import { agentStatus } from '../evaluate/agent-status.js';
import type { AlertCandidate } from '../evaluate/availability.js';
import type { FindingRecord } from '../evaluate/findings.js';
import { inMaintenance, type MaintenanceWindow } from '../evaluate/maintenance.js';
import type { AlertItem } from '../notifiers/notifier.js';
import type { AgentRecord, ComplianceRow } from '../store/state.js';
import { alertTime, evidenceZh, ipv6ReasonZh, mlpsZh, roomDownZh, uplinkReasonZh } from './alert-words.js';

/** What the alert rules look at for one school (all pure data). */
export interface SchoolFacts {
  school: School;
  agents: readonly AgentRecord[];
  findings: readonly (FindingRecord & { effective: 'open' | 'resolved' | 'accepted' })[];
  compliance: readonly ComplianceRow[];
  roomsDown: readonly AlertCandidate[];
  /** The school's maintenance windows that have not ended (absent: none). */
  maintenance?: readonly MaintenanceWindow[];
  /** Reports of the school refused lately for a budget, the latest per budget (absent: none). */
  overBudget?: readonly BudgetRefusal[];
}

/** Every alert rule (the `rule` of an alert; what a silence's rule names). */
export const ALERT_RULES = [
  'finding',
  'agent-silent',
  'agent-never-reported',
  'recording-room-down',
  'uplink-below-target',
  'ipv6-score-dropped',
  'over-budget',
] as const;
export type AlertRule = (typeof ALERT_RULES)[number];

/**
 * What each rule means, in the words its notifications' titles start with (`探针失联：host`): the console
 * and the CLI name a rule by these. A finding's title is its baseline rule's own (明文 Telnet 管理 …).
 */
export const ALERT_RULE_TEXT: Record<AlertRule, { zh: string; en: string }> = {
  finding: { zh: '安全问题（等保基线）', en: 'Security finding (等保 baseline)' },
  'agent-silent': { zh: '探针失联', en: 'Agent silent' },
  'agent-never-reported': { zh: '探针已注册但从未上报', en: 'Agent enrolled but never reported' },
  'recording-room-down': { zh: '录播室故障', en: 'Recording room down' },
  'uplink-below-target': { zh: '出口带宽未达标', en: 'Uplink below target' },
  'ipv6-score-dropped': { zh: 'IPv6 就绪度不足', en: 'IPv6 readiness below target' },
  'over-budget': { zh: '上报超出学校容量预算', en: 'Reports over the school budget' },
};

/** Is this the name of an alert rule? */
export function isAlertRule(name: string): name is AlertRule {
  return (ALERT_RULES as readonly string[]).includes(name);
}

/** A title in both languages: the rule's words, then what it is about (`探针失联：host`). */
function titled(rule: AlertRule, about: { zh: string; en: string } | string): { zh: string; en: string } {
  const t = ALERT_RULE_TEXT[rule];
  const a = typeof about === 'string' ? { zh: about, en: about } : about;
  return { zh: `${t.zh}：${a.zh}`, en: `${t.en}: ${a.en}` };
}

export interface AlertRuleSettings {
  /** Findings at or above this severity alert (default high). */
  findingSeverity: Severity;
  /** An agent is silent after this many seconds without a report (3 × its cycle). */
  agentSilentS: number;
  /** An enrolled agent with no report yet alerts once enrolled longer than this (seconds). */
  neverReportedAfterS: number;
}

/** A duration for people: `2 h 5 min`, `3 d 4 h`, `45 min` (at least 1 min). */
export function duration(seconds: number): { zh: string; en: string } {
  const min = Math.max(1, Math.round(seconds / 60));
  const d = Math.floor(min / 1440);
  const h = Math.floor((min % 1440) / 60);
  const m = min % 60;
  if (d > 0) return { zh: `${d} 天${h ? ` ${h} 小时` : ''}`, en: `${d} d${h ? ` ${h} h` : ''}` };
  if (h > 0) return { zh: `${h} 小时${m ? ` ${m} 分钟` : ''}`, en: `${h} h${m ? ` ${m} min` : ''}` };
  return { zh: `${m} 分钟`, en: `${m} min` };
}

type Desired = Omit<AlertItem, 'status' | 'startsAt' | 'endsAt'>;

/**
 * The maintenance window an outage alert is withdrawn by at `now`, if any: planned work is not an
 * outage. `recording-room-down`: a window of the school or of the room (a room whose down devices are
 * in device windows is not down in the first place: evaluate/availability.ts); `agent-silent` and
 * `agent-never-reported`: a window of the whole school (a planned power-off takes the agent's box down
 * too). Findings, uplink and IPv6 alerts are about how the school is set up, not whether it is up: a
 * window leaves them (a silence mutes them).
 */
export function alertMaintenance(
  f: Pick<SchoolFacts, 'school' | 'maintenance'>,
  alert: Pick<Desired, 'rule' | 'labels'>,
  now: Date,
): MaintenanceWindow | undefined {
  const tz = f.school.timezone;
  switch (alert.rule) {
    case 'recording-room-down':
      return inMaintenance(f.maintenance, { room: alert.labels.room }, now, tz);
    case 'agent-silent':
    case 'agent-never-reported':
      return inMaintenance(f.maintenance, {}, now, tz);
    default:
      return undefined;
  }
}

const LEVEL_ZH: Record<ProtectionLevel, string> = { 2: '第二级', 3: '第三级' };

/**
 * The alerts that should be active for a school now (docs/architecture.md, "Alerts"): a finding ≥ high, an agent
 * silent > 3 × its interval, an agent enrolled but never reported (issue 23), a recording room down in
 * teaching hours > N minutes, uplink below target in the last K tests, IPv6 score below target; none
 * for an outage in a maintenance window (`alertMaintenance`). Pure: the manager turns them into a lifecycle.
 */
export function desiredAlerts(
  f: SchoolFacts,
  baseline: BaselineConfig,
  s: AlertRuleSettings,
  now: Date,
): Desired[] {
  const out: Desired[] = [];
  const id = f.school.id;
  // times as the school's people read them, in its zone
  const at = (iso: string) => ({
    zh: alertTime(iso, f.school.timezone, 'zh'),
    en: alertTime(iso, f.school.timezone, 'en'),
  });
  for (const x of f.findings) {
    if (x.effective !== 'open' || SEVERITY_RANK[x.severity] < SEVERITY_RANK[s.findingSeverity]) continue;
    const rule = baseline.rules[x.rule];
    const where = `${x.target}${x.port ? `:${x.port}` : ''}`;
    out.push({
      fingerprint: `finding|${id}|${x.rule}|${x.target}|${x.port}`,
      rule: 'finding',
      severity: x.severity,
      title: { zh: `${rule?.title.zh ?? x.rule}：${where}`, en: `${rule?.title.en ?? x.rule}: ${where}` },
      // the clause of the school's protection level, as the finding recorded it (level absent on old records)
      detail: {
        zh: `证据：${evidenceZh(x.evidence)}；等保条款${x.protectionLevel ? `（${LEVEL_ZH[x.protectionLevel]}）` : ''}：${mlpsZh(x.mlps)}；整改：${rule?.remediationZh ?? ''}`,
        en: `Evidence: ${x.evidence}; GB/T 22239-2019${x.protectionLevel ? ` (level ${x.protectionLevel})` : ''}: ${x.mlps}; fix: ${rule?.remediation ?? ''}`,
      },
      labels: { school: id, rule: x.rule, target: x.target },
    });
  }
  for (const a of f.agents) {
    const { status, enrolledS, silentS } = agentStatus(a, now, s.agentSilentS);
    if (status === 'never_reported') {
      // the most common failed install: enrolled, then the service never started or cannot reach us
      if (enrolledS <= s.neverReportedAfterS) continue;
      const ago = duration(enrolledS);
      out.push({
        fingerprint: `agent-never-reported|${id}|${a.id}`,
        rule: 'agent-never-reported',
        severity: 'high',
        title: titled('agent-never-reported', a.hostname),
        detail: {
          zh: `探针 ${a.id}（${a.hostname}）于 ${at(a.enrolledAt).zh} 注册，已过去 ${ago.zh}，仍未收到任何上报。请学校信息管理员检查：探针服务是否已启动并在运行（Linux：systemctl status campuswatch-agent），探针主机能否访问采集服务器（campuswatch-agent status 会显示）。`,
          en: `agent ${a.id} (${a.hostname}) was enrolled at ${at(a.enrolledAt).en}, ${ago.en} ago, and has not sent a single report. School IT officer: check that the agent service is running (on Linux: systemctl status campuswatch-agent) and that its host can reach the collector (campuswatch-agent status shows it).`,
        },
        labels: { school: id, agent: a.id },
      });
      continue;
    }
    if (status !== 'silent') continue;
    const min = Math.round(silentS / 60);
    out.push({
      fingerprint: `agent-silent|${id}|${a.id}`,
      rule: 'agent-silent',
      severity: 'high',
      title: titled('agent-silent', a.hostname),
      detail: {
        zh: `探针 ${a.id} 已 ${min} 分钟没有上报（最后一次 ${a.lastSeenAt ? at(a.lastSeenAt).zh : '无'}）`,
        en: `agent ${a.id} has not reported for ${min} min (last at ${a.lastSeenAt ? at(a.lastSeenAt).en : 'never'})`,
      },
      labels: { school: id, agent: a.id },
    });
  }
  for (const r of f.roomsDown) {
    out.push({
      fingerprint: `recording-room-down|${id}|${r.room}`,
      rule: 'recording-room-down',
      severity: 'high',
      title: titled('recording-room-down', r.room),
      detail: {
        zh: `上课时间内已中断 ${r.minutes} 分钟：${roomDownZh(r.detail)}`,
        en: `down for ${r.minutes} min in teaching hours: ${r.detail}`,
      },
      labels: { school: id, room: r.room },
    });
  }
  const row = (t: string) => f.compliance.find((c) => c.target === t);
  const uplink = row('uplink_bandwidth');
  if (uplink?.state === 'not_met') {
    out.push({
      fingerprint: `uplink-below-target|${id}`,
      rule: 'uplink-below-target',
      severity: 'medium',
      title: titled('uplink-below-target', `${uplink.value} / ${uplink.goal} Mbps`),
      detail: { zh: uplinkReasonZh(uplink.reason, uplink), en: uplink.reason },
      labels: { school: id },
    });
  }
  const ipv6 = row('ipv6');
  if (ipv6?.state === 'not_met') {
    out.push({
      fingerprint: `ipv6-score-dropped|${id}`,
      rule: 'ipv6-score-dropped',
      severity: 'medium',
      title: titled('ipv6-score-dropped', `${ipv6.value}/10`),
      detail: { zh: ipv6ReasonZh(ipv6.reason, ipv6), en: ipv6.reason },
      labels: { school: id },
    });
  }
  for (const b of f.overBudget ?? []) {
    const what = {
      devicesPerSchool: { zh: '设备数', en: 'devices' },
      seriesPerSchool: { zh: '序列数', en: 'series' },
      resultsPerReport: { zh: '单次上报结果数', en: 'results in one report' },
    }[b.budget];
    out.push({
      fingerprint: `over-budget|${id}|${b.budget}`,
      rule: 'over-budget',
      severity: 'high',
      title: titled('over-budget', {
        zh: `${what.zh} ${b.count} / ${b.limit}`,
        en: `${b.budget} ${b.count} / ${b.limit}`,
      }),
      detail: {
        zh: `探针 ${b.agentId} 的上报被拒收 ${b.times} 次（最近一次 ${at(b.at).zh}）：${what.zh}将达到 ${b.count}，超过预算 ${b.limit}（${b.budget}）。被拒收的上报未写入任何数据。请核对该校探针的设备清单（设备名称是否在每个周期随机变化、清单是否被误改），或在采集服务器配置中提高该校预算（budgets.schools.${id}.${b.budget}）。`,
        en: `${b.times} report(s) of agent ${b.agentId} refused (last at ${at(b.at).en}): the school's ${what.en} would reach ${b.count}, over the budget of ${b.limit} (${b.budget}). Nothing of a refused report is stored. Check the agent's inventory (device names changing every cycle, an inventory edited by mistake) or raise the school's budget in the collector config (budgets.schools.${id}.${b.budget}).`,
      },
      labels: { school: id, budget: b.budget },
    });
  }
  return f.maintenance && f.maintenance.length > 0
    ? out.filter((d) => alertMaintenance(f, d, now) === undefined)
    : out;
}
