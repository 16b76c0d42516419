import type { Outcome } from '../../../protocol/report.js';
import { type ZonedParts, zonedParts } from '../../../protocol/zoned-time.js';
import { ipv6Symptom } from '../console/ipv6-words.js';

/**
 * What the alert texts say in Chinese where the evaluation speaks English: the compliance reasons
 * (evaluate/uplink.ts, evaluate/ipv6.ts), a room's down devices (evaluate/targets/rooms.ts), the
 * security probe's commonest evidence; and times in the school's own zone. The phrases are matched by
 * their wording (tests/collector/alert-words.test.ts feeds the real builders through these); a phrase
 * this version does not know is kept as reported, marked as the probe's own words. Pure.
 */

export type Lang = 'zh' | 'en';

/** The zones people in China call 北京时间 (Asia/Shanghai and its old aliases). */
const BEIJING_ZONES = new Set(['Asia/Shanghai', 'Asia/Chongqing', 'Asia/Chungking', 'Asia/Harbin', 'PRC']);

/**
 * A time as the school's people read it, in the school's zone: zh `2026-12-06 16:05（北京时间）` (another
 * zone: `（UTC+07:00）`), en `2026-12-06 16:05 UTC+08:00`. A zone Node does not know falls back to
 * Asia/Shanghai; text that is not a time is returned as it is.
 */
export function alertTime(iso: string, timeZone: string, lang: Lang): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  let zone = timeZone;
  let z: ZonedParts;
  try {
    z = zonedParts(d, zone);
  } catch {
    zone = 'Asia/Shanghai';
    z = zonedParts(d, zone);
  }
  const local = `${z.date} ${z.time}`;
  const offset = z.offset;
  if (lang === 'en') return `${local} ${offset}`;
  return `${local}（${BEIJING_ZONES.has(zone) ? '北京时间' : offset}）`;
}

const OUTCOME_ZH: Record<Outcome, string> = {
  ok: '正常',
  timeout: '超时无响应',
  refused: '连接被拒绝',
  unreachable: '不可达',
  error: '检测出错',
};

const CHECK_ZH: Record<string, string> = {
  icmp: 'ping（ICMP）',
  tcp: 'TCP',
  snmp: 'SNMP',
  rtsp: 'RTSP',
  http: 'HTTP',
};

function isOutcome(s: string): s is Outcome {
  return s in OUTCOME_ZH;
}

/** `tcp/554 refused` → `TCP 554 端口连接被拒绝`; `icmp timeout` → `ping（ICMP）超时无响应`. */
function checkZh(text: string): string | undefined {
  const m = /^(icmp|tcp|snmp|rtsp|http)(?:\/(\d+))? (\w+)$/.exec(text.trim());
  if (!m || !isOutcome(m[3]!)) return undefined;
  const [, check, port, outcome] = m;
  return `${CHECK_ZH[check!]}${port ? ` ${port} 端口` : ''}${OUTCOME_ZH[outcome as Outcome]}`;
}

/**
 * A room's down devices (`录播主机 A1 (tcp/554 refused, icmp timeout); 摄像机 (icmp timeout)`) in Chinese:
 * `录播主机 A1：TCP 554 端口连接被拒绝、ping（ICMP）超时无响应；摄像机：…`.
 */
export function roomDownZh(detail: string): string {
  if (detail.trim() === '') return detail;
  return detail
    .split('; ')
    .map((device) => {
      const m = /^(.*) \(([^()]*)\)$/.exec(device);
      if (!m) return device;
      const checks = m[2]!.split(', ').map(checkZh);
      if (checks.some((c) => c === undefined)) return `${m[1]}（探针原文：${m[2]}）`;
      return `${m[1]}：${checks.join('、')}`;
    })
    .join('；');
}

const DIRECTION_ZH = { down: '下行', up: '上行' } as const;

