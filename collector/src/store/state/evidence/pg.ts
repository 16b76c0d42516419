import type { PoolClient } from 'pg';
import type { Acceptance, FindingRecord } from '../../../evaluate/findings.js';
import type { CompleteIngest } from '../journal/index.js';
import { noNul, type PgDb, T } from '../pg-db.js';
import {
  type EvidenceStore,
  type FindingKey,
  findingOfRow,
  type RoomDown,
  samplesPerDay,
  samplesPerDeviceDay,
} from './index.js';

export const EVIDENCE_PG_SCHEMA = `
  CREATE TABLE IF NOT EXISTS availability_days (
    school_id ${T} NOT NULL, day ${T} NOT NULL, up integer NOT NULL, total integer NOT NULL,
    PRIMARY KEY (school_id, day)
  );
  -- the same samples per device and day (see evidence/sqlite.ts): only the window's days are kept
  CREATE TABLE IF NOT EXISTS device_availability_days (
    school_id ${T} NOT NULL, day ${T} NOT NULL, device ${T} NOT NULL, up integer NOT NULL, total integer NOT NULL,
    PRIMARY KEY (school_id, day, device)
  );
  CREATE TABLE IF NOT EXISTS room_down (
    seq bigint GENERATED ALWAYS AS IDENTITY,
    school_id ${T} NOT NULL, room ${T} NOT NULL, room_type ${T} NOT NULL, since ${T} NOT NULL, detail ${T} NOT NULL,
    PRIMARY KEY (school_id, room)
  );
  CREATE TABLE IF NOT EXISTS findings (
    school_id ${T} NOT NULL, rule ${T} NOT NULL, target ${T} NOT NULL, port integer NOT NULL,
    json ${T} NOT NULL, PRIMARY KEY (school_id, rule, target, port)
  );
  -- a risk accepted by a person (JSON of an Acceptance), beside the finding a report writes
  ALTER TABLE findings ADD COLUMN IF NOT EXISTS acceptance ${T};
  CREATE TABLE IF NOT EXISTS rooms_answered (
    school_id ${T} NOT NULL, room ${T} NOT NULL, first_at ${T} NOT NULL, PRIMARY KEY (school_id, room)
  );
  -- a schema of an earlier version: availability was kept per device and day (see evidence/sqlite.ts)
  DO $$ BEGIN
    IF to_regclass('availability') IS NOT NULL THEN
      INSERT INTO availability_days (school_id, day, up, total)
        SELECT school_id, day, sum(up), sum(total) FROM availability GROUP BY school_id, day
        ON CONFLICT (school_id, day) DO UPDATE
          SET up = availability_days.up + excluded.up, total = availability_days.total + excluded.total;
      DROP TABLE availability;
    END IF;
  END $$;
`;

type FindingRow = Parameters<typeof findingOfRow>[0];

/** Availability, rooms and findings in PostgreSQL. */
export class PgEvidence implements EvidenceStore {
  constructor(private readonly p: PgDb) {}

