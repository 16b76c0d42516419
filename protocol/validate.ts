import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';
import type { TLocalizedValidationError } from 'typebox/error';
import { TAG_VALUE_PATTERN } from './school.js';

/** One problem with a value: where (a slash path such as `results/3/durationMs`) and what was expected. */
export interface Problem {
  path: string;
  message: string;
}

export function formatProblem(p: Problem): string {
  return p.path ? `${p.path}: ${p.message}` : p.message;
}

function join(base: string, key: string | number): string {
  return base ? `${base}/${key}` : String(key);
}

function render(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/**
 * Turns TypeBox's validation errors into one readable problem per field: unions of constants become
 * "must be one of: …", unknown keys are named, missing keys are named.
 */
export function toProblems(errors: readonly TLocalizedValidationError[], prefix = ''): Problem[] {
  const problems: Problem[] = [];
  const seen = new Set<string>();
  const add = (path: string, message: string) => {
    const key = `${path}\u0000${message}`;
    if (seen.has(key)) return;
    seen.add(key);
    problems.push({ path, message });
  };
  const anyOfPaths = errors.filter((e) => e.keyword === 'anyOf').map((e) => e.schemaPath);
  const insideAnyOf = (e: TLocalizedValidationError) =>
    anyOfPaths.some((sp) => e.schemaPath.startsWith(`${sp}/anyOf/`));
  for (const e of errors) {
    const path = join(prefix, e.instancePath.replace(/^\//, '')).replace(/\/$/, '');
    const params = e.params as Record<string, unknown>;
    if (e.keyword === 'boolean') continue; // reported once more as additionalProperties
    if (insideAnyOf(e)) continue; // summarised by the anyOf error itself
    if (e.keyword === 'anyOf') {
      const branches = errors.filter((b) => b.schemaPath.startsWith(`${e.schemaPath}/anyOf/`));
      const consts = branches.filter((b) => b.keyword === 'const');
      if (consts.length === branches.length && consts.length > 0) {
        const allowed = consts.map((b) => render((b.params as { allowedValue: unknown }).allowedValue));
        add(path, `must be one of: ${allowed.join(', ')}`);
      } else {
        // an enum branch reads as its values (a field that is one of them or null)
        const messages = [
          ...new Set(
            branches.map((b) => {
              const allowed = (b.params as { allowedValues?: unknown }).allowedValues;
              return b.keyword === 'enum' && Array.isArray(allowed)
                ? `must be one of: ${allowed.map(render).join(', ')}`
                : b.message;
            }),
          ),
        ];
        add(path, messages.length > 0 ? messages.join(' or ') : e.message);
      }
      continue;
    }
    if (e.keyword === 'enum' && Array.isArray(params.allowedValues)) {
      add(path, `must be one of: ${params.allowedValues.map(render).join(', ')}`);
      continue;
    }
    if (e.keyword === 'additionalProperties' && Array.isArray(params.additionalProperties)) {
      for (const k of params.additionalProperties) add(join(path, String(k)), 'unknown key');
      continue;
    }
    if (e.keyword === 'required' && Array.isArray(params.requiredProperties)) {
      for (const k of params.requiredProperties) add(join(path, String(k)), 'is required');
      continue;
    }
    if (e.keyword === 'pattern' && typeof params.pattern === 'string') {
      add(
        path,
        params.pattern === TAG_VALUE_PATTERN
          ? 'must be non-empty text without control characters and must not end with a backslash'
          : params.pattern.startsWith('^https?://')
            ? 'must be a URL that starts with https:// or http://'
            : params.pattern.startsWith('^https://')
              ? 'must be a URL that starts with https://'
              : `must match the pattern ${params.pattern}`,
      );
      continue;
    }
    add(path, e.message);
  }
  return problems;
}

export interface Checker<T> {
  check(value: unknown): value is T;
  problems(value: unknown, prefix?: string): Problem[];
}

/** Compiles a schema once into a checker with readable problems. */
export function checker<T>(schema: TSchema): Checker<T> {
  const compiled = Compile(schema);
  return {
    check: (value: unknown): value is T => compiled.Check(value),
    problems: (value: unknown, prefix = '') => toProblems(compiled.Errors(value), prefix),
  };
}
