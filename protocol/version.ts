import { readFileSync } from 'node:fs';

function findPackageVersion(): string {
  // protocol/ sits one level below the package root in the source tree and two in dist/.
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'campuswatch' && pkg.version) return pkg.version;
    } catch {
      // try the next candidate
    }
  }
  return '0.0.0';
}

export const PACKAGE_VERSION = findPackageVersion();
/** Report schema versions this code base writes and accepts. */
export const REPORT_SCHEMA_VERSION = 1;
export const SUPPORTED_REPORT_SCHEMAS: readonly number[] = [1];
/** Header carrying the agent's wall-clock time at the moment it sends (ISO 8601). */
export const SENT_AT_HEADER = 'x-campuswatch-sent-at';
