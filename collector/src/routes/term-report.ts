import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { audit } from '../access/audit.js';
import { type Scope, scopeText } from '../access/model.js';
import type { CollectorContext } from '../context.js';
import { sendError } from '../errors.js';
import type { Lang } from '../term-report/labels.js';
import { NoSnapshotError, type ReportFilter } from '../term-report/model.js';
import { MissingFontError } from '../term-report/pdf.js';
import {
  contentDisposition,
  REPORT_FORMATS,
  REPORT_LANGS,
  type ReportFormat,
  renderTermReport,
  termReport,
} from '../term-report/report.js';

const Name = Type.String({ minLength: 1, maxLength: 200 });

/** A filter outside the caller's scope (another district, another group): what the caller may not see. */
function outsideScope(scope: Scope, filter: ReportFilter): string | undefined {
  if (scope.level === 'district' || scope.level === 'group')
    if (filter.district !== undefined && filter.district !== scope.district)
      return `unknown district ${JSON.stringify(filter.district)}`;
  if (scope.level === 'group' && filter.group !== undefined && filter.group !== scope.group)
    return `unknown education group ${JSON.stringify(filter.group)}`;
  return undefined;
}

export interface TermInScope {
  term: string;
  from: string;
  to: string;
  districts: (string | null)[];
  takenAt: string;
}

/** The terms with a snapshot in a scope (newest first): the API's list and the console's downloads. */
export async function termsInScope(ctx: CollectorContext, scope: Scope): Promise<TermInScope[]> {
  // a school account sees its school's district's terms (its report holds its school only)
  const schoolDistrict =
    scope.level === 'school'
      ? ((await ctx.state.getSchool(scope.school ?? ''))?.district ?? null)
      : undefined;
  const mine = (district: string | null) =>
    scope.level === 'city' ||
    district === (scope.level === 'school' ? schoolDistrict : (scope.district ?? null));
  const terms = new Map<
    string,
    { term: string; from: string; to: string; districts: (string | null)[]; takenAt: string }
  >();
  for (const h of await ctx.state.snapshots.listSnapshots()) {
    if (!mine(h.district)) continue;
    const t = terms.get(h.term);
    if (!t)
      terms.set(h.term, {
        term: h.term,
        from: h.from,
        to: h.to,
        districts: [h.district],
        takenAt: h.takenAt,
      });
    else {
      t.districts.push(h.district);
      if (h.from < t.from) t.from = h.from;
      if (h.to > t.to) t.to = h.to;
      if (h.takenAt > t.takenAt) t.takenAt = h.takenAt;
    }
  }
  return [...terms.values()].sort((a, b) => (a.from < b.from ? 1 : a.from > b.from ? -1 : 0));
}

/**
 * GET /api/v1/reports/term?term=NAME[&compare=NAME][&format=xlsx|pdf|csv|json][&lang=zh|en][&district=D]
 * [&group=G]: the term inspection report over the caller's scope (a district account's is its district, a
 * group account's its group), as a download named in UTF-8. Every export is in the audit trail.
 */
export function termReportRoutes(app: FastifyInstance, ctx: CollectorContext): void {
  // the terms with a snapshot in the caller's scope (newest first), for a page that offers the downloads
  app.get('/api/v1/reports/terms', { config: { access: 'read' } }, async (req) => ({
    terms: await termsInScope(ctx, req.principal!.scope),
  }));

  app.get<{
    Querystring: {
      term: string;
      compare?: string;
      format?: ReportFormat;
      lang?: Lang;
      district?: string;
      group?: string;
    };
  }>(
    '/api/v1/reports/term',
    {
      schema: {
        querystring: Type.Object(
          {
            term: Name,
            compare: Type.Optional(Name),
            format: Type.Optional(Type.Enum([...REPORT_FORMATS])),
            lang: Type.Optional(Type.Enum([...REPORT_LANGS])),
            district: Type.Optional(Name),
            group: Type.Optional(Name),
          },
          { additionalProperties: false },
        ),
      },
      config: { access: 'read' },
    },
    async (req, reply) => {
      const scope = req.principal!.scope;
      const { term, compare, district, group } = req.query;
      const format = req.query.format ?? 'xlsx';
      const lang = req.query.lang ?? 'zh';
      const filter: ReportFilter = {
        ...(district !== undefined ? { district } : {}),
        ...(group !== undefined ? { group } : {}),
      };
      const refused = outsideScope(scope, filter);
      if (refused) return sendError(reply, 404, refused);
      let rendered: Awaited<ReturnType<typeof renderTermReport>>;
      try {
        const report = await termReport(ctx.state, { term, compare, scope, filter, now: ctx.now() });
        rendered = await renderTermReport(report, format, lang);
      } catch (err) {
        if (err instanceof NoSnapshotError) return sendError(reply, 404, err.message);
        if (err instanceof MissingFontError) return sendError(reply, 503, err.message);
        throw err;
      }
      await audit(
        ctx,
        req,
        'report.export',
        `${term}${compare ? ` vs ${compare}` : ''}`,
        `${format} ${lang}, ${scopeText(scope)}${district ? `, district ${district}` : ''}${group ? `, group ${group}` : ''}`,
      );
      return reply
        .header('content-type', rendered.contentType)
        .header('content-disposition', contentDisposition(rendered.fileName))
        .header('cache-control', 'no-store')
        .send(rendered.body);
    },
  );
}
