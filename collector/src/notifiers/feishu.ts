import { createHmac } from 'node:crypto';
import { HttpChannelNotifier, type HttpChannelOptions } from './channel.js';
import { LIMITS, renderText, titleLine, utf8Bytes } from './messages.js';
import type { AlertGroup, NotifyContext } from './notifier.js';

/**
 * `url`: `https://open.feishu.cn/open-apis/bot/v2/hook/<token>` (or the Lark equivalent); `secret`: the bot's
 * signature secret (without it the body carries no timestamp/sign).
 */
export type FeishuOptions = HttpChannelOptions;

/**
 * Feishu codes worth another try: 11232 (sending too frequently; bots take 100 a minute, 5 a second) and
 * 9499 (server busy). Not retried: 19021 signature check failed, 19022 IP not allowed, 19024 keyword check
 * failed, 19001 / 19002 bad or missing parameters — configuration errors no retry fixes.
 */
export const FEISHU_RETRYABLE = new Set([9499, 11232]);

/** `sign = base64(HmacSHA256(key = timestamp + "\n" + secret, message = ""))`, timestamp in seconds. */
export function feishuSign(secret: string, timestampS: number): string {
  return createHmac('sha256', `${timestampS}\n${secret}`).update('').digest('base64');
}

type PostElement = { tag: 'text'; text: string } | { tag: 'a'; text: string; href: string };

/**
 * Feishu bot with a rich-text `post` message. Chosen over an interactive lark_md card because a post's
 * `text` elements are literal — school and device names need no markdown escaping — and the title is a
 * separate field. The content is given in the channel's language only (`zh_cn` or `en_us`).
 * Delivered only on `code: 0` (older endpoints answer `StatusCode: 0`).
 */
export class FeishuNotifier extends HttpChannelNotifier<FeishuOptions> {
  readonly type = 'feishu';

  /** The body without timestamp/sign; shrinks the text until the JSON fits Feishu's 30 KB. */
  render(group: AlertGroup): Record<string, unknown> {
    const lang = this.language;
    const build = (maxBytes: number) => {
      // The title line is the post's title; the text body repeats it first, so drop that line.
      const lines = renderText({ ...group, url: undefined }, lang, { maxBytes })
        .split('\n')
        .slice(1);
      while (lines[0] === '') lines.shift();
      const content: PostElement[][] = lines.map((line) => [{ tag: 'text', text: line }]);
      if (group.url)
        content.push([{ tag: 'a', text: lang === 'zh-CN' ? '查看详情' : 'Details', href: group.url }]);
      const post = { title: titleLine(group, lang), content };
      return { msg_type: 'post', content: { post: lang === 'zh-CN' ? { zh_cn: post } : { en_us: post } } };
    };
    const limit = LIMITS.feishu - 256; // room for timestamp and sign
    let budget = limit;
    let body = build(budget);
    for (let size = utf8Bytes(JSON.stringify(body)); size > limit && budget > 512; ) {
      budget -= size - limit + 256;
      body = build(budget);
      size = utf8Bytes(JSON.stringify(body));
    }
    return body;
  }

  async send(group: AlertGroup, ctx: NotifyContext): Promise<void> {
    const { secret } = this.opts;
    const payload = this.render(group);
    if (secret) {
      const timestamp = Math.floor(this.nowMs() / 1000);
      Object.assign(payload, { timestamp: String(timestamp), sign: feishuSign(secret, timestamp) });
    }
    const res = await this.post(JSON.stringify(payload), ctx);
    this.checkRobotAnswer(res, {
      codeFields: ['code', 'StatusCode'],
      messageFields: ['msg', 'StatusMessage'],
      retryable: FEISHU_RETRYABLE,
    });
  }
}
