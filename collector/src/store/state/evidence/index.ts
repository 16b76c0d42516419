/**
 * What the reports showed beyond their latest results, kept as evidence per school: critical-device
 * availability in teaching hours (tables `availability_days`, `device_availability_days`), rooms down
 * (`room_down`), rooms that ever answered (`rooms_answered`) and security findings with the risks people
 * accepted (`findings`).
 */
import { type Acceptance, type FindingRecord, withAcceptance } from '../../../evaluate/findings.js';
import type { CompleteIngest } from '../journal/index.js';

export interface RoomDown {
  room: string;
  roomType: string;
  since: string;
  detail: string;
}

/** A finding's identity within its school. */
export type FindingKey = { rule: string; target: string; port: number };

/** Availability, rooms and findings of a school. */
export interface EvidenceStore {
  /**
   * Security findings, all schools (ordered by school, rule, target, port) or one (by rule, target, port),
   * each with the risk a person accepted laid over it (`withAcceptance`).
   */
  findings(schoolId?: string): Promise<FindingRecord[]>;
  /**
   * Keeps a risk accepted by a person beside a finding, or withdraws it (null), in one statement: reports
   * write the finding but never this, so an acceptance made while a report is being stored is not lost.
   * Returns the finding as it reads from now on; undefined when the school has no such finding.
   */
  setAcceptance(
    schoolId: string,
    finding: FindingKey,
    acceptance: Acceptance | null,
  ): Promise<FindingRecord | undefined>;
  /** Critical-device samples in teaching hours since a local day (inclusive). */
  availability(schoolId: string, sinceDay: string): Promise<{ up: number; total: number }>;
  /** The same samples per device since a local day (inclusive), ordered by device. */
  deviceAvailability(
    schoolId: string,
    sinceDay: string,
  ): Promise<{ device: string; up: number; total: number }[]>;
  /** Rooms down in teaching hours, ordered by since. */
  roomsDown(schoolId: string): Promise<RoomDown[]>;
  /** Rooms (`type|name`) of a school whose devices have answered at least once. */
  answeredRooms(schoolId: string): Promise<Set<string>>;
}

/** A report's critical-device samples summed per local day (the stores keep one row per school and day). */
export function samplesPerDay(
  samples: CompleteIngest['availability'],
): { day: string; up: number; total: number }[] {
  const days = new Map<string, { day: string; up: number; total: number }>();
  for (const s of samples ?? []) {
    let d = days.get(s.day);
    if (!d) {
      d = { day: s.day, up: 0, total: 0 };
      days.set(s.day, d);
    }
    if (s.up) d.up++;
    d.total++;
  }
  return [...days.values()].sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
}

/** A report's critical-device samples summed per device and local day, ordered by day and device. */
export function samplesPerDeviceDay(
  samples: CompleteIngest['availability'],
): { day: string; device: string; up: number; total: number }[] {
  const rows = new Map<string, { day: string; device: string; up: number; total: number }>();
  for (const s of samples ?? []) {
    const key = `${s.day}\u0000${s.device}`;
    let r = rows.get(key);
    if (!r) {
      r = { day: s.day, device: s.device, up: 0, total: 0 };
      rows.set(key, r);
    }
    if (s.up) r.up++;
    r.total++;
  }
  const order = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...rows.values()].sort((a, b) => order(a.day, b.day) || order(a.device, b.device));
}

/** A findings row of either store as the finding it reads as (its acceptance laid over it). */
export function findingOfRow(r: { json: string; acceptance: string | null }): FindingRecord {
  const f = JSON.parse(r.json) as FindingRecord;
  return withAcceptance(f, r.acceptance === null ? null : (JSON.parse(r.acceptance) as Acceptance));
}
