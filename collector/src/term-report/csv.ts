/**
 * The term report as CSV: the schools ranked worst first, one row each, with every target's state (the
 * other parts are tables of their own: XLSX, PDF and JSON hold them). UTF-8 with a byte-order mark and
 * CRLF (RFC 4180), so that Excel and WPS on Chinese Windows read the names as UTF-8 instead of GBK.
 */
import { type Lang, STATE_TEXT } from './labels.js';
import type { TermReport } from './report-types.js';
import { tablesOf } from './tables.js';

export const UTF8_BOM = '\uFEFF';

/** A cell as RFC 4180 writes it; text that a spreadsheet would run as a formula is quoted with a leading '. */
function cell(v: string | number | null): string {
  if (v === null) return '';
  if (typeof v === 'number') return String(v);
  const safe = /^[=+@\t\r]|^-(?![\d.])/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function renderCsv(report: TermReport, lang: Lang): Buffer {
  const ranking = tablesOf(report, lang).find((t) => t.key === 'ranking')!;
  // the list of unmet targets is replaced by one column per target
  const keep = ranking.columns.length - 1;
  const header = [
    ...ranking.columns.slice(0, keep).map((c) => (c.kind === 'pct' ? `${c.header} (%)` : c.header)),
    ...report.targets.map((t) => t.label[lang]),
  ];
  const lines = [header.map(cell).join(',')];
  report.ranking.forEach((r, i) => {
    const states = report.targets.map(
      (t) => STATE_TEXT[lang][r.unmet.find((u) => u.target === t.name)?.state ?? 'met'],
    );
    lines.push([...ranking.rows[i]!.slice(0, keep), ...states].map(cell).join(','));
  });
  return Buffer.from(`${UTF8_BOM}${lines.join('\r\n')}\r\n`, 'utf8');
}
