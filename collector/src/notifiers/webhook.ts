import { createHmac } from 'node:crypto';
import { HttpChannelNotifier, type HttpChannelOptions } from './channel.js';
import type { AlertGroup, NotifyContext } from './notifier.js';

/** `secret`, when set, signs the body: `X-Campuswatch-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`. */
export type WebhookOptions = HttpChannelOptions;

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
export class WebhookNotifier extends HttpChannelNotifier<WebhookOptions> {
  readonly type = 'webhook';

  async send(group: AlertGroup, ctx: NotifyContext): Promise<void> {
    const { secret } = this.opts;
    const body = webhookBody(group);
    const headers: Record<string, string> = {
      [TIMESTAMP_HEADER]: String(Math.floor(this.nowMs() / 1000)),
      'user-agent': 'campuswatch-collector',
    };
    if (secret) headers[SIGNATURE_HEADER] = webhookSignature(secret, body);
    const res = await this.post(body, ctx, { headers });
    this.checkStatus(res);
  }
}
