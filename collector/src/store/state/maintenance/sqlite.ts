import type { SqliteDb } from '../sqlite-db.js';
import {
  MAINTENANCE_COLUMNS,
  type MaintenanceDbRow,
  type MaintenanceFilter,
  type MaintenanceWindow,
  maintenanceOfRow,
  maintenanceValues,
  maintenanceWhere,
} from './index.js';

export const MAINTENANCE_SQLITE_SCHEMA = `
  -- planned work (evaluate/maintenance.ts): room and device NULL = the whole school; ends_at NULL = a
  -- weekly window without an end; weekly = its recurrence as JSON (NULL: once)
  CREATE TABLE IF NOT EXISTS maintenance_windows (
    id INTEGER PRIMARY KEY AUTOINCREMENT, school_id TEXT NOT NULL REFERENCES schools(id),
    room TEXT, device TEXT, reason TEXT NOT NULL, starts_at TEXT NOT NULL, ends_at TEXT, weekly TEXT,
    created_by TEXT NOT NULL, created_at TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS maintenance_windows_school ON maintenance_windows(school_id);
`;

/** Maintenance windows in the embedded store (synchronous; see MaintenanceStore). */
export class SqliteMaintenance {
  constructor(private readonly s: SqliteDb) {}

  addMaintenance(w: Omit<MaintenanceWindow, 'id'>): MaintenanceWindow {
    const info = this.s.durably(() =>
      this.s
        .q(
          `INSERT INTO maintenance_windows
             (school_id, room, device, reason, starts_at, ends_at, weekly, created_by, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(...maintenanceValues(w)),
    );
    return { ...w, id: Number(info.lastInsertRowid) };
  }

  maintenanceWindows(filter: MaintenanceFilter = {}): MaintenanceWindow[] {
    const { where, values } = maintenanceWhere(filter, () => '?');
    const rows = this.s
      .q(`SELECT ${MAINTENANCE_COLUMNS} FROM maintenance_windows ${where} ORDER BY id`)
      .all(...values) as MaintenanceDbRow[];
    return rows.map(maintenanceOfRow);
  }

  endMaintenance(id: number, now: Date): boolean {
    const t = now.toISOString();
    return (
      this.s.durably(() =>
        this.s
          .q(
            `UPDATE maintenance_windows SET ends_at = ?, starts_at = min(starts_at, ?)
             WHERE id = ? AND (ends_at IS NULL OR ends_at > ?)`,
          )
          .run(t, t, id, t),
      ).changes > 0
    );
  }
}
