import type { Severity } from '../baseline.js';
import type { AlertGroup } from '../notifiers/notifier.js';

export interface Route {
  channels: string[];
  severity?: Severity[];
  district?: string[];
  group?: string[];
}

/**
 * The part of a group one channel should receive: the alerts matched by a route naming that channel
 * (severity, district and education group filters). With no routes at all, every channel gets everything.
 * Undefined when nothing is left for the channel.
 */
export function groupForChannel(
  group: AlertGroup,
  channel: string,
  routes: readonly Route[],
): AlertGroup | undefined {
  if (routes.length === 0) return group;
  const mine = routes.filter((r) => r.channels.includes(channel));
  const alerts = group.alerts.filter((a) =>
    mine.some(
      (r) =>
        (r.severity === undefined || r.severity.includes(a.severity)) &&
        (r.district === undefined ||
          (group.school.district !== undefined && r.district.includes(group.school.district))) &&
        (r.group === undefined || (group.school.group !== undefined && r.group.includes(group.school.group))),
    ),
  );
  return alerts.length > 0 ? { ...group, alerts } : undefined;
}
