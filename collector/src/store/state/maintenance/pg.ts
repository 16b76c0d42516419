import { noNul, type PgDb, T } from '../pg-db.js';
import {
  MAINTENANCE_COLUMNS,
  type MaintenanceDbRow,
  type MaintenanceFilter,
  type MaintenanceStore,
  type MaintenanceWindow,
  maintenanceOfRow,
  maintenanceValues,
  maintenanceWhere,
} from './index.js';

export const MAINTENANCE_PG_SCHEMA = `
  CREATE TABLE IF NOT EXISTS maintenance_windows (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, school_id ${T} NOT NULL REFERENCES schools(id),
    room ${T}, device ${T}, reason ${T} NOT NULL, starts_at ${T} NOT NULL, ends_at ${T}, weekly ${T},
    created_by ${T} NOT NULL, created_at ${T} NOT NULL
  );
  CREATE INDEX IF NOT EXISTS maintenance_windows_school ON maintenance_windows(school_id);
`;

/** Maintenance windows in PostgreSQL. */
export class PgMaintenance implements MaintenanceStore {
  constructor(private readonly p: PgDb) {}

  async addMaintenance(window: Omit<MaintenanceWindow, 'id'>): Promise<MaintenanceWindow> {
    // as stored: text that PostgreSQL cannot hold (U+0000) comes back as it was kept
    const w: Omit<MaintenanceWindow, 'id'> = {
      ...window,
      ...(window.room !== undefined ? { room: noNul(window.room) } : {}),
      ...(window.device !== undefined ? { device: noNul(window.device) } : {}),
      reason: noNul(window.reason),
      createdBy: noNul(window.createdBy),
    };
    const row = await this.p.one<{ id: string }>(
      `INSERT INTO maintenance_windows
         (school_id, room, device, reason, starts_at, ends_at, weekly, created_by, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`,
      maintenanceValues(w),
    );
    return { ...w, id: Number(row!.id) };
  }

  async maintenanceWindows(filter: MaintenanceFilter = {}): Promise<MaintenanceWindow[]> {
    const { where, values } = maintenanceWhere(filter, (n) => `$${n}`);
    const { rows } = await this.p.query<MaintenanceDbRow>(
      `SELECT ${MAINTENANCE_COLUMNS} FROM maintenance_windows ${where} ORDER BY id`,
      values,
    );
    return rows.map(maintenanceOfRow);
  }

  async endMaintenance(id: number, now: Date): Promise<boolean> {
    if (!Number.isSafeInteger(id)) return false;
    const { rowCount } = await this.p.query(
      `UPDATE maintenance_windows SET ends_at = $1, starts_at = least(starts_at, $1)
       WHERE id = $2 AND (ends_at IS NULL OR ends_at > $1)`,
      [now.toISOString(), id],
    );
    return rowCount === 1;
  }
}
