import type { School } from '../../../protocol/school.js';
import { agentStatus } from '../evaluate/agent-status.js';
import { ReportLines } from './line-protocol.js';
import type { AgentRecord } from './state-store.js';

/** One school's enrolled agents, with the school's size tier (a tag of every point). */
export interface FleetSchool {
  school: School;
  tier: string;
  agents: readonly Pick<AgentRecord, 'id' | 'enrolledAt' | 'lastSeenAt'>[];
}

/** The fleet's lines, and the schools left out because InfluxDB would refuse a tag of theirs. */
export interface FleetLines {
  lines: string[];
  refused: { school: string; error: string }[];
}

/**
 * The `agent_status` points of the fleet at `now`, one per enrolled agent, as line protocol (the rules of
 * points.ts: school tags first, fields sorted by key, millisecond timestamp): tags the school's, `agent`
 * (its id) and `status` (`never_reported` / `reporting` / `silent`, evaluate/agent-status.ts with
 * `agentSilentS`); fields `enrolled_s`, `never_reported` (1 while it has never reported) and `silent_s`
 * (seconds since its last report, or since enrolment when there was none). The `agent` measurement is
 * written per report, so an agent that never reported has no series but this one. A school whose tags
 * InfluxDB would refuse is left out (and named), not the whole fleet. Pure.
 */
export function agentStatusLines(
  schools: readonly FleetSchool[],
  now: Date,
  agentSilentS: number,
): FleetLines {
  const out: FleetLines = { lines: [], refused: [] };
  const at = now.getTime();
  for (const s of schools) {
    if (s.agents.length === 0) continue;
    try {
      const lines = new ReportLines(s.school, s.tier, 'agent_status');
      for (const a of s.agents) {
        const v = agentStatus(a, now, agentSilentS);
        lines
          .begin('agent_status')
          .tag('agent', a.id)
          .tag('status', v.status)
          .num('enrolled_s', Math.round(v.enrolledS))
          .num('never_reported', v.status === 'never_reported' ? 1 : 0)
          .num('silent_s', Math.round(v.silentS))
          .end(at);
      }
      for (const l of lines.lines) out.lines.push(l);
    } catch (err) {
      out.refused.push({ school: s.school.id, error: (err as Error).message });
    }
  }
  return out;
}
