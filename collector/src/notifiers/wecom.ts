import { HttpChannelNotifier, type HttpChannelOptions } from './channel.js';
import { LIMITS, renderMarkdown } from './messages.js';
import type { AlertGroup, NotifyContext } from './notifier.js';

export const WECOM_DEFAULT_URL = 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send';

/** `url`: the full robot URL including `?key=…` (WeCom robots are not signed). */
export type WecomOptions = Omit<HttpChannelOptions, 'secret'>;

/**
 * WeCom errcodes worth another try: -1 system busy, 45009 API call frequency over the limit (robots take
 * 20 messages a minute), 45033 too many concurrent calls. Everything else (93000 invalid key, 40058 bad
 * body, 44004 empty content, 40008 bad message type …) is a configuration or content problem: not retried.
 */
export const WECOM_RETRYABLE = new Set([-1, 45009, 45033]);

/** WeCom group robot, markdown message; delivered only on HTTP 200 with `errcode: 0`. */
export class WecomNotifier extends HttpChannelNotifier<WecomOptions> {
  readonly type = 'wecom';

  render(group: AlertGroup): string {
    return renderMarkdown(group, this.language, 'wecom', { maxBytes: LIMITS.wecom });
  }

  async send(group: AlertGroup, ctx: NotifyContext): Promise<void> {
    const body = JSON.stringify({ msgtype: 'markdown', markdown: { content: this.render(group) } });
    const res = await this.post(body, ctx);
    this.checkRobotAnswer(res, {
      codeFields: ['errcode'],
      messageFields: ['errmsg'],
      retryable: WECOM_RETRYABLE,
      require200: true,
    });
  }
}
