// The points the collector writes for one report, built with the collector's own code (the evaluation the
// ingest route runs on a report, then store/points.ts `reportLines`): line protocol byte for byte as the
// collector sends it, for the raw `POST /write` ceiling of bench/ingest.
import type { BaselineConfig } from '../collector/src/baseline.js';
import { teachingSamples } from '../collector/src/evaluate/availability.js';
import { evaluateCompliance, tierOf } from '../collector/src/evaluate/compliance.js';
import { nextFindings } from '../collector/src/evaluate/findings.js';
import { reportLines } from '../collector/src/store/points.js';
import type { TargetsConfig } from '../collector/src/targets.js';
import type { Report } from '../protocol/report.js';
import type { School } from '../protocol/school.js';

/** The lines of one report as the ingest route writes them for a school without earlier state. */
export function linesOfReport(
  report: Report,
  school: School,
  targets: TargetsConfig,
  baseline: BaselineConfig,
  receivedAt: Date,
): string[] {
  const samples = teachingSamples(report.results, school, targets);
  const availability = {
    up: samples.availability.filter((s) => s.up).length,
    total: samples.availability.length,
  };
  const findings = nextFindings(new Map(), report.results, baseline, school);
  const compliance = evaluateCompliance(
    school,
    report.results,
    targets,
    report.results.filter((r) => r.probe === 'bandwidth'),
    availability,
    findings,
    receivedAt,
  );
  const tier = tierOf(school, targets);
  return reportLines(report, {
    school,
    tier,
    uplinkGoalMbps: targets.uplink.tiers[tier].mbps,
    shiftMs: 0,
    clockOffsetMs: 0,
    receivedAt,
    compliance,
    findings,
  });
}

/**
 * A `/write` body whose timestamps are holes: every point of a bench report carries the report's own
 * time, so the body is cut at that time and refilled with a fresh one for each send.
 */
export class TimedBody {
  private readonly parts: string[];
  readonly points: number;

  constructor(lines: readonly string[], atMs: number) {
    this.points = lines.length;
    this.parts = lines.join('\n').split(` ${atMs}`);
  }

  /** True when every point carried the template time (else the body cannot be re-timed). */
  get timedEverywhere(): boolean {
    return this.parts.length === this.points + 1;
  }

  fill(atMs: number): string {
    return this.parts.join(` ${atMs}`);
  }
}
