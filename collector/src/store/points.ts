import type { ProbeResult, Report } from '../../../protocol/report.js';
import type { School } from '../../../protocol/school.js';
import type { FindingRecord } from '../evaluate/findings.js';
import type { ComplianceRow } from '../evaluate/targets/target.js';
import { badField, badTimestamp, checkKeyOrTagValue, escapeKey, stringField } from './influx.js';

export interface PointContext {
  school: School;
  tier: string;
  /** The school's uplink target (tier Mbps), written beside each speed test for Grafana thresholds. */
  uplinkGoalMbps: number;
  /** Milliseconds subtracted from the agent's timestamps (its clock offset, when over the threshold). */
  shiftMs: number;
  clockOffsetMs: number;
  receivedAt: Date;
  compliance: readonly ComplianceRow[];
  /** Findings this report changed. */
  findings?: readonly FindingRecord[];
  /**
   * Whether a device was in a maintenance window at a time (ms, shifted): given, every `device` point
   * carries `maintenance` 1/0.
   */
  maintenance?: (device: { room?: string; device: string }, atMs: number) => boolean;
}

/**
 * One report's points as line protocol (docs/architecture.md, "InfluxDB measurements"), checked by the rules of influx.ts `validatePoint` and
 * written as its `lineOf` writes them: tags in the order below, fields sorted by key, numbers as floats,
 * millisecond timestamps. The tags every point of the school carries are checked and escaped once, and no
 * point object is built: building `IPoint`s (a copy of the school's tags in each) and serialising them was
 * a tenth of the collector's CPU per report in bench/ingest.
 */
export class ReportLines {
  readonly lines: string[] = [];
  /** `,school=…,school_name=…,size_tier=…[,district=…][,group=…][,area=…]`, escaped. */
  private readonly schoolTags: string;
  private measurement = '';
  private line = '';
  private fields = 0;

  /** `measurement`: the first point's, which names a bad school tag. */
  constructor(school: School, tier: string, measurement = 'agent') {
    // a bad school tag is named as validatePoint named it: in the report's first point, `agent`
    this.measurement = measurement;
    let t = this.tagText('school', school.id) + this.tagText('school_name', school.name);
    t += this.tagText('size_tier', tier);
    if (school.district) t += this.tagText('district', school.district);
    if (school.group) t += this.tagText('group', school.group);
    if (school.area) t += this.tagText('area', school.area);
    this.schoolTags = t;
  }

  private tagText(key: string, value: string): string {
    checkKeyOrTagValue(this.measurement, `tag "${key}" value`, value);
    return `,${key}=${escapeKey(value)}`;
  }

  /** Starts a point: its measurement and the school's tags. */
  begin(measurement: string): this {
    this.measurement = measurement;
    this.line = measurement + this.schoolTags;
    this.fields = 0;
    return this;
  }

  tag(key: string, value: string): this {
    this.line += this.tagText(key, value);
    return this;
  }

  /** A number field (written as a float, as node-influx writes numbers); must be finite. */
  num(key: string, value: number): this {
    if (!Number.isFinite(value)) throw badField(this.measurement, key);
    this.line += `${this.fields++ === 0 ? ' ' : ','}${key}=${value}`;
    return this;
  }

  /** A number field only when the value is there. */
  opt(key: string, value: number | null | undefined): this {
    return value === undefined || value === null ? this : this.num(key, value);
  }

  str(key: string, value: string): this {
    this.line += `${this.fields++ === 0 ? ' ' : ','}${key}=${stringField(value)}`;
    return this;
  }

  /** Ends the point at a time in epoch milliseconds. */
  end(timestampMs: number): void {
    // (the range of a JavaScript Date, as validatePoint accepts a Date)
    if (!(Math.abs(timestampMs) <= 8.64e15)) throw badTimestamp(this.measurement);
    this.lines.push(`${this.line} ${Math.trunc(timestampMs)}`);
  }
}

const bit = (b: boolean) => (b ? 1 : 0);

/**
 * A school's compliance rows as `compliance` points at `time`: `met` 1/0 and `no_data` 1/0 (unmonitored:
 * written too, so that every registered school is in a district's denominator), value, goal and gap.
 */
export function complianceLines(out: ReportLines, rows: readonly ComplianceRow[], time: number): void {
  for (const c of rows) {
    const measured = c.state !== 'no_data';
    out
      .begin('compliance')
      .tag('target', c.target)
      .opt('gap', measured && c.value !== null && c.goal !== null ? Math.max(0, c.goal - c.value) : null)
      .opt('goal', c.goal)
      .num('met', bit(c.state === 'met'))
      .num('no_data', bit(!measured))
      .opt('value', measured ? c.value : null)
      .end(time);
  }
}