  /** A report's evidence (inside completeIngest's transaction): samples, rooms, findings, rooms answered. */
  async apply(c: PoolClient, args: CompleteIngest, at: string): Promise<void> {
    const schoolId = args.agent.schoolId;
    const sampleRows = samplesPerDay(args.availability);
    const deviceRows = samplesPerDeviceDay(args.availability);
    if (sampleRows.length > 0) {
      await c.query(
        `INSERT INTO availability_days (school_id, day, up, total)
         SELECT $1, u.day, u.up, u.total
         FROM unnest($2::text[], $3::int[], $4::int[]) AS u(day, up, total)
         ON CONFLICT (school_id, day) DO UPDATE
           SET up = availability_days.up + excluded.up, total = availability_days.total + excluded.total`,
        [schoolId, sampleRows.map((s) => s.day), sampleRows.map((s) => s.up), sampleRows.map((s) => s.total)],
      );
    }
    if (deviceRows.length > 0) {
      // one round trip: the window's older days go in the same statement (and a sample of a day before
      // the window, from a late report, is not kept: it would be deleted again)
      await c.query(
        `WITH gone AS (DELETE FROM device_availability_days WHERE school_id = $1 AND day < $6)
         INSERT INTO device_availability_days (school_id, day, device, up, total)
         SELECT $1, u.day, u.device, u.up, u.total
         FROM unnest($2::text[], $3::text[], $4::int[], $5::int[]) AS u(day, device, up, total)
         WHERE u.day >= $6
         ON CONFLICT (school_id, day, device) DO UPDATE
           SET up = device_availability_days.up + excluded.up,
               total = device_availability_days.total + excluded.total`,
        [
          schoolId,
          deviceRows.map((s) => s.day),
          deviceRows.map((s) => noNul(s.device)),
          deviceRows.map((s) => s.up),
          deviceRows.map((s) => s.total),
          args.availabilitySinceDay ?? '',
        ],
      );
    }
    for (const r of args.rooms ?? []) {
      if (r.up) {
        await c.query('DELETE FROM room_down WHERE school_id = $1 AND room = $2', [schoolId, noNul(r.room)]);
      } else {
        await c.query(
          `INSERT INTO room_down (school_id, room, room_type, since, detail) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (school_id, room) DO UPDATE SET detail = excluded.detail`,
          [schoolId, noNul(r.room), noNul(r.roomType), r.at, noNul(r.detail)],
        );
      }
    }
    for (const f of args.findings ?? []) {
      await c.query(
        `INSERT INTO findings (school_id, rule, target, port, json) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (school_id, rule, target, port) DO UPDATE SET json = excluded.json`,
        [f.schoolId, f.rule, f.target, f.port, JSON.stringify(f)],
      );
    }
    const answered = [...new Set(args.answeredRooms ?? [])].map(noNul).sort();
    if (answered.length > 0) {
      await c.query(
        `INSERT INTO rooms_answered (school_id, room, first_at) SELECT $1, u.room, $3
         FROM unnest($2::text[]) AS u(room) ON CONFLICT (school_id, room) DO NOTHING`,
        [schoolId, answered, at],
      );
    }
  }

  async findings(schoolId?: string): Promise<FindingRecord[]> {
    const { rows } =
      schoolId === undefined
        ? await this.p.query<FindingRow>(
            'SELECT json, acceptance FROM findings ORDER BY school_id, rule, target, port',
          )
        : await this.p.query<FindingRow>(
            'SELECT json, acceptance FROM findings WHERE school_id = $1 ORDER BY rule, target, port',
            [schoolId],
          );
    return rows.map(findingOfRow);
  }

  async setAcceptance(
    schoolId: string,
    f: FindingKey,
    acceptance: Acceptance | null,
  ): Promise<FindingRecord | undefined> {
    const row = await this.p.one<FindingRow>(
      `UPDATE findings SET acceptance = $1 WHERE school_id = $2 AND rule = $3 AND target = $4 AND port = $5
       RETURNING json, acceptance`,
      [
        acceptance === null ? null : noNul(JSON.stringify(acceptance)),
        schoolId,
        noNul(f.rule),
        noNul(f.target),
        f.port,
      ],
    );
    return row ? findingOfRow(row) : undefined;
  }

  async availability(schoolId: string, sinceDay: string): Promise<{ up: number; total: number }> {
    // sum(integer) is bigint, which pg hands over as a string
    const row = await this.p.one<{ up: string; total: string }>(
      `SELECT coalesce(sum(up), 0) AS up, coalesce(sum(total), 0) AS total
       FROM availability_days WHERE school_id = $1 AND day >= $2`,
      [schoolId, sinceDay],
    );
    return { up: Number(row?.up ?? 0), total: Number(row?.total ?? 0) };
  }

  async deviceAvailability(
    schoolId: string,
    sinceDay: string,
  ): Promise<{ device: string; up: number; total: number }[]> {
    // sum(integer) is bigint, which pg hands over as a string
    const { rows } = await this.p.query<{ device: string; up: string; total: string }>(
      `SELECT device, sum(up) AS up, sum(total) AS total FROM device_availability_days
       WHERE school_id = $1 AND day >= $2 GROUP BY device ORDER BY device`,
      [schoolId, sinceDay],
    );
    return rows.map((r) => ({ device: r.device, up: Number(r.up), total: Number(r.total) }));
  }

  async roomsDown(schoolId: string): Promise<RoomDown[]> {
    const { rows } = await this.p.query<RoomDown>(
      `SELECT room, room_type AS "roomType", since, detail FROM room_down WHERE school_id = $1 ORDER BY since, seq`,
      [schoolId],
    );
    return rows;
  }

  async answeredRooms(schoolId: string): Promise<Set<string>> {
    const { rows } = await this.p.query<{ room: string }>(
      'SELECT room FROM rooms_answered WHERE school_id = $1',
      [schoolId],
    );
    return new Set(rows.map((r) => r.room));
  }
}
