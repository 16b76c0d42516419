/** The term report from the store's snapshots, in one of its formats: what the CLI and the API share. */
import type { Scope } from '../access/model.js';
import type { StateStore } from '../store/state.js';
import { renderCsv } from './csv.js';
import { fileNameOf, type Lang } from './labels.js';
import { buildTermReport, NoSnapshotError, type ReportFilter, type TermReport } from './model.js';
import { renderPdf } from './pdf.js';
import { renderXlsx } from './xlsx.js';

export const REPORT_FORMATS = ['xlsx', 'pdf', 'csv', 'json'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];
export const REPORT_LANGS = ['zh', 'en'] as const;

export const CONTENT_TYPES: Record<ReportFormat, string> = {
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  pdf: 'application/pdf',
  csv: 'text/csv; charset=utf-8',
  json: 'application/json; charset=utf-8',
};

/** The report of a term over a scope, compared with another term when asked. Throws NoSnapshotError. */
export async function termReport(
  state: StateStore,
  args: { term: string; compare?: string | undefined; scope: Scope; filter?: ReportFilter; now: Date },
): Promise<TermReport> {
  const [snapshots, previous] = await Promise.all([
    state.snapshots.snapshotsOfTerm(args.term),
    args.compare === undefined ? Promise.resolve(undefined) : state.snapshots.snapshotsOfTerm(args.compare),
  ]);
  if (args.compare !== undefined && previous !== undefined && previous.length === 0)
    throw new NoSnapshotError(`no snapshot of the compared term ${JSON.stringify(args.compare)}`);
  return buildTermReport({
    term: args.term,
    snapshots,
    ...(args.compare !== undefined && previous
      ? { compare: { term: args.compare, snapshots: previous } }
      : {}),
    scope: args.scope,
    ...(args.filter ? { filter: args.filter } : {}),
    generatedAt: args.now,
  });
}

export interface RenderedReport {
  body: Buffer;
  contentType: string;
  /** UTF-8 file name, e.g. 武进区达标情况通报-2026-2027学年第一学期.xlsx */
  fileName: string;
}

export async function renderTermReport(
  report: TermReport,
  format: ReportFormat,
  lang: Lang,
): Promise<RenderedReport> {
  const body =
    format === 'xlsx'
      ? await renderXlsx(report, lang)
      : format === 'pdf'
        ? await renderPdf(report, lang)
        : format === 'csv'
          ? renderCsv(report, lang)
          : Buffer.from(`${JSON.stringify(report, null, 2)}\n`, 'utf8');
  return { body, contentType: CONTENT_TYPES[format], fileName: fileNameOf(report, lang, format) };
}

/** `attachment; filename="ascii"; filename*=UTF-8''…` (RFC 6266 / 5987): the Chinese name survives. */
export function contentDisposition(fileName: string): string {
  const ascii = fileName.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  const encoded = encodeURIComponent(fileName).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
