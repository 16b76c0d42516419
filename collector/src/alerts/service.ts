import type { Logger } from 'pino';
import type { CollectorConfig } from '../config.js';
import type { CollectorContext } from '../context.js';
import { tierOf } from '../evaluate/compliance.js';
import { type ChannelConfig, createChannel } from '../notifiers/config.js';
import { ChannelStats, dispatchAll } from '../notifiers/dispatch.js';
import { agentStatusLines } from '../store/fleet-points.js';
import { targetsFor } from '../targets.js';
import { collectFacts } from './facts.js';
import { AlertManager } from './manager.js';
import { groupForChannel, type Route } from './routing.js';
import { alertMaintenance, desiredAlerts } from './rules.js';

/**
 * The collector's alerting: the rules over the state store, the persisted lifecycle, and delivery to
 * every configured channel the routes select (concurrently; one failing channel never blocks another).
 */
export function createAlerting(
  ctx: Omit<CollectorContext, 'alerts' | 'channelStats' | 'metrics'>,
  config: CollectorConfig,
  log: Logger,
  opts: { onPointsWritten?: (points: number) => void } = {},
): { manager: AlertManager; stats: ChannelStats } {
  const stats = new ChannelStats();
  const channels = (config.alerts.channels as ChannelConfig[]).map((c) => createChannel(c));
  const routes = config.alerts.routes as Route[];
  const influx = ctx.influx;
  // passes follow reports every few seconds under load; the fleet series needs one point per agent per
  // evaluateS (10,000 agents every 2 s would be 5,000 points/s beside the reports)
  let seriesAt = Number.NEGATIVE_INFINITY;
  const manager = new AlertManager(ctx.state, {
    forS: config.alerts.forS,
    repeatS: config.alerts.repeatS,
    ...(config.alerts.digest.enabled ? { digestAt: config.alerts.digest.at } : {}),
    log,
    facts: (now, slicer) => collectFacts(ctx, now, slicer),
    desired: (f, now) =>
      desiredAlerts(
        f,
        ctx.baseline,
        {
          findingSeverity: config.alerts.findingSeverity,
          agentSilentS: config.alerts.agentSilentS,
          neverReportedAfterS: config.alerts.neverReportedAfterS,
        },
        now,
      ),
    inMaintenance: (f, item, now) => alertMaintenance(f, item, now) !== undefined,
    // the agents' status as series, from a pass at most every evaluateS: an agent that never reported has
    // no `agent` points at all
    ...(influx
      ? {
          series: async (facts, now) => {
            const t = now.getTime();
            if (t - seriesAt < config.alerts.evaluateS * 1000 && t >= seriesAt) return;
            seriesAt = t;
            const { lines, refused } = agentStatusLines(
              // the size tier as the school's other points carry it (its district's targets)
              facts.map((f) => ({
                school: f.school,
                tier: tierOf(f.school, targetsFor(ctx.targets, f.school.district)),
                agents: f.agents,
              })),
              now,
              config.alerts.agentSilentS,
            );
            for (const r of refused)
              log.error({ school: r.school, err: r.error }, 'agent status points of a school not written');
            if (lines.length === 0) return;
            await ctx.influxReady();
            await influx.writeCoalesced(lines);
            opts.onPointsWritten?.(lines.length);
          },
        }
      : {}),
    notify: async (group) => {
      const outcomes = await Promise.all(
        channels.map(async (ch) => {
          const part = groupForChannel(group, ch.notifier.name, routes);
          if (!part) return undefined;
          const [outcome] = await dispatchAll([ch], part, {
            stats,
            log,
            signal: AbortSignal.timeout(120_000),
          });
          return outcome;
        }),
      );
      for (const o of outcomes) {
        if (o && !o.ok)
          log.error(
            { channel: o.channel, error: o.error.message, attempts: o.attempts },
            'alert not delivered',
          );
      }
    },
  });
  return { manager, stats };
}
