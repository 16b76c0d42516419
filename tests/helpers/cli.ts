import { spawn } from 'node:child_process';

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

/** Runs one of the programs from source (tsx), as a user would run the built one. */
export function runCli(
  program: 'agent' | 'collector',
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<CliResult> {
  return runCommand(process.execPath, ['--import', 'tsx', `${program}/src/cli.ts`, ...args], env);
}
