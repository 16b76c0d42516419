import type Database from 'better-sqlite3';
import type { Logger } from 'pino';
import { localTime } from '../evaluate/teaching-hours.js';
import type { AlertGroup, AlertItem } from '../notifiers/notifier.js';
import type { SchoolFacts } from './rules.js';
import { type Silence, SilenceStore } from './silences.js';

export type { Silence } from './silences.js';

type Desired = Omit<AlertItem, 'status' | 'startsAt' | 'endsAt'>;

export interface AlertRow {
  fingerprint: string;
  schoolId: string;
  state: 'pending' | 'firing' | 'resolved';
  since: string;
  firedAt: string | null;
  lastNotifiedAt: string | null;
  resolvedAt: string | null;
  item: Desired;
}

export interface AlertManagerOptions {
  /** Seconds an alert must stay active before it fires (Prometheus `for`). */
  forS: number;
  /** Seconds between reminders while an alert keeps firing. */
  repeatS: number;
  log: Logger;
  /** The facts per school, as of `now`. */
  facts: (now: Date) => SchoolFacts[];
  desired: (f: SchoolFacts, now: Date) => Desired[];
  /** Daily digest time (school-local HH:MM); off when undefined. */
  digestAt?: string;
  /** Delivers a group to the channels its routes select; resolves when every channel was tried. */
  notify: (group: AlertGroup) => Promise<void>;
}

/**
 * The alert lifecycle (pending → firing → resolved), persisted in the state store so a restart neither
 * forgets a firing alert nor announces it twice. Notifications are grouped per school; a reminder
 * follows after `repeatS`; a resolve message follows a notified alert; silences mute notifications
 * while the lifecycle goes on (Alertmanager semantics).
 */
export class AlertManager {
  private running: Promise<AlertGroup[]> | undefined;
  private readonly silenceStore: SilenceStore;

  constructor(
    private readonly db: Database.Database,
    private readonly opts: AlertManagerOptions,
  ) {
    this.silenceStore = new SilenceStore(db);
    db.exec(`
      CREATE TABLE IF NOT EXISTS alert_digests (school_id TEXT PRIMARY KEY, day TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS alerts (
        fingerprint TEXT PRIMARY KEY, school_id TEXT NOT NULL, state TEXT NOT NULL, since TEXT NOT NULL,
        fired_at TEXT, last_notified_at TEXT, resolved_at TEXT, item TEXT NOT NULL
      );
    `);
  }

  alerts(filter: { state?: AlertRow['state']; schoolId?: string } = {}): AlertRow[] {
    const rows = this.db.prepare('SELECT * FROM alerts ORDER BY since').all() as Record<
      string,
      string | null
    >[];
    return rows
      .map((r) => ({
        fingerprint: r.fingerprint!,
        schoolId: r.school_id!,
        state: r.state as AlertRow['state'],
        since: r.since!,
        firedAt: r.fired_at ?? null,
        lastNotifiedAt: r.last_notified_at ?? null,
        resolvedAt: r.resolved_at ?? null,
        item: JSON.parse(r.item!) as Desired,
      }))
      .filter(
        (r) =>
          (filter.state === undefined || r.state === filter.state) &&
          (filter.schoolId === undefined || r.schoolId === filter.schoolId),
      );
  }

  addSilence(s: Omit<Silence, 'id'>): Silence {
    return this.silenceStore.add(s);
  }

  silences(now?: Date): Silence[] {
    return this.silenceStore.list(now);
  }

  expireSilence(id: number, now: Date): boolean {
    return this.silenceStore.expire(id, now);
  }

  private silenced(
    row: { schoolId: string; fingerprint: string; item: Desired },
    active: Silence[],
  ): boolean {
    return active.some(
      (s) =>
        (s.schoolId === null || s.schoolId === row.schoolId) &&
        (s.rule === null || s.rule === row.item.rule) &&
        (s.fingerprint === null || s.fingerprint === row.fingerprint),
    );
  }

  private soon: NodeJS.Timeout | undefined;

  /**
   * An evaluation shortly (after a report): reports coalesce into one evaluation per `delayMs`, so a
   * burst of reports from many schools costs one pass over all schools, not one pass each.
   */
  evaluateSoon(now: () => Date, delayMs = 2000): void {
    if (this.soon) return;
    this.soon = setTimeout(() => {
      this.soon = undefined;
      this.evaluate(now()).catch((err: unknown) =>
        this.opts.log.error({ err: (err as Error).message }, 'alert evaluation failed'),
      );
    }, delayMs);
    this.soon.unref();
  }

  /** Stops a pending `evaluateSoon` (shutdown). */
  cancelPending(): void {
    if (this.soon) clearTimeout(this.soon);
    this.soon = undefined;
  }

