import { Command, CommanderError } from 'commander';
import { ConfigError } from './config-error.js';

/** Exit codes of both programs: 0 ok, 1 runtime failure, 2 bad usage or configuration. */
export const EXIT_OK = 0;
export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;

/** An error the user can fix by changing the command line or a file. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function newProgram(name: string, description: string, version: string): Command {
  const program = new Command(name).description(description).version(version).showHelpAfterError();
  program.exitOverride();
  program.configureOutput({ writeErr: (s) => process.stderr.write(s) });
  return program;
}

/** Applies exitOverride to every sub-command too, so usage errors exit 2 rather than commander's 1. */
function overrideAll(cmd: Command): void {
  cmd.exitOverride();
  for (const sub of cmd.commands) overrideAll(sub);
}

/** Runs a program: maps usage and config errors to exit 2, anything else to exit 1 with its message. */
export async function runProgram(program: Command, argv: string[] = process.argv): Promise<never> {
  overrideAll(program);
  try {
    await program.parseAsync(argv);
    process.exit(process.exitCode ?? EXIT_OK);
  } catch (err) {
    if (err instanceof CommanderError) {
      const ok =
        err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version' ||
        err.code === 'commander.help';
      process.exit(ok ? EXIT_OK : EXIT_USAGE);
    }
    if (err instanceof ConfigError || err instanceof UsageError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(EXIT_USAGE);
    }
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(EXIT_RUNTIME);
  }
}

/** Terminal width of a string: CJK and full-width characters take two columns. */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    const wide =
      (cp >= 0x1100 && cp <= 0x115f) ||
      (cp >= 0x2e80 && cp <= 0xa4cf) ||
      (cp >= 0xac00 && cp <= 0xd7a3) ||
      (cp >= 0xf900 && cp <= 0xfaff) ||
      (cp >= 0xfe30 && cp <= 0xfe4f) ||
      (cp >= 0xff00 && cp <= 0xff60) ||
      (cp >= 0xffe0 && cp <= 0xffe6) ||
      (cp >= 0x20000 && cp <= 0x3fffd);
    w += wide ? 2 : 1;
  }
  return w;
}

/** A plain text table with columns padded by display width (Chinese names line up). */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) =>
    Math.max(displayWidth(h), ...rows.map((r) => displayWidth(r[i] ?? ''))),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => c + ' '.repeat(Math.max(0, widths[i]! - displayWidth(c))))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** RFC 4180 CSV. */
export function formatCsv(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const cell = (c: string) => (/[",\r\n]/.test(c) ? `"${c.replace(/"/g, '""')}"` : c);
  return [headers, ...rows].map((r) => r.map(cell).join(',')).join('\r\n');
}
