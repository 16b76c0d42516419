import type { Acceptance, FindingRecord } from '../../../evaluate/findings.js';
import type { CompleteIngest } from '../journal/index.js';
import type { SqliteDb } from '../sqlite-db.js';
import { type FindingKey, findingOfRow, type RoomDown, samplesPerDay, samplesPerDeviceDay } from './index.js';

export const EVIDENCE_SQLITE_SCHEMA = `
  -- critical-device samples in teaching hours, summed per school and local day: the window's sum reads
  -- at most windowDays rows (the first version kept a row per device and day and scanned them all)
  CREATE TABLE IF NOT EXISTS availability_days (
    school_id TEXT NOT NULL, day TEXT NOT NULL, up INTEGER NOT NULL, total INTEGER NOT NULL,
    PRIMARY KEY (school_id, day)
  );
  -- the same samples per device and day, for the school page's availability of each device; only the
  -- window's days are kept (each report forgets the days before it)
  CREATE TABLE IF NOT EXISTS device_availability_days (
    school_id TEXT NOT NULL, day TEXT NOT NULL, device TEXT NOT NULL, up INTEGER NOT NULL,
    total INTEGER NOT NULL, PRIMARY KEY (school_id, day, device)
  );
  CREATE TABLE IF NOT EXISTS room_down (
    school_id TEXT NOT NULL, room TEXT NOT NULL, room_type TEXT NOT NULL, since TEXT NOT NULL, detail TEXT NOT NULL,
    PRIMARY KEY (school_id, room)
  );
  CREATE TABLE IF NOT EXISTS findings (
    school_id TEXT NOT NULL, rule TEXT NOT NULL, target TEXT NOT NULL, port INTEGER NOT NULL,
    json TEXT NOT NULL, PRIMARY KEY (school_id, rule, target, port)
  );
  -- rooms (type|name) whose devices have answered at least once: 建有 survives a device that is down now
  CREATE TABLE IF NOT EXISTS rooms_answered (
    school_id TEXT NOT NULL, room TEXT NOT NULL, first_at TEXT NOT NULL, PRIMARY KEY (school_id, room)
  );
`;

/** Availability, rooms and findings in the embedded store (synchronous; see EvidenceStore). */
export class SqliteEvidence {
  constructor(private readonly s: SqliteDb) {}

  /** Brings the tables of an earlier version to this schema (idempotent). */
  migrate(): void {
    // a risk accepted by a person (JSON of an Acceptance), beside the finding a report writes
    if (!this.s.columns('findings').has('acceptance'))
      this.s.db.exec('ALTER TABLE findings ADD COLUMN acceptance TEXT');
    if (this.s.hasTable('availability')) {
      this.s.transaction(() => {
        this.s.db.exec(`
          INSERT INTO availability_days (school_id, day, up, total)
            -- (WHERE true: SQLite's parser needs it to read ON CONFLICT after a SELECT as an upsert)
            SELECT school_id, day, sum(up), sum(total) FROM availability WHERE true GROUP BY school_id, day
            ON CONFLICT(school_id, day) DO UPDATE SET up = up + excluded.up, total = total + excluded.total;
          DROP TABLE availability;
        `);
      });
    }
  }

