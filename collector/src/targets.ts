import { join } from 'node:path';
import { type Static, Type } from 'typebox';
import { type CrossCheck, loadConfigFile, parseConfig } from '../../protocol/config-file.js';
import type { Problem } from '../../protocol/validate.js';
import { PACKAGE_ROOT } from '../../protocol/version.js';

const Mbps = Type.Number({ minimum: 1, maximum: 1_000_000 });
const Day = Type.String({
  pattern: '^\\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\\d|3[01])$',
  description: 'YYYY-MM-DD',
});
const DateRange = Type.Object({ from: Day, to: Day }, { additionalProperties: false });
const Pct = Type.Number({ minimum: 0, maximum: 100 });

/** The informatization targets of DESIGN §5; every value is configurable. */
export const TargetsConfig = Type.Object(
  {
    uplink: Type.Object(
      {
        tolerance: Type.Number({ default: 0.9, exclusiveMinimum: 0, maximum: 1 }),
        tiers: Type.Object(
          {
            small: Type.Object(
              { maxPupils: Type.Integer({ minimum: 1 }), mbps: Mbps },
              { additionalProperties: false },
            ),
            medium: Type.Object(
              { maxPupils: Type.Integer({ minimum: 1 }), mbps: Mbps },
              { additionalProperties: false },
            ),
            large: Type.Object({ mbps: Mbps }, { additionalProperties: false }),
          },
          { additionalProperties: false },
        ),
        defaultTier: Type.Enum(['small', 'medium', 'large'], { default: 'small' }),
        lastTests: Type.Integer({ default: 3, minimum: 1, maximum: 100 }),
      },
      { additionalProperties: false },
    ),
    backbone: Type.Object({ coreMinMbps: Mbps, accessMinMbps: Mbps }, { additionalProperties: false }),
    ipv6: Type.Object(
      {
        minScore: Type.Number({ minimum: 0, maximum: 10 }),
        requireServices: Type.Boolean({ default: true }),
        districtGoalPct: Pct,
      },
      { additionalProperties: false },
    ),
    recordingRoom: Type.Object(
      { minPerSchool: Type.Integer({ minimum: 0 }), districtGoalPct: Pct },
      { additionalProperties: false },
    ),
    smartClassroom: Type.Object(
      { minPerSchool: Type.Integer({ minimum: 0 }), districtGoalPct: Pct },
      { additionalProperties: false },
    ),
    deviceAvailability: Type.Object(
      {
        minPct: Pct,
        windowDays: Type.Integer({ default: 30, minimum: 1, maximum: 366 }),
        /** A recording room down this long in teaching hours becomes an alert candidate. */
        roomDownAlertMinutes: Type.Integer({ default: 10, minimum: 1, maximum: 1440 }),
        teachingHours: Type.Object(
          {
            days: Type.Array(Type.Enum(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']), { minItems: 1 }),
            start: Type.String({ pattern: '^([01]\\d|2[0-3]):[0-5]\\d$' }),
            end: Type.String({ pattern: '^([01]\\d|2[0-3]):[0-5]\\d$' }),
            terms: Type.Array(DateRange, { default: [], maxItems: 20 }),
            holidays: Type.Array(DateRange, { default: [], maxItems: 200 }),
          },
          { additionalProperties: false },
        ),
      },
      { additionalProperties: false },
    ),
    security: Type.Object(
      { maxOpenSeverity: Type.Enum(['none', 'low', 'medium']) },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type TargetsConfig = Static<typeof TargetsConfig>;

const crossCheck: CrossCheck<TargetsConfig> = (t) => {
  const problems: Problem[] = [];
  if (t.uplink.tiers.medium.maxPupils <= t.uplink.tiers.small.maxPupils) {
    problems.push({
      path: 'uplink/tiers/medium/maxPupils',
      message: 'must be greater than tiers.small.maxPupils',
    });
  }
  if (t.deviceAvailability.teachingHours.end <= t.deviceAvailability.teachingHours.start) {
    problems.push({ path: 'deviceAvailability/teachingHours/end', message: 'must be after start' });
  }
  return problems;
};

export const DEFAULT_TARGETS_FILE = join(PACKAGE_ROOT, 'config', 'targets.yaml');

export function loadTargets(file: string): TargetsConfig {
  return loadConfigFile(TargetsConfig, file, crossCheck);
}

export function parseTargets(text: string, file = '<inline>'): TargetsConfig {
  return parseConfig(TargetsConfig, text, file, crossCheck);
}
