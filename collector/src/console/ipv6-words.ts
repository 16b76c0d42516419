/**
 * The IPv6 readiness check in words a school's IT officer understands, zh-CN and en: each symptom the
 * agent reports (the exact phrases of its scoring, agent/src/probes/ipv6/score.ts `SYMPTOMS`) becomes what
 * it means for the school and what to look at; each check of the probe gets a plain name. Pure.
 *
 * The agent and the collector share no code but the protocol, so the phrases are matched here by their
 * wording; tests/console/ipv6-words.test.ts feeds the agent's own phrase builders through `ipv6Symptom`,
 * so a reworded symptom fails that test instead of showing up raw.
 */
import type { Ipv6Result } from '../../../protocol/report.js';
import type { Words } from './i18n.js';

export type Ipv6SymptomKind =
  | 'noGlobalAddress'
  | 'noDefaultRoute'
  | 'connectionsFail'
  | 'pathMtu'
  | 'resolverNotV6'
  | 'v6OnlyName'
  | 'noAaaa'
  | 'slow'
  | 'serviceNoAaaa'
  | 'serviceNotV6'
  | 'serviceDiffers'
  | 'serviceTlsV6'
  | 'serviceFails'
  | 'other';

export interface Ipv6Symptom {
  kind: Ipv6SymptomKind;
  /** The agent's phrase, as reported. */
  text: string;
  /** What it means and what to do, in each language. */
  words: Words;
}

type Rule = [RegExp, Ipv6SymptomKind, (m: RegExpExecArray) => Words];

const RULES: readonly Rule[] = [
  [
    /^no global IPv6 address$/,
    'noGlobalAddress',
    () => ({
      zh: '校园网还没有给设备分配 IPv6 地址，校内电脑不能使用 IPv6 上网。请在出口路由器或三层交换机上开启 IPv6（SLAAC 或 DHCPv6），或联系运营商开通 IPv6。',
      en: 'Devices on the school network get no IPv6 address, so computers cannot use IPv6 at all. Turn IPv6 on (SLAAC or DHCPv6) on the border router or layer-3 switch, or ask the provider to enable IPv6.',
    }),
  ],
  [
    /^no IPv6 default route$/,
    'noDefaultRoute',
    () => ({
      zh: '设备有 IPv6 地址，但没有 IPv6 默认路由，IPv6 流量出不了校园网。请检查出口路由器是否发送路由通告（RA），以及通往运营商的 IPv6 路由。',
      en: 'Devices have an IPv6 address but no IPv6 default route, so IPv6 traffic cannot leave the school. Check that the border router sends router advertisements (RA) and has an IPv6 route to the provider.',
    }),
  ],
  [
    /^IPv6 connections fail$/,
    'connectionsFail',
    () => ({
      zh: '通过 IPv6 连接外部网站失败，而 IPv4 正常：师生会遇到网页打开慢或打不开。请检查出口防火墙是否放行 IPv6，以及运营商的 IPv6 线路。',
      en: 'Connections to outside sites fail over IPv6 while IPv4 works: teachers and pupils will see pages load slowly or not at all. Check that the border firewall lets IPv6 through and that the provider’s IPv6 link works.',
    }),
  ],
  [
    /^large IPv6 responses do not arrive \(path MTU\)$/,
    'pathMtu',
    () => ({
      zh: '较大的 IPv6 数据包到不了（路径 MTU 问题）：网页可能加载到一半就卡住。请检查防火墙是否放行 ICMPv6 “Packet Too Big” 报文，以及隧道或 PPPoE 链路的 MTU 设置。',
      en: 'Large IPv6 packets do not arrive (a path MTU problem): pages may stall half-way. Check that the firewall lets ICMPv6 “Packet Too Big” through, and the MTU of any tunnel or PPPoE link.',
    }),
  ],
  [
    /^resolver not reachable over IPv6$/,
    'resolverNotV6',
    () => ({
      zh: '学校使用的 DNS 服务器不能通过 IPv6 访问：只支持 IPv6 的设备将无法解析域名。请给 DNS 服务器配置 IPv6 地址，或通过 RA/DHCPv6 下发可用的 IPv6 DNS。',
      en: 'The school’s DNS server cannot be reached over IPv6: IPv6-only devices will not be able to look up names. Give the DNS server an IPv6 address, or hand out a working IPv6 DNS server through RA/DHCPv6.',
    }),
  ],
  [
    /^IPv6-only name does not resolve$/,
    'v6OnlyName',
    () => ({
      zh: '只有 IPv6 地址的域名解析不出来：学校的 DNS 服务器不返回 IPv6 记录（AAAA）。请升级或更换 DNS 服务器，或改用上级教育网的 DNS。',
      en: 'A name that has only an IPv6 address does not resolve: the school’s DNS server does not return IPv6 records (AAAA). Upgrade or replace the DNS server, or use the education network’s DNS.',
    }),
  ],
  [
    /^resolver returns no AAAA for (.+)$/,
    'noAaaa',
    (m) => ({
      zh: `DNS 服务器没有返回 ${m[1]} 的 IPv6 地址（AAAA 记录），访问它只能走 IPv4。请检查学校的 DNS 或上网行为管理设备是否过滤了 AAAA 记录。`,
      en: `The DNS server returns no IPv6 address (AAAA record) for ${m[1]}, so it is reached over IPv4 only. Check whether the school’s DNS server or web filter drops AAAA records.`,
    }),
  ],
  [
    /^IPv6 slower than IPv4 \(ratio (-?[\d.]+)\)$/,
    'slow',
    (m) => {
      const pct = Math.round(Number(m[1]) * 100);
      return {
        zh: `IPv6 比 IPv4 慢约 ${pct}%，师生可能觉得网页变慢。请检查 IPv6 线路的带宽和路由，必要时咨询运营商。`,
        en: `IPv6 is about ${pct}% slower than IPv4; pages may feel slow. Check the bandwidth and routing of the IPv6 link, and ask the provider if needed.`,
      };
    },
  ],
  [
    /^service (.+) has no AAAA$/,
    'serviceNoAaaa',
    (m) => ({
      zh: `学校服务“${m[1]}”没有 IPv6 地址（域名缺少 AAAA 记录），只能通过 IPv4 访问。请给该服务器配置 IPv6 地址，并在 DNS 中添加 AAAA 记录。`,
      en: `The school service “${m[1]}” has no IPv6 address (no AAAA record), so it is reachable over IPv4 only. Give its server an IPv6 address and add an AAAA record in DNS.`,
    }),
  ],
  [
    /^service (.+) not reachable over IPv6$/,
    'serviceNotV6',
    (m) => ({
      zh: `学校服务“${m[1]}”通过 IPv6 打不开（IPv4 正常）。请检查该服务器的 IPv6 地址、防火墙，以及网站是否监听了 IPv6。`,
      en: `The school service “${m[1]}” does not open over IPv6 (IPv4 works). Check the server’s IPv6 address, its firewall, and that the web server listens on IPv6.`,
    }),
  ],
  [
    /^service (.+) differs over IPv4 and IPv6$/,
    'serviceDiffers',
    (m) => ({
      zh: `学校服务“${m[1]}”通过 IPv4 和 IPv6 打开的内容不一样，IPv6 可能指向了旧服务器或错误页面。请核对 DNS 中 A 和 AAAA 记录是否指向同一台服务器。`,
      en: `The school service “${m[1]}” shows different content over IPv4 and IPv6; IPv6 may point at an old server or an error page. Check that its A and AAAA records point at the same server.`,
    }),
  ],
  [
    /^service (.+) TLS invalid over IPv6$/,
    'serviceTlsV6',
    (m) => ({
      zh: `学校服务“${m[1]}”通过 IPv6 访问时证书无效（IPv4 正常），浏览器会提示不安全。请在 IPv6 地址对应的服务器上安装正确的证书。`,
      en: `The school service “${m[1]}” has an invalid certificate over IPv6 (IPv4 is fine), so browsers warn. Install the right certificate on the server behind its IPv6 address.`,
    }),
  ],
  [
    // the collector's own line (evaluate/ipv6.ts) for a failing service the agent's symptoms do not name
    /^service (.+) fails over IPv6$/,
    'serviceFails',
    (m) => ({
      zh: `学校服务“${m[1]}”的 IPv6 检查未通过。请检查该服务的 IPv6 地址、DNS 记录和证书。`,
      en: `The school service “${m[1]}” fails its IPv6 check. Check its IPv6 address, DNS records and certificate.`,
    }),
  ],
];

