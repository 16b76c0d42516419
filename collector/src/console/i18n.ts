/**
 * The console's two languages: zh-CN by default, English by choice (`?lang=en`, remembered in the `cw_lang`
 * cookie). Each page keeps its own words next to it as `{ zh, en }` pairs; the shared ones are here.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { zonedDateTime } from '../../../protocol/zoned-time.js';

export type Lang = 'zh' | 'en';
export interface Words {
  zh: string;
  en: string;
}

export const LANG_COOKIE = 'cw_lang';

/** The language of a request: `?lang=` (then remembered), else the cookie, else zh. */
export function langOf(req: FastifyRequest, reply: FastifyReply): Lang {
  const asked = (req.query as Record<string, unknown> | undefined)?.lang;
  if (asked === 'en' || asked === 'zh') {
    reply.setCookie(LANG_COOKIE, asked, { path: '/', sameSite: 'lax', maxAge: 365 * 86400, httpOnly: true });
    return asked;
  }
  return req.cookies?.[LANG_COOKIE] === 'en' ? 'en' : 'zh';
}

export const tr = (lang: Lang, w: Words): string => w[lang];

/** Words every page uses. */
export const W = {
  overview: { zh: '总览', en: 'Overview' },
  school: { zh: '学校', en: 'School' },
  findings: { zh: '安全', en: 'Security' },
  alerts: { zh: '告警', en: 'Alerts' },
  fleet: { zh: '终端', en: 'Agents' },
  wall: { zh: '大屏', en: 'Wall display' },
  logout: { zh: '退出', en: 'Sign out' },
  login: { zh: '登录', en: 'Sign in' },
  met: { zh: '达标', en: 'met' },
  not_met: { zh: '未达标', en: 'not met' },
  no_data: { zh: '未监测', en: 'unmonitored' },
  schools: { zh: '学校数', en: 'Schools' },
  goal: { zh: '目标', en: 'Goal' },
  value: { zh: '当前值', en: 'Value' },
  state: { zh: '状态', en: 'State' },
  since: { zh: '起始', en: 'Since' },
  district: { zh: '区县', en: 'District' },
  group: { zh: '教育集团', en: 'Education group' },
  area: { zh: '城乡', en: 'Urban/rural' },
  urban: { zh: '城区', en: 'urban' },
  rural: { zh: '农村', en: 'rural' },
  stage: { zh: '学段', en: 'Stage' },
  all: { zh: '全部', en: 'all' },
  filter: { zh: '筛选', en: 'Filter' },
  none: { zh: '无', en: 'none' },
  notFound: { zh: '未找到', en: 'Not found' },
  forbidden: { zh: '无权访问', en: 'Not allowed' },
  critical: { zh: '严重', en: 'critical' },
  high: { zh: '高', en: 'high' },
  medium: { zh: '中', en: 'medium' },
  low: { zh: '低', en: 'low' },
  info: { zh: '提示', en: 'info' },
  reporting: { zh: '在线', en: 'reporting' },
  silent: { zh: '失联', en: 'silent' },
  never_reported: { zh: '从未上报', en: 'never reported' },
} as const satisfies Record<string, Words>;

export const STAGES: Record<string, Words> = {
  primary: { zh: '小学', en: 'primary' },
  junior: { zh: '初中', en: 'junior secondary' },
  senior: { zh: '高中', en: 'senior secondary' },
  'nine-year': { zh: '九年一贯制', en: 'nine-year' },
  'twelve-year': { zh: '十二年一贯制', en: 'twelve-year' },
};

const TIME_FORMAT: Record<Lang, string> = { zh: 'zh-CN', en: 'en-GB' };

/** `2026-12-06 14:03` in the given time zone (Beijing time by default): people read local time. */
export function localDateTime(iso: string | null | undefined, timeZone = 'Asia/Shanghai'): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  return zonedDateTime(d, timeZone);
}

/** How long ago, in words: `5 分钟前` / `5 min ago`; `—` for none. */
export function ago(lang: Lang, iso: string | null | undefined, now: Date): string {
  if (!iso) return '—';
  const s = Math.max(0, Math.round((now.getTime() - Date.parse(iso)) / 1000));
  const [n, unit] =
    s < 90
      ? [s, { zh: '秒', en: 's' }]
      : s < 5400
        ? [Math.round(s / 60), { zh: '分钟', en: 'min' }]
        : s < 172_800
          ? [Math.round(s / 3600), { zh: '小时', en: 'h' }]
          : [Math.round(s / 86400), { zh: '天', en: 'd' }];
  return lang === 'zh' ? `${n} ${unit.zh}前` : `${n} ${unit.en} ago`;
}

/** A number as people of the language write it (grouping), or `—`. */
export function num(lang: Lang, v: number | null | undefined, digits = 0): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  return v.toLocaleString(TIME_FORMAT[lang], { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}