  /** A report's evidence (inside completeIngest's transaction): samples, rooms, findings, rooms answered. */
  apply(args: CompleteIngest, at: string): void {
    const schoolId = args.agent.schoolId;
    const sample = this.s.q(
      `INSERT INTO availability_days (school_id, day, up, total) VALUES (?, ?, ?, ?)
       ON CONFLICT(school_id, day) DO UPDATE SET up = up + excluded.up, total = total + excluded.total`,
    );
    for (const d of samplesPerDay(args.availability)) sample.run(schoolId, d.day, d.up, d.total);
    const deviceRows = samplesPerDeviceDay(args.availability);
    if (deviceRows.length > 0) {
      const deviceSample = this.s.q(
        `INSERT INTO device_availability_days (school_id, day, device, up, total) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(school_id, day, device) DO UPDATE SET up = up + excluded.up, total = total + excluded.total`,
      );
      const since = args.availabilitySinceDay ?? '';
      // a sample of a day before the window (a late report) is not kept: only the window is read
      for (const d of deviceRows)
        if (d.day >= since) deviceSample.run(schoolId, d.day, d.device, d.up, d.total);
      if (since !== '')
        this.s.q('DELETE FROM device_availability_days WHERE school_id = ? AND day < ?').run(schoolId, since);
    }
    const opened = this.s.q(
      `INSERT INTO room_down (school_id, room, room_type, since, detail) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(school_id, room) DO UPDATE SET detail = excluded.detail`,
    );
    const closed = this.s.q('DELETE FROM room_down WHERE school_id = ? AND room = ?');
    for (const r of args.rooms ?? []) {
      if (r.up) closed.run(schoolId, r.room);
      else opened.run(schoolId, r.room, r.roomType, r.at, r.detail);
    }
    const finding = this.s.q(
      `INSERT INTO findings (school_id, rule, target, port, json) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT(school_id, rule, target, port) DO UPDATE SET json = excluded.json`,
    );
    for (const f of args.findings ?? []) finding.run(f.schoolId, f.rule, f.target, f.port, JSON.stringify(f));
    const answered = this.s.q(
      'INSERT OR IGNORE INTO rooms_answered (school_id, room, first_at) VALUES (?, ?, ?)',
    );
    for (const room of args.answeredRooms ?? []) answered.run(schoolId, room, at);
  }

  /** Security findings, all schools or one, with their acceptances. */
  findings(schoolId?: string): FindingRecord[] {
    const rows = (
      schoolId
        ? this.s
            .q('SELECT json, acceptance FROM findings WHERE school_id = ? ORDER BY rule, target, port')
            .all(schoolId)
        : this.s.q('SELECT json, acceptance FROM findings ORDER BY school_id, rule, target, port').all()
    ) as { json: string; acceptance: string | null }[];
    return rows.map(findingOfRow);
  }

  /** See EvidenceStore.setAcceptance. */
  setAcceptance(schoolId: string, f: FindingKey, acceptance: Acceptance | null): FindingRecord | undefined {
    const row = this.s.durably(
      () =>
        this.s
          .q(
            `UPDATE findings SET acceptance = ? WHERE school_id = ? AND rule = ? AND target = ? AND port = ?
             RETURNING json, acceptance`,
          )
          .get(acceptance === null ? null : JSON.stringify(acceptance), schoolId, f.rule, f.target, f.port) as
          | { json: string; acceptance: string | null }
          | undefined,
    );
    return row ? findingOfRow(row) : undefined;
  }

  /** Critical-device samples in teaching hours since a local day (inclusive). */
  availability(schoolId: string, sinceDay: string): { up: number; total: number } {
    return this.s
      .q(
        'SELECT coalesce(sum(up), 0) AS up, coalesce(sum(total), 0) AS total FROM availability_days WHERE school_id = ? AND day >= ?',
      )
      .get(schoolId, sinceDay) as { up: number; total: number };
  }

  /** The same samples per device since a local day (inclusive), ordered by device. */
  deviceAvailability(schoolId: string, sinceDay: string): { device: string; up: number; total: number }[] {
    return this.s
      .q(
        `SELECT device, sum(up) AS up, sum(total) AS total FROM device_availability_days
         WHERE school_id = ? AND day >= ? GROUP BY device ORDER BY device`,
      )
      .all(schoolId, sinceDay) as { device: string; up: number; total: number }[];
  }

  /** Rooms down in teaching hours, with the time they were first seen down. */
  roomsDown(schoolId: string): RoomDown[] {
    return this.s
      .q(
        'SELECT room, room_type AS roomType, since, detail FROM room_down WHERE school_id = ? ORDER BY since, rowid',
      )
      .all(schoolId) as RoomDown[];
  }

  /** See EvidenceStore.answeredRooms. */
  answeredRooms(schoolId: string): Set<string> {
    return new Set(
      (
        this.s.q('SELECT room FROM rooms_answered WHERE school_id = ?').all(schoolId) as { room: string }[]
      ).map((r) => r.room),
    );
  }
}
