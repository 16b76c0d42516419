/**
 * Per-school budgets (issue 27): how many devices and series a school may have in the collector's latest
 * state, and how many results one report may carry. A report that would take its school over one is
 * refused before anything is written (422 naming the budget, its limit and the count), counted in
 * /metrics and raised as an `over-budget` alert. Defaults fit the largest real schools (20,000 devices,
 * several checks each); `budgets.schools.<id>` lowers or raises them for one school.
 */
import { type Static, Type } from 'typebox';
import { MAX_RESULTS_PER_REPORT, type ProbeResult } from '../../protocol/report.js';
import { resultKey } from './store/result-key.js';
import { durationMs, type TargetsConfig } from './targets.js';

/** The budgets' names, as the refusal, the metric's label and the alert name them. */
export const BUDGET_NAMES = ['devicesPerSchool', 'seriesPerSchool', 'resultsPerReport'] as const;
export type BudgetName = (typeof BUDGET_NAMES)[number];

const BudgetValues = {
  /** Distinct devices (reachability and uplink-SNMP device names) in the school's latest state. */
  devicesPerSchool: Type.Integer({ minimum: 1, maximum: 10_000_000 }),
  /**
   * Distinct result keys in the school's latest state: each is one series (or a few) in InfluxDB; a
   * device with five checks is five.
   */
  seriesPerSchool: Type.Integer({ minimum: 1, maximum: 100_000_000 }),
  /** Results in one report (an agent splits a larger cycle into several reports). */
  resultsPerReport: Type.Integer({ minimum: 1, maximum: MAX_RESULTS_PER_REPORT }),
};

export const SchoolBudgets = Type.Object(
  {
    devicesPerSchool: Type.Optional(BudgetValues.devicesPerSchool),
    seriesPerSchool: Type.Optional(BudgetValues.seriesPerSchool),
    resultsPerReport: Type.Optional(BudgetValues.resultsPerReport),
  },
  { additionalProperties: false },
);
export type SchoolBudgets = Static<typeof SchoolBudgets>;

export const BudgetsConfig = Type.Object(
  {
    devicesPerSchool: Type.Integer({ ...BudgetValues.devicesPerSchool, default: 25_000 }),
    seriesPerSchool: Type.Integer({ ...BudgetValues.seriesPerSchool, default: 125_000 }),
    resultsPerReport: Type.Integer({ ...BudgetValues.resultsPerReport, default: MAX_RESULTS_PER_REPORT }),
    /** Per school id: the budgets that differ from the ones above. */
    schools: Type.Record(Type.String({ minLength: 1, maxLength: 64 }), SchoolBudgets, { default: {} }),
  },
  { additionalProperties: false, default: {} },
);
export type BudgetsConfig = Static<typeof BudgetsConfig>;

export type Budgets = Record<BudgetName, number>;

/** A school's budgets: its own where it has them, the collector's elsewhere. */
export function budgetsFor(config: BudgetsConfig, schoolId: string): Budgets {
  const own = config.schools[schoolId] ?? {};
  return {
    devicesPerSchool: own.devicesPerSchool ?? config.devicesPerSchool,
    seriesPerSchool: own.seriesPerSchool ?? config.seriesPerSchool,
    resultsPerReport: own.resultsPerReport ?? config.resultsPerReport,
  };
}

/** A budget a report would exceed. */
export interface BudgetExceeded {
  budget: BudgetName;
  limit: number;
  /** What the school (or report) would count with the report. */
  count: number;
}

/** The refusal's message: the budget, its limit, the count and where to change it. */
export function budgetMessage(schoolId: string, e: BudgetExceeded): string {
  const what =
    e.budget === 'resultsPerReport'
      ? `this report has ${e.count} results`
      : `with this report school ${JSON.stringify(schoolId)} would have ${e.count} ${e.budget === 'devicesPerSchool' ? 'devices' : 'series (distinct results)'}`;
  return `over budget ${e.budget}: ${what}, the limit is ${e.limit} (budgets.${e.budget}, or budgets.schools.${schoolId}.${e.budget} in the collector config); nothing of it was stored`;
}

