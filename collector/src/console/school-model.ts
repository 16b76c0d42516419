/**
 * One school as GET /api/v1/schools/:id answers it and the console's school page (学校) renders it: one
 * model, so the page and the API show one set of figures. The registry entry with its tier and 等保 level,
 * every target's row, the rooms and their devices now (with each device's availability in teaching hours
 * and the maintenance windows that cover it), the last speed tests against the tier's goal, the IPv6
 * readiness check, the open findings with their remediation, and the agents.
 */
import type { BandwidthResult, Ipv6Result, ProbeResult } from '../../../protocol/report.js';
import type { ProtectionLevel } from '../../../protocol/school.js';
import { type BaselineConfig, protectionLevelOf, SEVERITY_RANK, type Severity } from '../baseline.js';
import { schoolCompliance } from '../compliance/school-view.js';
import type { CollectorContext } from '../context.js';
import { type AgentStatus, agentStatus } from '../evaluate/agent-status.js';
import { type AlertCandidate, roomAlertCandidates, windowStartDay } from '../evaluate/availability.js';
import { clockFindings, type FindingCandidate } from '../evaluate/clock.js';
import { effectiveState, type FindingRecord, type FindingState } from '../evaluate/findings.js';
import { activeAt, inMaintenance, type MaintenanceWindow } from '../evaluate/maintenance.js';
import { roomsOf } from '../evaluate/targets/rooms.js';
import { type Tier, tierOf } from '../evaluate/targets/tier.js';
import type { ComplianceRow, SchoolRecord } from '../store/state.js';
import { targetsFor } from '../targets.js';

/** The window a room or device is in now. */
export interface PlannedWork {
  id: number;
  reason: string;
  endsAt: string | null;
}

export interface SchoolAgent {
  id: string;
  /** Given at the collector (`agent rename`); null: shown by its hostname. */
  name: string | null;
  hostname: string;
  version: string;
  enrolledAt: string;
  lastSeenAt: string | null;
  /** `never_reported` / `reporting` / `silent`, with the thresholds of the alert rules. */
  status: AgentStatus;
  clockOffsetS: number | null;
  clockSynchronised: boolean | null;
  /** Reports waiting in its spool when it sent its last report; null before its first report. */
  spoolDepth: number | null;
}

export interface SchoolDevice {
  name: string;
  type: string | null;
  critical: boolean;
  /** All its checks passed at its last check. */
  up: boolean;
  /** Its failing checks, e.g. `icmp timeout`. */
  failed: string;
  /** Its last check. */
  at: string;
  /** The maintenance window it is in now, or null. */
  maintenance: PlannedWork | null;
  /**
   * Its availability in teaching hours over the window (`availability.sinceDay` on): the share of its
   * samples (one per report seen in teaching hours, none inside a maintenance window) with every check
   * passing. Null for a device without samples (not critical, or not seen in teaching hours yet).
   */
  availability: { up: number; total: number; pct: number } | null;
}

export interface SchoolRoom {
  name: string;
  type: string;
  /** All its critical devices are up now. */
  up: boolean;
  /** When it was first seen down in teaching hours (an open down-since), or null. */
  downSince: string | null;
  /** The window (school or room) it is in now, or null. */
  maintenance: PlannedWork | null;
  devices: SchoolDevice[];
}

/** One speed test: its two directions (null: not measured, or the test failed). */
export interface SpeedTestPoint {
  at: string;
  downMbps: number | null;
  upMbps: number | null;
  /** Why a direction has no figure (the test's error), when it failed. */
  error: string | null;
}

export interface SchoolSpeedTests {
  tier: Tier;
  /** The tier's goal (Mbps) of config/targets.yaml `uplink`, with the school's district's overrides. */
  goalMbps: number;
  tolerance: number;
  /** goal × tolerance: what a test must reach. */
  thresholdMbps: number;
  /** The last tests, oldest first (at most SPEED_TESTS_SHOWN). */
  tests: SpeedTestPoint[];
}

export interface SchoolIpv6 {
  /** When the score was taken. */
  at: string;
  scoreV6: number | null;
  scoreV4only: number | null;
  /** The targets' minimum score (config/targets.yaml `ipv6.minScore`). */
  minScore: number;
  /** The agent's symptoms as reported (the page words them, console/ipv6-words.ts). */
  symptoms: string[];
  /** The checks of that run, in the probe's order of checks. */
  checks: Pick<Ipv6Result, 'check' | 'target' | 'ok' | 'outcome' | 'at' | 'detail' | 'error' | 'service'>[];
}

export interface SchoolFinding {
  rule: string;
  target: string;
  /** 0 when the rule has no port. */
  port: number;
  severity: Severity;
  /** `open`, or `accepted` while an accepted risk holds (its expiry applied). */
  state: Exclude<FindingState, 'resolved'>;
  mlps: string;
  evidence: string;
  firstSeen: string;
  lastSeen: string;
  acceptedUntil: string | null;
  acceptedReason: string | null;
  title: { zh: string; en: string } | null;
  remediation: string | null;
  remediationZh: string | null;
}

