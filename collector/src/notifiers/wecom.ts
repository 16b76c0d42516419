import { checkRobotAnswer, postBody } from './http.js';
import { LIMITS, renderMarkdown } from './messages.js';
import type { AlertGroup, Language, Notifier, NotifyContext } from './notifier.js';

export const WECOM_DEFAULT_URL = 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send';

export interface WecomOptions {
  name: string;
  language: Language;
  /** Full robot URL including `?key=…`. */
  url: string;
  timeoutMs: number;
}

/**
 * WeCom errcodes worth another try: -1 system busy, 45009 API call frequency over the limit (robots take
 * 20 messages a minute), 45033 too many concurrent calls. Everything else (93000 invalid key, 40058 bad
 * body, 44004 empty content, 40008 bad message type …) is a configuration or content problem: not retried.
 */
export const WECOM_RETRYABLE = new Set([-1, 45009, 45033]);

/** WeCom group robot, markdown message; delivered only on HTTP 200 with `errcode: 0`. */
export class WecomNotifier implements Notifier {
  readonly type = 'wecom';
  readonly name: string;
  readonly language: Language;
  readonly #opts: WecomOptions;

  constructor(opts: WecomOptions) {
    this.name = opts.name;
    this.language = opts.language;
    this.#opts = opts;
  }

  render(group: AlertGroup): string {
    return renderMarkdown(group, this.language, 'wecom', { maxBytes: LIMITS.wecom });
  }

  async send(group: AlertGroup, ctx: NotifyContext): Promise<void> {
    const o = this.#opts;
    const label = `wecom "${this.name}"`;
    const body = JSON.stringify({ msgtype: 'markdown', markdown: { content: this.render(group) } });
    const res = await postBody(o.url, body, { timeoutMs: o.timeoutMs, signal: ctx.signal, label });
    checkRobotAnswer(res, label, o.url, {
      codeFields: ['errcode'],
      messageFields: ['errmsg'],
      retryable: WECOM_RETRYABLE,
      require200: true,
    });
  }
}
