/**
 * The term report as PDF (pdfkit, loaded on first use): a title page (`XX区中小学教育信息化达标情况通报（学期）`,
 * the term, the date, the snapshots), then each part as a table whose header repeats on every page, the
 * notes, and on every page its number and the date. Chinese needs a CJK font: Debian's fonts-noto-cjk
 * (a TrueType collection: pdfkit takes the face by its PostScript name, `NotoSansCJKsc-Regular`) and
 * embeds only the glyphs used.
 */
import { existsSync } from 'node:fs';
import { localTime } from '../evaluate/teaching-hours.js';
import { H, type Lang, notesOf, subjectOf, titleOf } from './labels.js';
import type { TermReport } from './report-types.js';
import { aboutOf, type Cell, type Column, type Table, tablesOf } from './tables.js';

/** Where Debian's fonts-noto-cjk puts the collections, and the face of each to use. */
export const CJK_FONTS = {
  regular: { file: '/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc', face: 'NotoSansCJKsc-Regular' },
  bold: { file: '/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc', face: 'NotoSansCJKsc-Bold' },
} as const;

/** The PDF cannot be made: no CJK font. */
export class MissingFontError extends Error {
  override readonly name = 'MissingFontError';
}

/** The CJK fonts, or why there are none. */
export function cjkFonts(): typeof CJK_FONTS {
  for (const f of Object.values(CJK_FONTS))
    if (!existsSync(f.file))
      throw new MissingFontError(
        `the PDF report needs a Chinese font: ${f.file} is missing (install Debian's fonts-noto-cjk: apt-get install fonts-noto-cjk)`,
      );
  return CJK_FONTS;
}

/** What pdfkit's embedded font is made of, as far as the fast layout below uses it (not public API). */
interface EmbeddedFontInternals {
  scale: number;
  font: { glyphForCodePoint(cp: number): { id: number; advanceWidth: number; codePoints: number[] } };
  layoutRun(text: string, features?: unknown): unknown;
}

/**
 * Lays text out by the font's character map and advance widths alone, without OpenType shaping: Chinese
 * needs none (one glyph per character, no contextual forms), Latin text loses only kerning and ligatures.
 * pdfkit shapes every distinct string through Noto Sans CJK's large substitution tables, which made the
 * PDF of 1,000 schools take 3× as long (bench/term-report). Left as it is if pdfkit's internals differ.
 */
function useCmapLayout(doc: PDFKit.PDFDocument): void {
  const f = (doc as unknown as { _font?: Partial<EmbeddedFontInternals> })._font;
  if (!f || typeof f.layoutRun !== 'function' || typeof f.font?.glyphForCodePoint !== 'function') return;
  const font = f.font;
  const scale = f.scale ?? 1;
  const cache = new Map<number, { id: number; advanceWidth: number; codePoints: number[] }>();
  f.layoutRun = (text: string) => {
    const glyphs = [];
    const positions = [];
    let advanceWidth = 0;
    for (const ch of text) {
      const cp = ch.codePointAt(0)!;
      let g = cache.get(cp);
      if (!g) {
        g = font.glyphForCodePoint(cp);
        cache.set(cp, g);
      }
      const advance = g.advanceWidth * scale;
      glyphs.push(g);
      positions.push({ xAdvance: advance, yAdvance: 0, xOffset: 0, yOffset: 0, advanceWidth: advance });
      advanceWidth += advance;
    }
    return { glyphs, positions, advanceWidth };
  };
}

/** A4 landscape, in points. */
const PAGE = { width: 841.89, height: 595.28, margin: 36 };
const FOOTER = 22;
const BODY_SIZE = 8;
const HEAD_SIZE = 8;
const PAD = 3;

/** Columns the PDF leaves out (the XLSX has them): ids, raw values, one column per target. */
function pdfColumns(table: Table, targetLabels: ReadonlySet<string>, lang: Lang): number[] {
  const h = H[lang];
  const drop = new Set<string>(
    {
      summary: [],
      ranking: [h.schoolId, h.met, h.termDown, h.termUp],
      unmet: [h.district],
      changes: [h.schoolId, h.group, h.beforeValue, h.afterValue],
      areas: [],
      groups: [...targetLabels],
      security: [h.schoolId],
      findings: [h.rule, h.port],
      targets: [],
    }[table.key],
  );
  return table.columns.flatMap((c, i) => (drop.has(c.header) ? [] : [i]));
}

function text(kind: Column['kind'], v: Cell): string {
  if (v === null) return '–';
  if (typeof v === 'string') return v;
  if (kind === 'pct') return `${v.toFixed(1)}%`;
  if (kind === 'pts') return `${v > 0 ? '+' : ''}${v.toFixed(1)}`;
  if (kind === 'dec1') return v.toFixed(1);
  return String(v);
}

