/**
 * The term report as an Excel workbook (exceljs, loaded on first use): one sheet per part, headings in
 * the report's language, the header row frozen and filtered, column widths measured for Chinese text
 * (a CJK character is two columns wide), numbers as numbers and percentages as fractions with a percent
 * format (86.7 % is the number 0.867).
 */
import { H, type Lang, notesOf, titleOf } from './labels.js';
import type { TermReport } from './report-types.js';
import { aboutOf, type Cell, type Column, tablesOf } from './tables.js';

/** Display width of a text in spreadsheet columns: East Asian wide characters count two. */
export function displayWidth(text: string): number {
  let w = 0;
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    w +=
      (c >= 0x1100 && c <= 0x115f) ||
      (c >= 0x2e80 && c <= 0xa4cf) ||
      (c >= 0xac00 && c <= 0xd7a3) ||
      (c >= 0xf900 && c <= 0xfaff) ||
      (c >= 0xfe30 && c <= 0xfe4f) ||
      (c >= 0xff00 && c <= 0xff60) ||
      (c >= 0xffe0 && c <= 0xffe6) ||
      c >= 0x20000
        ? 2
        : 1;
  }
  return w;
}

const NUM_FMT: Record<Column['kind'], string | undefined> = {
  text: undefined,
  int: '0',
  pct: '0.0%',
  pts: '+0.0;-0.0;0.0',
  dec1: '0.0',
  num: 'General',
};

/** How a cell is written: a percentage as a fraction. */
function cellValue(kind: Column['kind'], v: Cell): string | number | null {
  if (v === null) return null;
  if (kind === 'pct' && typeof v === 'number') return Math.round(v * 10) / 1000;
  return v;
}

/** How wide a cell looks once formatted (for the column width). */
function shownWidth(kind: Column['kind'], v: Cell): number {
  if (v === null) return 0;
  if (typeof v === 'number') return kind === 'pct' ? String(v).length + 2 : String(v).length + 1;
  return displayWidth(v);
}

const HEADER_FILL = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFE8EEF7' } } as const;

export async function renderXlsx(report: TermReport, lang: Lang): Promise<Buffer> {
  const { default: ExcelJS } = await import('exceljs');
  const wb = new ExcelJS.Workbook();
  wb.creator = 'campuswatch';
  wb.created = new Date(report.generatedAt);
  wb.title = titleOf(report, lang);
  const font = { name: lang === 'zh' ? '等线' : 'Calibri', size: 11 };

  for (const table of tablesOf(report, lang)) {
    const ws = wb.addWorksheet(table.name, { views: [{ state: 'frozen', ySplit: 1 }] });
    ws.columns = table.columns.map((c, i) => {
      let w = displayWidth(c.header);
      // measure every row up to a few thousand: enough to see the widest names
      for (const row of table.rows.slice(0, 5000)) w = Math.max(w, shownWidth(c.kind, row[i] ?? null));
      const width = Math.min(c.wide ? 80 : 40, Math.max(6, w + 2));
      const numFmt = NUM_FMT[c.kind];
      return {
        header: c.header,
        width,
        style: {
          font,
          ...(numFmt ? { numFmt } : {}),
          ...(c.wide ? { alignment: { wrapText: true, vertical: 'top' as const } } : {}),
        },
      };
    });
    for (const row of table.rows) ws.addRow(row.map((v, i) => cellValue(table.columns[i]!.kind, v)));
    const header = ws.getRow(1);
    header.font = { ...font, bold: true };
    header.alignment = { vertical: 'middle', wrapText: true };
    header.eachCell((cell) => {
      cell.fill = HEADER_FILL;
    });
    ws.autoFilter = { from: { row: 1, column: 1 }, to: { row: 1, column: table.columns.length } };
  }

  // what it is, when, from which snapshots, how the figures are counted
  const h = H[lang];
  const about = wb.addWorksheet(h.sheets.about, { views: [{ state: 'frozen', ySplit: 1 }] });
  about.columns = [
    { header: h.item, width: 24, style: { font } },
    { header: h.content, width: 110, style: { font, alignment: { wrapText: true, vertical: 'top' } } },
  ];
  about.addRow([lang === 'zh' ? '标题' : 'Title', titleOf(report, lang)]);
  for (const [k, v] of aboutOf(report, lang, notesOf(lang))) about.addRow([k, v]);
  about.getRow(1).font = { ...font, bold: true };
  about.getRow(1).eachCell((cell) => {
    cell.fill = HEADER_FILL;
  });
  about.autoFilter = { from: { row: 1, column: 1 }, to: { row: 1, column: 2 } };

  return Buffer.from(await wb.xlsx.writeBuffer());
}
