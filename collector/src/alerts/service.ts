import type { Logger } from 'pino';
import type { CollectorConfig } from '../config.js';
import type { CollectorContext } from '../context.js';
import { type ChannelConfig, createChannel } from '../notifiers/config.js';
import { ChannelStats, dispatchAll } from '../notifiers/dispatch.js';
import { collectFacts } from './facts.js';
import { AlertManager } from './manager.js';
import { groupForChannel, type Route } from './routing.js';
import { desiredAlerts } from './rules.js';

/**
 * The collector's alerting: the rules over the state store, the persisted lifecycle, and delivery to
 * every configured channel the routes select (concurrently; one failing channel never blocks another).
 */
export function createAlerting(
  ctx: Omit<CollectorContext, 'alerts' | 'channelStats' | 'metrics'>,
  config: CollectorConfig,
  log: Logger,
): { manager: AlertManager; stats: ChannelStats } {
  const stats = new ChannelStats();
  const channels = (config.alerts.channels as ChannelConfig[]).map((c) => createChannel(c));
  const routes = config.alerts.routes as Route[];
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
        { findingSeverity: config.alerts.findingSeverity, agentSilentS: config.alerts.agentSilentS },
        now,
      ),
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