/** One symptom phrase in words; a phrase this version does not know is shown as reported. */
export function ipv6Symptom(text: string): Ipv6Symptom {
  for (const [re, kind, words] of RULES) {
    const m = re.exec(text);
    if (m) return { kind, text, words: words(m) };
  }
  return { kind: 'other', text, words: { zh: `其他问题：${text}`, en: `Other problem: ${text}` } };
}

/** The probe's checks by plain names (the `check` of an IPv6 result). */
export const IPV6_CHECK_WORDS: Readonly<Record<Ipv6Result['check'], Words>> = {
  'host-address': { zh: '本机 IPv6 地址', en: 'IPv6 address of the agent host' },
  'default-route': { zh: 'IPv6 默认路由', en: 'IPv6 default route' },
  'dns-aaaa': { zh: 'DNS 返回 IPv6 地址（AAAA）', en: 'DNS answers IPv6 addresses (AAAA)' },
  'dns-resolver-v6': { zh: '通过 IPv6 访问 DNS 服务器', en: 'DNS server reachable over IPv6' },
  'dns-v6-only': { zh: '解析只有 IPv6 的域名', en: 'An IPv6-only name resolves' },
  'tcp-v6': { zh: 'IPv6 连接', en: 'IPv6 connection' },
  'tcp-v4': { zh: 'IPv4 连接', en: 'IPv4 connection' },
  'http-v6': { zh: '通过 IPv6 打开网页', en: 'Web page over IPv6' },
  'http-v4': { zh: '通过 IPv4 打开网页', en: 'Web page over IPv4' },
  'dual-stack': { zh: '双栈时优先使用的协议', en: 'Protocol chosen on dual stack' },
  pmtu: { zh: '大数据包（路径 MTU）', en: 'Large packets (path MTU)' },
  service: { zh: '学校服务', en: 'School service' },
  score: { zh: '评分', en: 'Score' },
};

/** How a check ended, in words: passed, failed, or could not be checked (a row with `error`). */
export function ipv6CheckOutcome(r: Pick<Ipv6Result, 'ok' | 'error'>): {
  state: 'ok' | 'down' | 'unknown';
  words: Words;
} {
  if (r.error !== undefined)
    return { state: 'unknown', words: { zh: '未能检测', en: 'could not be checked' } };
  if (r.ok) return { state: 'ok', words: { zh: '正常', en: 'passed' } };
  return { state: 'down', words: { zh: '未通过', en: 'failed' } };
}
