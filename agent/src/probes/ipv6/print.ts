// How `campuswatch-agent probe ipv6` shows one result: a failed check with what to ask for (IPv6) or to check
// (IPv4); the score row becomes notes after the summary (both scores and the symptoms), and a line too when the
// scoring itself failed.
import type { Ipv6Result } from '../../../../protocol/report.js';
import { type Lang, type ReportLine, type ResultPrinter, type Text, t } from '../print.js';

const HINTS = {
  ipv4: {
    en: 'this target does not answer over IPv4 either: check its address in agent.yaml and the network path to it',
    zh: '该目标通过 IPv4 也无法访问：请核对 agent.yaml 中的地址以及到该目标的网络',
  },
  ipv6: {
    en: 'ask the network provider or the district for IPv6 on this network, then check the router and DNS settings',
    zh: '请向运营商或区教育网申请本网络的 IPv6，并检查路由器和 DNS 设置',
  },
} as const satisfies Record<string, Text>;

function ipv6Line(r: Ipv6Result, lang: Lang): ReportLine {
  const subject = `${r.check}${r.service ? ` ${r.service}` : ''}`;
  const evidence = r.detail ?? r.error ?? r.outcome;
  if (r.ok && r.outcome === 'ok') return { problem: false, text: `ok       ${subject}: ${evidence}` };
  return {
    problem: true,
    text: `FAILED   ${subject} (${r.target}): ${evidence}${r.error && r.error !== evidence ? ` (${r.error})` : ''} → ${t(lang, r.family === 4 || r.check.endsWith('-v4') ? HINTS.ipv4 : HINTS.ipv6)}`,
  };
}

export const printIpv6: ResultPrinter<Ipv6Result> = (r, lang, out) => {
  if (r.check === 'score') {
    out.notes.push(
      `IPv6 score ${r.scoreV6 ?? '-'}/10, IPv4-drop score ${r.scoreV4only ?? '-'}/10${(r.symptoms ?? []).length > 0 ? ':' : ''}`,
      ...(r.symptoms ?? []).map((s) => `  - ${s}`),
    );
    if (r.outcome !== 'ok') out.lines.push(ipv6Line(r, lang));
  } else out.lines.push(ipv6Line(r, lang));
};
