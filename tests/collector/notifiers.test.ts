import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { checkChannelConfig, createChannel, createNotifier } from '../../collector/src/notifiers/config.js';
import {
  ChannelStats,
  type DispatchLog,
  dispatchAll,
  RateLimiter,
  type Sleep,
  sendWithRetry,
} from '../../collector/src/notifiers/dispatch.js';
import { maskUrl } from '../../collector/src/notifiers/http.js';
import {
  escapeMarkdown,
  formatShanghai,
  LIMITS,
  renderMarkdown,
  renderText,
  titleLine,
  utf8Bytes,
} from '../../collector/src/notifiers/messages.js';
import type { AlertGroup, AlertItem } from '../../collector/src/notifiers/notifier.js';

const SCHOOL = '苏州工业园区星海实验中学, 初中部';
const DEVICE = '录播主机 A1';

function alert(i = 0, over: Partial<AlertItem> = {}): AlertItem {
  return {
    fingerprint: `recording-room-down:sz-xh:${i}`,
    rule: 'recording-room-down',
    severity: i === 0 ? 'critical' : 'high',
    status: 'firing',
    title: { zh: `${DEVICE} 离线`, en: `Recording host A1 down` },
    detail: {
      zh: '教学时段内 3 次探测均无响应（录播教室 301）',
      en: 'No answer to 3 probes during teaching hours',
    },
    startsAt: '2026-11-23T02:00:00Z',
    labels: { device: DEVICE },
    ...over,
  };
}

function group(over: Partial<AlertGroup> = {}): AlertGroup {
  return {
    status: 'firing',
    repeat: false,
    school: { id: 'sz-xh', name: SCHOOL, district: '苏州工业园区', group: '星海教育集团' },
    alerts: [alert(0), alert(1, { title: { zh: '核心交换机 CPU 过高', en: 'Core switch CPU high' } })],
    url: 'https://grafana.example.edu.cn/d/school?var-school=sz-xh',
    ...over,
  };
}

// ---------------------------------------------------------------- loopback receivers

interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  raw: string;
  json: unknown;
}

type Reply = { status: number; body: unknown } | 'hang';

interface Receiver {
  url: string;
  requests: Received[];
  close(): Promise<void>;
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function receiver(reply: (req: Received, n: number) => Reply): Promise<Receiver> {
  const requests: Received[] = [];
  const hanging: ServerResponse[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch {
        json = undefined;
      }
      const r: Received = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, raw, json };
      requests.push(r);
      const answer = reply(r, requests.length);
      if (answer === 'hang') {
        hanging.push(res);
        return;
      }
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const close = async () => {
    for (const res of hanging) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  cleanups.push(close);
  return { url: `http://127.0.0.1:${port}`, requests, close };
}

interface Mail {
  raw: string;
  from?: string;
  to: string[];
}

async function smtpReceiver(): Promise<{ port: number; mails: Mail[]; received: Promise<Mail> }> {
  const mails: Mail[] = [];
  let resolveFirst: (m: Mail) => void = () => {};
  const received = new Promise<Mail>((resolve) => {
    resolveFirst = resolve;
  });
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const from = session.envelope.mailFrom;
        const mail: Mail = {
          raw: Buffer.concat(chunks).toString('utf8'),
          from: from ? from.address : undefined,
          to: session.envelope.rcptTo.map((r) => r.address),
        };
        mails.push(mail);
        resolveFirst(mail);
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.server.address() as AddressInfo;
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { port, mails, received };
}

// ---------------------------------------------------------------- a small, independent MIME decoder

function decodeEncodedWords(value: string): string {
  return value
    .replace(/(\?=)\s+(=\?)/g, '$1$2')
    .replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_m, _charset: string, enc: string, data: string) =>
      enc.toUpperCase() === 'B'
        ? Buffer.from(data, 'base64').toString('utf8')
        : decodeQp(data.replace(/_/g, ' ')),
    );
}

