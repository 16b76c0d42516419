import type { IPoint } from 'influx';
import type { ProbeResult, Report } from '../../../protocol/report.js';
import type { School } from '../../../protocol/school.js';
import type { FindingRecord } from '../evaluate/findings.js';
import type { ComplianceRow } from './state.js';

export type Tags = Record<string, string>;

/** Tags every point carries (DESIGN §4); absent values are left out rather than written empty. */
export function schoolTags(school: School, tier: string): Tags {
  const tags: Tags = { school: school.id, school_name: school.name, size_tier: tier };
  if (school.district) tags.district = school.district;
  if (school.group) tags.group = school.group;
  if (school.area) tags.area = school.area;
  return tags;
}

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
}

const shifted = (iso: string, shiftMs: number) => new Date(Date.parse(iso) - shiftMs);

function resultPoints(r: ProbeResult, tags: Tags, shiftMs: number, uplinkGoalMbps: number): IPoint[] {
  const timestamp = shifted(r.at, shiftMs);
  switch (r.probe) {
    case 'host': {
      const points: IPoint[] = [
        {
          measurement: 'host',
          tags: { ...tags, host: r.target },
          fields: {
            ok: r.outcome === 'ok' ? 1 : 0,
            uptime_s: r.uptimeS,
            cpu_cores: r.cpu.cores,
            ...(r.cpu.loadPct !== null ? { cpu_load_pct: r.cpu.loadPct } : {}),
            mem_total_bytes: r.memory.totalBytes,
            mem_used_bytes: r.memory.usedBytes,
            duration_ms: r.durationMs,
          },
          timestamp,
        },
      ];
      for (const nic of r.nics) {
        if (nic.name === 'lo') continue;
        points.push({
          measurement: 'host_nic',
          tags: { ...tags, host: r.target, nic: nic.name },
          fields: {
            up: nic.up ? 1 : 0,
            ...(nic.speedMbps !== null ? { speed_mbps: nic.speedMbps } : {}),
            ipv4_count: nic.ipv4.length,
            ipv6_count: nic.ipv6.length,
          },
          timestamp,
        });
      }
      for (const disk of r.disks) {
        if (!disk.mount || disk.mount.endsWith('\\')) continue;
        points.push({
          measurement: 'host_disk',
          tags: { ...tags, host: r.target, mount: disk.mount },
          fields: { size_bytes: disk.sizeBytes, used_bytes: disk.usedBytes },
          timestamp,
        });
      }
      return points;
    }
    case 'reachability': {
      const deviceTags: Tags = { ...tags, device: r.device.name, check: r.check };
      if (r.device.room) deviceTags.room = r.device.room;
      if (r.device.roomType) deviceTags.room_type = r.device.roomType;
      if (r.device.type) deviceTags.device_type = r.device.type;
      if (r.port) deviceTags.port = String(r.port);
      return [
        {
          measurement: 'device',
          tags: deviceTags,
          fields: {
            up: r.up ? 1 : 0,
            ...(r.rttMs !== undefined ? { rtt_ms: r.rttMs } : {}),
            ...(r.lossPct !== undefined ? { loss_pct: r.lossPct } : {}),
            ...(r.family ? { family: r.family } : {}),
            outcome: r.outcome,
          },
          timestamp,
        },
      ];
    }
    case 'bandwidth': {
      const fields: IPoint['fields'] = {
        ok: r.outcome === 'ok' ? 1 : 0,
        mbps: r.mbps,
        target_mbps: uplinkGoalMbps,
        streams: r.streams,
        duration_s: r.durationS,
        bytes: r.bytes,
      };
      if (r.p90Mbps !== undefined) fields.p90_mbps = r.p90Mbps;
      if (r.rttIdleMs !== undefined) fields.rtt_ms = r.rttIdleMs;
      if (r.rttLoadedMs !== undefined) fields.rtt_loaded_ms = r.rttLoadedMs;
      return [
        {
          measurement: 'uplink_speedtest',
          tags: { ...tags, direction: r.direction, method: r.method },
          fields,
          timestamp,
        },
      ];
    }
    case 'ipv6': {
      const fields: IPoint['fields'] = { ok: r.ok ? 1 : 0 };
      if (r.ms !== undefined) fields.ms = r.ms;
      if (r.family !== undefined) fields.family = r.family;
      if (r.scoreV6 !== undefined) fields.score_v6 = r.scoreV6;
      if (r.scoreV4only !== undefined) fields.score_v4only = r.scoreV4only;
      if (r.degradation !== undefined) fields.degradation = r.degradation;
      const t: Tags = { ...tags, check: r.check };
      if (r.service) t.service = r.service;
      return [{ measurement: 'ipv6', tags: t, fields, timestamp }];
    }
    case 'security':
      // written as `finding` points by the findings lifecycle (severity and clause are collector policy)
      return [];
    case 'uplink-snmp': {
      const fields: IPoint['fields'] = { ok: r.outcome === 'ok' ? 1 : 0, oper_up: r.operUp ? 1 : 0 };
      if (r.inMbps !== undefined) fields.in_mbps = r.inMbps;
      if (r.outMbps !== undefined) fields.out_mbps = r.outMbps;
      if (r.ifSpeedMbps !== undefined) fields.if_speed_mbps = r.ifSpeedMbps;
      if (r.utilPct !== undefined) fields.util_pct = r.utilPct;
      return [
        {
          measurement: 'uplink_snmp',
          tags: { ...tags, device: r.device.name, ifname: r.ifName, role: r.role },
          fields,
          timestamp,
        },
      ];
    }
  }
}

