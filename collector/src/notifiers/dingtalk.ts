import { createHmac } from 'node:crypto';
import { HttpChannelNotifier, type HttpChannelOptions } from './channel.js';
import { LIMITS, renderMarkdown, titleLine, truncateBytes, utf8Bytes } from './messages.js';
import type { AlertGroup, NotifyContext } from './notifier.js';

/** `url`: the robot URL including `?access_token=…`; `secret`: its "加签" secret (`SEC…`). */
export type DingtalkOptions = HttpChannelOptions;

/**
 * DingTalk errcodes worth another try: -1 system busy, 130101 / 410100 sending too fast (the robot is
 * throttled for 10 minutes after 20 messages a minute), 310000 (signature check failed: DingTalk also
 * answers it when the signed timestamp is more than an hour off, which a retry with a fresh timestamp
 * after the clock was corrected fixes; a real key mismatch just fails after the few attempts).
 * Not retried: 300001 / 400101 (invalid token), 43004 …
 */
export const DINGTALK_RETRYABLE = new Set([-1, 130101, 410100, 310000]);

/** `sign = base64(HmacSHA256(secret, timestamp + "\n" + secret))`, timestamp in milliseconds. */
export function dingtalkSign(secret: string, timestampMs: number): string {
  return createHmac('sha256', secret).update(`${timestampMs}\n${secret}`, 'utf8').digest('base64');
}

/** Appends `timestamp` and the URL-encoded `sign` to the robot URL. */
export function dingtalkSignedUrl(url: string, secret: string, timestampMs: number): string {
  const sign = encodeURIComponent(dingtalkSign(secret, timestampMs));
  return `${url}${url.includes('?') ? '&' : '?'}timestamp=${timestampMs}&sign=${sign}`;
}

/** DingTalk custom robot, markdown message; delivered only on `errcode: 0`. */
export class DingtalkNotifier extends HttpChannelNotifier<DingtalkOptions> {
  readonly type = 'dingtalk';

  render(group: AlertGroup): { title: string; text: string } {
    const title = truncateBytes(titleLine(group, this.language), 256);
    const text = renderMarkdown(group, this.language, 'dingtalk', {
      maxBytes: LIMITS.dingtalk - utf8Bytes(title) - 64,
    });
    return { title, text };
  }

  async send(group: AlertGroup, ctx: NotifyContext): Promise<void> {
    const { url, secret } = this.opts;
    const body = JSON.stringify({ msgtype: 'markdown', markdown: this.render(group) });
    const res = await this.post(body, ctx, {
      url: secret ? dingtalkSignedUrl(url, secret, this.nowMs()) : url,
    });
    this.checkRobotAnswer(res, {
      codeFields: ['errcode'],
      messageFields: ['errmsg'],
      retryable: DINGTALK_RETRYABLE,
    });
  }
}
