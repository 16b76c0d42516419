/**
 * Planned work (table `maintenance_windows`): evaluate/maintenance.ts decides what a window covers and
 * when it is on; the store keeps them.
 */
import type { MaintenanceWindow } from '../../../evaluate/maintenance.js';

export type { MaintenanceWindow };

/** Maintenance windows. */
export interface MaintenanceStore {
  /** Throws for a school that is not registered. */
  addMaintenance(w: Omit<MaintenanceWindow, 'id'>): Promise<MaintenanceWindow>;
  /**
   * Windows by id: all, or one school's; with `endingAfter`, only those not ended by then (no end, or a
   * later one), which includes those that start later.
   */
  maintenanceWindows(filter?: MaintenanceFilter): Promise<MaintenanceWindow[]>;
  /**
   * Ends a window now (one not started yet ends before it starts: it never runs); false when there is no
   * such window that has not ended.
   */
  endMaintenance(id: number, now: Date): Promise<boolean>;
}

export type MaintenanceFilter = { schoolId?: string; endingAfter?: Date };

/** A maintenance_windows row of either store (columns MAINTENANCE_COLUMNS). */
export interface MaintenanceDbRow {
  id: number | string;
  school_id: string;
  room: string | null;
  device: string | null;
  reason: string;
  starts_at: string;
  ends_at: string | null;
  weekly: string | null;
  created_by: string;
  created_at: string;
}

export const MAINTENANCE_COLUMNS =
  'id, school_id, room, device, reason, starts_at, ends_at, weekly, created_by, created_at';

/** A maintenance_windows row of either store as the window it holds (NULL columns: absent scope, no end). */
export function maintenanceOfRow(r: MaintenanceDbRow): MaintenanceWindow {
  return {
    id: Number(r.id),
    schoolId: r.school_id,
    ...(r.room !== null ? { room: r.room } : {}),
    ...(r.device !== null ? { device: r.device } : {}),
    reason: r.reason,
    startsAt: r.starts_at,
    endsAt: r.ends_at,
    ...(r.weekly !== null ? { weekly: JSON.parse(r.weekly) as MaintenanceWindow['weekly'] } : {}),
    createdBy: r.created_by,
    createdAt: r.created_at,
  };
}

/**
 * The WHERE clause of a maintenanceWindows query and its values, with the dialect's placeholder for the
 * n-th value (`?` or `$n`).
 */
export function maintenanceWhere(
  filter: MaintenanceFilter,
  placeholder: (n: number) => string,
): { where: string; values: string[] } {
  const clauses: string[] = [];
  const values: string[] = [];
  if (filter.schoolId !== undefined) {
    values.push(filter.schoolId);
    clauses.push(`school_id = ${placeholder(values.length)}`);
  }
  if (filter.endingAfter !== undefined) {
    values.push(filter.endingAfter.toISOString());
    clauses.push(`(ends_at IS NULL OR ends_at > ${placeholder(values.length)})`);
  }
  return { where: clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '', values };
}

/** The values a window is inserted with (columns of MAINTENANCE_COLUMNS from school_id on, but created_at). */
export function maintenanceValues(w: Omit<MaintenanceWindow, 'id'>): (string | null)[] {
  return [
    w.schoolId,
    w.room ?? null,
    w.device ?? null,
    w.reason,
    w.startsAt,
    w.endsAt,
    w.weekly ? JSON.stringify(w.weekly) : null,
    w.createdBy,
    w.createdAt,
  ];
}
