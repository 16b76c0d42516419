import { readFileSync } from 'node:fs';
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { parseDocument } from 'yaml';
import { checker, type Problem } from './validate.js';

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

export type CrossCheck<T> = (config: T) => Problem[];

/** Parses YAML text, fills defaults, rejects unknown keys and wrong types, then runs cross-field checks. */
export function parseConfig<T>(schema: TSchema, text: string, file: string, crossCheck?: CrossCheck<T>): T {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => {
      const pos = e.linePos?.[0];
      return {
        path: '',
        message: `YAML syntax error${pos ? ` at line ${pos.line}, column ${pos.col}` : ''}: ${e.message.split('\n')[0]?.replace(/ at line \d+, column \d+:?$/, '')}`,
      };
    });
    throw new ConfigError(file, problems);
  }
  const raw: unknown = doc.toJS() ?? {};
  const withDefaults = Value.Default(schema, structuredClone(raw));
  const problems = checker<T>(schema).problems(withDefaults);
  if (problems.length > 0) throw new ConfigError(file, problems);
  const config = withDefaults as T;
  const cross = crossCheck?.(config) ?? [];
  if (cross.length > 0) throw new ConfigError(file, cross);
  return config;
}

export function loadConfigFile<T>(schema: TSchema, file: string, crossCheck?: CrossCheck<T>): T {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      file,
      [{ path: '', message: `cannot read the file (${(err as NodeJS.ErrnoException).code ?? 'error'})` }],
      {
        cause: err,
      },
    );
  }
  return parseConfig(schema, text, file, crossCheck);
}
