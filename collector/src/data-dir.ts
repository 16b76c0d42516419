import { statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../protocol/cli.js';
import type { CollectorConfig } from './config.js';

/** The embedded state store's file in the data directory (store/sqlite-state.ts). */
export const stateFileOf = (dataDir: string) => join(dataDir, 'state.sqlite');

function whoami(): string {
  try {
    return `user ${userInfo().username}`;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}`;
  }
}

/**
 * A CLI command about to open the embedded state in `--data DIR`: a directory that holds no state is
 * refused — a mistyped path would otherwise become a new, empty state that reports "no schools
 * registered" — unless the command may create one (`run`, `school add`, or any command with `--init`).
 * Returns whether the state is new. PostgreSQL state (`state.kind: postgres`) is not in the directory.
 */
export function checkStateInDataDir(
  config: Pick<CollectorConfig, 'dataDir' | 'state'>,
  mayCreate: boolean,
): { created: boolean } {
  if (config.state.kind === 'postgres') return { created: false };
  const file = stateFileOf(config.dataDir);
  try {
    statSync(file);
    return { created: false };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES') {
      throw new UsageError(
        `${config.dataDir}: ${whoami()} cannot read the campuswatch state there (permission denied); run this command as the collector's user (e.g. sudo -u campuswatch campuswatch-collector …)`,
      );
    }
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
  }
  if (mayCreate) return { created: true };
  throw new UsageError(
    `no campuswatch state in ${config.dataDir} (no state.sqlite there): check --data (or dataDir in the config), or pass --init to create a new state there`,
  );
}