/**
 * Every point a report produces (DESIGN §4), at the report's own (shifted) timestamps, so writing the
 * same report twice stores each point once.
 */
export function reportToPoints(report: Report, ctx: PointContext): IPoint[] {
  const tags = schoolTags(ctx.school, ctx.tier);
  const finished = shifted(report.finishedAt, ctx.shiftMs);
  const points: IPoint[] = [
    {
      measurement: 'agent',
      tags: { ...tags, agent: report.agentId, version: report.agentVersion },
      fields: {
        spool_depth: report.health.spoolDepth,
        spool_dropped: report.health.spoolDropped,
        spool_rejected: report.health.spoolRejected,
        cycle_ms: report.health.cycleMs,
        rss_mb: report.health.rssMb,
        lag_s: (ctx.receivedAt.getTime() - finished.getTime()) / 1000,
        clock_offset_s: ctx.clockOffsetMs / 1000,
        clock_shifted: ctx.shiftMs !== 0 ? 1 : 0,
        results: report.results.length,
      },
      timestamp: finished,
    },
  ];
  for (const r of report.results) points.push(...resultPoints(r, tags, ctx.shiftMs, ctx.uplinkGoalMbps));
  for (const f of ctx.findings ?? []) {
    const fields: IPoint['fields'] = { open: f.state === 'open' ? 1 : 0, count: f.count };
    if (f.value !== null) fields.value = f.value;
    if (f.acceptedUntil !== null)
      fields.accepted_until_s = Date.parse(`${f.acceptedUntil}T23:59:59+08:00`) / 1000;
    const t: Tags = {
      ...tags,
      rule: f.rule,
      severity: f.severity,
      target: f.target,
      mlps: f.mlps,
    };
    if (f.port) t.port = String(f.port);
    // open=1 while open; an accepted risk has open=0 and accepted_until_s (no state tag: one series per finding)
    // findings carry collector-side times already shifted with the report
    points.push({ measurement: 'finding', tags: t, fields, timestamp: new Date(f.resolvedAt ?? f.lastSeen) });
  }
  for (const c of ctx.compliance) {
    if (c.state === 'no_data') continue;
    const fields: IPoint['fields'] = { met: c.state === 'met' ? 1 : 0 };
    if (c.value !== null) fields.value = c.value;
    if (c.goal !== null) fields.goal = c.goal;
    if (c.value !== null && c.goal !== null) fields.gap = Math.max(0, c.goal - c.value);
    points.push({
      measurement: 'compliance',
      tags: { ...tags, target: c.target },
      fields,
      timestamp: finished,
    });
  }
  return points;
}
