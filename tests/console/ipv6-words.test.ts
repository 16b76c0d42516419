/**
 * The IPv6 check in words (console/ipv6-words.ts): every phrase the agent's scoring can report, built by
 * the agent's own phrase builders, becomes a sentence in each language; a reworded phrase fails here.
 */
import { describe, expect, it } from 'vitest';
import { SYMPTOMS, type SymptomKind } from '../../agent/src/probes/ipv6/score.js';
import { ipv6CheckOutcome, ipv6Symptom } from '../../collector/src/console/ipv6-words.js';

const HAN = /\p{Script=Han}/u;

describe('IPv6 symptoms in words', () => {
  // every kind the agent scores, with the phrase its builder makes (a service or host name where it takes one)
  const phrases: [SymptomKind, string][] = (Object.keys(SYMPTOMS) as SymptomKind[]).map((kind) => {
    const build = SYMPTOMS[kind] as string | ((x: never) => string);
    if (typeof build === 'string') return [kind, build];
    const arg = kind === 'slow' ? 0.75 : kind === 'noAaaa' ? 'www.edu.cn' : '学校官网';
    return [kind, (build as (x: string | number) => string)(arg)];
  });

  it.each(phrases)('%s: a sentence in each language, naming what the phrase names', (kind, text) => {
    const s = ipv6Symptom(text);
    expect(s.kind).toBe(kind);
    expect(s.text).toBe(text);
    expect(s.words.zh).toMatch(HAN);
    expect(s.words.zh).not.toContain(text); // said in Chinese, not the agent's English phrase
    expect(s.words.en).not.toBe(text);
    if (text.includes('学校官网')) {
      expect(s.words.zh).toContain('学校官网');
      expect(s.words.en).toContain('学校官网');
    }
    if (kind === 'noAaaa') expect(s.words.zh).toContain('www.edu.cn');
  });

  it('says how much slower IPv6 is as a percentage', () => {
    expect(ipv6Symptom(SYMPTOMS.slow(0.75)).words).toMatchObject({
      zh: expect.stringContaining('慢约 75%'),
      en: expect.stringContaining('about 75% slower'),
    });
  });

  it('a service name with spaces and the collector’s own line for a failing service', () => {
    expect(ipv6Symptom(SYMPTOMS.serviceNotV6('OA 系统 (内网)')).words.zh).toContain('“OA 系统 (内网)”');
    expect(ipv6Symptom('service 教务 fails over IPv6')).toMatchObject({
      kind: 'serviceFails',
      words: { zh: expect.stringContaining('教务') },
    });
  });

  it('a phrase this version does not know is shown as reported', () => {
    expect(ipv6Symptom('IPv6 smells funny')).toEqual({
      kind: 'other',
      text: 'IPv6 smells funny',
      words: { zh: '其他问题：IPv6 smells funny', en: 'Other problem: IPv6 smells funny' },
    });
  });

  it('a check passed, failed, or could not be checked', () => {
    expect(ipv6CheckOutcome({ ok: true }).state).toBe('ok');
    expect(ipv6CheckOutcome({ ok: false }).state).toBe('down');
    expect(ipv6CheckOutcome({ ok: false, error: 'no AAAA to connect to' })).toEqual({
      state: 'unknown',
      words: { zh: '未能检测', en: 'could not be checked' },
    });
  });
});