const SECTION_TITLES: Record<Lang, Record<Table['key'], string>> = {
  zh: {
    summary: '一、各区达标情况汇总（与对比学期相比）',
    ranking: '二、学校排名（按差距，差距大者在前）',
    unmet: '三、未达标及未监测指标明细',
    changes: '四、达标状态变化的学校',
    areas: '五、城乡差距（数字差距）',
    groups: '六、教育集团得分与等级',
    security: '七、网络安全：未整改隐患',
    findings: '八、安全隐患明细',
    targets: '九、适用的指标与目标',
  },
  en: {
    summary: '1. Summary per district (change since the compared term)',
    ranking: '2. Schools ranked by gap, worst first',
    unmet: '3. Targets not met or unmonitored, per school',
    changes: '4. Schools whose state changed',
    areas: '5. Urban vs rural gap',
    groups: '6. Education groups: score and grade',
    security: '7. Security: open findings',
    findings: '8. Open findings',
    targets: '9. Targets and goals that applied',
  },
};

/**
 * Pages are laid out twice: once without drawing, to count them, then drawn with each page's footer
 * ("page n of N") written as the page is left, so that no page stays buffered (a buffered document of
 * 1,000 schools held ~250 pages in memory and spent most of its time in garbage collection).
 */
class Pages {
  /** The page being laid out, from 1 (the title page). */
  page = 1;
  constructor(
    readonly doc: PDFKit.PDFDocument,
    readonly dry: boolean,
    private readonly footer: (page: number) => void,
  ) {}

  next(): void {
    if (!this.dry) {
      this.footer(this.page);
      this.doc.addPage();
    }
    this.page++;
  }

  end(): void {
    if (!this.dry) this.footer(this.page);
  }
}

export async function renderPdf(report: TermReport, lang: Lang): Promise<Buffer> {
  const fonts = cjkFonts();
  const { default: PDFDocument } = await import('pdfkit');
  const title = titleOf(report, lang);
  const doc = new PDFDocument({
    size: 'A4',
    layout: 'landscape',
    margins: { top: PAGE.margin, bottom: PAGE.margin + FOOTER, left: PAGE.margin, right: PAGE.margin },
    autoFirstPage: true,
    // each line is laid out once (useCmapLayout is cheap): a cache would only hold every line in memory
    fontLayoutCache: false,
    info: { Title: title, Author: 'campuswatch', CreationDate: new Date(report.generatedAt) },
  });
  const chunks: Buffer[] = [];
  doc.on('data', (c: Buffer) => chunks.push(c));
  const ended = new Promise<void>((resolve, reject) => {
    doc.on('end', () => resolve());
    doc.on('error', reject);
  });
  doc.registerFont('body', fonts.regular.file, fonts.regular.face);
  doc.registerFont('bold', fonts.bold.file, fonts.bold.face);
  for (const face of ['body', 'bold']) useCmapLayout(doc.font(face));
  const measure = new Measure(doc);
  const tables = tablesOf(report, lang);
  const targetLabels = new Set(report.targets.map((t) => t.label[lang]));
  const left = PAGE.margin;
  const width = PAGE.width - 2 * PAGE.margin;
  const bottom = PAGE.height - PAGE.margin - FOOTER;
  // dates and times as the schools read them (the generation date in UTC was the day before until 08:00)
  const local = (iso: string) => {
    const t = localTime(new Date(iso), report.timezone);
    const hm = `${String(Math.floor(t.minutes / 60)).padStart(2, '0')}:${String(t.minutes % 60).padStart(2, '0')}`;
    return { date: t.date, time: `${t.date} ${hm}` };
  };
  const date = local(report.generatedAt).date;
  const zh = lang === 'zh';
  const notes = aboutOf(report, lang, notesOf(lang));

  const layOut = (pages: Pages) => {
    // ---- title page
    if (!pages.dry) {
      doc.font('bold').fontSize(22);
      doc.text(title, left, 150, { width, align: 'center' });
      doc.moveDown(1.2);
      doc.font('body').fontSize(12);
      const periods = [...new Set(report.snapshots.map((s) => `${s.from} – ${s.to}`))].join(zh ? '；' : '; ');
      const lines = [
        `${zh ? '学期' : 'Term'}：${report.term}（${periods}）`,
        report.compare ? `${zh ? '对比学期' : 'Compared with'}：${report.compare}` : undefined,
        `${zh ? '范围' : 'Scope'}：${subjectOf(report, lang)}；${zh ? '学校' : 'schools'} ${report.ranking.length}`,
        `${zh ? '生成日期' : 'Date'}：${date}`,
        `${zh ? '快照' : 'Snapshots'}：${report.snapshots
          .map((s) => `${s.district ?? '–'} ${local(s.takenAt).time}`)
          .join(zh ? '；' : '; ')}`,
      ].filter((l): l is string => l !== undefined);
      for (const l of lines) doc.text(l, left, undefined, { width, align: 'center' });
    }
    // ---- the parts, each from a new page
    for (const table of tables) {
      pages.next();
      let y = PAGE.margin;
      if (!pages.dry)
        doc.font('bold').fontSize(13).text(SECTION_TITLES[lang][table.key], left, y, { lineBreak: false });
      y += 24;
      drawTable(pages, measure, table, pdfColumns(table, targetLabels, lang), {
        left,
        width,
        bottom,
        lang,
        y,
      });
    }
    // ---- notes
    pages.next();
    if (!pages.dry)
      doc
        .font('bold')
        .fontSize(13)
        .text(zh ? '十、说明' : '10. Notes', left, PAGE.margin, { lineBreak: false });
    let y = PAGE.margin + 24;
    const step = 13;
    for (const [k, v] of notes) {
      const lines = [
        { font: 'bold' as const, text: k },
        ...measure.wrap(v, width, 'body', 9).map((text) => ({ font: 'body' as const, text })),
      ];
      if (y + lines.length * step > bottom) {
        pages.next();
        y = PAGE.margin;
      }
      for (const l of lines) {
        if (!pages.dry) doc.font(l.font).fontSize(9).text(l.text, left, y, { lineBreak: false });
        y += step;
      }
      y += 4;
    }
    pages.end();
  };

  const counted = new Pages(doc, true, () => undefined);
  layOut(counted);
  const total = counted.page;
  layOut(
    new Pages(doc, false, (page) => {
      // the page number and the date at the foot of every page
      const margins = doc.page.margins;
      doc.page.margins = { ...margins, bottom: 0 };
      doc.font('body').fontSize(8).fillColor('#555555');
      const y = PAGE.height - PAGE.margin - 10;
      doc.text(`${title} · ${date}`, left, y, { lineBreak: false });
      const text = H[lang].page(page, total);
      doc.text(text, left + width - measure.width(text, 'body', 8), y, { lineBreak: false });
      doc.page.margins = margins;
      doc.fillColor('black');
    }),
  );
  doc.end();
  await ended;
  return Buffer.concat(chunks);
}