export interface SchoolDetail {
  /** Tier and 等级保护级别 as evaluated (the school's own or the default). */
  school: SchoolRecord & { tier: Tier; protectionLevel: ProtectionLevel };
  agents: SchoolAgent[];
  /** A device in a maintenance window now says which (`maintenance: {id, reason, endsAt}`). */
  latest: (ProbeResult & { maintenance?: PlannedWork })[];
  findingCandidates: FindingCandidate[];
  alertCandidates: AlertCandidate[];
  compliance: ComplianceRow[];
  /** Windows running now (`active`) or to come. */
  maintenance: (MaintenanceWindow & { active: boolean })[];
  /** The rooms a school or room window covers now. */
  roomsInMaintenance: { room: string; roomType: string; maintenance: PlannedWork }[];
  /** The rooms and their devices as the latest reachability results show them, by name. */
  rooms: SchoolRoom[];
  /** The window the devices' availability covers, and the targets' minimum. */
  availability: { sinceDay: string; windowDays: number; minPct: number };
  speedtests: SchoolSpeedTests;
  /** The latest IPv6 readiness check, or null before any. */
  ipv6: SchoolIpv6 | null;
  /** Findings not resolved (open or accepted), most severe first. */
  findings: SchoolFinding[];
}

/** Speed tests the page charts and the API gives. */
export const SPEED_TESTS_SHOWN = 30;
/** Results of both directions taken this close together are one test (the agent runs them back to back). */
const ONE_TEST_MS = 30 * 60_000;

const zh = new Intl.Collator('zh-CN');

/**
 * The last speed tests, oldest first: the history of both directions merged into tests (a down and the
 * up that follows it within ONE_TEST_MS; a direction alone is a test too). Pure.
 */
export function speedTestPoints(
  history: readonly ProbeResult[],
  limit = SPEED_TESTS_SHOWN,
): SpeedTestPoint[] {
  const results = history
    .filter((r): r is BandwidthResult => r.probe === 'bandwidth')
    .sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
  const tests: (SpeedTestPoint & { first: number; seen: Set<string> })[] = [];
  for (const r of results) {
    const t = Date.parse(r.at);
    const last = tests.at(-1);
    const open = last && t - last.first <= ONE_TEST_MS && !last.seen.has(r.direction) ? last : undefined;
    const test = open ?? { at: r.at, downMbps: null, upMbps: null, error: null, first: t, seen: new Set() };
    if (!open) tests.push(test);
    test.seen.add(r.direction);
    if (r.outcome === 'ok') test[r.direction === 'down' ? 'downMbps' : 'upMbps'] = r.mbps;
    else test.error ??= r.error ?? r.outcome;
  }
  return tests.slice(-limit).map(({ first: _first, seen: _seen, ...p }) => p);
}

const IPV6_ORDER: readonly Ipv6Result['check'][] = [
  'host-address',
  'default-route',
  'dns-aaaa',
  'dns-resolver-v6',
  'dns-v6-only',
  'tcp-v6',
  'tcp-v4',
  'http-v6',
  'http-v4',
  'dual-stack',
  'pmtu',
  'service',
];

/** The newest IPv6 score of the latest results and the checks of its run (taken in the hour before it). */
export function ipv6Of(latest: readonly ProbeResult[], minScore: number): SchoolIpv6 | null {
  const v6 = latest.filter((r): r is Ipv6Result => r.probe === 'ipv6');
  const score = v6.filter((r) => r.check === 'score').sort((a, b) => Date.parse(b.at) - Date.parse(a.at))[0];
  if (!score) return null;
  const scoreAt = Date.parse(score.at);
  const checks = v6
    .filter(
      (r) => r.check !== 'score' && Date.parse(r.at) <= scoreAt && scoreAt - Date.parse(r.at) < 3_600_000,
    )
    .sort(
      (a, b) =>
        IPV6_ORDER.indexOf(a.check) - IPV6_ORDER.indexOf(b.check) ||
        zh.compare(a.service ?? a.target, b.service ?? b.target),
    )
    .map((r) => ({
      check: r.check,
      target: r.target,
      ok: r.ok,
      outcome: r.outcome,
      at: r.at,
      ...(r.detail !== undefined ? { detail: r.detail } : {}),
      ...(r.error !== undefined ? { error: r.error } : {}),
      ...(r.service !== undefined ? { service: r.service } : {}),
    }));
  return {
    at: score.at,
    scoreV6: score.scoreV6 ?? null,
    scoreV4only: score.scoreV4only ?? null,
    minScore,
    symptoms: score.symptoms ?? [],
    checks,
  };
}

