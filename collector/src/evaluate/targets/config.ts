/**
 * The shape of config/targets.yaml as the evaluation reads it. Each target module adds its own section to
 * `TargetSections` (`declare module './config.js'`, beside the section's schema), so that the config's type
 * is the sum of the modules' sections without this file or targets.ts naming any of them; targets.ts builds
 * the schema that parses the file from the same modules (their `sectionSchema`).
 */

/** The sections of targets.yaml, one per target module (the modules of one room type share theirs). */
// biome-ignore lint/suspicious/noEmptyInterface: filled by the target modules' declarations
export interface TargetSections {}

/** What one district changes: any section, with only the keys it sets (a timetable is replaced whole). */
export type DistrictOverride = { [K in keyof TargetSections]?: Partial<TargetSections[K]> };

/** The targets of a city: every section, and per district what it changes (a type, not an interface: a plain object). */
export type TargetsConfig = { [K in keyof TargetSections]: TargetSections[K] } & {
  /** Per-district values (districts of one city differ): the district's name → what it changes. */
  districts: Record<string, DistrictOverride>;
};
