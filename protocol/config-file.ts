import { dirname, resolve } from 'node:path';
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { parseDocument } from 'yaml';
import { describeReadFailure, MAX_CONFIG_FILE_BYTES, readBoundedFile } from './bounded-read.js';
import { ConfigError } from './config-error.js';
import { checker, type Problem } from './validate.js';

export { ConfigError, isLoopbackHost, yamlPath } from './config-error.js';

export type CrossCheck<T> = (config: T) => Problem[];

export interface ParseOptions {
  /** Where `${file:relative/path}` is looked up (default: the current directory). */
  baseDir?: string;
  /** Where `${env:NAME}` is looked up (default: process.env). */
  env?: NodeJS.ProcessEnv;
}

/**
 * How many nodes one alias may stand for when the YAML is turned into values (the `yaml` package's
 * `maxAliasCount`): a configuration reuses a block a few times, an alias bomb expands to millions.
 */
export const MAX_YAML_ALIAS_COUNT = 100;

const REFERENCE = /\$\{(env|file):([^}]*)\}/g;
const WHOLE_UNKNOWN = /^\$\{([A-Za-z]+):[^}]*\}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Replaces secret references in every string value (not in keys): `${env:NAME}` by that environment
 * variable, `${file:/path}` by the file's content without its trailing newline. A reference may be the
 * whole value or part of it (a webhook URL with its key). What was substituted is not scanned again.
 * Problems name the YAML path of the field (slash form, as the schema checker reports them).
 */
export function resolveSecretReferences(
  raw: unknown,
  opts: ParseOptions = {},
): { value: unknown; problems: Problem[] } {
  const env = opts.env ?? process.env;
  const problems: Problem[] = [];
  const walk = (v: unknown, path: string): unknown => {
    if (typeof v === 'string') return resolveString(v, path);
    if (Array.isArray(v)) return v.map((x, i) => walk(x, path ? `${path}/${i}` : String(i)));
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x, path ? `${path}/${k}` : k);
      return out;
    }
    return v;
  };
  const resolveString = (s: string, path: string): string => {
    if (!s.includes('${')) return s;
    const unknown = WHOLE_UNKNOWN.exec(s);
    if (unknown && unknown[1] !== 'env' && unknown[1] !== 'file') {
      problems.push({
        path,
        message: `unknown reference ${JSON.stringify(s)}: use \${env:NAME} or \${file:/path}`,
      });
      return s;
    }
    return s.replace(REFERENCE, (_match, kind: string, arg: string) => {
      if (kind === 'env') {
        if (!ENV_NAME.test(arg)) {
          problems.push({ path, message: `${JSON.stringify(arg)} is not an environment variable name` });
          return '';
        }
        const value = env[arg];
        if (value === undefined) {
          problems.push({ path, message: `environment variable ${arg} is not set` });
          return '';
        }
        return value;
      }
      if (arg === '') {
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the reference syntax, not a placeholder
        problems.push({ path, message: 'a file reference needs a path: ${file:/path}' });
        return '';
      }
      const file = resolve(opts.baseDir ?? '.', arg);
      const read = readBoundedFile(file);
      if (!read.ok) {
        problems.push({ path, message: describeReadFailure(read, file) });
        return '';
      }
      return read.content.toString('utf8').replace(/\r?\n$/, '');
    });
  };
  return { value: walk(raw, ''), problems };
}

/**
 * Parses YAML text, resolves `${env:…}` / `${file:…}` references, fills defaults, rejects unknown keys
 * and wrong types, then runs cross-field checks.
 */
export function parseConfig<T>(
  schema: TSchema,
  text: string,
  file: string,
  crossCheck?: CrossCheck<T>,
  opts: ParseOptions = {},
): T {
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
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_YAML_ALIAS_COUNT });
  } catch (err) {
    // an alias bomb ("billion laughs"): a few lines whose aliases expand to millions of nodes
    const bomb = err instanceof ReferenceError && /alias count/i.test(err.message);
    throw new ConfigError(
      file,
      [
        {
          path: '',
          message: bomb
            ? `YAML aliases exceed the limit (one alias may stand for at most ${MAX_YAML_ALIAS_COUNT} nodes): refused as a likely alias bomb`
            : `YAML error: ${err instanceof Error ? err.message : String(err)}`,
        },
      ],
      { cause: err },
    );
  }
  const resolved = resolveSecretReferences(raw ?? {}, opts);
  if (resolved.problems.length > 0) throw new ConfigError(file, resolved.problems);
  const withDefaults = Value.Default(schema, structuredClone(resolved.value));
  const problems = checker<T>(schema).problems(withDefaults);
  if (problems.length > 0) throw new ConfigError(file, problems);
  const config = withDefaults as T;
  const cross = crossCheck?.(config) ?? [];
  if (cross.length > 0) throw new ConfigError(file, cross);
  return config;
}

/**
 * Reads and parses a configuration file: a regular file of at most `MAX_CONFIG_FILE_BYTES` (4 MiB);
 * `/dev/zero`, a FIFO or a larger file is refused naming the file and the limit, without reading it.
 */
export function loadConfigFile<T>(schema: TSchema, file: string, crossCheck?: CrossCheck<T>): T {
  const read = readBoundedFile(file, MAX_CONFIG_FILE_BYTES);
  if (!read.ok) throw new ConfigError(file, [{ path: '', message: describeReadFailure(read) }]);
  const text = read.content.toString('utf8');
  // a relative `${file:…}` is relative to the config file, wherever the program was started
  return parseConfig(schema, text, file, crossCheck, { baseDir: dirname(resolve(file)) });
}

/**
 * Reads a file a config field names (a certificate, a key, a CA bundle): a problem at `path` naming the
 * file when it cannot be read, so that the message reads `tls.certFile: cannot read the file … (ENOENT)`.
 */
export function readConfiguredFile(
  path: string,
  file: string,
): { ok: true; content: Buffer } | { ok: false; problem: Problem } {
  const read = readBoundedFile(file);
  return read.ok ? read : { ok: false, problem: { path, message: describeReadFailure(read, file) } };
}
