/**
 * 学校: one school for its IT officer and the bureau — every target with its value, goal and state, the
 * rooms and their devices now (availability in teaching hours, maintenance), the speed tests against the
 * tier's goal, the IPv6 check in plain words, the open security findings with what to do, and the agents.
 * The figures are those of GET /api/v1/schools/:id (the same model, console/school-model.ts). A school
 * outside the caller's scope, or unknown, is a 404 page.
 */
import type { FastifyInstance } from 'fastify';
import { DEVICE_TYPE_LABELS, type Label, ROOM_TYPE_LABELS } from '../../../protocol/vocabulary.js';
import { audit } from '../access/audit.js';
import { covers } from '../access/model.js';
import type { CollectorContext } from '../context.js';
import type { FindingCandidate } from '../evaluate/clock.js';
import { TARGETS } from '../evaluate/targets/registry.js';
import type { ComplianceRow } from '../store/state.js';
import { type Html, html, scrollBox } from './html.js';
import { ago, type Lang, localDateTime, num, STAGES, tr, W, type Words } from './i18n.js';
import { IPV6_CHECK_WORDS, ipv6CheckOutcome, ipv6Symptom } from './ipv6-words.js';
import { notFoundPage } from './layout.js';
import { pageRoute } from './routes.js';
import {
  type PlannedWork,
  type SchoolAgent,
  type SchoolDetail,
  type SchoolFinding,
  type SchoolIpv6,
  type SchoolRoom,
  type SchoolSpeedTests,
  schoolDetail,
} from './school-model.js';
import { speedChart } from './speed-chart.js';