/** The device a result is about, for the devices budget (undefined: the result is not about a device). */
export function deviceOf(r: ProbeResult): string | undefined {
  if (r.probe === 'reachability') return r.device.name;
  if (r.probe === 'uplink-snmp') return `uplink|${r.device.name}`;
  return undefined;
}

/**
 * Results of one report that share a device identity (probe, device, check, port): the store keeps one
 * per identity, so one of them would silently win. Each identity named once with how often it came.
 */
export function duplicateIdentities(results: readonly ProbeResult[]): { key: string; times: number }[] {
  const seen = new Map<string, number>();
  for (const r of results) {
    if (r.probe !== 'reachability' && r.probe !== 'uplink-snmp') continue;
    const k = resultKey(r);
    seen.set(k, (seen.get(k) ?? 0) + 1);
  }
  return [...seen].filter(([, n]) => n > 1).map(([key, times]) => ({ key, times }));
}

/** Sections of targets.yaml whose targets read the devices' latest results. */
const DEVICE_SECTIONS = [
  'wirelessCoverage',
  'interactiveClassrooms',
  'multimediaRooms',
  'recordingRoom',
  'smartClassroom',
] as const;

/**
 * How long a device's latest results stay in the latest state without being reported again, per probe:
 * the longest `maxAge` of the targets that read them (reachability: the room targets, 15 min by
 * default; uplink SNMP: backbone, 2 h). Older evidence counts for no target any more; a device gone from
 * the inventory then leaves the state (the API and the console) too. Other probes: kept.
 */
export function freshnessMs(targets: TargetsConfig): Partial<Record<ProbeResult['probe'], number>> {
  return {
    reachability: Math.max(...DEVICE_SECTIONS.map((s) => durationMs(targets[s].maxAge))),
    'uplink-snmp': durationMs(targets.backbone.maxAge),
  };
}

/**
 * The keys of a school's latest results (after the report was merged into them) that leave the latest
 * state: results of devices older than their freshness that this report did not carry.
 */
export function staleKeys(
  latest: readonly ProbeResult[],
  incoming: ReadonlySet<string>,
  freshness: Partial<Record<ProbeResult['probe'], number>>,
  now: Date,
): Set<string> {
  const out = new Set<string>();
  for (const r of latest) {
    const age = freshness[r.probe];
    if (age === undefined || Date.parse(r.at) >= now.getTime() - age) continue;
    const k = resultKey(r);
    if (!incoming.has(k)) out.add(k);
  }
  return out;
}

/** Distinct devices and series of a school's latest results. */
export function countLatest(latest: readonly ProbeResult[]): { devices: number; series: number } {
  // one result per key in the latest state: each is a series
  const devices = new Set<string>();
  for (const r of latest) {
    const d = deviceOf(r);
    if (d !== undefined) devices.add(d);
  }
  return { devices: devices.size, series: latest.length };
}

/**
 * The school budget a report would exceed: a count over its limit that the report makes larger than it
 * was (a school over a budget lowered since may still report the devices it has, and its old ones leave).
 */
export function schoolBudgetExceeded(
  budgets: Budgets,
  before: { devices: number; series: number },
  after: { devices: number; series: number },
): BudgetExceeded | undefined {
  if (after.devices > budgets.devicesPerSchool && after.devices > before.devices)
    return { budget: 'devicesPerSchool', limit: budgets.devicesPerSchool, count: after.devices };
  if (after.series > budgets.seriesPerSchool && after.series > before.series)
    return { budget: 'seriesPerSchool', limit: budgets.seriesPerSchool, count: after.series };
  return undefined;
}

/** A report refused for a budget, as the alert shows it. */
export interface BudgetRefusal extends BudgetExceeded {
  schoolId: string;
  agentId: string;
  at: string;
  /** Reports refused for this budget since the alert's hold began. */
  times: number;
}

/**
 * How long an over-budget alert holds after the last refused report (then it resolves). The refusals are
 * noted in the state store, so the collector that leads alerting sees those of every collector.
 */
export const OVER_BUDGET_HOLD_MS = 3_600_000;
