/** A school's evidence as the state store holds it (all its agents' latest results), for the pure evaluation. */
import type { ProbeResult } from '../../../protocol/report.js';
import type { School } from '../../../protocol/school.js';
import { windowStartDay } from '../evaluate/availability.js';
import type { SchoolEvidence } from '../evaluate/compliance.js';
import { answersNow, roomKey, roomsOf } from '../evaluate/targets/rooms.js';
import type { StateStore } from '../store/state.js';
import type { TargetsConfig } from '../targets.js';

/** Rooms (`type|name`) of these results whose devices answer: what a report adds to `answeredRooms`. */
export function answeredRoomsOf(results: readonly ProbeResult[]): string[] {
  return roomsOf(results)
    .filter(answersNow)
    .map((r) => roomKey(r.type, r.name));
}

/** Everything the targets of a school are judged on at `now`, read from the store. */
export async function gatherEvidence(
  state: StateStore,
  targets: TargetsConfig,
  school: School,
  now: Date,
): Promise<SchoolEvidence> {
  const [[latest, maintenance], speedtests, availability, findings, answeredRooms, agents] =
    await Promise.all([
      // the maintenance windows the latest results may have been taken in: not ended by the oldest
      state.latestResults(school.id).then(async (latest) => {
        const oldest = latest.reduce((m, r) => (r.at < m ? r.at : m), now.toISOString());
        const windows = await state.maintenanceWindows({
          schoolId: school.id,
          endingAfter: new Date(oldest),
        });
        return [latest, windows] as const;
      }),
      state.history(school.id, 'bandwidth'),
      state.availability(school.id, windowStartDay(now, school, targets)),
      state.findings(school.id),
      state.answeredRooms(school.id),
      state.listAgents(school.id),
    ]);
  return { school, latest, speedtests, availability, findings, answeredRooms, agents, maintenance };
}