/** A result's points; each point's fields in key order (the tests check it for every measurement). */
function resultLines(
  r: ProbeResult,
  out: ReportLines,
  shiftMs: number,
  uplinkGoalMbps: number,
  maintenance: PointContext['maintenance'],
): void {
  const t = Date.parse(r.at) - shiftMs;
  switch (r.probe) {
    case 'host': {
      out
        .begin('host')
        .tag('host', r.target)
        .num('cpu_cores', r.cpu.cores)
        .opt('cpu_load_pct', r.cpu.loadPct)
        .num('duration_ms', r.durationMs)
        .num('mem_total_bytes', r.memory.totalBytes)
        .num('mem_used_bytes', r.memory.usedBytes)
        .num('ok', bit(r.outcome === 'ok'))
        .num('uptime_s', r.uptimeS)
        .end(t);
      for (const nic of r.nics) {
        if (nic.name === 'lo') continue;
        out
          .begin('host_nic')
          .tag('host', r.target)
          .tag('nic', nic.name)
          .num('ipv4_count', nic.ipv4.length)
          .num('ipv6_count', nic.ipv6.length)
          .opt('speed_mbps', nic.speedMbps)
          .num('up', bit(nic.up))
          .end(t);
      }
      for (const disk of r.disks) {
        if (!disk.mount || disk.mount.endsWith('\\')) continue;
        out
          .begin('host_disk')
          .tag('host', r.target)
          .tag('mount', disk.mount)
          .num('size_bytes', disk.sizeBytes)
          .num('used_bytes', disk.usedBytes)
          .end(t);
      }
      return;
    }
    case 'reachability': {
      out.begin('device').tag('device', r.device.name).tag('check', r.check);
      if (r.device.room) out.tag('room', r.device.room);
      if (r.device.roomType) out.tag('room_type', r.device.roomType);
      if (r.device.type) out.tag('device_type', r.device.type);
      if (r.port) out.tag('port', String(r.port));
      if (r.family) out.num('family', r.family);
      out.opt('loss_pct', r.lossPct);
      if (maintenance)
        out.num('maintenance', bit(maintenance({ room: r.device.room, device: r.device.name }, t)));
      out.str('outcome', r.outcome).opt('rtt_ms', r.rttMs).num('up', bit(r.up)).end(t);
      return;
    }
    case 'bandwidth':
      out
        .begin('uplink_speedtest')
        .tag('direction', r.direction)
        .tag('method', r.method)
        .num('bytes', r.bytes)
        .num('duration_s', r.durationS)
        .num('mbps', r.mbps)
        .num('ok', bit(r.outcome === 'ok'))
        .opt('p90_mbps', r.p90Mbps)
        .opt('rtt_loaded_ms', r.rttLoadedMs)
        .opt('rtt_ms', r.rttIdleMs)
        .num('streams', r.streams)
        .num('target_mbps', uplinkGoalMbps)
        .end(t);
      return;
    case 'ipv6':
      out.begin('ipv6').tag('check', r.check);
      if (r.service) out.tag('service', r.service);
      out
        .opt('degradation', r.degradation)
        .opt('family', r.family)
        .opt('ms', r.ms)
        .num('ok', bit(r.ok))
        .opt('score_v4only', r.scoreV4only)
        .opt('score_v6', r.scoreV6)
        .end(t);
      return;
    case 'security':
      // written as `finding` points by the findings lifecycle (severity and clause are collector policy)
      return;
    case 'uplink-snmp':
      out
        .begin('uplink_snmp')
        .tag('device', r.device.name)
        .tag('ifname', r.ifName)
        .tag('role', r.role)
        .opt('if_speed_mbps', r.ifSpeedMbps)
        .opt('in_mbps', r.inMbps)
        .num('ok', bit(r.outcome === 'ok'))
        .num('oper_up', bit(r.operUp))
        .opt('out_mbps', r.outMbps)
        .opt('util_pct', r.utilPct)
        .end(t);
      return;
  }
}

/**
 * Every point a report produces (docs/architecture.md, "InfluxDB measurements") as line protocol, at the report's own (shifted) timestamps,
 * so writing the same report twice stores each point once. Throws InfluxRejectedError, naming the
 * measurement and the tag or field, for a point InfluxDB would refuse (nothing of the report is written).
 */
export function reportLines(report: Report, ctx: PointContext): string[] {
  const out = new ReportLines(ctx.school, ctx.tier);
  const finished = Date.parse(report.finishedAt) - ctx.shiftMs;
  const h = report.health;
  out
    .begin('agent')
    .tag('agent', report.agentId)
    .tag('version', report.agentVersion)
    .num('clock_offset_s', ctx.clockOffsetMs / 1000)
    .num('clock_shifted', bit(ctx.shiftMs !== 0))
    .num('cycle_ms', h.cycleMs)
    .num('lag_s', (ctx.receivedAt.getTime() - finished) / 1000)
    // a cycle sent in parts writes this point once per part, the same each time: the cycle's results
    .num('reports', report.cycle?.parts ?? 1)
    .num('results', report.cycle?.results ?? report.results.length)
    .num('rss_mb', h.rssMb)
    // fields in key order (as lineOf writes them)
    .opt('spool_dead_dropped', h.spoolDeadDropped)
    .num('spool_depth', h.spoolDepth)
    .num('spool_dropped', h.spoolDropped)
    .opt('spool_failing', h.spoolFailure ? 1 : undefined)
    .num('spool_rejected', h.spoolRejected)
    .opt('spool_unstored', h.spoolUnstored)
    .end(finished);
  for (const r of report.results) resultLines(r, out, ctx.shiftMs, ctx.uplinkGoalMbps, ctx.maintenance);
  // findings carry collector-side times already shifted with the report
  findingLines(out, ctx.findings ?? []);
  complianceLines(out, ctx.compliance, finished);
  return out.lines;
}

/**
 * Findings as `finding` points, each at the time it was last seen or resolved, or all at `time` when given
 * (a risk accepted between reports).
 */
export function findingLines(out: ReportLines, findings: readonly FindingRecord[], time?: number): void {
  for (const f of findings) {
    out
      .begin('finding')
      .tag('rule', f.rule)
      .tag('severity', f.severity)
      .tag('target', f.target)
      .tag('mlps', f.mlps);
    if (f.port) out.tag('port', String(f.port));
    // open=1 while open; an accepted risk has open=0 and accepted_until_s (no state tag: one series per finding)
    out
      .opt(
        'accepted_until_s',
        f.acceptedUntil === null ? null : Date.parse(`${f.acceptedUntil}T23:59:59+08:00`) / 1000,
      )
      .num('count', f.count)
      .num('open', bit(f.state === 'open'))
      .opt('value', f.value)
      .end(time ?? Date.parse(f.resolvedAt ?? f.lastSeen));
  }
}
