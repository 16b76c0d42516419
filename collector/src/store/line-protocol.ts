/**
 * InfluxDB 1.x line protocol: the checks InfluxDB applies to keys, tag values, fields and times (a point it
 * would refuse is refused here, naming the measurement and the tag or field, before anything is sent), the
 * escaping, `lineOf` for a generic point and `ReportLines` for the collector's own points (store/points.ts,
 * collector/src/results/). The writer (influx.ts) only sends what this module produced.
 */
import type { IPoint } from 'influx';
import type { School } from '../../../protocol/school.js';
import { InfluxRejectedError } from './influx-errors.js';

// biome-ignore lint/suspicious/noControlCharactersInRegex: detecting control characters is the point
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;
/** Measurement names are not escaped by node-influx's writePoints: allow only a safe identifier. */
const MEASUREMENT_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

function rejected(message: string): InfluxRejectedError {
  return new InfluxRejectedError(message);
}

/** Tag keys, tag values and field keys: InfluxDB 1.x refuses these (or the line) otherwise. */
export function checkKeyOrTagValue(measurement: string, what: string, value: unknown): void {
  if (typeof value !== 'string') throw rejected(`measurement "${measurement}": ${what} is not a string`);
  const problem =
    value.length === 0
      ? 'is empty'
      : CONTROL_CHARS.test(value)
        ? 'contains a control character'
        : value.endsWith('\\')
          ? 'ends in a backslash'
          : undefined;
  // (quoted only for the message: JSON.stringify of every valid tag was 2% of the ingest CPU)
  if (problem) throw rejected(`measurement "${measurement}": ${what} ${JSON.stringify(value)} ${problem}`);
}

/**
 * Throws InfluxRejectedError for a point InfluxDB would refuse. The server stores the valid lines of a
 * batch and refuses the others (a partial write), so every point is checked before anything is sent.
 */
export function validatePoint(point: IPoint): void {
  const { measurement, tags = {}, fields = {}, timestamp } = point;
  if (typeof measurement !== 'string' || !MEASUREMENT_NAME.test(measurement)) {
    throw rejected(`invalid measurement name ${JSON.stringify(measurement)}`);
  }
  for (const [key, value] of Object.entries(tags)) {
    checkKeyOrTagValue(measurement, 'tag key', key);
    if (key === 'time') throw rejected(`measurement "${measurement}": tag key "time" is not allowed`);
    checkKeyOrTagValue(measurement, `tag "${key}" value`, value);
  }
  const fieldEntries = Object.entries(fields);
  if (fieldEntries.length === 0) throw rejected(`measurement "${measurement}": point has no fields`);
  for (const [key, value] of fieldEntries) {
    checkKeyOrTagValue(measurement, 'field key', key);
    if (key === 'time') throw rejected(`measurement "${measurement}": field key "time" is not allowed`);
    const ok =
      (typeof value === 'number' && Number.isFinite(value)) ||
      typeof value === 'boolean' ||
      typeof value === 'string';
    if (!ok) throw badField(measurement, key);
  }
  // Points carry their own timestamps so that a retried write is idempotent (docs/architecture.md, "Idempotent writes").
  const validTime =
    (timestamp instanceof Date && Number.isFinite(timestamp.getTime())) ||
    (typeof timestamp === 'number' && Number.isSafeInteger(timestamp) && timestamp > 0);
  if (!validTime) throw badTimestamp(measurement);
}

/** The refusal of a field value InfluxDB cannot store (validatePoint, ReportLines). */
export const badField = (measurement: string, key: string) =>
  rejected(`measurement "${measurement}": field "${key}" must be a finite number, a boolean or a string`);

/** The refusal of a point's time. */
export const badTimestamp = (measurement: string) =>
  rejected(`measurement "${measurement}": timestamp must be a valid Date or positive integer milliseconds`);

