import { readFileSync } from 'node:fs';
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { parseDocument } from 'yaml';
import { ConfigError } from './config-error.js';
import { checker, type Problem } from './validate.js';

export { ConfigError, yamlPath } from './config-error.js';

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
