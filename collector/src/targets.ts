import { join } from 'node:path';
import { type TSchema, Type } from 'typebox';
import { type CrossCheck, loadConfigFile, parseConfig } from '../../protocol/config-file.js';
import type { Problem } from '../../protocol/validate.js';
import { PACKAGE_ROOT } from '../../protocol/version.js';
import type { TargetsConfig as Config, DistrictOverride as Overrides } from './evaluate/targets/config.js';
import { TARGETS } from './evaluate/targets/registry.js';
import type { TargetModule } from './evaluate/targets/target.js';

export { durationMs } from './evaluate/targets/schema-parts.js';

/** A schema with every `default` removed: a district override states only what it changes. */
function withoutDefaults<T extends TSchema>(schema: T): T {
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (v === null || typeof v !== 'object') return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (k !== 'default') out[k] = strip(x);
    // a field that had a default may be left out of an override too (inside a timetable, say)
    const o = v as { properties?: Record<string, { default?: unknown }>; required?: string[] };
    if (o.properties && Array.isArray(o.required))
      out.required = o.required.filter((k) => o.properties?.[k]?.default === undefined);
    // symbols (TypeBox's kind markers) are kept as they are
    for (const sym of Object.getOwnPropertySymbols(v))
      (out as Record<symbol, unknown>)[sym] = (v as Record<symbol, unknown>)[sym];
    return out;
  };
  return strip(schema) as T;
}

/**
 * The order of the sections in a parsed file and in docs/configuration.md, as it was before the sections
 * moved into their target modules; a section not listed here follows, in the order of the targets registry.
 */
const SECTION_ORDER: readonly string[] = [
  'uplink',
  'backbone',
  'ipv6',
  'recordingRoom',
  'smartClassroom',
  'interactiveClassrooms',
  'wirelessCoverage',
  'connected',
  'multimediaRooms',
  'deviceAvailability',
  'security',
];

/** The informatization targets (README "Compliance"), one section per target module; every value is configurable. */
function sectionsOf(modules: readonly TargetModule[]): Record<string, TSchema> {
  const byName = new Map<string, TSchema>();
  for (const m of modules) {
    const known = byName.get(m.section);
    // the targets of one room type share their section: they must give the same schema
    if (known !== undefined && known !== m.sectionSchema)
      throw new Error(`targets ${m.name}: section ${m.section} has another schema already`);
    byName.set(m.section, m.sectionSchema);
  }
  const rank = (k: string) => {
    const i = SECTION_ORDER.indexOf(k);
    return i === -1 ? SECTION_ORDER.length : i;
  };
  // a stable sort: sections outside SECTION_ORDER keep the registry's order
  return Object.fromEntries([...byName].sort(([a], [b]) => rank(a) - rank(b)));
}

const SECTIONS = sectionsOf(TARGETS);

/** What one district changes: any section, with only the keys it sets (a timetable is replaced whole). */
export const DistrictOverride = Type.Object(
  Object.fromEntries(
    Object.entries(SECTIONS).map(([k, v]) => [
      k,
      // Partial first: TypeBox builds it from the section's own schema (a copy loses its properties), and
      // Partial drops `additionalProperties: false`, which a district's section keeps (an unknown key is a mistake)
      Type.Optional(withoutDefaults(Type.Partial(v, { additionalProperties: false }))),
    ]),
  ),
  { additionalProperties: false },
);
export type DistrictOverride = Overrides;

export const TargetsConfig = Type.Object(
  {
    ...SECTIONS,
    /** Per-district values (districts of one city differ): the district's name → what it changes. */
    districts: Type.Record(Type.String({ minLength: 1, maxLength: 200 }), DistrictOverride, { default: {} }),
  },
  { additionalProperties: false },
);
/** Its type is the sum of the target modules' sections (evaluate/targets/config.ts). */
export type TargetsConfig = Config;

const applied = new WeakMap<TargetsConfig, Map<string, TargetsConfig>>();

/**
 * The targets as they apply in a district: the city's values with the district's overrides (each section
 * merged key by key; a timetable or a tier is replaced whole). The same object for the same district.
 */
