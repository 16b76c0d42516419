/** The state store chosen by configuration (`state.kind`), and what callers import about it. */
import type { Logger } from 'pino';
import type { CollectorConfig } from '../config.js';
import { SqliteStateStore } from './sqlite-state.js';
import type { StateStore } from './state-store.js';

export { SqliteState, SqliteStateStore } from './sqlite-state.js';
export * from './state-store.js';

/**
 * Opens the configured store: SQLite in `dataDir`, or PostgreSQL at `state.url` (its schema created when
 * missing). The PostgreSQL client is loaded only when configured.
 */
export async function openStateStore(
  config: Pick<CollectorConfig, 'dataDir' | 'state'>,
  log?: Logger,
): Promise<StateStore> {
  if (config.state.kind === 'postgres') {
    const { PgStateStore } = await import('./pg-state.js');
    return PgStateStore.open({
      url: config.state.url!,
      poolMax: config.state.poolMax,
      ...(log ? { log } : {}),
    });
  }
  return new SqliteStateStore(config.dataDir, { latestCacheResults: config.state.latestCacheResults });
}
