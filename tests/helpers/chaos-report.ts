// The reports of the chaos run (bench/chaos.ts, tests/e2e/chaos.test.ts), shared by the agent child
// (tests/helpers/chaos-agent.ts) and the harness that checks the result (tests/helpers/chaos.ts).
//
// Report `index` of an agent is fully determined by (agentId, index, plan): its time is
// `t0Ms + index * periodMs` and its reportId is a UUIDv7 with that time and random bits taken from
// SHA-256(agentId:index). An agent that dies and makes the report again therefore makes the *same*
// report (same reportId, same timestamps): the collector sees a replay, never a new report.
import { createHash } from 'node:crypto';
import { v7 as uuidv7 } from 'uuid';
import type { Report } from '../../protocol/report.js';
import { makeReport } from './reports.js';

export interface ChaosPlan {
  /** Time of report 0, epoch milliseconds. */
  t0Ms: number;
  /** Milliseconds between two reports of one agent (an integer ≥ 1: report times are distinct). */
  periodMs: number;
  /** Reports each agent makes. */
  count: number;
}

/** What the parent hands one agent child (tests/helpers/chaos-agent.ts), as JSON in argv[2]. */
export interface ChaosAgentConfig extends ChaosPlan {
  // t0Ms = 0: wait for `go <t0Ms>` on stdin (the first start of every agent)
  stateDir: string;
  collectorUrl: string;
  /** Device name of this agent's one result (device points carry no agent tag: one name per agent). */
  device: string;
  backoffBaseMs: number;
  backoffMaxMs: number;
  requestTimeoutMs: number;
}

/** Spool meta key: how many reports this agent has made (written after each enqueue). */
export const MADE_META_KEY = 'chaos.made';

/** The report's own time (startedAt = finishedAt = its one result's `at`), epoch milliseconds. */
export function chaosReportTime(plan: ChaosPlan, index: number): number {
  return plan.t0Ms + index * plan.periodMs;
}

/** The reportId of report `index` of an agent: a lower-case UUIDv7, the same every time it is made. */
export function chaosReportId(agentId: string, index: number, timeMs: number): string {
  const random = createHash('sha256').update(`${agentId}:${index}`).digest().subarray(0, 16);
  return uuidv7({ msecs: timeMs, random });
}

/** Report `index` of an agent: one reachability result on the agent's own device (one `device` point). */
export function chaosReport(
  agent: { agentId: string; schoolId: string; device: string },
  plan: ChaosPlan,
  index: number,
): Report {
  const at = new Date(chaosReportTime(plan, index));
  const base = makeReport({ agentId: agent.agentId, schoolId: agent.schoolId, at, device: agent.device });
  return { ...base, reportId: chaosReportId(agent.agentId, index, at.getTime()) };
}