const L = {
  notFound: { zh: '没有这所学校，或您无权查看。', en: 'No such school, or it is outside your scope.' },
  facts: { zh: '学校概况', en: 'About the school' },
  tier: { zh: '规模档', en: 'Size tier' },
  pupils: { zh: '学生数', en: 'Pupils' },
  level: { zh: '等保级别', en: 'Protection level' },
  levelN: { zh: '第{n}级', en: 'level {n}' },
  archived: { zh: '已归档', en: 'archived' },
  inMaintenance: { zh: '维护中', en: 'in maintenance' },
  schoolMaintenance: { zh: '全校处于维护时段', en: 'The whole school is in a maintenance window' },
  targets: { zh: '各项指标', en: 'Targets' },
  target: { zh: '指标', en: 'Target' },
  since: { zh: '状态始于', en: 'Since' },
  evidence: { zh: '证据时间', en: 'Evidence' },
  reason: { zh: '说明', en: 'Details' },
  rooms: { zh: '教室与设备', en: 'Rooms and devices' },
  room: { zh: '教室', en: 'Room' },
  device: { zh: '设备', en: 'Device' },
  type: { zh: '类型', en: 'Type' },
  availability: { zh: '教学时段可用率', en: 'Availability in teaching hours' },
  lastCheck: { zh: '最后检测', en: 'Last check' },
  nonCritical: { zh: '非关键', en: 'not critical' },
  up: { zh: '正常', en: 'up' },
  down: { zh: '故障', en: 'down' },
  downSince: { zh: '教学时段故障起始', en: 'down in teaching hours since' },
  noRooms: { zh: '还没有教室设备的检测结果。', en: 'No room devices have been checked yet.' },
  availabilityNote: {
    zh: '可用率：自 {day} 起（最近 {days} 天）教学时段内每次检测中该设备全部检测项正常的比例；维护时段不计。目标 ≥ {goal}%。',
    en: 'Availability: the share of checks in teaching hours since {day} (the last {days} days) in which all of the device’s checks passed; maintenance windows do not count. Goal ≥ {goal}%.',
  },
  speed: { zh: '出口带宽测速', en: 'Uplink speed tests' },
  speedNote: {
    zh: '规模档 {tier}：目标 {goal} Mbps（单次测速达到 {threshold} Mbps 即视为达到，容差 {tolerance}）。',
    en: 'Tier {tier}: goal {goal} Mbps (a test reaching {threshold} Mbps counts, tolerance {tolerance}).',
  },
  noTests: { zh: '还没有测速结果。', en: 'No speed test yet.' },
  testTable: { zh: '测速明细', en: 'Speed tests' },
  when: { zh: '时间', en: 'When' },
  downMbps: { zh: '下行 Mbps', en: 'Down Mbps' },
  upMbps: { zh: '上行 Mbps', en: 'Up Mbps' },
  result: { zh: '结果', en: 'Result' },
  reached: { zh: '达到', en: 'reached' },
  below: { zh: '未达到', en: 'below' },
  failed: { zh: '测速失败', en: 'failed' },
  ipv6: { zh: 'IPv6 就绪情况', en: 'IPv6 readiness' },
  scoreV6: { zh: 'IPv6 得分', en: 'IPv6 score' },
  scoreV4only: { zh: '停用 IPv4 后得分', en: 'Score without IPv4' },
  minScore: { zh: '要求', en: 'required' },
  noSymptoms: { zh: '未发现问题。', en: 'No problem found.' },
  symptoms: { zh: '发现的问题', en: 'Problems found' },
  checks: { zh: '各检查项', en: 'Checks' },
  check: { zh: '检查项', en: 'Check' },
  object: { zh: '对象', en: 'Target' },
  noIpv6: { zh: '还没有 IPv6 检测结果。', en: 'No IPv6 check yet.' },
  checkedAt: { zh: '检测时间', en: 'Checked' },
  findings: { zh: '未处理的安全问题', en: 'Open security findings' },
  noFindings: { zh: '没有未处理的安全问题。', en: 'No open security findings.' },
  severity: { zh: '级别', en: 'Severity' },
  where: { zh: '位置', en: 'Where' },
  port: { zh: '端口', en: 'port' },
  clause: { zh: '等保条款', en: 'GB/T 22239-2019' },
  seen: { zh: '首次发现', en: 'First seen' },
  lastSeen: { zh: '最近发现', en: 'Last seen' },
  remediation: { zh: '整改建议：', en: 'What to do: ' },
  accepted: { zh: '已接受风险', en: 'risk accepted' },
  acceptedUntil: { zh: '接受至', en: 'accepted until' },
  open: { zh: '未处理', en: 'open' },
  clockRule: { zh: '监测终端时钟未同步', en: 'Agent clock not synchronised' },
  agents: { zh: '监测终端', en: 'Agents' },
  noAgents: { zh: '这所学校还没有注册监测终端。', en: 'No agent is enrolled at this school.' },
  agent: { zh: '名称', en: 'Name' },
  hostname: { zh: '主机名', en: 'Hostname' },
  version: { zh: '版本', en: 'Version' },
  lastReport: { zh: '最后上报', en: 'Last report' },
  spool: { zh: '待发送报告', en: 'Reports waiting' },
  clock: { zh: '时钟偏差', en: 'Clock offset' },
  clockOk: { zh: '已同步', en: 'synchronised' },
  clockOff: { zh: '未同步', en: 'not synchronised' },
  never: { zh: '从未', en: 'never' },
  windows: { zh: '维护时段', en: 'Maintenance windows' },
  scope: { zh: '范围', en: 'Scope' },
  wholeSchool: { zh: '全校', en: 'whole school' },
  why: { zh: '原因', en: 'Reason' },
  starts: { zh: '开始', en: 'Starts' },
  ends: { zh: '结束', en: 'Ends' },
  active: { zh: '进行中', en: 'running' },
  planned: { zh: '计划中', en: 'planned' },
  weekly: { zh: '每周', en: 'weekly' },
  noEnd: { zh: '无结束时间', en: 'no end' },
  until: { zh: '至', en: 'until' },
} as const satisfies Record<string, Words>;

const fill = (text: string, values: Record<string, string | number>) =>
  text.replace(/\{(\w+)\}/g, (m, k: string) => (k in values ? String(values[k]) : m));

const TIERS: Record<string, Words> = {
  small: { zh: '小规模', en: 'small' },
  medium: { zh: '中等规模', en: 'medium' },
  large: { zh: '大规模', en: 'large' },
};

function withUnit(lang: Lang, target: string, v: number | null): string {
  if (v === null) return '—';
  // the target's own unit (its module's); a target this version does not list: the bare number
  const unit = TARGETS.find((t) => t.name === target)?.unit;
  const n = num(lang, v, 2);
  if (!unit) return n;
  const u = tr(lang, unit);
  return u === '%' || u === '/10' ? `${n}${u}` : `${n} ${u}`;
}

