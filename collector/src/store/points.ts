// The collector's points of a report: the agent's own, each result's (its kind's module in
// collector/src/results/), the findings it changed and the school's compliance.
import type { Report } from '../../../protocol/report.js';
import type { FindingRecord } from '../evaluate/findings.js';
import type { ComplianceRow } from '../evaluate/targets/target.js';
import { resultKindOf } from '../results/registry.js';
import { bit, type PointContext } from '../results/result-kind.js';
import { ReportLines } from './line-protocol.js';

export type { PointContext } from '../results/result-kind.js';

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
  // each result as its kind writes it (collector/src/results/)
  for (const r of report.results) resultKindOf(r).lines(r, out, ctx);
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
