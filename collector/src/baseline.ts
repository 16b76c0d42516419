import { join } from 'node:path';
import { type Static, Type } from 'typebox';
import { ConfigError, type CrossCheck, loadConfigFile, parseConfig } from '../../protocol/config-file.js';
import { PROTECTION_LEVELS, type ProtectionLevel, type School } from '../../protocol/school.js';
import type { Problem } from '../../protocol/validate.js';
import { PACKAGE_ROOT } from '../../protocol/version.js';

export const Severity = Type.Enum(['critical', 'high', 'medium', 'low', 'info']);
export type Severity = Static<typeof Severity>;
export const SEVERITY_RANK: Record<Severity, number> = { critical: 4, high: 3, medium: 2, low: 1, info: 0 };

const Day = Type.String({
  pattern: '^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])$',
  description: 'YYYY-MM-DD',
});

const Clause = (description: string) => Type.String({ minLength: 3, maxLength: 200, description });

/**
 * A rule's GB/T 22239-2019 clause per protection level (YAML keys 2 and 3): the 第二级 requirements are
 * chapter 7 of the standard, the 第三级 ones chapter 8, so a level-N clause starts with chapter N + 5.
 */
const MlpsClauses = Type.Object(
  {
    2: Clause('the clause for a level-2 school (chapter 7)'),
    3: Clause('the clause for a level-3 school (chapter 8)'),
  },
  {
    additionalProperties: false,
    description: 'the GB/T 22239-2019 clause the rule checks, per protection level',
  },
);
export type MlpsClauses = Static<typeof MlpsClauses>;

/** The chapter of GB/T 22239-2019 holding the requirements of a level: 6 for 第一级 … 9 for 第四级. */
export const chapterOf = (level: ProtectionLevel): number => level + 5;

/** config/baseline.yaml: the security rules (severity, 等保 clause, remediation in en and zh) and accepted risks. */
export const BaselineConfig = Type.Object(
  {
    /** The level of a school that declares none (`protectionLevel` of the school). */
    defaultProtectionLevel: Type.Enum([...PROTECTION_LEVELS], {
      default: 2,
      description: '等级保护级别 of a school that declares none: 2 (第二级) or 3 (第三级)',
    }),
    rules: Type.Record(
      Type.String({ pattern: '^[a-z0-9][a-z0-9-]{1,63}$' }),
      Type.Object(
        {
          severity: Type.Enum(Severity.enum, { description: 'how serious a finding of this rule is' }),
          /** Absent means enabled (TypeBox fills no defaults inside a Record). */
          enabled: Type.Optional(Type.Boolean({ description: 'false switches the rule off (absent: on)' })),
          mlps: MlpsClauses,
          title: Type.Object(
            {
              zh: Type.String({ minLength: 1, description: 'title in Chinese' }),
              en: Type.String({ minLength: 1, description: 'title in English' }),
            },
            { additionalProperties: false },
          ),
          remediation: Type.String({
            minLength: 1,
            maxLength: 1000,
            description: 'the remediation in English',
          }),
          /**
           * The remediation in Chinese, written for a school's IT officer (what to change, where): the
           * console shows it on zh pages, `remediation` on en pages.
           */
          remediationZh: Type.String({
            minLength: 1,
            maxLength: 1000,
            description: 'the remediation in Chinese, for a school IT officer',
          }),
        },
        { additionalProperties: false },
      ),
    ),
    exceptions: Type.Array(
      Type.Object(
        {
          rule: Type.String({ minLength: 1, description: 'the rule accepted' }),
          school: Type.String({ minLength: 1, description: 'school id' }),
          target: Type.Optional(
            Type.String({ minLength: 1, description: 'the device (absent: every device)' }),
          ),
          port: Type.Optional(
            Type.Integer({ minimum: 1, maximum: 65535, description: 'the port (absent: every port)' }),
          ),
          reason: Type.String({ minLength: 3, maxLength: 500, description: 'why the risk is accepted' }),
          expires: Day,
        },
        { additionalProperties: false },
      ),
      { default: [], description: 'accepted risks, each until a day' },
    ),
  },
  { additionalProperties: false },
);
export type BaselineConfig = Static<typeof BaselineConfig>;

/** A Han character: Chinese text has some (an English sentence copied into remediationZh has none). */
const HAN = /\p{Script=Han}/u;

const crossCheck: CrossCheck<BaselineConfig> = (b) => {
  const problems: Problem[] = [];
  for (const [id, rule] of Object.entries(b.rules)) {
    if (!HAN.test(rule.remediationZh))
      problems.push({
        path: `rules/${id}/remediationZh`,
        message: `must be written in Chinese (it has no Chinese character): ${JSON.stringify(rule.remediationZh.slice(0, 60))}`,
      });
    // indexing by every supported level does not compile if MlpsClauses lacks one of them
    for (const level of PROTECTION_LEVELS) {
      const clause = rule.mlps[level];
      const chapter = chapterOf(level);
      if (!clause.startsWith(`${chapter}.`))
        problems.push({
          path: `rules/${id}/mlps/${level}`,
          message: `${JSON.stringify(clause)} is not a level-${level} clause: GB/T 22239-2019 gives the level-${level} requirements in chapter ${chapter}, so the clause starts with "${chapter}."`,
        });
    }
  }
  b.exceptions.forEach((e, i) => {
    if (!b.rules[e.rule])
      problems.push({ path: `exceptions/${i}/rule`, message: `unknown rule ${JSON.stringify(e.rule)}` });
  });
  return problems;
};

export const DEFAULT_BASELINE_FILE = join(PACKAGE_ROOT, 'config', 'baseline.yaml');

export function loadBaseline(file: string): BaselineConfig {
  return explained(() => loadConfigFile(BaselineConfig, file, crossCheck));
}

export function parseBaseline(text: string, file = '<inline>'): BaselineConfig {
  return explained(() => parseConfig(BaselineConfig, text, file, crossCheck));
}

/** A baseline written before clauses were given per level has `mlps: "8.1.4.1 …"`: say what is expected now. */
function explained(load: () => BaselineConfig): BaselineConfig {
  try {
    return load();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const problems = err.problems.map((p) =>
      /^rules\/[^/]+\/mlps$/.test(p.path) && p.message === 'must be object'
        ? {
            path: p.path,
            message: `must give the clause per protection level, e.g. { 2: "7.1.4.1 身份鉴别", 3: "8.1.4.1 身份鉴别" }`,
          }
        : p,
    );
    throw new ConfigError(err.file, problems, { cause: err });
  }
}

/** The protection level of a school: its own, else the baseline's default. */
export function protectionLevelOf(school: School, baseline: BaselineConfig): ProtectionLevel {
  return school.protectionLevel ?? baseline.defaultProtectionLevel;
}
