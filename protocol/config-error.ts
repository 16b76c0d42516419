import type { Problem } from './validate.js';

// Kept apart from config-file.ts (TypeBox, YAML) so that a CLI can recognise the error without loading them.

/** Turns `devices/2/address` into `devices[2].address`, the way a YAML reader thinks of it. */
export function yamlPath(slashPath: string): string {
  return slashPath
    .split('/')
    .map((seg, i) => (/^\d+$/.test(seg) ? `[${seg}]` : i === 0 ? seg : `.${seg}`))
    .join('');
}

/** A configuration file that cannot be used; the message names the file, each field's path and what was expected. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly problems: readonly Problem[],
    options?: { cause?: unknown },
  ) {
    super(
      problems
        .map((p) => (p.path ? `${file}: ${yamlPath(p.path)}: ${p.message}` : `${file}: ${p.message}`))
        .join('\n'),
      options,
    );
  }
}
