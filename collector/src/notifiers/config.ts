import { type Static, type TSchema, Type } from 'typebox';
import { Value } from 'typebox/value';
import { checker, type Problem } from '../../../protocol/validate.js';
import { DingtalkNotifier } from './dingtalk.js';
import { type Channel, RateLimiter, type Sleep } from './dispatch.js';
import { EmailNotifier } from './email.js';
import { FeishuNotifier } from './feishu.js';
import type { Notifier } from './notifier.js';
import { WebhookNotifier } from './webhook.js';
import { WECOM_DEFAULT_URL, WecomNotifier } from './wecom.js';

const HttpUrl = Type.String({ pattern: '^https?://[^\\s/?#]+[^\\s]*$', description: 'http(s) URL' });

function common() {
  return {
    /** Shown in logs and health; unique among channels. */
    name: Type.String({
      minLength: 1,
      maxLength: 64,
      pattern: '^[^\\s].*$',
      description: 'unique among channels; routes and term mails name it',
    }),
    language: Type.Union([Type.Literal('zh-CN'), Type.Literal('en')], {
      default: 'zh-CN',
      description: 'language of the messages',
    }),
    timeoutMs: Type.Integer({ default: 10_000, minimum: 100, maximum: 120_000, description: 'per send' }),
  };
}

/** A chat robot's webhook: its URL (which holds the robot's token) and the secret that signs its requests. */
function signedRobot(secretDescription: string) {
  return {
    url: HttpUrl,
    secret: Type.Optional(Type.String({ minLength: 1, description: secretDescription })),
  };
}

/** Robots that accept 20 messages a minute (exceeding DingTalk's mutes the robot for 10 minutes). */
const RobotRateLimit = Type.Integer({
  default: 20,
  minimum: 1,
  maximum: 20,
  description: 'messages a minute at most',
});
const OptionalRateLimit = Type.Optional(
  Type.Integer({ minimum: 1, maximum: 10_000, description: 'messages a minute at most (absent: no limit)' }),
);

export const WebhookChannelConfig = Type.Object(
  {
    type: Type.Literal('webhook'),
    ...common(),
    url: HttpUrl,
    /** Signs the body (`X-Campuswatch-Signature`). */
    secret: Type.Optional(
      Type.String({ minLength: 16, description: 'signs the body (X-Campuswatch-Signature)' }),
    ),
    rateLimitPerMinute: OptionalRateLimit,
  },
  { additionalProperties: false },
);

export const WecomChannelConfig = Type.Object(
  {
    type: Type.Literal('wecom'),
    ...common(),
    /** Full robot URL; or give `key` and the official endpoint is used. */
    url: Type.Optional(HttpUrl),
    key: Type.Optional(
      Type.String({ pattern: '^[A-Za-z0-9-]{8,128}$', description: "the robot's key (instead of url)" }),
    ),
    rateLimitPerMinute: RobotRateLimit,
  },
  { additionalProperties: false },
);

export const DingtalkChannelConfig = Type.Object(
  {
    type: Type.Literal('dingtalk'),
    ...common(),
    /** `url`: `https://oapi.dingtalk.com/robot/send?access_token=…`; `secret`: the robot's 加签 secret (`SEC…`). */
    ...signedRobot("the robot's 加签 secret (SEC…)"),
    rateLimitPerMinute: RobotRateLimit,
  },
  { additionalProperties: false },
);

export const FeishuChannelConfig = Type.Object(
  {
    type: Type.Literal('feishu'),
    ...common(),
    /** `url`: `https://open.feishu.cn/open-apis/bot/v2/hook/<token>`; `secret`: the bot's 签名校验 secret. */
    ...signedRobot("the bot's 签名校验 secret"),
    rateLimitPerMinute: OptionalRateLimit,
  },
  { additionalProperties: false },
);

export const EmailChannelConfig = Type.Object(
  {
    type: Type.Literal('email'),
    ...common(),
    host: Type.String({ minLength: 1, description: 'SMTP server' }),
    port: Type.Integer({ default: 587, minimum: 1, maximum: 65_535 }),
    secure: Type.Boolean({ default: false, description: 'TLS from the first byte (port 465)' }),
    requireTLS: Type.Boolean({ default: false, description: 'refuse to send without STARTTLS' }),
    user: Type.Optional(Type.String({ minLength: 1 })),
    pass: Type.Optional(Type.String()),
    from: Type.String({ minLength: 3, description: 'sender address' }),
    to: Type.Array(Type.String({ pattern: '^[^\\s@]+@[^\\s@]+$' }), {
      minItems: 1,
      description: 'recipients',
    }),
    rateLimitPerMinute: OptionalRateLimit,
  },
  { additionalProperties: false },
);

