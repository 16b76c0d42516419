import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

/**
 * Servers the test helpers started (influxd, snmpd, PostgreSQL) that have not exited yet, and temporary
 * directories not cleaned up yet: when the test process exits, whatever happened to the test, the former
 * are SIGKILLed and the latter removed. Helpers add and delete entries as they start and clean up.
 */
export const live = new Set<ChildProcess>();
export const dirs = new Set<string>();
let exitHookInstalled = false;

export function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
    for (const dir of dirs) {
      try {
        rmSync(dir, { recursive: true, force: true });
      } catch {
        // best effort while exiting
      }
    }
  });
}