const labelOf = (lang: Lang, labels: Readonly<Record<string, Label>>, key: string | null) =>
  key === null ? '—' : labels[key] ? tr(lang, labels[key]!) : key;

/** The reasons and the agents' evidence are English: marked so, on a Chinese page. */
const enText = (lang: Lang, text: string): Html =>
  lang === 'zh' ? html`<span lang="en">${text}</span>` : html`${text}`;

function facts(lang: Lang, d: SchoolDetail): Html {
  const s = d.school;
  const counts = { met: 0, not_met: 0, no_data: 0 };
  for (const r of d.compliance) counts[r.state]++;
  const items: [Words, string][] = [
    [W.district, s.district ?? '—'],
    [W.group, s.group ?? '—'],
    [W.stage, s.stage ? tr(lang, STAGES[s.stage]!) : '—'],
    [W.area, s.area ? tr(lang, W[s.area]) : '—'],
    [L.tier, `${tr(lang, TIERS[s.tier]!)} (${num(lang, d.speedtests.goalMbps)} Mbps)`],
    [L.pupils, s.pupils === undefined ? '—' : num(lang, s.pupils)],
    [
      L.level,
      fill(tr(lang, L.levelN), {
        n: lang === 'zh' ? (s.protectionLevel === 2 ? '二' : '三') : s.protectionLevel,
      }),
    ],
  ];
  const schoolWindow = d.maintenance.find((w) => w.active && w.room === undefined && w.device === undefined);
  return html`<section class="card" aria-labelledby="facts-h" data-school="${s.id}"><h2 id="facts-h">${tr(lang, L.facts)}</h2>
<p>${items.map(([k, v], i) => html`${i > 0 ? ' · ' : ''}<span class="muted">${tr(lang, k)}</span> ${v}`)}${s.archivedAt ? html` · <span class="state unknown">${tr(lang, L.archived)}</span>` : ''}</p>
<p data-field="counts"><span class="state met">${tr(lang, W.met)} <span data-field="met">${counts.met}</span></span> <span class="state not_met">${tr(lang, W.not_met)} <span data-field="notMet">${counts.not_met}</span></span> <span class="state no_data">${tr(lang, W.no_data)} <span data-field="noData">${counts.no_data}</span></span></p>
${schoolWindow ? html`<p data-field="schoolMaintenance"><span class="state degraded">${tr(lang, L.inMaintenance)}</span> ${tr(lang, L.schoolMaintenance)}: ${schoolWindow.reason}</p>` : ''}</section>`;
}

function targetCards(lang: Lang, rows: readonly ComplianceRow[], now: Date, tz: string): Html {
  const byName = new Map(rows.map((r) => [r.target, r]));
  const ordered = [
    ...TARGETS.filter((t) => byName.has(t.name)).map((t) => ({
      label: tr(lang, t.label),
      row: byName.get(t.name)!,
    })),
    // a row of a target this version does not list (an older state file): shown by its name
    ...rows
      .filter((r) => !TARGETS.some((t) => t.name === r.target))
      .map((r) => ({ label: r.target, row: r })),
  ];
  // cards (the overview's KPI cards): a phone shows two abreast, the reason under the figures
  return html`<section class="card" aria-labelledby="targets-h"><h2 id="targets-h">${tr(lang, L.targets)}</h2><div class="kpis" data-list="targets">${ordered.map(
    ({ label, row: r }) =>
      html`<div class="kpi ${r.state === 'met' ? 'goal-met' : r.state === 'not_met' ? 'goal-not-met' : ''}" data-target="${r.target}"><h3>${label}</h3>
<div><span class="state ${r.state}" data-field="state" data-state="${r.state}">${tr(lang, W[r.state])}</span></div>
<div><span class="muted">${tr(lang, W.value)}</span> <strong data-field="value" data-value="${r.value ?? ''}">${withUnit(lang, r.target, r.value)}</strong> · <span class="muted">${tr(lang, W.goal)}</span> <span data-field="goal" data-value="${r.goal ?? ''}">${withUnit(lang, r.target, r.goal)}</span></div>
<div class="counts">${tr(lang, L.since)} <span data-field="since">${localDateTime(r.since ?? null, tz)}</span> · ${tr(lang, L.evidence)} <span data-field="evidence">${r.evidenceAt ? ago(lang, r.evidenceAt, now) : '—'}</span></div>
<div class="counts" data-field="reason">${enText(lang, r.reason)}</div></div>`,
  )}</div></section>`;
}

