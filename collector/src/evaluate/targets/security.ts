/** 网络安全: no open critical/high finding (信息安全体系搭建行动; 等保 2.0, GB/T 22239-2019). */
import { type Static, Type } from 'typebox';
import { evaluateSecurity, nextAcceptanceEnd } from '../findings.js';
import { GoalPct, MaxAge } from './schema-parts.js';
import { evidenceTimes, maxAgeMs, noData, type TargetModule } from './target.js';

/** Its section of config/targets.yaml (`security`). */
export const SecuritySection = Type.Object(
  {
    maxOpenSeverity: Type.Enum(['none', 'low', 'medium'], {
      description: 'the highest severity an open finding may have for the school to meet the target',
    }),
    /**
     * Days a finding of each severity may stay open before its remediation is overdue (the term
     * report's security part); info findings have no deadline.
     */
    remediationDays: Type.Object(
      {
        critical: Type.Integer({ minimum: 1, maximum: 3650, default: 7 }),
        high: Type.Integer({ minimum: 1, maximum: 3650, default: 30 }),
        medium: Type.Integer({ minimum: 1, maximum: 3650, default: 90 }),
        low: Type.Integer({ minimum: 1, maximum: 3650, default: 180 }),
      },
      { additionalProperties: false, default: {} },
    ),
    districtGoalPct: Type.Optional(GoalPct),
    maxAge: MaxAge('3d'),
  },
  { additionalProperties: false },
);
declare module './config.js' {
  interface TargetSections {
    security: Static<typeof SecuritySection>;
  }
}

export const security: TargetModule = {
  name: 'security',
  label: { zh: '网络安全基线', en: 'Security baseline' },
  short: 'security',
  source: '常州 2019–2020 信息安全体系搭建行动；GB/T 22239-2019',
  section: 'security',
  sectionSchema: SecuritySection,
  goalKey: 'districtGoalPct',
  unit: { zh: '项', en: 'open' },
  criterion: (t) => {
    const max = t.security.maxOpenSeverity;
    if (max === 'none') return { zh: '无未整改的安全隐患', en: 'no open finding' };
    return {
      zh: `无高于${max === 'low' ? '低危' : '中危'}的未整改安全隐患`,
      en: `no open finding above ${max}`,
    };
  },
  evaluate(e, targets, now) {
    const maxAge = maxAgeMs(this, targets);
    const scans = e.latest.filter((r) => r.probe === 'security');
    const newest = scans.reduce<string | null>((m, r) => (m === null || r.at > m ? r.at : m), null);
    if (newest !== null && Date.parse(newest) < now.getTime() - maxAge)
      return noData(this.name, 0, 'security baseline scan', scans, maxAge);
    const times = evidenceTimes(newest === null ? [] : [newest], maxAge);
    // an accepted risk whose date passes counts as open again: the row is evaluated again then
    const acceptanceEnds = nextAcceptanceEnd(e.findings, now, e.school.timezone);
    return {
      ...evaluateSecurity(e.findings, e.latest, targets, now, e.school.timezone),
      ...times,
      expiresAt:
        acceptanceEnds !== null && (times.expiresAt === null || acceptanceEnds < times.expiresAt)
          ? acceptanceEnds
          : times.expiresAt,
    };
  },
};
