import { zonedDateTime } from '../../../protocol/zoned-time.js';
import { alertTime } from '../alerts/alert-words.js';
import type { Severity } from '../baseline.js';
import type { AlertGroup, AlertItem, Language } from './notifier.js';

/**
 * Renders one AlertGroup into what a person reads: a title line, a markdown body (per channel flavour),
 * a plain-text body and an HTML body (e-mail). Everything is pure; channels choose language and limit.
 *
 * Size limits (bytes of UTF-8; Chinese characters are 3 bytes each):
 * WeCom markdown content 4096, DingTalk 20000, Feishu request body 30 KB. When the alerts do not fit,
 * the last ones are replaced by "…还有 N 项" / "… and N more".
 */

export const LIMITS = {
  wecom: 4096,
  dingtalk: 20_000,
  /** Feishu limits the whole request body; the notifier measures the JSON it sends. */
  feishu: 30 * 1024,
} as const;

/** How long one alert's detail may be before it is shortened (keeps one noisy alert from hiding the rest). */
const MAX_DETAIL_CHARS = 600;
const MAX_TITLE_CHARS = 200;

export type MarkdownFlavour = 'wecom' | 'dingtalk' | 'commonmark';

const SEVERITY_LABEL: Record<Language, Record<Severity, string>> = {
  'zh-CN': { critical: '严重', high: '高', medium: '中', low: '低', info: '提示' },
  en: { critical: 'Critical', high: 'High', medium: 'Medium', low: 'Low', info: 'Info' },
};

export function severityLabel(severity: Severity, lang: Language): string {
  return SEVERITY_LABEL[lang][severity];
}

interface Words {
  firing: string;
  resolved: string;
  repeat: string;
  digest: string;
  district: string;
  group: string;
  detail: string;
  since: string;
  until: string;
  resolvedTag: string;
  link: string;
  sep: string;
  colon: string;
  summary(group: AlertGroup, firing: number, resolved: number): string;
  more(n: number): string;
}

const WORDS: Record<Language, Words> = {
  'zh-CN': {
    firing: '【告警】',
    resolved: '【恢复】',
    repeat: '【重复提醒】',
    digest: '【每日汇总】',
    district: '区县',
    group: '教育集团',
    detail: '详情',
    since: '开始',
    until: '恢复',
    resolvedTag: '已恢复',
    link: '查看详情',
    sep: '｜',
    colon: '：',
    summary(group, firing, resolved) {
      if (group.status === 'resolved') return `${resolved} 项已恢复`;
      return resolved > 0 ? `${firing} 项告警，${resolved} 项已恢复` : `${firing} 项告警`;
    },
    more: (n) => `…还有 ${n} 项`,
  },
  en: {
    firing: '[FIRING] ',
    resolved: '[RESOLVED] ',
    repeat: '[REPEAT] ',
    digest: '[DAILY DIGEST] ',
    district: 'District',
    group: 'Group',
    detail: 'Detail',
    since: 'Since',
    until: 'Resolved',
    resolvedTag: 'resolved',
    link: 'Details',
    sep: ' | ',
    colon: ': ',
    summary(group, firing, resolved) {
      const n = (k: number) => `${k} alert${k === 1 ? '' : 's'}`;
      if (group.status === 'resolved') return `${n(resolved)} resolved`;
      if (group.repeat && resolved === 0) return `${n(firing)} still firing`;
      return resolved > 0 ? `${n(firing)} firing, ${resolved} resolved` : n(firing);
    },
    more: (n) => `… and ${n} more`,
  },
};

/** "2026-11-23 10:00" in Asia/Shanghai (what the people on call read), whatever the server's zone. */
export function formatShanghai(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return zonedDateTime(d, 'Asia/Shanghai');
}

export function utf8Bytes(s: string): number {
  return Buffer.byteLength(s, 'utf8');
}