/** One notification channel, discriminated by `type`. */
export const ChannelConfig = Type.Union([
  WebhookChannelConfig,
  WecomChannelConfig,
  DingtalkChannelConfig,
  FeishuChannelConfig,
  EmailChannelConfig,
]);
export type ChannelConfig = Static<typeof ChannelConfig>;

const VARIANTS: Record<ChannelConfig['type'], TSchema> = {
  webhook: WebhookChannelConfig,
  wecom: WecomChannelConfig,
  dingtalk: DingtalkChannelConfig,
  feishu: FeishuChannelConfig,
  email: EmailChannelConfig,
};
const CHECKERS = new Map(Object.entries(VARIANTS).map(([k, s]) => [k, checker<ChannelConfig>(s)]));

/** Cross-field rules that the schema cannot say. */
export function channelCrossCheck(cfg: ChannelConfig, prefix = ''): Problem[] {
  const at = (k: string) => (prefix ? `${prefix}/${k}` : k);
  const problems: Problem[] = [];
  if (cfg.type === 'wecom' && (cfg.url === undefined) === (cfg.key === undefined)) {
    problems.push({ path: at('url'), message: 'give either url or key' });
  }
  if (cfg.type === 'email' && cfg.pass !== undefined && cfg.user === undefined) {
    problems.push({ path: at('user'), message: 'is required when pass is given' });
  }
  return problems;
}

/**
 * Checks one channel (already parsed from YAML/JSON): picks the variant by `type` so problems name the
 * right fields, fills defaults, then runs the cross-field rules.
 */
export function checkChannelConfig(
  raw: unknown,
  prefix = '',
): { ok: true; value: ChannelConfig } | { ok: false; problems: Problem[] } {
  const at = (k: string) => (prefix ? `${prefix}/${k}` : k);
  const type = typeof raw === 'object' && raw !== null ? (raw as { type?: unknown }).type : undefined;
  const check = typeof type === 'string' ? CHECKERS.get(type) : undefined;
  const schema = typeof type === 'string' ? VARIANTS[type as ChannelConfig['type']] : undefined;
  if (!check || !schema) {
    return {
      ok: false,
      problems: [{ path: at('type'), message: `must be one of: ${Object.keys(VARIANTS).join(', ')}` }],
    };
  }
  const value = Value.Default(schema, structuredClone(raw));
  if (!check.check(value)) return { ok: false, problems: check.problems(value, prefix) };
  const cross = channelCrossCheck(value, prefix);
  return cross.length > 0 ? { ok: false, problems: cross } : { ok: true, value };
}

/** Names must be unique: they key the stats and the logs. */
export function checkChannelNames(channels: readonly ChannelConfig[], prefix = 'channels'): Problem[] {
  const seen = new Set<string>();
  const problems: Problem[] = [];
  channels.forEach((c, i) => {
    if (seen.has(c.name))
      problems.push({ path: `${prefix}/${i}/name`, message: `duplicate channel name "${c.name}"` });
    seen.add(c.name);
  });
  return problems;
}

/** Builds the notifier for a checked config (defaults filled). */
export function createNotifier(cfg: ChannelConfig): Notifier {
  const base = { name: cfg.name, language: cfg.language, timeoutMs: cfg.timeoutMs };
  const signed = (c: { url: string; secret?: string | undefined }) => ({
    ...base,
    url: c.url,
    secret: c.secret,
  });
  switch (cfg.type) {
    case 'webhook':
      return new WebhookNotifier(signed(cfg));
    case 'wecom':
      return new WecomNotifier({
        ...base,
        url: cfg.url ?? `${WECOM_DEFAULT_URL}?key=${encodeURIComponent(cfg.key ?? '')}`,
      });
    case 'dingtalk':
      return new DingtalkNotifier(signed(cfg));
    case 'feishu':
      return new FeishuNotifier(signed(cfg));
    case 'email':
      return new EmailNotifier({
        ...base,
        host: cfg.host,
        port: cfg.port,
        secure: cfg.secure,
        requireTLS: cfg.requireTLS,
        user: cfg.user,
        pass: cfg.pass,
        from: cfg.from,
        to: cfg.to,
      });
  }
}

/** The notifier plus its rate limiter (wecom/dingtalk: 20 a minute by default; others only if configured). */
export function createChannel(cfg: ChannelConfig, deps: { now?: () => number; sleep?: Sleep } = {}): Channel {
  const notifier = createNotifier(cfg);
  return cfg.rateLimitPerMinute === undefined
    ? { notifier }
    : { notifier, limiter: new RateLimiter(cfg.rateLimitPerMinute, deps) };
}
