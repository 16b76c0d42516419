/** 万兆主干、千兆到桌面 (Changzhou 2019–2020): core ports ≥ 10 Gbps, access ports ≥ 1 Gbps (SNMP ifHighSpeed). */
import { type Static, Type } from 'typebox';
import { evaluateBackbone } from '../uplink.js';
import { GoalPct, MaxAge, Mbps } from './schema-parts.js';
import { evidenceTimes, fresh, maxAgeMs, noData, type TargetModule } from './target.js';

/** Its section of config/targets.yaml (`backbone`). */
export const BackboneSection = Type.Object(
  {
    coreMinMbps: Mbps,
    accessMinMbps: Mbps,
    maxAge: MaxAge('2h'),
    districtGoalPct: Type.Optional(GoalPct),
  },
  { additionalProperties: false },
);
declare module './config.js' {
  interface TargetSections {
    backbone: Static<typeof BackboneSection>;
  }
}

export const backbone: TargetModule = {
  name: 'backbone',
  label: { zh: '万兆主干千兆到桌面', en: 'Backbone and desktop links' },
  short: 'backbone',
  source: '常州 2019–2020：万兆主干、千兆到桌面',
  section: 'backbone',
  sectionSchema: BackboneSection,
  goalKey: 'districtGoalPct',
  unit: { zh: 'Mbps', en: 'Mbps' },
  criterion: (t) => ({
    zh: `核心端口 ≥ ${t.backbone.coreMinMbps}、接入端口 ≥ ${t.backbone.accessMinMbps} Mbit/s`,
    en: `core ports ≥ ${t.backbone.coreMinMbps}, access ports ≥ ${t.backbone.accessMinMbps} Mbit/s`,
  }),
  evaluate(e, targets, now) {
    const maxAge = maxAgeMs(this, targets);
    const ports = e.latest.filter((r) => r.probe === 'uplink-snmp' && r.role !== 'uplink');
    const current = fresh(ports, maxAge, now);
    if (current.length === 0 && ports.length > 0)
      return noData(this.name, targets.backbone.coreMinMbps, 'SNMP port speeds', ports, maxAge);
    return {
      ...evaluateBackbone(current, targets),
      ...evidenceTimes(
        current.map((r) => r.at),
        maxAge,
      ),
    };
  },
};