function decodeQp(s: string): string {
  const bytes: number[] = [];
  const text = s.replace(/=\r?\n/g, '');
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === '=' && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 1, i + 3))) {
      bytes.push(Number.parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(...Buffer.from(ch, 'utf8'));
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

interface Part {
  headers: Map<string, string>;
  body: string;
}

function parsePart(raw: string): Part {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const headers = new Map<string, string>();
  for (const line of head.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  return { headers, body: raw.slice(split + 4) };
}

function decodeBody(p: Part): string {
  const cte = (p.headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  if (cte === 'base64') return Buffer.from(p.body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (cte === 'quoted-printable') return decodeQp(p.body);
  return p.body;
}

function parseMail(raw: string): { subject: string; text: string; html: string; contentType: string } {
  const top = parsePart(raw);
  const contentType = top.headers.get('content-type') ?? '';
  const boundary = /boundary="?([^";]+)"?/.exec(contentType)?.[1];
  const parts = boundary
    ? top.body
        .split(`--${boundary}`)
        .slice(1, -1)
        .map((s) => parsePart(s.replace(/^\r\n/, '')))
    : [top];
  const find = (type: string) => parts.find((p) => (p.headers.get('content-type') ?? '').startsWith(type));
  const text = find('text/plain');
  const html = find('text/html');
  return {
    subject: decodeEncodedWords(top.headers.get('subject') ?? ''),
    text: text ? decodeBody(text).replace(/\r\n/g, '\n') : '',
    html: html ? decodeBody(html).replace(/\r\n/g, '\n') : '',
    contentType,
  };
}

// ---------------------------------------------------------------- helpers

const instantSleep: Sleep = async () => {};

function captureLog(): DispatchLog & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    warn: (obj, msg) => lines.push(JSON.stringify({ ...obj, msg })),
    info: (obj, msg) => lines.push(JSON.stringify({ ...obj, msg })),
  };
}

function mustParse(raw: unknown) {
  const r = checkChannelConfig(raw);
  if (!r.ok) throw new Error(JSON.stringify(r.problems));
  return r.value;
}

// ---------------------------------------------------------------- messages

describe('messages', () => {
  it('renders the title line in zh-CN and en for firing, resolved and repeat', () => {
    expect(titleLine(group(), 'zh-CN')).toBe(`【告警】${SCHOOL}：2 项告警`);
    expect(titleLine(group({ repeat: true }), 'zh-CN')).toBe(`【重复提醒】${SCHOOL}：2 项告警`);
    const resolved = group({
      status: 'resolved',
      alerts: group().alerts.map((a) => ({
        ...a,
        status: 'resolved' as const,
        endsAt: '2026-11-23T03:30:00Z',
      })),
    });
    expect(titleLine(resolved, 'zh-CN')).toBe(`【恢复】${SCHOOL}：2 项已恢复`);
    expect(titleLine(group(), 'en')).toBe(`[FIRING] ${SCHOOL}: 2 alerts`);
    expect(titleLine(group({ repeat: true }), 'en')).toBe(`[REPEAT] ${SCHOOL}: 2 alerts still firing`);
    expect(titleLine(resolved, 'en')).toBe(`[RESOLVED] ${SCHOOL}: 2 alerts resolved`);
    expect(renderText(resolved, 'zh-CN')).toContain('恢复：2026-11-23 11:30（北京时间）');
  });

  it('shows times in Asia/Shanghai and severities in the reader’s language', () => {
    expect(formatShanghai('2026-11-23T02:00:00Z')).toBe('2026-11-23 10:00');
    expect(formatShanghai('2026-12-31T16:30:00.000Z')).toBe('2027-01-01 00:30');
    const zh = renderText(group(), 'zh-CN');
    expect(zh).toBe(
      [
        `【告警】${SCHOOL}：2 项告警`,
        '区县：苏州工业园区｜教育集团：星海教育集团',
        '',
        `1. [严重] ${DEVICE} 离线`,
        '   详情：教学时段内 3 次探测均无响应（录播教室 301）',
        '   开始：2026-11-23 10:00（北京时间）',
        '',
        '2. [高] 核心交换机 CPU 过高',
        '   详情：教学时段内 3 次探测均无响应（录播教室 301）',
        '   开始：2026-11-23 10:00（北京时间）',
        '',
        '查看详情：https://grafana.example.edu.cn/d/school?var-school=sz-xh',
      ].join('\n'),
    );
    const en = renderText(group(), 'en');
    expect(en).toContain('1. [Critical] Recording host A1 down');
    expect(en).toContain('Since: 2026-11-23 10:00 UTC+08:00');
    // a school in another zone: its own local time, with the offset in both languages
    const urumqi = group({ school: { id: 'xj', name: '乌鲁木齐市第一中学', timezone: 'Asia/Urumqi' } });
    expect(renderText(urumqi, 'zh-CN')).toContain('开始：2026-11-23 08:00（UTC+06:00）');
    expect(renderText(urumqi, 'en')).toContain('Since: 2026-11-23 08:00 UTC+06:00');
  });

  it('escapes markdown in names but keeps plain text literal', () => {
    const g = group({ school: { id: 'x', name: '星海*实验_中学 [初中]' } });
    expect(escapeMarkdown('a*b_c[d]`e`<f>')).toBe('a\\*b\\_c\\[d\\]\\`e\\`\\<f\\>');
    expect(renderMarkdown(g, 'zh-CN', 'dingtalk')).toContain('星海\\*实验\\_中学 \\[初中\\]');
    expect(renderText(g, 'zh-CN')).toContain('星海*实验_中学 [初中]');
  });

  it('truncates to the channel limit with "…还有 N 项" / "… and N more"', () => {
    const many = group({
      alerts: Array.from({ length: 120 }, (_, i) =>
        alert(i, { title: { zh: `${DEVICE}-${i} 离线`, en: `Host ${i} down` } }),
      ),
    });
    const zh = renderMarkdown(many, 'zh-CN', 'wecom', { maxBytes: LIMITS.wecom });
    expect(utf8Bytes(zh)).toBeLessThanOrEqual(LIMITS.wecom);
    const shown = zh.match(/\*\*\d+\. /g)?.length ?? 0;
    expect(shown).toBeGreaterThan(3);
    expect(zh).toContain(`…还有 ${120 - shown} 项`);
    expect(zh).toContain('[查看详情](');
    const en = renderMarkdown(many, 'en', 'dingtalk', { maxBytes: 3000 });
    const shownEn = en.match(/\*\*\d+\. /g)?.length ?? 0;
    expect(utf8Bytes(en)).toBeLessThanOrEqual(3000);
    expect(en).toContain(`… and ${120 - shownEn} more`);
  });
});

// ---------------------------------------------------------------- config

describe('channel config', () => {
  it('fills defaults per type and rejects unknown keys', () => {
    const wecom = mustParse({ type: 'wecom', name: '值班群', key: 'abcd-1234-efgh' });
    expect(wecom).toMatchObject({ language: 'zh-CN', timeoutMs: 10_000, rateLimitPerMinute: 20 });
    const hook = mustParse({ type: 'webhook', name: 'soc', url: 'http://127.0.0.1:1/x' });
    expect(hook.rateLimitPerMinute).toBeUndefined();
    expect(createChannel(hook).limiter).toBeUndefined();
    expect(createChannel(wecom).limiter).toBeInstanceOf(RateLimiter);
    const bad = checkChannelConfig(
      { type: 'dingtalk', name: 'd', url: 'http://x/y', colour: 'red' },
      'channels/2',
    );
    expect(bad).toEqual({ ok: false, problems: [{ path: 'channels/2/colour', message: 'unknown key' }] });
    expect(checkChannelConfig({ type: 'sms', name: 's' })).toEqual({
      ok: false,
      problems: [{ path: 'type', message: 'must be one of: webhook, wecom, dingtalk, feishu, email' }],
    });
    expect(checkChannelConfig({ type: 'wecom', name: 'w' })).toEqual({
      ok: false,
      problems: [{ path: 'url', message: 'give either url or key' }],
    });
  });

  it('masks credentials in URLs', () => {
    expect(maskUrl('https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx')).toBe(
      'https://qyapi.weixin.qq.com/cgi-bin/webhook/send?***',
    );
    expect(maskUrl('https://open.feishu.cn/open-apis/bot/v2/hook/2f1c4a8e-0b6d-4f0e-9c1a-1234567890ab')).toBe(
      'https://open.feishu.cn/open-apis/bot/v2/hook/***',
    );
  });
});

// ---------------------------------------------------------------- each notifier against its real receiver

describe('notifiers against loopback receivers', () => {
  const signal = new AbortController().signal;

  it('webhook: JSON body, HMAC-SHA256 signature of the raw body', async () => {
    const secret = 'webhook-secret-0123456789';
    const rx = await receiver(() => ({ status: 204, body: '' }));
    const n = createNotifier(
      mustParse({ type: 'webhook', name: 'soc', url: `${rx.url}/hook?token=t0k3n`, secret }),
    );
    await n.send(group(), { signal });
    const [req] = rx.requests;
    expect(req?.method).toBe('POST');
    expect(req?.url).toBe('/hook?token=t0k3n');
    const expected = `sha256=${createHmac('sha256', secret)
      .update(Buffer.from(req?.raw ?? '', 'utf8'))
      .digest('hex')}`;
    expect(req?.headers['x-campuswatch-signature']).toBe(expected);
    expect(Number(req?.headers['x-campuswatch-timestamp'])).toBeGreaterThan(1_700_000_000);
    expect(req?.json).toMatchObject({
      version: 1,
      status: 'firing',
      repeat: false,
      school: { id: 'sz-xh', name: SCHOOL },
      url: 'https://grafana.example.edu.cn/d/school?var-school=sz-xh',
    });
    expect((req?.json as { alerts: AlertItem[] } | undefined)?.alerts[0]?.labels.device).toBe(DEVICE);
  });

  it('wecom: markdown message, success on errcode 0', async () => {
    const rx = await receiver(() => ({ status: 200, body: { errcode: 0, errmsg: 'ok' } }));
    const n = createNotifier(
      mustParse({ type: 'wecom', name: '值班群', url: `${rx.url}/cgi-bin/webhook/send?key=k1` }),
    );
    await n.send(group(), { signal });
    const body = rx.requests[0]?.json as { msgtype: string; markdown: { content: string } };
    expect(body.msgtype).toBe('markdown');
    expect(body.markdown.content).toContain(`### 【告警】${SCHOOL}：2 项告警`);
    expect(body.markdown.content).toContain(`<font color="warning">**1. 严重**</font> ${DEVICE} 离线`);
    expect(body.markdown.content).toContain('开始：2026-11-23 10:00（北京时间）');
    expect(rx.requests[0]?.url).toBe('/cgi-bin/webhook/send?key=k1');
  });

  it('dingtalk: signed URL (ms timestamp), markdown with title, success on errcode 0', async () => {
    const secret = 'SEC0123456789abcdef0123456789abcdef';
    const rx = await receiver(() => ({ status: 200, body: { errcode: 0, errmsg: 'ok' } }));
    const n = createNotifier(
      mustParse({ type: 'dingtalk', name: '钉钉值班', url: `${rx.url}/robot/send?access_token=tok`, secret }),
    );
    const before = Date.now();
    await n.send(group(), { signal });
    const req = rx.requests[0];
    const q = new URL(req?.url ?? '', 'http://x').searchParams;
    expect(q.get('access_token')).toBe('tok');
    const ts = q.get('timestamp') ?? '';
    expect(Number(ts)).toBeGreaterThanOrEqual(before);
    expect(Number(ts)).toBeLessThanOrEqual(Date.now());
    const expected = createHmac('sha256', secret).update(`${ts}\n${secret}`).digest('base64');
    expect(q.get('sign')).toBe(expected);
    expect(req?.url).toContain(`sign=${encodeURIComponent(expected)}`);
    const body = req?.json as { msgtype: string; markdown: { title: string; text: string } };
    expect(body.msgtype).toBe('markdown');
    expect(body.markdown.title).toBe(`【告警】${SCHOOL}：2 项告警`);
    expect(body.markdown.text).toContain(`**1. 严重** ${DEVICE} 离线`);
  });

  it('feishu: signed body (s timestamp), post in the channel language, success on code 0 or StatusCode 0', async () => {
    const secret = 'feishu-secret';
    const rx = await receiver((_r, n) => ({
      status: 200,
      body: n === 1 ? { code: 0, msg: 'success', data: {} } : { StatusCode: 0, StatusMessage: 'success' },
    }));
    const zh = createNotifier(
      mustParse({ type: 'feishu', name: '飞书值班', url: `${rx.url}/open-apis/bot/v2/hook/abc`, secret }),
    );
    const before = Math.floor(Date.now() / 1000);
    await zh.send(group(), { signal });
    const body = rx.requests[0]?.json as {
      timestamp: string;
      sign: string;
      msg_type: string;
      content: {
        post: {
          zh_cn: { title: string; content: Array<Array<{ tag: string; text: string; href?: string }>> };
        };
      };
    };
    expect(Number(body.timestamp)).toBeGreaterThanOrEqual(before);
    const expected = createHmac('sha256', `${body.timestamp}\n${secret}`).update('').digest('base64');
    expect(body.sign).toBe(expected);
    expect(body.msg_type).toBe('post');
    expect(body.content.post.zh_cn.title).toBe(`【告警】${SCHOOL}：2 项告警`);
    const lines = body.content.post.zh_cn.content.map((row) => row.map((e) => e.text).join(''));
    expect(lines).toContain(`1. [严重] ${DEVICE} 离线`);
    expect(body.content.post.zh_cn.content.at(-1)?.[0]).toMatchObject({ tag: 'a', text: '查看详情' });
    const en = createNotifier(
      mustParse({ type: 'feishu', name: 'lark', language: 'en', url: `${rx.url}/hook/x` }),
    );
    await en.send(group(), { signal }); // the older StatusCode answer counts as delivered too
    const enBody = rx.requests[1]?.json as {
      sign?: string;
      content: { post: Record<string, { title: string }> };
    };
    expect(enBody.sign).toBeUndefined();
    expect(enBody.content.post.en_us?.title).toBe(`[FIRING] ${SCHOOL}: 2 alerts`);
  });

  it('email: SMTP to a real server, zh-CN subject and bodies intact (UTF-8)', async () => {
    const smtp = await smtpReceiver();
    const n = createNotifier(
      mustParse({
        type: 'email',
        name: '邮件',
        host: '127.0.0.1',
        port: smtp.port,
        from: '"校园网监控" <campuswatch@example.edu.cn>',
        to: ['oncall@example.edu.cn', 'cio@example.edu.cn'],
      }),
    );
    await n.send(group(), { signal });
    const mail = await smtp.received;
    expect(mail.from).toBe('campuswatch@example.edu.cn');
    expect(mail.to).toEqual(['oncall@example.edu.cn', 'cio@example.edu.cn']);
    expect(mail.raw).toMatch(/^Subject: =\?UTF-8\?/im); // encoded, not raw 8-bit
    const parsed = parseMail(mail.raw);
    expect(parsed.contentType).toContain('multipart/alternative');
    expect(parsed.subject).toBe(`【告警】${SCHOOL}：2 项告警`);
    expect(parsed.text).toContain(`1. [严重] ${DEVICE} 离线`);
    expect(parsed.text).toContain('开始：2026-11-23 10:00（北京时间）');
    expect(parsed.html).toContain(`<strong>[严重]</strong> ${DEVICE} 离线`);
    expect(parsed.html).toContain('<meta charset="utf-8">');
  });
});

// ---------------------------------------------------------------- failures, retries, rate limit

describe('dispatch', () => {
  it('retries 500 and reports failures with the reason while the other channels deliver', async () => {
    const fail500 = await receiver(() => ({ status: 500, body: 'upstream broke' }));
    const ding = await receiver(() => ({
      status: 200,
      body: {
        errcode: 310000,
        errmsg: 'sign not match, more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]',
      },
    }));
    const fei = await receiver(() => ({
      status: 200,
      body: {
        code: 19021,
        msg: 'sign match fail or timestamp is not within one hour from current time',
        data: {},
      },
    }));
    const okHook = await receiver(() => ({ status: 200, body: 'ok' }));
    const okWecom = await receiver(() => ({ status: 200, body: { errcode: 0, errmsg: 'ok' } }));
    const smtp = await smtpReceiver();
    const channels = [
      createChannel(
        mustParse({ type: 'wecom', name: 'wecom-500', url: `${fail500.url}/send?key=SECRETKEY500` }),
      ),
      createChannel(
        mustParse({
          type: 'dingtalk',
          name: 'ding-sign',
          url: `${ding.url}/robot/send?access_token=SECRETTOKEN`,
          secret: 'SECxyz',
        }),
      ),
      createChannel(
        mustParse({ type: 'feishu', name: 'feishu-sign', url: `${fei.url}/hook/x`, secret: 'wrong' }),
      ),
      createChannel(mustParse({ type: 'webhook', name: 'hook-ok', url: `${okHook.url}/in` })),
      createChannel(mustParse({ type: 'wecom', name: 'wecom-ok', url: `${okWecom.url}/send?key=k` })),
      createChannel(
        mustParse({
          type: 'email',
          name: 'mail-ok',
          host: '127.0.0.1',
          port: smtp.port,
          from: 'a@b.cn',
          to: ['c@d.cn'],
        }),
      ),
    ];
    const stats = new ChannelStats();
    const log = captureLog();
    const delays: number[] = [];
    const out = await dispatchAll(channels, group(), {
      attempts: 3,
      baseDelayMs: 100,
      sleep: async (ms) => {
        delays.push(ms);
      },
      random: () => 0.5,
      stats,
      log,
    });
    const by = Object.fromEntries(out.map((o) => [o.channel, o]));
    expect(by['wecom-500']).toMatchObject({ ok: false, attempts: 3 });
    expect(fail500.requests).toHaveLength(3);
    // two retrying channels (WeCom 500, DingTalk 310000), each 100·2^(n−1), half fixed + half × random
    expect(delays.sort((a, b) => a - b)).toEqual([75, 75, 150, 150]);
    const reason = (name: string) => {
      const o = by[name];
      return o && !o.ok ? o.error.message : '';
    };
    expect(reason('wecom-500')).toMatch(/HTTP 500 upstream broke/);
    expect(by['ding-sign']).toMatchObject({ ok: false, attempts: 3 }); // retried, as the issue asks
    expect(reason('ding-sign')).toContain('errcode 310000 sign not match');
    expect(by['feishu-sign']).toMatchObject({ ok: false, attempts: 1 });
    expect(reason('feishu-sign')).toContain('code 19021 sign match fail');
    for (const ok of ['hook-ok', 'wecom-ok', 'mail-ok'])
      expect(by[ok]).toMatchObject({ ok: true, attempts: 1 });
    expect(okHook.requests).toHaveLength(1);
    expect(okWecom.requests).toHaveLength(1);
    expect(smtp.mails).toHaveLength(1);
    expect(stats.get('wecom-500')).toMatchObject({ sent: 0, failed: 1, retried: 2 });
    expect(stats.get('wecom-500').lastError).toMatch(/HTTP 500/);
    expect(stats.get('ding-sign')).toMatchObject({ failed: 1, retried: 2 });
    expect(stats.get('mail-ok')).toMatchObject({ sent: 1, failed: 0 });
    expect(stats.snapshot().map((s) => s.channel)).toEqual([
      'ding-sign',
      'feishu-sign',
      'hook-ok',
      'mail-ok',
      'wecom-500',
      'wecom-ok',
    ]);
    // Secrets and keyed URLs never reach the log or the reported reason.
    const logged = log.lines.join('\n');
    expect(logged).toContain('wecom-500');
    for (const s of ['SECRETKEY500', 'SECRETTOKEN', 'SECxyz', 'key=', 'access_token']) {
      expect(logged).not.toContain(s);
      expect(out.map((o) => (o.ok ? '' : o.error.message)).join()).not.toContain(s);
    }
  });

  it('a retryable failure followed by success counts as sent with one retry', async () => {
    const rx = await receiver((_r, n) =>
      n === 1
        ? { status: 200, body: { errcode: 45009, errmsg: 'api freq out of limit' } }
        : { status: 200, body: { errcode: 0, errmsg: 'ok' } },
    );
    const stats = new ChannelStats();
    const n = createNotifier(mustParse({ type: 'wecom', name: 'w', url: `${rx.url}/send?key=k` }));
    const out = await sendWithRetry(n, group(), { attempts: 3, sleep: instantSleep, stats });
    expect(out).toEqual({ ok: true, attempts: 2 });
    expect(stats.get('w')).toMatchObject({ sent: 1, retried: 1, failed: 0 });
  });

  it('a channel that does not answer times out (retryable) without holding up the others', async () => {
    const hang = await receiver(() => 'hang');
    const ok = await receiver(() => ({ status: 200, body: { errcode: 0 } }));
    const out = await dispatchAll(
      [
        createNotifier(
          mustParse({ type: 'dingtalk', name: 'slow', url: `${hang.url}/r?access_token=t`, timeoutMs: 150 }),
        ),
        createNotifier(mustParse({ type: 'dingtalk', name: 'fast', url: `${ok.url}/r?access_token=t` })),
      ],
      group(),
      { attempts: 2, sleep: instantSleep },
    );
    expect(out[1]).toMatchObject({ channel: 'fast', ok: true });
    const slow = out[0];
    expect(slow).toMatchObject({ channel: 'slow', ok: false, attempts: 2 });
    expect(slow && !slow.ok && slow.error.retryable).toBe(true);
    expect(slow && !slow.ok ? slow.error.message : '').toContain('no answer within 150 ms');
    expect(hang.requests).toHaveLength(2);
  });

  it('never throws: a notifier bug is reported as a failed, non-retried send', async () => {
    const out = await sendWithRetry(
      {
        type: 'webhook',
        name: 'buggy',
        language: 'en',
        send: async () => {
          throw new TypeError('boom');
        },
      },
      group(),
      { sleep: instantSleep },
    );
    expect(out).toMatchObject({ ok: false, attempts: 1 });
    expect(out.ok ? '' : out.error.message).toBe('unexpected TypeError from the notifier');
  });

  it('the rate limiter delays (not drops) the 21st WeCom message within a minute', async () => {
    let now = 0;
    const arrivals: number[] = [];
    const rx = await receiver(() => {
      arrivals.push(now);
      return { status: 200, body: { errcode: 0, errmsg: 'ok' } };
    });
    const fakeSleep: Sleep = async (ms) => {
      now += ms;
    };
    const ch = createChannel(mustParse({ type: 'wecom', name: 'w', url: `${rx.url}/send?key=k` }), {
      now: () => now,
      sleep: fakeSleep,
    });
    const stats = new ChannelStats();
    const outs = [];
    for (let i = 0; i < 21; i++)
      outs.push(await sendWithRetry(ch.notifier, group(), { limiter: ch.limiter, stats }));
    expect(outs.every((o) => o.ok)).toBe(true);
    expect(arrivals).toHaveLength(21);
    expect(arrivals.slice(0, 20).every((t) => t === 0)).toBe(true);
    expect(arrivals[20]).toBe(3000); // one token every 60 000 / 20 ms
    expect(stats.get('w')).toMatchObject({ sent: 21, delayed: 1 });
  });
});
