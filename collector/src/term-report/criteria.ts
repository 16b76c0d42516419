/** What a school had to show to meet each target, in words, from the targets as they applied (the snapshot's). */
import { TARGETS } from '../evaluate/targets/registry.js';
import type { AppliedTargets } from '../evaluate/targets/target.js';
import type { Lang } from './lang.js';

/** The target's own criterion (its module's); a target this version does not list (an older snapshot): none. */
export function criterionOf(target: string, t: AppliedTargets, lang: Lang): string {
  const m = TARGETS.find((x) => x.name === target);
  return m ? m.criterion(t)[lang] : '';
}
