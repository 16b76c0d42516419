import { createHmac } from 'node:crypto';
import { checkStatus, postBody } from './http.js';
import type { AlertGroup, Language, Notifier, NotifyContext } from './notifier.js';

export interface WebhookOptions {
  name: string;
  language: Language;
  url: string;
  /** When set, the body is signed: `X-Campuswatch-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`. */
  secret?: string;
  timeoutMs: number;
  /** Clock for the timestamp header (tests). */
  now?: () => number;
}

export const SIGNATURE_HEADER = 'x-campuswatch-signature';
export const TIMESTAMP_HEADER = 'x-campuswatch-timestamp';

/** The generic JSON body: the group as the alert manager built it, versioned. */
export function webhookBody(group: AlertGroup): string {
  return JSON.stringify({
    version: 1,
    status: group.status,
    repeat: group.repeat,
    school: group.school,
    alerts: group.alerts,
    url: group.url ?? null,
  });
}

export function webhookSignature(secret: string, rawBody: string): string {
  return `sha256=${createHmac('sha256', secret).update(rawBody, 'utf8').digest('hex')}`;
}

/**
 * Generic webhook: POSTs the JSON body; any 2xx is delivery. `X-Campuswatch-Timestamp` (Unix seconds) is
 * informational: the signature covers the raw body only.
 */
export class WebhookNotifier implements Notifier {
  readonly type = 'webhook';
  readonly name: string;
  readonly language: Language;
  readonly #opts: WebhookOptions;

  constructor(opts: WebhookOptions) {
    this.name = opts.name;
    this.language = opts.language;
    this.#opts = opts;
  }

  async send(group: AlertGroup, ctx: NotifyContext): Promise<void> {
    const o = this.#opts;
    const body = webhookBody(group);
    const headers: Record<string, string> = {
      [TIMESTAMP_HEADER]: String(Math.floor((o.now?.() ?? Date.now()) / 1000)),
      'user-agent': 'campuswatch-collector',
    };
    if (o.secret) headers[SIGNATURE_HEADER] = webhookSignature(o.secret, body);
    const label = `webhook "${this.name}"`;
    const res = await postBody(o.url, body, { headers, timeoutMs: o.timeoutMs, signal: ctx.signal, label });
    checkStatus(res, label, o.url);
  }
}
