import {
  PROBE_NAMES,
  type ProbeName,
  type ProbeResult,
  RESULT_SCHEMAS,
  type Report,
  ReportEnvelope,
} from './report.js';
import { type Checker, checker, type Problem } from './validate.js';
import { SUPPORTED_REPORT_SCHEMAS } from './version.js';

const envelope = checker<Omit<Report, 'results'> & { results: unknown[] }>(ReportEnvelope);
const resultCheckers = Object.fromEntries(
  PROBE_NAMES.map((name) => [name, checker<ProbeResult>(RESULT_SCHEMAS[name])]),
) as Record<ProbeName, Checker<ProbeResult>>;

const MAX_PROBLEMS = 20;

export type ReportCheck =
  | { ok: true; report: Report }
  | { ok: false; problems: Problem[]; unsupportedSchema: boolean };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Checks a decoded report body completely: envelope, every result against the schema of its probe,
 * then the time rules (finishedAt not before startedAt; every result inside the report's window).
 */
export function checkReport(body: unknown): ReportCheck {
  if (!isObject(body)) return fail([{ path: '', message: 'the report must be a JSON object' }]);
  if (!SUPPORTED_REPORT_SCHEMAS.includes(body.schema as number)) {
    return {
      ok: false,
      unsupportedSchema: true,
      problems: [
        {
          path: 'schema',
          message: `unsupported report schema version ${JSON.stringify(body.schema ?? null)}; this collector accepts schema versions: ${SUPPORTED_REPORT_SCHEMAS.join(', ')}`,
        },
      ],
    };
  }
  const problems: Problem[] = envelope.problems(body);
  const results = Array.isArray(body.results) ? body.results : [];
  for (let i = 0; i < results.length && problems.length < MAX_PROBLEMS; i++) {
    const r = results[i];
    const probe = isObject(r) ? r.probe : undefined;
    if (typeof probe !== 'string' || !(PROBE_NAMES as readonly string[]).includes(probe)) {
      problems.push({
        path: `results/${i}/probe`,
        message: `must be one of: ${PROBE_NAMES.map((p) => JSON.stringify(p)).join(', ')}`,
      });
      continue;
    }
    problems.push(...resultCheckers[probe as ProbeName].problems(r, `results/${i}`));
  }
  if (problems.length > 0) return fail(problems);
  const report = body as unknown as Report;
  // the schema's date-time admits forms JavaScript cannot read (leap seconds, RFC 9557 zone suffixes)
  const unreadable = (path: string, v: string): Problem | undefined =>
    Number.isFinite(Date.parse(v))
      ? undefined
      : {
          path,
          message: `${JSON.stringify(v)} is not a date-time this collector can read (RFC 3339 with Z or ±hh:mm)`,
        };
  const dateProblems = [
    unreadable('startedAt', report.startedAt),
    unreadable('finishedAt', report.finishedAt),
    ...report.results.map((r, i) => unreadable(`results/${i}/at`, r.at)),
  ].filter((p): p is Problem => p !== undefined);
  if (dateProblems.length > 0) return fail(dateProblems);
  const started = Date.parse(report.startedAt);
  const finished = Date.parse(report.finishedAt);
  if (finished < started) {
    return fail([{ path: 'finishedAt', message: `is before startedAt (${report.startedAt})` }]);
  }
  if (report.cycle && report.cycle.part > report.cycle.parts) {
    return fail([
      { path: 'cycle/part', message: `${report.cycle.part} is past cycle/parts (${report.cycle.parts})` },
    ]);
  }
  report.results.forEach((r, i) => {
    const at = Date.parse(r.at);
    if (at < started || at > finished) {
      problems.push({
        path: `results/${i}/at`,
        message: `${r.at} is outside the report's window ${report.startedAt} – ${report.finishedAt}`,
      });
    }
  });
  return problems.length > 0 ? fail(problems) : { ok: true, report };
}

function fail(problems: Problem[]): ReportCheck {
  return { ok: false, unsupportedSchema: false, problems: problems.slice(0, MAX_PROBLEMS) };
}
