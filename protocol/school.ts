import { type Static, Type } from 'typebox';

/** A tag value InfluxDB accepts: non-empty, no control characters, not ending in a backslash. */
export const TAG_VALUE_PATTERN = '^(?![\\s\\S]*\\\\$)[^\\u0000-\\u001f\\u007f]+$';

export const TagValue = (description: string, maxLength = 200) =>
  Type.String({ minLength: 1, maxLength, pattern: TAG_VALUE_PATTERN, description });

export const SizeTier = Type.Enum(['small', 'medium', 'large']);
export type SizeTier = Static<typeof SizeTier>;

export const Area = Type.Enum(['urban', 'rural']);
export type Area = Static<typeof Area>;

/** 学段: primary 小学, junior 初中, senior 高中, nine-year 九年一贯制, twelve-year 十二年一贯制. */
export const Stage = Type.Enum(['primary', 'junior', 'senior', 'nine-year', 'twelve-year']);
export type Stage = Static<typeof Stage>;

/**
 * 等级保护级别: the school's protection level under GB/T 22239-2019 (等保 2.0). The security baseline cites
 * the clause of the school's level: 第二级 (level 2) requirements are chapter 7 of the standard, 第三级
 * (level 3) chapter 8. Levels 1 and 4 are not supported: the baseline has no clauses for them.
 */
export const PROTECTION_LEVELS = [2, 3] as const;
export const ProtectionLevel = Type.Enum([...PROTECTION_LEVELS], {
  description: '等级保护级别 (GB/T 22239-2019): 2 (第二级) or 3 (第三级)',
});
export type ProtectionLevel = Static<typeof ProtectionLevel>;

export const SCHOOL_ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$';

/** A school as both programs describe it (agent config, collector registry). */
export const School = Type.Object(
  {
    id: Type.String({
      pattern: SCHOOL_ID_PATTERN,
      description: 'letters, digits, dot, dash, underscore; 1-64',
    }),
    name: TagValue('the school name (UTF-8, often Chinese)'),
    district: Type.Optional(TagValue('district (区/县)')),
    group: Type.Optional(TagValue('education group (教育集团)')),
    tier: Type.Optional(
      Type.Enum(SizeTier.enum, {
        description: 'size tier (uplink target); absent: derived from pupils by targets.yaml uplink.tiers',
      }),
    ),
    pupils: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 100000,
        description: 'number of pupils (the size tier follows from it)',
      }),
    ),
    area: Type.Optional(
      Type.Enum(['urban', 'rural'], { description: 'urban or rural (compared in the reports)' }),
    ),
    stage: Type.Optional(
      Type.Enum(['primary', 'junior', 'senior', 'nine-year', 'twelve-year'], {
        description:
          '学段: primary 小学, junior 初中, senior 高中, nine-year 九年一贯制, twelve-year 十二年一贯制',
      }),
    ),
    /** Absent: the collector's default (config/baseline.yaml `defaultProtectionLevel`). */
    protectionLevel: Type.Optional(ProtectionLevel),
    timezone: Type.String({
      default: 'Asia/Shanghai',
      minLength: 1,
      description: 'IANA time zone of the school (teaching hours, the speed-test window, alert times)',
    }),
  },
  { additionalProperties: false },
);
export type School = Static<typeof School>;

export function isValidTimezone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