const maintenancePill = (lang: Lang, m: PlannedWork | null): Html | string =>
  m
    ? html` <span class="state degraded" data-field="maintenance" title="${m.reason}">${tr(lang, L.inMaintenance)}</span>`
    : '';

function roomsSection(lang: Lang, d: SchoolDetail, now: Date, tz: string): Html {
  const a = d.availability;
  const note = fill(tr(lang, L.availabilityNote), {
    day: a.sinceDay,
    days: a.windowDays,
    goal: num(lang, a.minPct, 2),
  });
  const room = (r: SchoolRoom) =>
    html`<tbody data-room="${r.name}" data-room-type="${r.type}"><tr class="room"><th scope="rowgroup" colspan="5"><span data-field="room">${r.name}</span> <span class="muted">${labelOf(lang, ROOM_TYPE_LABELS, r.type)}</span> <span class="state ${r.up ? 'ok' : 'down'}" data-field="roomState">${tr(lang, r.up ? L.up : L.down)}</span>${maintenancePill(lang, r.maintenance)}</th></tr>${
      // what a phone must be able to wrap: not in the row's header (headers do not wrap)
      r.downSince || r.maintenance
        ? html`<tr><td colspan="5" class="muted" data-field="roomNote">${r.downSince ? html`${tr(lang, L.downSince)} ${localDateTime(r.downSince, tz)}` : ''}${r.downSince && r.maintenance ? ' · ' : ''}${r.maintenance ? html`${tr(lang, L.inMaintenance)}: ${r.maintenance.reason}` : ''}</td></tr>`
        : ''
    }${r.devices.map(
      (dev) =>
        html`<tr data-device="${dev.name}"><th scope="row" data-field="device">${dev.name}</th><td class="wide-only">${labelOf(lang, DEVICE_TYPE_LABELS, dev.type)}${dev.critical ? '' : html` <span class="muted">(${tr(lang, L.nonCritical)})</span>`}</td><td><span class="state ${dev.up ? 'ok' : 'down'}" data-field="state" data-state="${dev.up ? 'up' : 'down'}">${tr(lang, dev.up ? L.up : L.down)}</span>${maintenancePill(lang, dev.maintenance)}${dev.maintenance ? html` <span class="muted">${dev.maintenance.reason}</span>` : ''}${dev.up ? '' : html` <span class="muted" lang="en">${dev.failed}</span>`}</td><td class="num" data-field="availability" data-up="${dev.availability?.up ?? ''}" data-total="${dev.availability?.total ?? ''}">${
          dev.availability
            ? html`<span class="${dev.availability.pct < a.minPct ? 'state not_met' : ''}">${num(lang, dev.availability.pct, 2)}%</span> <span class="muted">(${dev.availability.up}/${dev.availability.total})</span>`
            : '—'
        }</td><td data-field="at" class="wide-only">${ago(lang, dev.at, now)}</td></tr>`,
    )}</tbody>`;
  return html`<section class="card" aria-labelledby="rooms-h"><h2 id="rooms-h">${tr(lang, L.rooms)}</h2>${
    d.rooms.length === 0
      ? html`<p class="empty">${tr(lang, L.noRooms)}</p>`
      : html`${scrollBox(
          tr(lang, L.rooms),
          html`<table data-table="rooms"><thead><tr><th scope="col">${tr(lang, L.device)}</th><th scope="col" class="wide-only">${tr(lang, L.type)}</th><th scope="col">${tr(lang, W.state)}</th><th scope="col" class="num">${tr(lang, L.availability)}</th><th scope="col" class="wide-only">${tr(lang, L.lastCheck)}</th></tr></thead>${d.rooms.map(room)}</table>`,
        )}<p class="muted">${note}</p>`
  }</section>`;
}