/**
 * Text widths and line breaks measured per character (each character laid out once per font and size):
 * pdfkit lays out every distinct string through the font's OpenType tables, which for a CJK font cost
 * most of the report's time when each cell was measured, wrapped and drawn by pdfkit.
 */
class Measure {
  /** Per font and size: each character's width. */
  private readonly widths = new Map<string, Map<string, number>>();
  constructor(private readonly doc: PDFKit.PDFDocument) {}

  private charWidth(ch: string, font: 'body' | 'bold', size: number): number {
    const key = `${font}${size}`;
    let of = this.widths.get(key);
    if (!of) {
      of = new Map();
      this.widths.set(key, of);
    }
    let w = of.get(ch);
    if (w === undefined) {
      this.doc.font(font).fontSize(size);
      w = this.doc.widthOfString(ch);
      of.set(ch, w);
    }
    return w;
  }

  width(text: string, font: 'body' | 'bold', size: number): number {
    let w = 0;
    for (const ch of text) w += this.charWidth(ch, font, size);
    return w;
  }

  /**
   * Lines of at most `max` points: a break may come between any two CJK characters or at a space; a word
   * longer than a line is cut; closing punctuation never starts a line.
   */
  wrap(text: string, max: number, font: 'body' | 'bold', size: number): string[] {
    const tokens =
      text.match(
        /[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]|\s+|[^\s\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]+/g,
      ) ?? [];
    const lines: string[] = [];
    let line = '';
    let w = 0;
    const push = () => {
      lines.push(line.trimEnd());
      line = '';
      w = 0;
    };
    for (const token of tokens) {
      const tw = this.width(token, font, size);
      // closing punctuation hangs at the end of the line rather than start the next one
      if (w + tw <= max || line === '' || /^[、，。：；！？）》」』】,.;:!?)\]]$/.test(token)) {
        if (line === '' && /^\s+$/.test(token)) continue;
        if (tw > max && line === '') {
          // a word longer than the line: cut it where it fills the line
          for (const ch of token) {
            const cw = this.charWidth(ch, font, size);
            if (w + cw > max && line !== '') push();
            line += ch;
            w += cw;
          }
          continue;
        }
        line += token;
        w += tw;
      } else {
        // an opening bracket does not end a line: it goes down with what it opens
        const open = /[（《「『【([]$/.exec(line)?.[0];
        if (open !== undefined) line = line.slice(0, -open.length);
        push();
        if (/^\s+$/.test(token)) continue;
        line = open === undefined ? token : `${open}${token}`;
        w = this.width(line, font, size);
      }
    }
    if (line !== '' || lines.length === 0) push();
    return lines;
  }
}

