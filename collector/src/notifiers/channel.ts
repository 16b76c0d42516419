/**
 * What every channel shares: its name, language and timeout, the clock it signs with, the label its errors
 * carry (`wecom "值班群"`); and for the HTTP channels the POST of a body to the channel's URL within that
 * timeout and the caller's signal, and the judging of the answer (http.ts). A channel's own file keeps only
 * its body, its signature and the answer codes it retries.
 */
import { checkRobotAnswer, checkStatus, type HttpResponse, postBody, type RobotAnswerRules } from './http.js';
import type { AlertGroup, Language, Notifier, NotifyContext } from './notifier.js';

export interface ChannelOptions {
  name: string;
  language: Language;
  timeoutMs: number;
  /** Clock for timestamps and signatures (tests). */
  now?: () => number;
}

export interface HttpChannelOptions extends ChannelOptions {
  /** The channel's URL; robot URLs carry their credential (it is masked in every message). */
  url: string;
  /** Signs the request the channel's way; without it the request is not signed. */
  secret?: string;
}

export abstract class ChannelNotifier<O extends ChannelOptions> implements Notifier {
  abstract readonly type: Notifier['type'];
  readonly name: string;
  readonly language: Language;
  protected readonly opts: O;

  constructor(opts: O) {
    this.name = opts.name;
    this.language = opts.language;
    this.opts = opts;
  }

  abstract send(group: AlertGroup, ctx: NotifyContext): Promise<void>;

  /** The channel in messages: `dingtalk "值班群"`. */
  protected get label(): string {
    return `${this.type} "${this.name}"`;
  }

  protected nowMs(): number {
    return this.opts.now?.() ?? Date.now();
  }
}

export abstract class HttpChannelNotifier<O extends HttpChannelOptions> extends ChannelNotifier<O> {
  /** POSTs `body` to `url` (the channel's by default); failures to reach it are NotifyErrors (http.ts). */
  protected post(
    body: string,
    ctx: NotifyContext,
    extra: { url?: string; headers?: Record<string, string> } = {},
  ): Promise<HttpResponse> {
    return postBody(extra.url ?? this.opts.url, body, {
      ...(extra.headers ? { headers: extra.headers } : {}),
      timeoutMs: this.opts.timeoutMs,
      signal: ctx.signal,
      label: this.label,
    });
  }

  /** Delivered on any 2xx (the URL in the error masked). */
  protected checkStatus(res: HttpResponse): void {
    checkStatus(res, this.label, this.opts.url);
  }

  /** Delivered on the robot's result code 0 (http.ts checkRobotAnswer). */
  protected checkRobotAnswer(res: HttpResponse, rules: RobotAnswerRules): void {
    checkRobotAnswer(res, this.label, this.opts.url, rules);
  }
}
