/** Where an enrolled agent stands, as the API, the fleet series and the alert rules see it. */
export const AGENT_STATUSES = ['never_reported', 'reporting', 'silent'] as const;
export type AgentStatus = (typeof AGENT_STATUSES)[number];

/**
 * Default of `alerts.neverReportedAfterS`: an enrolled agent with no report an hour later alerts (an
 * install takes minutes; the Grafana alert rule of dashboards/src/alerts.ts uses the same wait).
 */
export const NEVER_REPORTED_AFTER_S = 3600;

export interface AgentStatusView {
  /**
   * `never_reported`: enrolled, no report yet (the alert waits `neverReportedAfterS` after enrolment);
   * `silent`: its last report is more than `agentSilentS` old; `reporting` otherwise.
   */
  status: AgentStatus;
  /** Seconds since enrolment (never negative). */
  enrolledS: number;
  /** Seconds since its last report, or since enrolment when it has never reported (never negative). */
  silentS: number;
}

/**
 * The status of an agent at `now`, with the alert rules' own threshold (`alerts.agentSilentS`): an agent
 * is silent exactly when the agent-silent rule would alert for it.
 */
export function agentStatus(
  a: { enrolledAt: string; lastSeenAt: string | null },
  now: Date,
  agentSilentS: number,
): AgentStatusView {
  const since = (iso: string) => Math.max(0, (now.getTime() - Date.parse(iso)) / 1000);
  const enrolledS = since(a.enrolledAt);
  if (a.lastSeenAt === null) return { status: 'never_reported', enrolledS, silentS: enrolledS };
  const silentS = since(a.lastSeenAt);
  return { status: silentS > agentSilentS ? 'silent' : 'reporting', enrolledS, silentS };
}
