import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root (where package.json is), from the source tree or from dist/. */
function findPackageRoot(): { root: string; version: string } {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'campuswatch') return { root: dir, version: pkg.version ?? '0.0.0' };
    }
    dir = dirname(dir);
  }
  throw new Error('campuswatch: cannot find its package.json above protocol/version');
}

const found = findPackageRoot();
export const PACKAGE_ROOT = found.root;
export const PACKAGE_VERSION = found.version;
/** Report schema versions this code base writes and accepts. */
export const REPORT_SCHEMA_VERSION = 1;
export const SUPPORTED_REPORT_SCHEMAS: readonly number[] = [1];
/** Header carrying the agent's wall-clock time at the moment it sends (ISO 8601). */
export const SENT_AT_HEADER = 'x-campuswatch-sent-at';