function speedSection(lang: Lang, st: SchoolSpeedTests, tz: string): Html {
  const note = fill(tr(lang, L.speedNote), {
    tier: tr(lang, TIERS[st.tier]!),
    goal: num(lang, st.goalMbps),
    threshold: num(lang, st.thresholdMbps, 1),
    tolerance: num(lang, st.tolerance, 2),
  });
  const verdict = (t: SchoolSpeedTests['tests'][number]) => {
    if (t.downMbps === null && t.upMbps === null)
      return html`<span class="state down">${tr(lang, L.failed)}</span>`;
    const ok = [t.downMbps, t.upMbps].every((v) => v === null || v >= st.thresholdMbps);
    return html`<span class="state ${ok ? 'met' : 'not_met'}">${tr(lang, ok ? L.reached : L.below)}</span>`;
  };
  const newestFirst = [...st.tests].reverse();
  return html`<section class="card" aria-labelledby="speed-h" data-goal="${st.goalMbps}"><h2 id="speed-h">${tr(lang, L.speed)}</h2><p class="muted">${note}</p>${
    st.tests.length === 0
      ? html`<p class="empty">${tr(lang, L.noTests)}</p>`
      : html`${speedChart(lang, st, tz)}<details><summary>${tr(lang, L.testTable)} (${st.tests.length})</summary>${scrollBox(
          tr(lang, L.testTable),
          html`<table data-table="speedtests"><thead><tr><th scope="col">${tr(lang, L.when)}</th><th scope="col" class="num">${tr(lang, L.downMbps)}</th><th scope="col" class="num">${tr(lang, L.upMbps)}</th><th scope="col">${tr(lang, L.result)}</th></tr></thead><tbody>${newestFirst.map(
            (t) =>
              html`<tr data-at="${t.at}"><th scope="row">${localDateTime(t.at, tz)}</th><td class="num" data-field="down" data-value="${t.downMbps ?? ''}">${num(lang, t.downMbps, 1)}</td><td class="num" data-field="up" data-value="${t.upMbps ?? ''}">${num(lang, t.upMbps, 1)}</td><td>${verdict(t)}${t.error ? html` <span class="muted" lang="en">${t.error}</span>` : ''}</td></tr>`,
          )}</tbody></table>`,
        )}</details>`
  }</section>`;
}

function ipv6Section(lang: Lang, v: SchoolIpv6 | null, now: Date, tz: string): Html {
  if (!v)
    return html`<section class="card" aria-labelledby="ipv6-h" data-target="ipv6"><h2 id="ipv6-h">${tr(lang, L.ipv6)}</h2><p class="empty">${tr(lang, L.noIpv6)}</p></section>`;
  const met = v.scoreV6 !== null && v.scoreV6 >= v.minScore;
  const symptoms = v.symptoms.map(ipv6Symptom);
  const score = (x: number | null) => (x === null ? '—' : `${num(lang, x, 1)}/10`);
  return html`<section class="card" aria-labelledby="ipv6-h" data-target="ipv6"><h2 id="ipv6-h">${tr(lang, L.ipv6)}</h2>
<p><span class="muted">${tr(lang, L.scoreV6)}</span> <span class="state ${met ? 'met' : 'not_met'}" data-field="scoreV6" data-value="${v.scoreV6 ?? ''}">${score(v.scoreV6)}</span> <span class="muted">(${tr(lang, L.minScore)} ≥ ${num(lang, v.minScore, 1)})</span> · <span class="muted">${tr(lang, L.scoreV4only)}</span> <span data-field="scoreV4only" data-value="${v.scoreV4only ?? ''}">${score(v.scoreV4only)}</span> · <span class="muted">${tr(lang, L.checkedAt)}</span> ${localDateTime(v.at, tz)} <span class="muted">(${ago(lang, v.at, now)})</span></p>
<h3>${tr(lang, L.symptoms)}</h3>${
    symptoms.length === 0
      ? html`<p class="empty">${tr(lang, L.noSymptoms)}</p>`
      : html`<ul data-list="symptoms">${symptoms.map((s) => html`<li data-symptom="${s.kind}" data-text="${s.text}">${tr(lang, s.words)}</li>`)}</ul>`
  }${
    v.checks.length === 0
      ? ''
      : html`<details><summary>${tr(lang, L.checks)} (${v.checks.length})</summary>${scrollBox(
          tr(lang, L.checks),
          html`<table data-table="ipv6-checks"><thead><tr><th scope="col">${tr(lang, L.check)}</th><th scope="col">${tr(lang, L.object)}</th><th scope="col">${tr(lang, L.result)}</th><th scope="col">${tr(lang, L.reason)}</th></tr></thead><tbody>${v.checks.map(
            (c) => {
              const o = ipv6CheckOutcome(c);
              return html`<tr data-check="${c.check}"><th scope="row">${tr(lang, IPV6_CHECK_WORDS[c.check])}</th><td>${c.service ?? c.target}</td><td><span class="state ${o.state}">${tr(lang, o.words)}</span></td><td class="muted">${enText(lang, c.error ?? c.detail ?? '')}</td></tr>`;
            },
          )}</tbody></table>`,
        )}</details>`
  }</section>`;
}

