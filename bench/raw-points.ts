// The points the collector writes for one report, built with the collector's own code (the evaluation the
// ingest route runs on a report, then store/points.ts `reportLines`): line protocol byte for byte as the
// collector sends it, for the raw `POST /write` ceiling of bench/ingest.
import { randomUUID } from 'node:crypto';
import { type BaselineConfig, DEFAULT_BASELINE_FILE, loadBaseline } from '../collector/src/baseline.js';
import { teachingSamples } from '../collector/src/evaluate/availability.js';
import { evaluateCompliance, noEvidence, tierOf } from '../collector/src/evaluate/compliance.js';
import { nextFindings } from '../collector/src/evaluate/findings.js';
import { reportLines } from '../collector/src/store/points.js';
import { DEFAULT_TARGETS_FILE, loadTargets, type TargetsConfig } from '../collector/src/targets.js';
import type { Report } from '../protocol/report.js';
import type { School } from '../protocol/school.js';
import { benchSchools, Templates } from './school-profile.js';

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
    {
      ...noEvidence(school),
      latest: report.results,
      speedtests: report.results.filter((r) => r.probe === 'bandwidth'),
      availability,
      findings,
    },
    targets,
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
    // as the ingest route writes device points: maintenance 1/0 (no window here)
    maintenance: () => false,
  });
}

/**
 * The lines of a base report (variants 1-4 in turn) of each of `agents` bench agents, `campuses` to a
 * school, all at one template time `at` (whole seconds), for the InfluxDB-only diagnostics.
 */
export function benchReportLines(agents: number, campuses: number): { at: Date; reports: string[][] } {
  const targets = loadTargets(DEFAULT_TARGETS_FILE);
  const baseline = loadBaseline(DEFAULT_BASELINE_FILE);
  const schools = benchSchools(agents / campuses);
  const templates = new Templates(campuses);
  const at = new Date(Math.floor(Date.now() / 1000) * 1000);
  const reports: string[][] = [];
  for (let i = 0; i < agents; i++) {
    const schoolIndex = Math.floor(i / campuses);
    const school = schools[schoolIndex]!;
    const agent = {
      agentId: randomUUID(),
      token: '',
      schoolId: school.id,
      schoolIndex,
      campus: i % campuses,
    };
    reports.push(linesOfReport(templates.report(agent, 1 + (i % 4), at, i), school, targets, baseline, at));
  }
  return { at, reports };
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
