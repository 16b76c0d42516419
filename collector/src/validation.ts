import type { FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify';
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { checker } from '../../protocol/validate.js';

/**
 * Validates requests with TypeBox (unknown keys are an error, never silently stripped) and reports
 * one readable problem per field.
 */
export const validatorCompiler: FastifySchemaCompiler<TSchema> = ({ schema, httpPart }) => {
  const check = checker<unknown>(schema);
  return (value: unknown) => {
    const converted = httpPart === 'body' ? value : Value.Convert(schema, value);
    if (check.check(converted)) return { value: converted };
    const error: FastifySchemaValidationError[] = check.problems(converted).map((p) => ({
      keyword: 'problem',
      instancePath: p.path ? `/${p.path}` : '',
      schemaPath: '#',
      params: {},
      message: p.message,
    }));
    return { error };
  };
};

export function schemaErrorFormatter(errors: FastifySchemaValidationError[], dataVar: string): Error {
  return new Error(errors.map((e) => `${dataVar}${e.instancePath}: ${e.message}`).join('; '));
}
