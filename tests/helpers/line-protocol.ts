// Line protocol read back into node-influx's point form, for tests and benches that compare the
// collector's lines (store/points.ts `reportLines`) with the generic writer (store/line-protocol.ts `lineOf`).
import type { IPoint } from 'influx';

/** A tag key or value, or a field key: `\,`, `\=` and `\ ` are escapes; any other backslash is itself. */
const unescapeKey = (s: string) => s.replace(/\\([,= ])/g, '$1');
/** A string field's text between its quotes: `\"` and `\\` are escapes. */
const unescapeString = (s: string) => s.replace(/\\(["\\])/g, '$1');

/**
 * Splits at each `sep` that is not escaped with a backslash nor, among fields, inside a quoted string
 * (which opens right after `=`; tag values hold quotes as they are).
 */
function splitUnescaped(s: string, sep: string, limit: number, fields = false): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < s.length && out.length < limit - 1; i++) {
    const c = s[i];
    if (c === '\\') i++;
    else if (fields && c === '"' && (quoted || s[i - 1] === '=')) quoted = !quoted;
    else if (c === sep && !quoted) {
      out.push(s.slice(start, i));
      start = i + 1;
    }
  }
  out.push(s.slice(start));
  return out;
}

/** A line of line protocol as node-influx's point: the inverse of store/line-protocol.ts `lineOf` (ms timestamps). */
export function pointOfLine(line: string): IPoint {
  // the head (measurement and tags) ends at the first unescaped space, the timestamp follows the last
  let end = 0;
  while (end < line.length && line[end] !== ' ') end += line[end] === '\\' ? 2 : 1;
  const head = line.slice(0, end);
  const rest = line.slice(end + 1);
  const lastSpace = rest.lastIndexOf(' ');
  const fieldText = rest.slice(0, lastSpace);
  const time = rest.slice(lastSpace + 1);
  const [measurement, ...tagText] = splitUnescaped(head, ',', Number.POSITIVE_INFINITY);
  const tags: Record<string, string> = {};
  for (const t of tagText) {
    const [k, v] = splitUnescaped(t, '=', 2);
    tags[unescapeKey(k!)] = unescapeKey(v!);
  }
  const fields: Record<string, number | string | boolean> = {};
  for (const f of splitUnescaped(fieldText, ',', Number.POSITIVE_INFINITY, true)) {
    const [k, v] = splitUnescaped(f, '=', 2, true);
    fields[unescapeKey(k!)] = v!.startsWith('"')
      ? unescapeString(v!.slice(1, -1))
      : v === 'true' || v === 'false'
        ? v === 'true'
        : Number(v);
  }
  return { measurement: measurement!, tags, fields, timestamp: new Date(Number(time)) };
}
