/**
 * Draws a generated dashboard's layout as SVG (`dashboards/generated/<uid>.svg`, written by
 * `npm run dashboards` next to the JSON and drift-checked like it): every panel at its `gridPos` on Grafana's
 * 24-column grid (one grid row = 30 px in Grafana; here a column is 40 px and a row 24 px), with its title and
 * panel type. Text is UTF-8 (Chinese titles as they are), escaped for XML. Deterministic: no dates, no ids.
 */

export const COLUMNS = 24;
const COL_W = 40;
const ROW_H = 24;
const GAP = 4;
const MARGIN = 16;
const HEADER_H = 56;
const FONT = 13;
const SMALL = 11;
const FONT_FAMILY = "'Noto Sans CJK SC','PingFang SC','Microsoft YaHei',sans-serif";

interface GridPos {
  x: number;
  y: number;
  w: number;
  h: number;
}
interface LayoutPanel {
  id?: number;
  type: string;
  title?: string;
  gridPos?: GridPos;
  timeFrom?: string;
}
interface LayoutDashboard {
  uid?: string;
  title?: string;
  panels?: LayoutPanel[];
  templating?: { list?: { name: string }[] };
}

/** Fill colours per panel type (Grafana's palette, light tints). */
const TYPE_FILL: Record<string, string> = {
  stat: '#e0f0d8',
  gauge: '#d8ecf0',
  bargauge: '#e4e0f4',
  table: '#f4ecd8',
  timeseries: '#d8e4f8',
  'status-history': '#f4dcdc',
  'state-timeline': '#f4dcdc',
  text: '#eeeeee',
};

export function xmlEscape(s: string): string {
  return s
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&apos;');
}

/** Estimated rendered width of one character: CJK and full-width forms are square, the rest ~0.58 em. */
function charWidth(ch: string, size: number): number {
  const c = ch.codePointAt(0) ?? 0;
  const wide = (c >= 0x2e80 && c <= 0x9fff) || (c >= 0xf900 && c <= 0xfaff) || (c >= 0xff00 && c <= 0xffef);
  return wide ? size : size * 0.58;
}

/** Greedy wrap into at most `maxLines` lines of `width` px; the last line ends in … when cut. */
export function wrap(text: string, width: number, size: number, maxLines: number): string[] {
  const lines: string[] = [];
  let line = '';
  let w = 0;
  for (const ch of text) {
    const cw = charWidth(ch, size);
    if (w + cw > width && line !== '') {
      lines.push(line.trimEnd());
      line = ch === ' ' ? '' : ch;
      w = ch === ' ' ? 0 : cw;
      if (lines.length === maxLines) break;
    } else {
      line += ch;
      w += cw;
    }
  }
  if (lines.length < maxLines && line !== '') lines.push(line.trimEnd());
  const used = lines.join('').replaceAll(' ', '').length;
  if (used < text.replaceAll(' ', '').length && lines.length > 0) {
    let last = lines[lines.length - 1]!;
    while (last.length > 1 && [...last].reduce((s, c) => s + charWidth(c, size), 0) + size > width) {
      last = [...last].slice(0, -1).join('');
    }
    lines[lines.length - 1] = `${last}…`;
  }
  return lines;
}

/** The SVG picture of one dashboard's panel grid. */
export function layoutSvg(d: LayoutDashboard): string {
  const panels = (d.panels ?? []).filter((p) => p.gridPos !== undefined);
  const rows = Math.max(1, ...panels.map((p) => p.gridPos!.y + p.gridPos!.h));
  const width = MARGIN * 2 + COLUMNS * COL_W;
  const height = HEADER_H + MARGIN + rows * ROW_H;
  const vars = (d.templating?.list ?? []).map((v) => v.name);
  const out: string[] = [];
  out.push('<?xml version="1.0" encoding="UTF-8"?>');
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${xmlEscape(FONT_FAMILY)}">`,
  );
  out.push(`<title>${xmlEscape(`${d.title ?? ''} (${d.uid ?? ''}): panel layout`)}</title>`);
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(
    `<text x="${MARGIN}" y="${MARGIN + 16}" font-size="18" font-weight="bold" fill="#1f1f1f">${xmlEscape(d.title ?? '')}</text>`,
  );
  const sub = `uid ${d.uid ?? ''} · ${panels.length} panels · variables: ${vars.length > 0 ? vars.join(', ') : 'none'} · grid ${COLUMNS} columns`;
  out.push(
    `<text x="${MARGIN}" y="${MARGIN + 34}" font-size="${SMALL}" fill="#555555">${xmlEscape(sub)}</text>`,
  );
  // Column guides every 6 columns (quarters of the width).
  for (let c = 0; c <= COLUMNS; c += 6) {
    const x = MARGIN + c * COL_W;
    out.push(
      `<line x1="${x}" y1="${HEADER_H}" x2="${x}" y2="${HEADER_H + rows * ROW_H}" stroke="#dddddd" stroke-dasharray="2,4"/>`,
    );
  }
  for (const p of panels) {
    const g = p.gridPos!;
    const x = MARGIN + g.x * COL_W + GAP / 2;
    const y = HEADER_H + g.y * ROW_H + GAP / 2;
    const w = g.w * COL_W - GAP;
    const h = g.h * ROW_H - GAP;
    const fill = TYPE_FILL[p.type] ?? '#eeeeee';
    out.push('<g>');
    out.push(
      `<rect x="${x}" y="${y}" width="${w}" height="${h}" rx="4" fill="${fill}" stroke="#8a8a8a" stroke-width="1"/>`,
    );
    const maxLines = Math.max(1, Math.floor((h - 26) / (FONT + 4)));
    const lines = wrap(p.title ?? '', w - 12, FONT, maxLines);
    lines.forEach((line, i) => {
      out.push(
        `<text x="${x + 6}" y="${y + 6 + FONT + i * (FONT + 4)}" font-size="${FONT}" fill="#1f1f1f">${xmlEscape(line)}</text>`,
      );
    });
    const foot = `#${p.id ?? '?'} ${p.type}${p.timeFrom ? ` · ${p.timeFrom}` : ''} · ${g.w}×${g.h} @ ${g.x},${g.y}`;
    out.push(
      `<text x="${x + 6}" y="${y + h - 6}" font-size="${SMALL}" fill="#555555">${xmlEscape(wrap(foot, w - 12, SMALL, 1)[0] ?? '')}</text>`,
    );
    out.push('</g>');
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
