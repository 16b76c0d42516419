/** 校校通: "校园网络校校通" (Changzhou 2019–2020): the school is connected and monitored — its agent reports. */
import { type Static, Type } from 'typebox';
import { MaxAge } from './schema-parts.js';
import { ageText, maxAgeMs, type TargetModule } from './target.js';

/** Its section of config/targets.yaml (`connected`). */
export const ConnectedSection = Type.Object(
  {
    /** % of registered schools whose agent reports (校校通). */
    districtGoalPct: Type.Number({ minimum: 0, maximum: 100, default: 100 }),
    /** A school counts as connected while an agent of its reported within this time. */
    maxAge: MaxAge('15m'),
  },
  { additionalProperties: false, default: {} },
);
declare module './config.js' {
  interface TargetSections {
    connected: Static<typeof ConnectedSection>;
  }
}

export const schoolConnected: TargetModule = {
  name: 'school_connected',
  label: { zh: '校校通（探针在线）', en: 'School connected (agent reports)' },
  short: 'connected',
  source: '常州 2019–2020：校园网络校校通',
  section: 'connected',
  sectionSchema: ConnectedSection,
  goalKey: 'districtGoalPct',
  unit: { zh: '台', en: 'agents' },
  criterion: (t) => ({
    zh: `探针在 ${t.connected.maxAge} 内上报`,
    en: `an agent reported within ${t.connected.maxAge}`,
  }),
  evaluate(e, targets, now) {
    const maxAge = maxAgeMs(this, targets);
    const seen = e.agents.map((a) => a.lastSeenAt).filter((t): t is string => t !== null);
    const last = seen.reduce<string | null>((m, t) => (m === null || t > m ? t : m), null);
    const base = { target: this.name, goal: 1 };
    if (last !== null && Date.parse(last) >= now.getTime() - maxAge) {
      const reporting = seen.filter((t) => Date.parse(t) >= now.getTime() - maxAge).length;
      return {
        ...base,
        state: 'met',
        value: reporting,
        reason: `${reporting} of ${e.agents.length} agent(s) reported in the last ${ageText(maxAge)}`,
        evidenceAt: last,
        expiresAt: new Date(Date.parse(last) + maxAge).toISOString(),
      };
    }
    const reason =
      e.agents.length === 0
        ? 'no agent enrolled: the school is not connected to monitoring'
        : last === null
          ? `${e.agents.length} agent(s) enrolled, none has ever reported`
          : `no agent reported in the last ${ageText(maxAge)} (last at ${last})`;
    return { ...base, state: 'not_met', value: 0, reason, evidenceAt: last, expiresAt: null };
  },
};
