import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');

/** The built programs, as `npm run build` makes them and a user runs them (package.json `bin`). */
const BUILT = { agent: 'dist/agent-bundle/cli.js', collector: 'dist/collector/src/cli.js' } as const;
const SOURCES = ['agent/src', 'collector/src', 'protocol'];

function newestSourceMs(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSourceMs(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

let built: boolean | undefined;
/**
 * Whether the built programs are newer than every source file (CI builds first): then a test runs them, as a
 * user would, without compiling the sources at each start (about 1.5 s a command). An edited source file makes
 * the tests run the sources again until the next build; `CAMPUSWATCH_TEST_FROM_SOURCE=1` always does.
 */
function builtIsFresh(): boolean {
  if (built !== undefined) return built;
  built = false;
  if (process.env.CAMPUSWATCH_TEST_FROM_SOURCE === '1') return built;
  try {
    const oldestBuild = Math.min(...Object.values(BUILT).map((f) => statSync(join(ROOT, f)).mtimeMs));
    built = oldestBuild > Math.max(...SOURCES.map((d) => newestSourceMs(join(ROOT, d))));
  } catch {
    // not built: run the sources
  }
  return built;
}

/** The node arguments that start a program: its build when fresh, else its sources through tsx. */
export function programArgs(program: 'agent' | 'collector'): string[] {
  return builtIsFresh()
    ? [join(ROOT, BUILT[program])]
    : ['--import', 'tsx', join(ROOT, `${program}/src/cli.ts`)];
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end and collects what it printed. */
export function runCommand(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: { ...process.env, CAMPUSWATCH_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Runs one of the programs as a user would run it (its build when fresh, else from source). */
export function runCli(
  program: 'agent' | 'collector',
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<CliResult> {
  return runCommand(process.execPath, [...programArgs(program), ...args], env);
}
