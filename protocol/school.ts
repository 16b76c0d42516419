import { type Static, Type } from 'typebox';

/** A tag value InfluxDB accepts: non-empty, no control characters, not ending in a backslash. */
export const TAG_VALUE_PATTERN = '^(?![\\s\\S]*\\\\$)[^\\u0000-\\u001f\\u007f]+$';

export const TagValue = (description: string, maxLength = 200) =>
  Type.String({ minLength: 1, maxLength, pattern: TAG_VALUE_PATTERN, description });

export const SizeTier = Type.Enum(['small', 'medium', 'large']);
export type SizeTier = Static<typeof SizeTier>;

export const Area = Type.Enum(['urban', 'rural']);
export type Area = Static<typeof Area>;

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
    tier: Type.Optional(SizeTier),
    pupils: Type.Optional(Type.Integer({ minimum: 0, maximum: 100000 })),
    area: Type.Optional(Area),
    timezone: Type.String({ default: 'Asia/Shanghai', minLength: 1 }),
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