function findingsSection(
  lang: Lang,
  findings: readonly SchoolFinding[],
  candidates: readonly FindingCandidate[],
  tz: string,
): Html {
  const card = (f: SchoolFinding) =>
    html`<article data-finding="${f.rule}|${f.target}|${f.port}" data-rule="${f.rule}" data-severity="${f.severity}" data-state="${f.state}"><h3><span class="state ${f.severity}">${tr(lang, W[f.severity])}</span> ${f.title ? tr(lang, f.title) : f.rule}${f.state === 'accepted' ? html` <span class="state accepted">${tr(lang, L.accepted)}</span>` : ''}</h3>
<p><span class="muted">${tr(lang, L.where)}</span> ${f.target}${f.port ? html` ${tr(lang, L.port)} ${f.port}` : ''} · <span class="muted">${tr(lang, L.clause)}</span> ${f.mlps} · <span class="muted">${tr(lang, L.seen)}</span> ${localDateTime(f.firstSeen, tz)} · <span class="muted">${tr(lang, L.lastSeen)}</span> ${localDateTime(f.lastSeen, tz)}${f.state === 'accepted' && f.acceptedUntil ? html` · <span class="muted">${tr(lang, L.acceptedUntil)}</span> ${f.acceptedUntil} (${f.acceptedReason ?? ''})` : ''}</p>
<p class="muted">${enText(lang, f.evidence)}</p>
<p><strong>${tr(lang, L.remediation)}</strong><span data-field="remediation" lang="${lang === 'zh' ? 'zh-CN' : 'en'}">${(lang === 'zh' ? f.remediationZh : f.remediation) ?? f.remediation ?? '—'}</span></p></article>`;
  const candidate = (c: FindingCandidate) =>
    html`<article data-finding="${c.rule}|${c.target}|0" data-rule="${c.rule}" data-severity="${c.severity}" data-state="open"><h3><span class="state ${c.severity}">${tr(lang, W[c.severity])}</span> ${tr(lang, L.clockRule)}</h3>
<p><span class="muted">${tr(lang, L.clause)}</span> ${c.mlps}</p><p class="muted">${enText(lang, c.evidence)}</p>
<p><strong>${tr(lang, L.remediation)}</strong><span data-field="remediation" lang="${lang === 'zh' ? 'zh-CN' : 'en'}">${lang === 'zh' ? c.remediationZh : c.remediation}</span></p></article>`;
  const none = findings.length === 0 && candidates.length === 0;
  return html`<section class="card" aria-labelledby="findings-h"><h2 id="findings-h">${tr(lang, L.findings)}</h2>${
    none
      ? html`<p class="empty">${tr(lang, L.noFindings)}</p>`
      : html`<div data-list="findings">${findings.map(card)}${candidates.map(candidate)}</div>`
  }</section>`;
}