const TAG_SPECIAL = /[,= ]/;
const TAG_SPECIAL_ALL = /[,= ]/g;
const STRING_SPECIAL = /["\\]/;
const STRING_SPECIAL_ALL = /["\\]/g;

/** A tag key, tag value or field key on the line protocol: `,`, `=` and space escaped with a backslash. */
export function escapeKey(s: string): string {
  return TAG_SPECIAL.test(s) ? s.replace(TAG_SPECIAL_ALL, '\\$&') : s;
}

/** A string field value on the line protocol: quoted, `"` and `\` escaped with a backslash. */
export function stringField(v: string): string {
  return `"${STRING_SPECIAL.test(v) ? v.replace(STRING_SPECIAL_ALL, '\\$&') : v}"`;
}

/**
 * One point of line protocol, millisecond timestamps, for a point validatePoint accepted: the line
 * node-influx's writePoints writes (tags in their order, fields sorted by key, numbers as floats), built
 * without its per-point schema lookup, sort of pairs and regular-expression escaper (8% of the ingest
 * CPU in bench/ingest). One difference on purpose: node-influx turns the first `\'` of a tag value or
 * string field into `\\'` (a quirk of its escaper), which stores a different value; here every value is
 * stored as given.
 */
export function lineOf(point: IPoint): string {
  let line = point.measurement!;
  const tags = point.tags;
  if (tags) for (const k of Object.keys(tags)) line += `,${escapeKey(k)}=${escapeKey(tags[k]!)}`;
  const fields = point.fields!;
  const keys = Object.keys(fields).sort();
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const v = fields[k];
    const value = typeof v === 'string' ? stringField(v) : String(v);
    line += `${i === 0 ? ' ' : ','}${escapeKey(k)}=${value}`;
  }
  const t = point.timestamp;
  return `${line} ${t instanceof Date ? t.getTime() : String(t)}`;
}

/** Every point validated first (one invalid point throws and nothing is sent), then serialised. */
export function linesOf(points: readonly IPoint[]): string[] {
  for (const point of points) validatePoint(point);
  return points.map(lineOf);
}

/**
 * One report's points as line protocol (docs/architecture.md, "InfluxDB measurements"), checked by the rules of `validatePoint` and
 * written as `lineOf` writes them: tags in the order below, fields sorted by key, numbers as floats,
 * millisecond timestamps. The tags every point of the school carries are checked and escaped once, and no
 * point object is built: building `IPoint`s (a copy of the school's tags in each) and serialising them was
 * a tenth of the collector's CPU per report in bench/ingest.
 */
export class ReportLines {
  readonly lines: string[] = [];
  /** `,school=…,school_name=…,size_tier=…[,district=…][,group=…][,area=…]`, escaped. */
  private readonly schoolTags: string;
  private measurement = '';
  private line = '';
  private fields = 0;

  /** `measurement`: the first point's, which names a bad school tag. */
  constructor(school: School, tier: string, measurement = 'agent') {
    // a bad school tag is named as validatePoint named it: in the report's first point, `agent`
    this.measurement = measurement;
    let t = this.tagText('school', school.id) + this.tagText('school_name', school.name);
    t += this.tagText('size_tier', tier);
    if (school.district) t += this.tagText('district', school.district);
    if (school.group) t += this.tagText('group', school.group);
    if (school.area) t += this.tagText('area', school.area);
    this.schoolTags = t;
  }

  private tagText(key: string, value: string): string {
    checkKeyOrTagValue(this.measurement, `tag "${key}" value`, value);
    return `,${key}=${escapeKey(value)}`;
  }

  /** Starts a point: its measurement and the school's tags. */
  begin(measurement: string): this {
    this.measurement = measurement;
    this.line = measurement + this.schoolTags;
    this.fields = 0;
    return this;
  }

  tag(key: string, value: string): this {
    this.line += this.tagText(key, value);
    return this;
  }

  /** A number field (written as a float, as node-influx writes numbers); must be finite. */
  num(key: string, value: number): this {
    if (!Number.isFinite(value)) throw badField(this.measurement, key);
    this.line += `${this.fields++ === 0 ? ' ' : ','}${key}=${value}`;
    return this;
  }

  /** A number field only when the value is there. */
  opt(key: string, value: number | null | undefined): this {
    return value === undefined || value === null ? this : this.num(key, value);
  }

  str(key: string, value: string): this {
    this.line += `${this.fields++ === 0 ? ' ' : ','}${key}=${stringField(value)}`;
    return this;
  }

  /** Ends the point at a time in epoch milliseconds. */
  end(timestampMs: number): void {
    // (the range of a JavaScript Date, as validatePoint accepts a Date)
    if (!(Math.abs(timestampMs) <= 8.64e15)) throw badTimestamp(this.measurement);
    this.lines.push(`${this.line} ${Math.trunc(timestampMs)}`);
  }
}
