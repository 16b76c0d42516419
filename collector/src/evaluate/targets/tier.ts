import type { School } from '../../../../protocol/school.js';
import type { TargetsConfig } from './config.js';

export type Tier = 'small' | 'medium' | 'large';

/** The school's size tier: as configured, else from its pupil count by the targets' thresholds, else the default. */
export function tierOf(school: Pick<School, 'tier' | 'pupils'>, targets: TargetsConfig): Tier {
  if (school.tier) return school.tier;
  if (school.pupils === undefined) return targets.uplink.defaultTier;
  if (school.pupils <= targets.uplink.tiers.small.maxPupils) return 'small';
  if (school.pupils <= targets.uplink.tiers.medium.maxPupils) return 'medium';
  return 'large';
}
