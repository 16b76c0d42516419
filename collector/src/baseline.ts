import { join } from 'node:path';
import { type Static, Type } from 'typebox';
import { type CrossCheck, loadConfigFile, parseConfig } from '../../protocol/config-file.js';
import type { Problem } from '../../protocol/validate.js';
import { PACKAGE_ROOT } from '../../protocol/version.js';

export const Severity = Type.Enum(['critical', 'high', 'medium', 'low', 'info']);
export type Severity = Static<typeof Severity>;
export const SEVERITY_RANK: Record<Severity, number> = { critical: 4, high: 3, medium: 2, low: 1, info: 0 };

const Day = Type.String({
  pattern: '^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])$',
  description: 'YYYY-MM-DD',
});

/** config/baseline.yaml: the security rules (severity, 等保 clause, remediation) and accepted risks. */
export const BaselineConfig = Type.Object(
  {
    rules: Type.Record(
      Type.String({ pattern: '^[a-z0-9][a-z0-9-]{1,63}$' }),
      Type.Object(
        {
          severity: Severity,
          /** Absent means enabled (TypeBox fills no defaults inside a Record). */
          enabled: Type.Optional(Type.Boolean()),
          mlps: Type.String({ minLength: 1, maxLength: 200 }),
          title: Type.Object(
            { zh: Type.String({ minLength: 1 }), en: Type.String({ minLength: 1 }) },
            { additionalProperties: false },
          ),
          remediation: Type.String({ minLength: 1, maxLength: 1000 }),
        },
        { additionalProperties: false },
      ),
    ),
    exceptions: Type.Array(
      Type.Object(
        {
          rule: Type.String({ minLength: 1 }),
          school: Type.String({ minLength: 1 }),
          target: Type.Optional(Type.String({ minLength: 1 })),
          port: Type.Optional(Type.Integer({ minimum: 1, maximum: 65535 })),
          reason: Type.String({ minLength: 3, maxLength: 500 }),
          expires: Day,
        },
        { additionalProperties: false },
      ),
      { default: [] },
    ),
  },
  { additionalProperties: false },
);
export type BaselineConfig = Static<typeof BaselineConfig>;

const crossCheck: CrossCheck<BaselineConfig> = (b) => {
  const problems: Problem[] = [];
  b.exceptions.forEach((e, i) => {
    if (!b.rules[e.rule])
      problems.push({ path: `exceptions/${i}/rule`, message: `unknown rule ${JSON.stringify(e.rule)}` });
  });
  return problems;
};

export const DEFAULT_BASELINE_FILE = join(PACKAGE_ROOT, 'config', 'baseline.yaml');

export function loadBaseline(file: string): BaselineConfig {
  return loadConfigFile(BaselineConfig, file, crossCheck);
}

export function parseBaseline(text: string, file = '<inline>'): BaselineConfig {
  return parseConfig(BaselineConfig, text, file, crossCheck);
}
