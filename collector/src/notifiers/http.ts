import { request } from 'undici';
import { NotifyError } from './notifier.js';

/**
 * A webhook URL carries its credential (WeCom `?key=`, DingTalk `?access_token=`, Feishu `/hook/<token>`),
 * so it is never logged or put in an error whole: the query is replaced by `?***` and long token-like path
 * segments by `***`.
 */
export function maskUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return '<invalid url>';
  }
  const path = u.pathname
    .split('/')
    .map((seg) => (/^[A-Za-z0-9_-]{16,}$/.test(seg) ? '***' : seg))
    .join('/');
  return `${u.protocol}//${u.host}${path}${u.search ? '?***' : ''}`;
}

/** Statuses worth another try: the peer is overloaded, throttling or briefly away. */
export function retryableStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408;
}

export interface HttpResponse {
  status: number;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

export interface PostOptions {
  headers?: Record<string, string>;
  timeoutMs: number;
  signal: AbortSignal;
  /** The channel, for messages: `wecom "值班群"`. */
  label: string;
}

const MAX_RESPONSE_CHARS = 64 * 1024;

/**
 * POSTs a body and reads the answer. Network errors and the channel's own timeout are retryable
 * NotifyErrors; a cancel by the caller (ctx.signal) is not. The status is returned, not judged.
 */
export async function postBody(url: string, body: string, opts: PostOptions): Promise<HttpResponse> {
  const timeout = AbortSignal.timeout(opts.timeoutMs);
  const signal = AbortSignal.any([opts.signal, timeout]);
  const where = `${opts.label} (${maskUrl(url)})`;
  try {
    const res = await request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8', ...opts.headers },
      body,
      signal,
    });
    const text = (await res.body.text()).slice(0, MAX_RESPONSE_CHARS);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.statusCode, text, json };
  } catch (err) {
    if (opts.signal.aborted) throw new NotifyError(`${where}: cancelled`, false, { cause: err });
    if (timeout.aborted) {
      throw new NotifyError(`${where}: no answer within ${opts.timeoutMs} ms`, true, { cause: err });
    }
    const code = (err as { code?: unknown }).code;
    throw new NotifyError(`${where}: network error${typeof code === 'string' ? ` ${code}` : ''}`, true, {
      cause: err,
    });
  }
}

/** A short, log-safe excerpt of a response body. */
export function excerpt(text: string, max = 200): string {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max)}…` : one;
}

/** Reads a numeric field such as `errcode` / `code` from a JSON answer. */
export function numberField(json: unknown, ...names: string[]): number | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  for (const n of names) {
    const v = (json as Record<string, unknown>)[n];
    if (typeof v === 'number') return v;
    if (typeof v === 'string' && /^-?\d+$/.test(v)) return Number(v);
  }
  return undefined;
}

export function stringField(json: unknown, ...names: string[]): string | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  for (const n of names) {
    const v = (json as Record<string, unknown>)[n];
    if (typeof v === 'string') return v;
  }
  return undefined;
}

/** Throws the NotifyError for a non-2xx answer. */
export function checkStatus(res: HttpResponse, label: string, url: string): void {
  if (res.status >= 200 && res.status < 300) return;
  throw new NotifyError(
    `${label} (${maskUrl(url)}): HTTP ${res.status}${res.text ? ` ${excerpt(res.text)}` : ''}`,
    retryableStatus(res.status),
  );
}

export interface RobotAnswerRules {
  /** Field names of the result code, in order of preference (`errcode`; `code`, `StatusCode`). */
  codeFields: string[];
  messageFields: string[];
  /** Codes that mean "try again later" (busy, throttled). */
  retryable: ReadonlySet<number>;
  /** WeCom: only HTTP 200 counts, not any 2xx. */
  require200?: boolean;
}

/**
 * Judges a chat robot's answer: 5xx/429/408 are retryable; otherwise the JSON result code decides
 * (0 = delivered), whatever the HTTP status, so `HTTP 400 {"code":19021}` reports the code.
 */
export function checkRobotAnswer(
  res: HttpResponse,
  label: string,
  url: string,
  rules: RobotAnswerRules,
): void {
  const where = `${label} (${maskUrl(url)})`;
  if (retryableStatus(res.status)) checkStatus(res, label, url);
  const code = numberField(res.json, ...rules.codeFields);
  if (code === undefined) {
    checkStatus(res, label, url);
    throw new NotifyError(`${where}: answer without ${rules.codeFields[0]}: ${excerpt(res.text)}`, false);
  }
  const ok2xx = rules.require200 ? res.status === 200 : res.status >= 200 && res.status < 300;
  if (code === 0 && ok2xx) return;
  const msg = stringField(res.json, ...rules.messageFields) ?? '';
  const status = ok2xx ? '' : `HTTP ${res.status}, `;
  throw new NotifyError(
    `${where}: ${status}${rules.codeFields[0]} ${code}${msg ? ` ${excerpt(msg)}` : ''}`,
    code !== 0 && rules.retryable.has(code),
  );
}