/** Cuts a string to at most `maxBytes` UTF-8 bytes without splitting a character, ending with "…". */
export function truncateBytes(s: string, maxBytes: number): string {
  if (utf8Bytes(s) <= maxBytes) return s;
  const budget = Math.max(0, maxBytes - utf8Bytes('…'));
  let out = '';
  let used = 0;
  for (const ch of s) {
    const b = utf8Bytes(ch);
    if (used + b > budget) break;
    out += ch;
    used += b;
  }
  return `${out}…`;
}

function clip(s: string, maxChars: number): string {
  const chars = [...s];
  return chars.length <= maxChars ? s : `${chars.slice(0, maxChars - 1).join('')}…`;
}

/** Collapses line breaks so a name or title can never start a markdown block of its own. */
function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

/**
 * Escapes text (school, device, finding names) for a markdown body. Lines are built so that user text
 * never starts a line, so only inline syntax matters: emphasis, code, links, strikethrough, tables and
 * HTML. WeCom's markdown also interprets `<font …>` tags, so `<`/`>` are escaped there as everywhere.
 */
export function escapeMarkdown(s: string, _flavour: MarkdownFlavour = 'commonmark'): string {
  return s.replace(/[\\`*_[\]~|<>]/g, (c) => `\\${c}`);
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function titleLine(group: AlertGroup, lang: Language): string {
  const w = WORDS[lang];
  const firing = group.alerts.filter((a) => a.status === 'firing').length;
  const resolved = group.alerts.length - firing;
  const prefix = group.digest
    ? w.digest
    : group.status === 'resolved'
      ? w.resolved
      : group.repeat
        ? w.repeat
        : w.firing;
  return `${prefix}${oneLine(group.school.name)}${w.colon}${w.summary(group, firing, resolved)}`;
}

function contextLine(group: AlertGroup, lang: Language, esc: (s: string) => string): string | undefined {
  const w = WORDS[lang];
  const parts: string[] = [];
  if (group.school.district) parts.push(`${w.district}${w.colon}${esc(oneLine(group.school.district))}`);
  if (group.school.group) parts.push(`${w.group}${w.colon}${esc(oneLine(group.school.group))}`);
  return parts.length > 0 ? parts.join(w.sep) : undefined;
}

interface ItemParts {
  severity: string;
  title: string;
  lines: string[];
}

function itemParts(a: AlertItem, group: AlertGroup, lang: Language, esc: (s: string) => string): ItemParts {
  const w = WORDS[lang];
  const title = lang === 'zh-CN' ? a.title.zh : a.title.en;
  const detail = lang === 'zh-CN' ? a.detail.zh : a.detail.en;
  const tag = group.status === 'firing' && a.status === 'resolved' ? ` (${w.resolvedTag})` : '';
  const lines = [];
  if (detail.trim()) lines.push(`${w.detail}${w.colon}${esc(clip(oneLine(detail), MAX_DETAIL_CHARS))}`);
  // in the school's zone: zh says 北京时间 (or the offset), en the offset
  const when = (iso: string) =>
    alertTime(iso, group.school.timezone ?? 'Asia/Shanghai', lang === 'zh-CN' ? 'zh' : 'en');
  lines.push(`${w.since}${w.colon}${when(a.startsAt)}`);
  if (a.endsAt) lines.push(`${w.until}${w.colon}${when(a.endsAt)}`);
  return {
    severity: severityLabel(a.severity, lang),
    title: `${esc(clip(oneLine(title), MAX_TITLE_CHARS))}${tag}`,
    lines,
  };
}

/**
 * Joins head, as many items as fit and the tail within `maxBytes`; the rest become one "more" line.
 * If even one item does not fit, the result is cut at a character boundary.
 */
function fitWithin(
  head: string,
  items: string[],
  tail: string,
  maxBytes: number,
  more: (n: number) => string,
  sep: string,
): string {
  const join = (list: string[]) => [head, ...list, tail].filter((s) => s !== '').join(sep);
  const all = join(items);
  if (utf8Bytes(all) <= maxBytes) return all;
  const kept: string[] = [];
  for (let i = 0; i < items.length; i++) {
    const next = [...kept, items[i] as string];
    const rest = items.length - next.length;
    const candidate = rest > 0 ? join([...next, more(rest)]) : join(next);
    if (utf8Bytes(candidate) > maxBytes) break;
    kept.push(items[i] as string);
  }
  return truncateBytes(join([...kept, more(items.length - kept.length)]), maxBytes);
}

export interface RenderOptions {
  /** Upper bound for the body in UTF-8 bytes. */
  maxBytes?: number;
}

function severityMarkup(a: AlertItem, label: string, flavour: MarkdownFlavour): string {
  // "**1. 严重**" starts with emphasis, so no renderer turns the line into a (renumbered) ordered list.
  if (flavour !== 'wecom') return `**${label}**`;
  // WeCom robot markdown colours: info = green, comment = grey, warning = orange-red.
  const color =
    a.status === 'resolved'
      ? 'info'
      : a.severity === 'critical' || a.severity === 'high'
        ? 'warning'
        : 'comment';
  return `<font color="${color}">**${label}**</font>`;
}

/** Markdown body (WeCom / DingTalk / generic). The title line is its first line, as a heading. */
export function renderMarkdown(
  group: AlertGroup,
  lang: Language,
  flavour: MarkdownFlavour,
  opts: RenderOptions = {},
): string {
  const w = WORDS[lang];
  const esc = (s: string) => escapeMarkdown(s, flavour);
  const ctx = contextLine(group, lang, esc);
  const head = [`### ${esc(titleLine(group, lang))}`, ...(ctx ? [ctx] : [])].join('\n');
  const items = group.alerts.map((a, i) => {
    const p = itemParts(a, group, lang, esc);
    return [`${severityMarkup(a, `${i + 1}. ${p.severity}`, flavour)} ${p.title}`, ...p.lines].join('  \n');
  });
  const tail = group.url ? `[${w.link}](${group.url.replace(/[()\s]/g, encodeURIComponent)})` : '';
  return fitWithin(head, items, tail, opts.maxBytes ?? Number.POSITIVE_INFINITY, w.more, '\n\n');
}

/** Plain text (e-mail text part, Feishu post lines). The first line is the title line. */
export function renderText(group: AlertGroup, lang: Language, opts: RenderOptions = {}): string {
  const w = WORDS[lang];
  const id = (s: string) => s;
  const ctx = contextLine(group, lang, id);
  const head = [titleLine(group, lang), ...(ctx ? [ctx] : [])].join('\n');
  const items = group.alerts.map((a, i) => {
    const p = itemParts(a, group, lang, id);
    return [`${i + 1}. [${p.severity}] ${p.title}`, ...p.lines.map((l) => `   ${l}`)].join('\n');
  });
  const tail = group.url ? `${w.link}${w.colon}${group.url}` : '';
  return fitWithin(head, items, tail, opts.maxBytes ?? Number.POSITIVE_INFINITY, w.more, '\n\n');
}

/** HTML body for e-mail (all text escaped; no remote content). */
export function renderHtml(group: AlertGroup, lang: Language): string {
  const w = WORDS[lang];
  const ctx = contextLine(group, lang, escapeHtml);
  const items = group.alerts
    .map((a) => {
      const p = itemParts(a, group, lang, escapeHtml);
      return `<li><p><strong>[${escapeHtml(p.severity)}]</strong> ${p.title}<br>${p.lines.join('<br>')}</p></li>`;
    })
    .join('\n');
  const link = group.url ? `<p><a href="${escapeHtml(group.url)}">${escapeHtml(w.link)}</a></p>` : '';
  return [
    '<!doctype html>',
    `<html lang="${lang}"><head><meta charset="utf-8"><title>${escapeHtml(titleLine(group, lang))}</title></head><body>`,
    `<h3>${escapeHtml(titleLine(group, lang))}</h3>`,
    ctx ? `<p>${ctx}</p>` : '',
    `<ol>\n${items}\n</ol>`,
    link,
    '</body></html>',
  ]
    .filter((s) => s !== '')
    .join('\n');
}