function agentsSection(lang: Lang, agents: readonly SchoolAgent[], now: Date, tz: string): Html {
  const clock = (a: SchoolAgent) =>
    a.clockOffsetS === null
      ? '—'
      : html`${a.clockOffsetS > 0 ? '+' : ''}${num(lang, a.clockOffsetS, 1)} s <span class="state ${a.clockSynchronised ? 'ok' : 'not_met'}">${tr(lang, a.clockSynchronised ? L.clockOk : L.clockOff)}</span>`;
  return html`<section class="card" aria-labelledby="agents-h"><h2 id="agents-h">${tr(lang, L.agents)}</h2>${
    agents.length === 0
      ? html`<p class="empty">${tr(lang, L.noAgents)}</p>`
      : scrollBox(
          tr(lang, L.agents),
          html`<table data-table="agents"><thead><tr><th scope="col">${tr(lang, L.agent)}</th><th scope="col" class="wide-only">${tr(lang, L.hostname)}</th><th scope="col" class="wide-only">${tr(lang, L.version)}</th><th scope="col">${tr(lang, L.lastReport)}</th><th scope="col">${tr(lang, W.state)}</th><th scope="col" class="num">${tr(lang, L.spool)}</th><th scope="col">${tr(lang, L.clock)}</th></tr></thead><tbody>${agents.map(
            (a) =>
              html`<tr data-agent="${a.id}"><th scope="row">${a.name ?? a.hostname}</th><td class="wide-only">${a.hostname}</td><td class="wide-only">${a.version}</td><td data-field="lastSeen" title="${a.lastSeenAt ? localDateTime(a.lastSeenAt, tz) : ''}">${a.lastSeenAt ? ago(lang, a.lastSeenAt, now) : tr(lang, L.never)}</td><td><span class="state ${a.status}" data-field="status" data-state="${a.status}">${tr(lang, W[a.status])}</span></td><td class="num" data-field="spool" data-value="${a.spoolDepth ?? ''}">${a.spoolDepth === null ? '—' : html`<span class="${a.spoolDepth > 0 ? 'state degraded' : ''}">${num(lang, a.spoolDepth)}</span>`}</td><td data-field="clock">${clock(a)}</td></tr>`,
          )}</tbody></table>`,
        )
  }</section>`;
}

function windowsSection(lang: Lang, d: SchoolDetail, tz: string): Html | string {
  if (d.maintenance.length === 0) return '';
  const scope = (w: SchoolDetail['maintenance'][number]) =>
    w.room === undefined && w.device === undefined
      ? tr(lang, L.wholeSchool)
      : [w.room, w.device].filter((x): x is string => x !== undefined).join(' · ');
  return html`<section class="card" aria-labelledby="windows-h"><h2 id="windows-h">${tr(lang, L.windows)}</h2>${scrollBox(
    tr(lang, L.windows),
    html`<table data-table="maintenance"><thead><tr><th scope="col">${tr(lang, L.scope)}</th><th scope="col">${tr(lang, L.why)}</th><th scope="col">${tr(lang, L.starts)}</th><th scope="col">${tr(lang, L.ends)}</th><th scope="col">${tr(lang, W.state)}</th></tr></thead><tbody>${d.maintenance.map(
      (w) =>
        html`<tr data-window="${w.id}"><th scope="row">${scope(w)}</th><td>${w.reason}</td><td>${localDateTime(w.startsAt, tz)}${w.weekly ? html` <span class="muted">(${tr(lang, L.weekly)} ${w.weekly.days.join(', ')} ${w.weekly.start}–${w.weekly.end})</span>` : ''}</td><td>${w.endsAt ? localDateTime(w.endsAt, tz) : tr(lang, L.noEnd)}</td><td><span class="state ${w.active ? 'degraded' : 'unknown'}">${tr(lang, w.active ? L.active : L.planned)}</span></td></tr>`,
    )}</tbody></table>`,
  )}</section>`;
}

/** The page body of a school's model. */
export function schoolBody(lang: Lang, d: SchoolDetail, now: Date): Html {
  const tz = d.school.timezone;
  return html`${facts(lang, d)}
${targetCards(lang, d.compliance, now, tz)}
${roomsSection(lang, d, now, tz)}
${speedSection(lang, d.speedtests, tz)}
${ipv6Section(lang, d.ipv6, now, tz)}
${findingsSection(lang, d.findings, d.findingCandidates, tz)}
${agentsSection(lang, d.agents, now, tz)}
${windowsSection(lang, d, tz)}`;
}

export function schoolPage(app: FastifyInstance, ctx: CollectorContext): void {
  pageRoute(app, '/schools/:id', async ({ req, reply, lang, send }) => {
    const id = (req.params as { id?: unknown }).id;
    const school = typeof id === 'string' && id.length <= 64 ? await ctx.state.getSchool(id) : undefined;
    // outside the caller's scope a school does not exist (no existence leak)
    if (!school || !covers(req.principal!.scope, school))
      return notFoundPage(req, reply, lang, tr(lang, L.notFound));
    const d = await schoolDetail(ctx, school);
    // security findings are read: audited as GET /api/v1/findings audits them
    await audit(ctx, req, 'findings.read', school.id, `${d.findings.length} findings`);
    return send({ title: school.name, section: 'school', body: schoolBody(lang, d, ctx.now()) });
  });
}