/** A table with wrapped cells; the header row repeats on each page the table runs onto. */
function drawTable(
  pages: Pages,
  measure: Measure,
  table: Table,
  keep: readonly number[],
  at: { left: number; width: number; bottom: number; lang: Lang; y: number },
): void {
  const doc = pages.doc;
  const columns = keep.map((i) => table.columns[i]!);
  if (table.rows.length === 0) {
    if (!pages.dry)
      doc
        .font('body')
        .fontSize(10)
        .text(at.lang === 'zh' ? '（无）' : '(none)', at.left, at.y);
    return;
  }
  const cellsOf = (row: readonly Cell[]) => keep.map((i) => text(table.columns[i]!.kind, row[i] ?? null));
  const rows = table.rows.map(cellsOf);
  // widths: a header may take two lines; each column is as wide as its widest cell (the wide ones capped)
  const natural = columns.map((c, j) => {
    let w = measure.width(c.header, 'bold', HEAD_SIZE) / (c.header.length > 6 ? 2 : 1);
    for (const row of rows) w = Math.max(w, measure.width(row[j]!, 'body', BODY_SIZE));
    return Math.min(c.wide ? 400 : 150, w + 2 * PAD);
  });
  const total = natural.reduce((a, b) => a + b, 0);
  let widths: number[];
  if (total > at.width) {
    // narrow the wide columns first (down to 120 pt), then every column in proportion
    const wide = columns.map((c) => c.wide === true);
    const fixed = natural.reduce((a, w, j) => a + (wide[j] ? 0 : w), 0);
    const room = at.width - fixed;
    const wideTotal = natural.reduce((a, w, j) => a + (wide[j] ? w : 0), 0);
    widths =
      wideTotal > 0 && room >= 120 * wide.filter(Boolean).length
        ? natural.map((w, j) => (wide[j] ? (w / wideTotal) * room : w))
        : natural.map((w) => (w / total) * at.width);
  } else {
    // what is left goes to the wide columns (or to all)
    const wide = columns.map((c, j) => (c.wide ? j : -1)).filter((j) => j >= 0);
    const among = wide.length > 0 ? wide : columns.map((_, j) => j);
    const extra = (at.width - total) / among.length;
    widths = natural.map((w, j) => (among.includes(j) ? w + extra : w));
  }
  const lineHeight = (font: 'body' | 'bold', size: number) => {
    doc.font(font).fontSize(size);
    return doc.currentLineHeight(true);
  };
  const bodyLine = lineHeight('body', BODY_SIZE);
  const headLine = lineHeight('bold', HEAD_SIZE);
  // a wide column keeps one character's room for punctuation hanging at the end of a line
  const layout = (cells: readonly string[], font: 'body' | 'bold', size: number) =>
    cells.map((t, j) =>
      columns[j]!.kind === 'text' || font === 'bold'
        ? measure.wrap(t, widths[j]! - 2 * PAD - (columns[j]!.wide ? size : 0), font, size)
        : [t],
    );
  const drawRow = (lines: readonly string[][], y: number, h: number, header: boolean) => {
    if (pages.dry) return;
    if (header) doc.rect(at.left, y, at.width, h).fill('#e8eef7').fillColor('black');
    const font = header ? 'bold' : 'body';
    const size = header ? HEAD_SIZE : BODY_SIZE;
    const step = header ? headLine : bodyLine;
    doc.font(font).fontSize(size);
    let x = at.left;
    lines.forEach((cell, j) => {
      const right = columns[j]!.kind !== 'text';
      cell.forEach((line, k) => {
        const lx = right ? x + widths[j]! - PAD - measure.width(line, font, size) : x + PAD;
        doc.text(line, lx, y + PAD + k * step, { lineBreak: false });
      });
      x += widths[j]!;
    });
    doc
      .moveTo(at.left, y + h)
      .lineTo(at.left + at.width, y + h)
      .lineWidth(0.4)
      .strokeColor('#b0b8c4')
      .stroke();
  };
  const header = layout(
    columns.map((c) => c.header),
    'bold',
    HEAD_SIZE,
  );
  const headerHeight = Math.max(...header.map((l) => l.length)) * headLine + 2 * PAD;
  let y = at.y;
  drawRow(header, y, headerHeight, true);
  y += headerHeight;
  for (const cells of rows) {
    const lines = layout(cells, 'body', BODY_SIZE);
    const h = Math.max(...lines.map((l) => l.length)) * bodyLine + 2 * PAD;
    if (y + h > at.bottom) {
      pages.next();
      y = PAGE.margin;
      drawRow(header, y, headerHeight, true);
      y += headerHeight;
    }
    drawRow(lines, y, h, false);
    y += h;
  }
}
