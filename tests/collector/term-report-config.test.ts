/**
 * Issue 26 item 1: the term calendar per district, next to the teaching-hours calendar it shares
 * (targets.yaml `deviceAvailability.teachingHours.terms`, a district's own under `districts:`).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { parseCollectorConfig } from '../../collector/src/config.js';
import { DEFAULT_TARGETS_FILE, parseTargets, termOf, termsOf } from '../../collector/src/targets.js';
import { errorOf } from '../helpers/config-error.js';

/** The shipped targets.yaml with these teaching hours (and districts) instead of its own. */
function targetsWith(
  teachingHours: Record<string, unknown>,
  districts: Record<string, unknown> = {},
): string {
  const base = parse(readFileSync(DEFAULT_TARGETS_FILE, 'utf8')) as Record<string, Record<string, unknown>>;
  base.deviceAvailability!.teachingHours = {
    days: ['mon', 'tue', 'wed', 'thu', 'fri'],
    start: '07:30',
    end: '17:30',
    ...teachingHours,
  };
  base.districts = districts;
  return stringify(base);
}

const T1 = { name: '2026-2027学年第一学期', from: '2026-09-01', to: '2027-01-22' };
const T2 = { name: '2026-2027学年第二学期', from: '2027-02-22', to: '2027-07-02' };

describe('terms in targets.yaml', () => {
  it('a district without its own calendar has the city terms; one with its own has its own', () => {
    const wj = { ...T1, to: '2027-01-29' };
    const t = parseTargets(
      targetsWith(
        { terms: [T2, T1, { from: '2027-07-03', to: '2027-07-10' }] },
        {
          武进区: {
            deviceAvailability: {
              teachingHours: {
                days: ['mon', 'tue', 'wed', 'thu', 'fri'],
                start: '08:00',
                end: '16:30',
                terms: [wj],
              },
            },
          },
        },
      ),
      'targets.yaml',
    );
    // named terms only, in calendar order (an unnamed term counts for teaching hours only)
    expect(termsOf(t, null)).toEqual([T1, T2]);
    expect(termsOf(t, '新北区')).toEqual([T1, T2]);
    expect(termsOf(t, '武进区')).toEqual([wj]);
    expect(termOf(t, '武进区', T1.name)?.to).toBe('2027-01-29');
    expect(termOf(t, '武进区', T2.name)).toBeUndefined();
  });

  it('a term that ends before it starts names its field', () => {
    const err = errorOf(() =>
      parseTargets(targetsWith({ terms: [T1, { ...T2, to: '2027-02-01' }] }), 'targets.yaml'),
    );
    expect(err.message).toBe(
      'targets.yaml: deviceAvailability.teachingHours.terms[1].to: must not be before from (2027-02-22)',
    );
  });

  it('two terms of one name, and overlapping terms, name the later one', () => {
    const err = errorOf(() =>
      parseTargets(
        targetsWith({ terms: [T1, { ...T2, name: T1.name }, { from: '2027-01-20', to: '2027-01-25' }] }),
        'targets.yaml',
      ),
    );
    expect(err.message.split('\n')).toEqual([
      `targets.yaml: deviceAvailability.teachingHours.terms[1].name: "${T1.name}" is already the name of terms[0]`,
      'targets.yaml: deviceAvailability.teachingHours.terms[2].from: overlaps terms[0] (2026-09-01 to 2027-01-22)',
    ]);
  });

  it("a district's own calendar is checked under its own path", () => {
    const err = errorOf(() =>
      parseTargets(
        targetsWith(
          { terms: [T1] },
          {
            武进区: {
              deviceAvailability: {
                teachingHours: {
                  days: ['mon'],
                  start: '08:00',
                  end: '16:30',
                  terms: [{ ...T1, from: '2027-02-01' }],
                },
              },
            },
          },
        ),
        'targets.yaml',
      ),
    );
    expect(err.message).toBe(
      'targets.yaml: districts.武进区.deviceAvailability.teachingHours.terms[0].to: must not be before from (2027-02-01)',
    );
  });

  it('a name with a slash, a bad day or an unknown key is refused by the schema, naming the field', () => {
    const err = errorOf(() =>
      parseTargets(
        targetsWith({
          terms: [
            { ...T1, name: '2026/2027 第一学期' },
            { ...T2, to: '2027-13-01' },
            { ...T2, end: 'x' },
          ],
        }),
        'targets.yaml',
      ),
    );
    const lines = err.message.split('\n');
    expect(
      lines.some((l) => l.startsWith('targets.yaml: deviceAvailability.teachingHours.terms[0].name: ')),
    ).toBe(true);
    expect(
      lines.some((l) => l.startsWith('targets.yaml: deviceAvailability.teachingHours.terms[1].to: ')),
    ).toBe(true);
    expect(lines).toContain('targets.yaml: deviceAvailability.teachingHours.terms[2].end: unknown key');
  });

  it('security.remediationDays has defaults and a district may change them', () => {
    const t = parseTargets(
      targetsWith(
        { terms: [T1] },
        { 武进区: { security: { remediationDays: { critical: 3, high: 14, medium: 60, low: 90 } } } },
      ),
    );
    expect(t.security.remediationDays).toEqual({ critical: 7, high: 30, medium: 90, low: 180 });
    expect(t.districts.武进区?.security?.remediationDays?.critical).toBe(3);
  });
});

describe('reports: in the collector config', () => {
  const mail = {
    name: '电教馆',
    type: 'email',
    host: '127.0.0.1',
    from: 'cw@example.edu.cn',
    to: ['a@example.edu.cn'],
  };
  it('defaults: snapshots at term end, 14 days of grace, no mail', () => {
    expect(parseCollectorConfig('', 'collector.yaml').reports).toEqual({
      snapshotAtTermEnd: true,
      snapshotGraceDays: 14,
      termMail: [],
    });
  });

  it('a mail names an e-mail channel of alerts.channels; another name is refused, naming the field', () => {
    const ok = parseCollectorConfig(
      JSON.stringify({
        alerts: { channels: [mail] },
        reports: { termMail: [{ channel: '电教馆', district: '武进区' }] },
      }),
      'collector.yaml',
    );
    expect(ok.reports.termMail).toEqual([
      { channel: '电教馆', district: '武进区', formats: ['pdf', 'xlsx'], lang: 'zh' },
    ]);
    const err = errorOf(() =>
      parseCollectorConfig(
        JSON.stringify({
          alerts: { channels: [mail, { name: 'hook', type: 'webhook', url: 'http://127.0.0.1:9/x' }] },
          reports: { termMail: [{ channel: 'hook' }] },
        }),
        'collector.yaml',
      ),
    );
    expect(err.message).toBe(
      'collector.yaml: reports.termMail[0].channel: no e-mail channel named "hook" in alerts.channels',
    );
    const format = errorOf(() =>
      parseCollectorConfig(
        JSON.stringify({
          alerts: { channels: [mail] },
          reports: { termMail: [{ channel: '电教馆', formats: ['docx'] }] },
        }),
        'collector.yaml',
      ),
    );
    expect(format.message).toMatch(/^collector\.yaml: reports\.termMail\[0\]\.formats\[0\]: /);
  });
});
