/**
 * HTML by tagged template: every interpolated value is escaped unless it is already `Html` (made by this
 * template or by `raw`). School, room and device names and every other user-supplied string therefore
 * render as text, never as markup.
 */

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

/** Markup that is safe to send as it is. */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** What may be interpolated: text (escaped), numbers, markup, lists of these; null/undefined/false render nothing. */
export type HtmlValue = Html | string | number | boolean | null | undefined | readonly HtmlValue[];

function render(v: HtmlValue): string {
  if (v === null || v === undefined || v === false || v === true) return '';
  if (v instanceof Html) return v.text;
  if (Array.isArray(v)) return (v as readonly HtmlValue[]).map(render).join('');
  return escapeHtml(String(v));
}

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]!) + strings[i + 1]!;
  return new Html(out);
}

/** Trusted markup (constants of this code base only, never user input). */
export const raw = (s: string): Html => new Html(s);

/** `a=1&b=x` from the values that are set (for links that keep filters). */
export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/**
 * A wide table in a box that scrolls sideways on a phone; the box is focusable and named so a keyboard
 * user can scroll it too (axe: scrollable-region-focusable).
 */
export function scrollBox(label: string, content: Html): Html {
  return html`<div class="scroll" tabindex="0" role="region" aria-label="${label}">${content}</div>`;
}
