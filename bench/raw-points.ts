// The points the collector writes for one report, built with the collector's own code (the evaluation the
// ingest route runs on a report, then store/points.ts `reportToPoints`), and serialised to line protocol
// byte for byte as the collector sends it (store/influx.ts `lineOf`), for the raw
// `POST /write` ceiling of bench/ingest.
import type { IPoint } from 'influx';
import type { BaselineConfig } from '../collector/src/baseline.js';
import { teachingSamples } from '../collector/src/evaluate/availability.js';
import { evaluateCompliance, tierOf } from '../collector/src/evaluate/compliance.js';
import { nextFindings } from '../collector/src/evaluate/findings.js';
import { lineOf } from '../collector/src/store/influx.js';
import { reportToPoints } from '../collector/src/store/points.js';
import type { TargetsConfig } from '../collector/src/targets.js';
import type { Report } from '../protocol/report.js';
import type { School } from '../protocol/school.js';

/** The points of one report as the ingest route builds them for a school without earlier state. */
export function pointsOfReport(
  report: Report,
  school: School,
  targets: TargetsConfig,
  baseline: BaselineConfig,
  receivedAt: Date,
): IPoint[] {
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
  return reportToPoints(report, {
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

/** The `/write` body the collector sends for these points (store/influx.ts `lineOf`, ms precision). */
export function lineProtocol(points: readonly IPoint[]): string {
  return points.map(lineOf).join('\n');
}

/**
 * A `/write` body whose timestamps are holes: every point of a bench report carries the report's own
 * time, so the body is cut at that time and refilled with a fresh one for each send.
 */
export class TimedBody {
  private readonly parts: string[];
  readonly points: number;

  constructor(points: readonly IPoint[], atMs: number) {
    this.points = points.length;
    this.parts = lineProtocol(points).split(` ${atMs}`);
  }

  /** True when every point carried the template time (else the body cannot be re-timed). */
  get timedEverywhere(): boolean {
    return this.parts.length === this.points + 1;
  }

  fill(atMs: number): string {
    return this.parts.join(` ${atMs}`);
  }
}
