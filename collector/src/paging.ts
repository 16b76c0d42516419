/**
 * Bounded API answers (issue 27): a list that grows with a school's devices (a school's devices and
 * latest results, findings, alerts, agents) is answered a page at a time beyond a size. `?limit=&offset=`
 * choose the page; an answer cut short carries `page: { offset, limit, total, next }`, `next` being the
 * URL of the following page (null on the last). A list within the default size, asked without `limit`
 * or `offset`, is answered whole and without `page`, as before.
 */
import { Type } from 'typebox';

/** Items per page when the caller does not say. */
export const DEFAULT_PAGE_LIMIT = 1000;
/** The most a caller may ask for in one page. */
export const MAX_PAGE_LIMIT = 5000;

/** The querystring properties of a paged list. */
export const PageQuery = {
  limit: Type.Optional(
    Type.Integer({
      minimum: 1,
      maximum: MAX_PAGE_LIMIT,
      description: `items per page (default ${DEFAULT_PAGE_LIMIT})`,
    }),
  ),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000, description: 'items skipped' })),
};

export interface PageParams {
  limit?: number | undefined;
  offset?: number | undefined;
}

export interface Page {
  offset: number;
  limit: number;
  total: number;
  /** The following page's URL (path and query), null on the last page. */
  next: string | null;
}

/** The request URL with another offset and limit (the rest of its query kept). */
export function pageUrl(requestUrl: string, offset: number, limit: number): string {
  const u = new URL(requestUrl, 'http://collector.invalid');
  u.searchParams.set('offset', String(offset));
  u.searchParams.set('limit', String(limit));
  return `${u.pathname}${u.search}`;
}

/**
 * The page of `total` items a request asks for: undefined when the answer is the whole list as before
 * (no limit or offset asked, and no more than the default limit).
 */
export function pageOf(total: number, q: PageParams, requestUrl: string): Page | undefined {
  if (q.limit === undefined && q.offset === undefined && total <= DEFAULT_PAGE_LIMIT) return undefined;
  const limit = q.limit ?? DEFAULT_PAGE_LIMIT;
  const offset = q.offset ?? 0;
  const end = offset + limit;
  return { offset, limit, total, next: end < total ? pageUrl(requestUrl, end, limit) : null };
}

/** A list's page: the items and, when cut short or asked for, `page`. */
export function paged<T>(
  items: readonly T[],
  q: PageParams,
  requestUrl: string,
): { items: T[]; page?: Page } {
  const page = pageOf(items.length, q, requestUrl);
  if (!page) return { items: items as T[] };
  return { items: items.slice(page.offset, page.offset + page.limit), page };
}
