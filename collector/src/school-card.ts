/** A school as the console's ranking and the term snapshots show it: who it is and what kind of school. */
import type { Area, School, Stage } from '../../protocol/school.js';

export interface SchoolCard {
  id: string;
  name: string;
  district: string | null;
  group: string | null;
  area: Area | null;
  stage: Stage | null;
}

/** The card of a school record (absent fields are null, so that JSON keeps them). */
export function schoolCard(school: School): SchoolCard {
  return {
    id: school.id,
    name: school.name,
    district: school.district ?? null,
    group: school.group ?? null,
    area: school.area ?? null,
    stage: school.stage ?? null,
  };
}