export function targetsFor(targets: TargetsConfig, district: string | undefined | null): TargetsConfig {
  const override = district ? targets.districts[district] : undefined;
  if (!override || !district) return targets;
  let cache = applied.get(targets);
  if (!cache) {
    cache = new Map();
    applied.set(targets, cache);
  }
  let t = cache.get(district);
  if (!t) {
    const merged: Record<string, unknown> = { ...targets };
    for (const [section, values] of Object.entries(override)) {
      if (values) merged[section] = { ...(targets as Record<string, object>)[section], ...values };
    }
    t = merged as TargetsConfig;
    cache.set(district, t);
  }
  return t;
}

/** Where a district's value of `section.key` comes from: its own override, or the city's default. */
export function valueSource(
  targets: TargetsConfig,
  district: string | undefined | null,
  section: keyof DistrictOverride,
  key: string,
): 'district' | 'default' {
  const o = district
    ? (targets.districts[district]?.[section] as Record<string, unknown> | undefined)
    : undefined;
  return o && o[key] !== undefined ? 'district' : 'default';
}

function ruleProblems(t: TargetsConfig, prefix: string): Problem[] {
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
  problems.push(...termProblems(t.deviceAvailability.teachingHours.terms));
  return problems.map((p) => ({ ...p, path: `${prefix}${p.path}` }));
}

/** A calendar's terms: each ends on or after its first day, names are unique, terms do not overlap. */
function termProblems(terms: TargetsConfig['deviceAvailability']['teachingHours']['terms']): Problem[] {
  const problems: Problem[] = [];
  const at = (i: number, key: string) => `deviceAvailability/teachingHours/terms/${i}/${key}`;
  const names = new Map<string, number>();
  terms.forEach((term, i) => {
    if (term.to < term.from)
      problems.push({ path: at(i, 'to'), message: `must not be before from (${term.from})` });
    if (term.name !== undefined) {
      const first = names.get(term.name);
      if (first !== undefined)
        problems.push({
          path: at(i, 'name'),
          message: `${JSON.stringify(term.name)} is already the name of terms[${first}]`,
        });
      else names.set(term.name, i);
    }
    terms.slice(0, i).forEach((other, j) => {
      if (term.from <= other.to && other.from <= term.to && term.to >= term.from && other.to >= other.from)
        problems.push({
          path: at(i, 'from'),
          message: `overlaps terms[${j}] (${other.from} to ${other.to})`,
        });
    });
  });
  return problems;
}

/** A named term of a district's calendar (the city's calendar unless the district has its own). */
export interface Term {
  name: string;
  /** First and last day, inclusive, school-local (YYYY-MM-DD). */
  from: string;
  to: string;
}

/** The named terms of a district's teaching calendar, in calendar order. */
export function termsOf(targets: TargetsConfig, district: string | undefined | null): Term[] {
  return targetsFor(targets, district)
    .deviceAvailability.teachingHours.terms.filter((t): t is Term => t.name !== undefined)
    .map(({ name, from, to }) => ({ name, from, to }))
    .sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0));
}

/** A district's term of this name, undefined when its calendar has none. */
export function termOf(
  targets: TargetsConfig,
  district: string | undefined | null,
  name: string,
): Term | undefined {
  return termsOf(targets, district).find((t) => t.name === name);
}

const crossCheck: CrossCheck<TargetsConfig> = (t) => [
  ...ruleProblems(t, ''),
  // a district's values must make sense once merged; the path names the district's own section
  ...Object.keys(t.districts).flatMap((d) =>
    ruleProblems(targetsFor(t, d), `districts/${d}/`).filter((p) => {
      const [, , section] = p.path.split('/');
      return section !== undefined && t.districts[d]?.[section as keyof DistrictOverride] !== undefined;
    }),
  ),
];

export const DEFAULT_TARGETS_FILE = join(PACKAGE_ROOT, 'config', 'targets.yaml');

export function loadTargets(file: string): TargetsConfig {
  return loadConfigFile(TargetsConfig, file, crossCheck);
}

export function parseTargets(text: string, file = '<inline>'): TargetsConfig {
  return parseConfig(TargetsConfig, text, file, crossCheck);
}