/** The school's findings not resolved, with their rule's words, most severe first. */
export function openFindings(
  findings: readonly FindingRecord[],
  baseline: BaselineConfig,
  now: Date,
  timeZone: string,
): SchoolFinding[] {
  const out: SchoolFinding[] = [];
  for (const f of findings) {
    const state = effectiveState(f, now, timeZone);
    if (state === 'resolved') continue;
    const rule = baseline.rules[f.rule];
    out.push({
      rule: f.rule,
      target: f.target,
      port: f.port,
      severity: f.severity,
      state,
      mlps: f.mlps,
      evidence: f.evidence,
      firstSeen: f.firstSeen,
      lastSeen: f.lastSeen,
      acceptedUntil: state === 'accepted' ? f.acceptedUntil : null,
      acceptedReason: state === 'accepted' ? f.acceptedReason : null,
      title: rule?.title ?? null,
      remediation: rule?.remediation ?? null,
      remediationZh: rule?.remediationZh ?? null,
    });
  }
  return out.sort(
    (a, b) =>
      SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity] ||
      (a.state === b.state ? 0 : a.state === 'open' ? -1 : 1) ||
      (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0) ||
      zh.compare(a.target, b.target) ||
      a.port - b.port,
  );
}

/** The school's page model (the caller has checked that the school is in its scope). */
export async function schoolDetail(ctx: CollectorContext, school: SchoolRecord): Promise<SchoolDetail> {
  const level = protectionLevelOf(school, ctx.baseline);
  const now = ctx.now();
  const targets = targetsFor(ctx.targets, school.district);
  const sinceDay = windowStartDay(now, school, ctx.targets);
  const [agents, latest, roomsDown, compliance, windows, history, deviceSamples, findings] =
    await Promise.all([
      ctx.state.listAgents(school.id),
      ctx.state.latestResults(school.id),
      ctx.state.roomsDown(school.id),
      schoolCompliance(ctx.state, ctx.targets, school, now),
      ctx.state.maintenanceWindows({ schoolId: school.id, endingAfter: now }),
      ctx.state.history(school.id, 'bandwidth'),
      ctx.state.deviceAvailability(school.id, sinceDay),
      ctx.state.findings(school.id),
    ]);
  const tz = school.timezone;
  const planned = (subject: { room?: string | undefined; device?: string }): PlannedWork | null => {
    const w = inMaintenance(windows, subject, now, tz);
    return w ? { id: w.id, reason: w.reason, endsAt: w.endsAt } : null;
  };
  const samples = new Map(deviceSamples.map((s) => [s.device, s]));
  const downSince = new Map(roomsDown.map((d) => [d.room, d.since]));
  const rooms = roomsOf(latest)
    .map(
      (room): SchoolRoom => ({
        name: room.name,
        type: room.type,
        up: room.up,
        downSince: downSince.get(room.name) ?? null,
        maintenance: planned({ room: room.name }),
        devices: room.devices
          .map((d): SchoolDevice => {
            const s = samples.get(d.name);
            return {
              name: d.name,
              type: d.type ?? null,
              critical: d.critical,
              up: d.up,
              failed: d.failed,
              at: d.at,
              maintenance: planned({ room: room.name, device: d.name }),
              availability:
                s && s.total > 0
                  ? { up: s.up, total: s.total, pct: Math.round((s.up / s.total) * 10_000) / 100 }
                  : null,
            };
          })
          .sort((a, b) => zh.compare(a.name, b.name)),
      }),
    )
    .sort((a, b) => zh.compare(a.name, b.name));
  const tier = tierOf(school, targets);
  const goalMbps = targets.uplink.tiers[tier].mbps;
  return {
    school: { ...school, tier, protectionLevel: level },
    agents: agents.map((a) => ({
      id: a.id,
      name: a.name,
      hostname: a.hostname,
      version: a.version,
      enrolledAt: a.enrolledAt,
      lastSeenAt: a.lastSeenAt,
      status: agentStatus(a, now, ctx.config.alerts.agentSilentS).status,
      clockOffsetS: a.clockOffsetMs === null ? null : a.clockOffsetMs / 1000,
      clockSynchronised:
        a.clockOffsetMs === null ? null : Math.abs(a.clockOffsetMs) <= ctx.config.clock.maxOffsetS * 1000,
      spoolDepth: a.spoolDepth,
    })),
    latest: latest.map((r) => {
      if (r.probe !== 'reachability') return r;
      const m = planned({ room: r.device.room, device: r.device.name });
      return m ? { ...r, maintenance: m } : r;
    }),
    findingCandidates: clockFindings(agents, ctx.config.clock.maxOffsetS * 1000, level),
    alertCandidates: roomAlertCandidates(roomsDown, now, ctx.targets, { windows, timeZone: tz }),
    compliance,
    maintenance: windows.map((w) => ({ ...w, active: activeAt(w, now, tz) })),
    roomsInMaintenance: rooms.flatMap((room) =>
      room.maintenance ? [{ room: room.name, roomType: room.type, maintenance: room.maintenance }] : [],
    ),
    rooms,
    availability: {
      sinceDay,
      windowDays: targets.deviceAvailability.windowDays,
      minPct: targets.deviceAvailability.minPct,
    },
    speedtests: {
      tier,
      goalMbps,
      tolerance: targets.uplink.tolerance,
      thresholdMbps: Math.round(goalMbps * targets.uplink.tolerance * 100) / 100,
      tests: speedTestPoints(history),
    },
    ipv6: ipv6Of(latest, targets.ipv6.minScore),
    findings: openFindings(findings, ctx.baseline, now, tz),
  };
}
