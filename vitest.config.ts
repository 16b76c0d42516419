import { readdirSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

// Two groups. First the files that own nothing but ephemeral ports and temporary directories run two at a time;
// then the files that bind fixed loopback addresses and ports (Telnet on :23, SNMP on :161 …), create network
// namespaces, mount file systems, measure throughput or count connections against a cap run one at a time, so
// that none of them shares the machine with another test file.
const SHARED_DIRS = /^(collector|console|protocol|dashboards|docs)\//;
const EXCLUSIVE_FILES = /^collector\/(speedtest.*|bounded-streams)\.test\.ts$/;

const files = (readdirSync('tests', { recursive: true }) as string[])
  .map((f) => f.split('\\').join('/'))
  .filter((f) => f.endsWith('.test.ts'));
const isShared = (f: string): boolean => SHARED_DIRS.test(f) && !EXCLUSIVE_FILES.test(f);
const shared = files.filter(isShared).map((f) => `tests/${f}`);
const exclusive = files.filter((f) => !isShared(f)).map((f) => `tests/${f}`);

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: ['default', 'json'],
    outputFile: { json: 'dist/test-results.json' },
    projects: [
      {
        extends: true,
        test: { name: 'shared', include: shared, maxWorkers: 2, sequence: { groupOrder: 1 } },
      },
      {
        extends: true,
        test: { name: 'exclusive', include: exclusive, fileParallelism: false, sequence: { groupOrder: 2 } },
      },
    ],
  },
});
