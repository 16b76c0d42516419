import type { Ipv6Result, ProbeResult } from '../../../protocol/report.js';
import type { TargetsConfig } from './targets/config.js';
import type { Verdict } from './targets/target.js';

/**
 * IPv6 ("IPv6 规模部署"): met when the agent's IPv6 readiness score ≥ minScore and, when
 * required, every listed school service is reachable over IPv6. The reason is the agent's own symptoms.
 */
export function evaluateIpv6(latest: readonly ProbeResult[], targets: TargetsConfig): Verdict {
  const goal = targets.ipv6.minScore;
  const v6 = latest.filter((r): r is Ipv6Result => r.probe === 'ipv6');
  const score = v6.filter((r) => r.check === 'score').sort((a, b) => Date.parse(b.at) - Date.parse(a.at))[0];
  if (!score || score.scoreV6 === undefined) {
    return {
      target: 'ipv6',
      state: 'no_data',
      value: null,
      goal,
      reason: 'no IPv6 readiness check reported yet',
    };
  }
  // services as of the same run as the score (an old run's service rows do not count)
  const services = v6.filter(
    (r) => r.check === 'service' && r.at <= score.at && Date.parse(score.at) - Date.parse(r.at) < 3_600_000,
  );
  const down = services.filter((s) => !s.ok);
  const symptoms = score.symptoms ?? [];
  const scores = `IPv6 score ${score.scoreV6}/10, IPv4-drop score ${score.scoreV4only ?? '-'}/10`;
  const met = score.scoreV6 >= goal && (!targets.ipv6.requireServices || down.length === 0);
  const serviceText =
    services.length > 0
      ? `; ${services.length - down.length} of ${services.length} school services over IPv6`
      : '';
  // the agent's symptoms name what is wrong with a service (unreachable, no AAAA, differs, TLS); add a
  // generic line only for a failing service the symptoms do not mention
  const extra = down
    .filter((s) => !symptoms.some((t) => t.startsWith(`service ${s.service ?? s.target} `)))
    .map((s) => `service ${s.service ?? s.target} fails over IPv6`);
  const why = [...symptoms, ...extra];
  return {
    target: 'ipv6',
    state: met ? 'met' : 'not_met',
    value: score.scoreV6,
    goal,
    reason: `${scores}${serviceText}${why.length > 0 ? `: ${why.join('; ')}` : ''}`,
  };
}