  /** One evaluation; concurrent calls share the running one. Returns the groups it sent. */
  evaluate(now: Date): Promise<AlertGroup[]> {
    this.running ??= this.run(now).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  /**
   * Once a day per school, after the digest time in its own zone: what is still firing (and not
   * silenced), unless this evaluation already announces it.
   */
  private digests(
    now: Date,
    schools: ReadonlyMap<string, SchoolFacts['school']>,
    announced: readonly AlertRow[],
  ): AlertGroup[] {
    if (!this.opts.digestAt) return [];
    const [hh, mm] = this.opts.digestAt.split(':').map(Number) as [number, number];
    const out: AlertGroup[] = [];
    const active = this.silences(now);
    const sentToday = this.db.prepare('SELECT day FROM alert_digests WHERE school_id = ?');
    const mark = this.db.prepare('INSERT OR REPLACE INTO alert_digests (school_id, day) VALUES (?, ?)');
    for (const [id, school] of schools) {
      const local = localTime(now, school.timezone);
      if (local.minutes < hh * 60 + mm) continue;
      const last = (sentToday.get(id) as { day: string } | undefined)?.day;
      if (last === local.date) continue;
      mark.run(id, local.date);
      const firing = this.alerts({ state: 'firing', schoolId: id }).filter(
        (r) => !this.silenced(r, active) && !announced.some((a) => a.fingerprint === r.fingerprint),
      );
      if (firing.length === 0) continue;
      out.push({
        status: 'firing',
        repeat: false,
        digest: true,
        school: {
          id,
          name: school.name,
          ...(school.district ? { district: school.district } : {}),
          ...(school.group ? { group: school.group } : {}),
        },
        alerts: firing.map((r) => ({ ...r.item, status: 'firing', startsAt: r.firedAt ?? r.since })),
      });
    }
    return out;
  }

  private async run(now: Date): Promise<AlertGroup[]> {
    const at = now.toISOString();
    const facts = this.opts.facts(now);
    const schools = new Map(facts.map((f) => [f.school.id, f.school]));
    const desired = new Map<string, { schoolId: string; item: Desired }>();
    for (const f of facts)
      for (const d of this.opts.desired(f, now))
        desired.set(d.fingerprint, { schoolId: f.school.id, item: d });
    const existing = new Map(this.alerts().map((r) => [r.fingerprint, r]));
    const active = this.silences(now);
    const toFire: AlertRow[] = [];
    const toResolve: AlertRow[] = [];
    const upsert = this.db.prepare(
      `INSERT INTO alerts (fingerprint, school_id, state, since, fired_at, last_notified_at, resolved_at, item)
       VALUES (@fingerprint, @schoolId, @state, @since, @firedAt, @lastNotifiedAt, @resolvedAt, @item)
       ON CONFLICT(fingerprint) DO UPDATE SET state = excluded.state, since = excluded.since, fired_at = excluded.fired_at,
         last_notified_at = excluded.last_notified_at, resolved_at = excluded.resolved_at, item = excluded.item`,
    );
    const save = (r: AlertRow) => upsert.run({ ...r, item: JSON.stringify(r.item) });
    this.db.transaction(() => {
      for (const [fp, d] of desired) {
        const prev = existing.get(fp);
        let row: AlertRow =
          !prev || prev.state === 'resolved'
            ? {
                fingerprint: fp,
                schoolId: d.schoolId,
                state: 'pending',
                since: at,
                firedAt: null,
                lastNotifiedAt: null,
                resolvedAt: null,
                item: d.item,
              }
            : { ...prev, item: d.item };
        if (row.state === 'pending' && now.getTime() - Date.parse(row.since) >= this.opts.forS * 1000) {
          row = { ...row, state: 'firing', firedAt: at };
        }
        if (row.state === 'firing') {
          const due =
            row.lastNotifiedAt === null ||
            now.getTime() - Date.parse(row.lastNotifiedAt) >= this.opts.repeatS * 1000;
          if (due && !this.silenced(row, active)) toFire.push(row);
        }
        save(row);
      }
      for (const [fp, prev] of existing) {
        if (desired.has(fp) || prev.state === 'resolved') continue;
        if (prev.state === 'pending') {
          this.db.prepare('DELETE FROM alerts WHERE fingerprint = ?').run(fp);
          continue;
        }
        const row: AlertRow = { ...prev, state: 'resolved', resolvedAt: at };
        save(row);
        // only what was announced gets a resolve message
        if (prev.lastNotifiedAt !== null && !this.silenced(row, active)) toResolve.push(row);
      }
    })();

    const groups: AlertGroup[] = [];
    const bySchool = (rows: AlertRow[]) => {
      const m = new Map<string, AlertRow[]>();
      for (const r of rows) m.set(r.schoolId, [...(m.get(r.schoolId) ?? []), r]);
      return m;
    };
    const schoolOf = (id: string) => {
      const s = schools.get(id);
      return {
        id,
        name: s?.name ?? id,
        ...(s?.district ? { district: s.district } : {}),
        ...(s?.group ? { group: s.group } : {}),
      };
    };
    for (const [schoolId, rows] of bySchool(toFire)) {
      groups.push({
        status: 'firing',
        repeat: rows.every((r) => r.lastNotifiedAt !== null),
        school: schoolOf(schoolId),
        alerts: rows.map((r) => ({ ...r.item, status: 'firing', startsAt: r.firedAt ?? r.since })),
      });
    }
    for (const [schoolId, rows] of bySchool(toResolve)) {
      groups.push({
        status: 'resolved',
        repeat: false,
        school: schoolOf(schoolId),
        alerts: rows.map((r) => ({
          ...r.item,
          status: 'resolved',
          startsAt: r.firedAt ?? r.since,
          endsAt: at,
        })),
      });
    }
    groups.push(...this.digests(now, schools, toFire));
    const notified = this.db.prepare('UPDATE alerts SET last_notified_at = ? WHERE fingerprint = ?');
    for (const g of groups) {
      try {
        await this.opts.notify(g);
        if (g.status === 'firing' && !g.digest) for (const a of g.alerts) notified.run(at, a.fingerprint);
      } catch (err) {
        this.opts.log.error(
          { school: g.school.id, err: (err as Error).message },
          'alert notification failed',
        );
      }
    }
    return groups;
  }
}
