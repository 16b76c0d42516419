/**
 * What the collector's command groups share: the `--config`/`--data` flags, the configuration they give,
 * the state store they open, and the audit entry of a CLI action (actor `cli:<os user>`).
 */
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { UsageError } from '../../protocol/cli.js';
import { type CollectorConfig, loadCollectorConfig, parseCollectorConfig } from './config.js';
import { tierOf } from './evaluate/targets/tier.js';
import type { StateStore } from './store/state.js';
import { DEFAULT_TARGETS_FILE, loadTargets } from './targets.js';

export interface CommonOpts {
  config?: string;
  data?: string;
  /** The command may create the state when the data directory holds none (`school add`; `--init`). */
  init?: boolean;
}

/** Runs `use` on the configured state store (SQLite in --data, or the config's PostgreSQL) and closes it. */
export type WithState = <T>(opts: CommonOpts, use: (state: StateStore) => Promise<T>) => Promise<T>;

/** The collector's configuration as the command's flags give it. */
export type ConfigOf = (opts: CommonOpts) => CollectorConfig;

/** `--config FILE` (what the command reads from it) and `--data DIR`. */
export const dataFlags = (c: Command, configFor = 'for its state store'): Command =>
  c
    .option('--config <file>', `collector YAML config (${configFor})`)
    .option('--data <dir>', 'state directory');

/** The actor of a CLI action in the audit trail and in snapshots. */
export const cliActor = (): string => `cli:${userInfo().username}`;

/** The configuration of --config (or the defaults) with the flags over it, validated as the file is. */
export function resolveConfig(opts: CommonOpts & { listen?: string; influxUrl?: string }): CollectorConfig {
  const base = opts.config ? loadCollectorConfig(opts.config) : parseCollectorConfig('', '<defaults>');
  // flags override the file; re-validate the result so a bad flag gets the same clear message
  const merged = {
    ...base,
    ...(opts.listen ? { listen: opts.listen } : {}),
    ...(opts.data ? { dataDir: opts.data } : {}),
    ...(opts.influxUrl ? { influx: { ...(base.influx ?? {}), url: opts.influxUrl } } : {}),
  };
  return parseCollectorConfig(
    JSON.stringify(merged),
    opts.config ? `${opts.config} (with command-line flags)` : 'command-line flags',
  );
}

/** The data directory the flags name; a usage error without --data or --config. */
export function requireData(opts: CommonOpts): string {
  if (!opts.data && !opts.config) throw new UsageError('--data DIR (or --config FILE) is required');
  return resolveConfig(opts).dataDir;
}

/** An audit entry for a CLI action (actor `cli:<os user>`, address `local`). */
export async function auditCli(
  state: StateStore,
  action: string,
  target: string,
  detail = '',
): Promise<void> {
  await state.access.appendAudit({
    at: new Date().toISOString(),
    actor: cliActor(),
    address: 'local',
    action,
    target,
    detail,
  });
}

/**
 * `school add` / `school update` with both --tier and --pupils: the tier follows from the pupil count, so a
 * --tier it contradicts (which would silently win over it) is refused, naming both flags and the tiers' file.
 */
export function checkTierAgreesWithPupils(config: CollectorConfig, tier: string, pupils: number): void {
  const targetsFile = config.targetsFile ?? DEFAULT_TARGETS_FILE;
  const implied = tierOf({ pupils }, loadTargets(targetsFile));
  if (implied !== tier)
    throw new UsageError(
      `--pupils ${pupils} and --tier ${tier} contradict each other: ${pupils} pupils make a ${implied} school (uplink.tiers of ${targetsFile}); give --pupils (the tier follows from it) or --tier, not both`,
    );
}