/** One direction of the uplink reason (evaluate/uplink.ts) in Chinese, or undefined when not known. */
function uplinkPartZh(part: string): string | undefined {
  const none = /^(down|up): no test yet$/.exec(part);
  if (none) return `${DIRECTION_ZH[none[1] as 'down' | 'up']}：尚无测速结果`;
  const target = /^target ([\d.]+) Mbps × ([\d.]+) = ([\d.]+) Mbps$/.exec(part);
  if (target) return `目标 ${target[1]} Mbps × ${target[2]} = ${target[3]} Mbps`;
  const m = /^(down|up) ([\d.]+) Mbps \(median of last (\d+): ([\d.]+)\)(?:: (.*))?$/.exec(part);
  if (!m) return undefined;
  const [, dir, last, n, median, verdict] = m;
  let tail = '';
  if (verdict !== undefined) {
    const all = /^the last (\d+) tests were all below$/.exec(verdict);
    const sofar = /^(\d+) of (\d+) tests below so far$/.exec(verdict);
    if (all) tail = `，最近 ${all[1]} 次测速均低于目标`;
    else if (sofar) tail = `，目前已有 ${sofar[1]} 次低于目标（满 ${sofar[2]} 次才判定）`;
    else return undefined;
  }
  return `${DIRECTION_ZH[dir as 'down' | 'up']}最近一次 ${last} Mbps（最近 ${n} 次的中位数 ${median} Mbps）${tail}`;
}

/** The uplink target's reason in Chinese; `fallback` (from the row's figures) when a part is not known. */
export function uplinkReasonZh(reason: string, row: { value: number | null; goal: number | null }): string {
  const noTest = /^no speed test reported yet; (target .*)$/.exec(reason);
  if (noTest) {
    const t = uplinkPartZh(noTest[1]!);
    if (t) return `尚无测速结果；${t}`;
  }
  const parts = reason.split('; ').map(uplinkPartZh);
  if (parts.every((p) => p !== undefined)) return parts.join('；');
  return `测速中位数 ${row.value ?? '—'} Mbps，目标 ${row.goal ?? '—'} Mbps`;
}

/** The IPv6 target's reason in Chinese: the scores, the school services, and each symptom's meaning. */
export function ipv6ReasonZh(reason: string, row: { value: number | null; goal: number | null }): string {
  if (reason === 'no IPv6 readiness check reported yet') return '尚未收到 IPv6 就绪度检测结果';
  const m =
    /^IPv6 score (\S+)\/10, IPv4-drop score (\S+)\/10(?:; (\d+) of (\d+) school services over IPv6)?(?:: (.*))?$/s.exec(
      reason,
    );
  if (!m) return `IPv6 评分 ${row.value ?? '—'}/10，目标 ${row.goal ?? '—'}/10`;
  const [, v6, v4drop, ok, total, symptoms] = m;
  const parts = [
    `IPv6 评分 ${v6}/10（目标 ${row.goal ?? '—'}/10），停用 IPv4 后的评分 ${v4drop === '-' ? '未测' : `${v4drop}/10`}`,
  ];
  if (total !== undefined) parts.push(`${total} 项学校服务中 ${ok} 项可通过 IPv6 访问`);
  for (const s of symptoms ? symptoms.split('; ') : []) parts.push(ipv6Symptom(s).words.zh);
  return parts.join('；');
}

/**
 * The security probe's evidence of a finding in Chinese, for the phrases of its commonest rules (an open
 * cleartext port, an FTP banner, SNMP default communities); anything else as the probe wrote it.
 */
export function evidenceZh(evidence: string): string {
  let m = /^(TCP|UDP) (\d+) open$/.exec(evidence);
  if (m) return `${m[1]} ${m[2]} 端口开放`;
  m = /^TCP (\d+) open; banner (.*)$/s.exec(evidence);
  if (m) return `TCP ${m[1]} 端口开放，欢迎信息 ${m[2]}`;
  m = /^TCP (\d+) open; no FTP greeting within (\d+) ms$/.exec(evidence);
  if (m) return `TCP ${m[1]} 端口开放（${m[2]} 毫秒内未收到 FTP 欢迎信息）`;
  m = /^SNMPv2c GET sysDescr answered with the default community "([^"]*)"(?:; sysDescr (.*))?$/s.exec(
    evidence,
  );
  if (m) return `用默认团体名“${m[1]}”即可通过 SNMPv2c 读取设备信息${m[2] ? `，设备描述 ${m[2]}` : ''}`;
  m = /^SNMPv3 required, but the device answers SNMPv2c \(default community "([^"]*)"\)$/.exec(evidence);
  if (m) return `要求 SNMPv3，但设备仍以默认团体名“${m[1]}”应答 SNMPv2c`;
  if (evidence === 'SNMPv3 required, but the device answers SNMPv2c with the configured community')
    return '要求 SNMPv3，但设备仍以配置的团体名应答 SNMPv2c';
  return `探针原文：${evidence}`;
}

/** A 等保 clause (`7.1.4.1 身份鉴别 c) (credentials protected in transit)`) without its English gloss. */
export function mlpsZh(clause: string): string {
  return clause.replace(/\s*\([A-Za-z][^()]*\)\s*$/, '');
}
