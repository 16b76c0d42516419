import type { Logger } from 'pino';
import { localTime } from '../evaluate/teaching-hours.js';
import type { AlertGroup } from '../notifiers/notifier.js';
import { Slicer } from '../slicer.js';
import type { AlertRow, DesiredAlert, Silence, StateStore } from '../store/state-store.js';
import type { SchoolFacts } from './rules.js';

export type { AlertRow, Silence } from '../store/state-store.js';

type Desired = DesiredAlert;

/**
 * At most this share of the collector's time goes to evaluations asked for by reports: after a pass of
 * L ms the next one waits L / share (bench/ingest, 1,000 schools: passes of 80-140 ms every 2 s took 6-9%
 * of the collector's CPU in session 5; on a slower machine ~0.5 s passes took 19% steady, 48% flat-out).
 */
export const EVALUATION_SHARE = 0.02;
/** ...but never longer than this, whatever the last pass took (a slow PostgreSQL, a pause). */
export const MAX_ADAPTIVE_DELAY_MS = 15_000;

export interface AlertManagerOptions {
  /** Seconds an alert must stay active before it fires (Prometheus `for`). */
  forS: number;
  /** Seconds between reminders while an alert keeps firing. */
  repeatS: number;
  log: Logger;
  /** The facts per school, as of `now`. */
  facts: (now: Date, slicer: Slicer) => Promise<SchoolFacts[]>;
  desired: (f: SchoolFacts, now: Date) => Desired[];
  /** Daily digest time (school-local HH:MM); off when undefined. */
  digestAt?: string;
  /** Delivers a group to the channels its routes select; resolves when every channel was tried. */
  notify: (group: AlertGroup) => Promise<void>;
  /**
   * Writes what a pass saw of the fleet as series (InfluxDB configured: the `agent_status` points, at most
   * one batch per pass), beside the rules and notifications; a failure is logged and the pass goes on.
   * The pass ends when the write does, so there is never more than one in flight.
   */
  series?: (facts: readonly SchoolFacts[], now: Date) => Promise<void>;
  /**
   * Whether an alert's subject is in a maintenance window now (rules.ts `alertMaintenance`): an alert
   * withdrawn because planned work began resolves without a message (nothing recovered).
   */
  inMaintenance?: (f: SchoolFacts, item: Desired, now: Date) => boolean;
}

/** Does a silence mute this alert (its school, rule and fingerprint, each when the silence names one)? */
export function silenceMutes(
  s: Pick<Silence, 'schoolId' | 'rule' | 'fingerprint'>,
  row: { schoolId: string; fingerprint: string; item: { rule: string } },
): boolean {
  return (
    (s.schoolId === null || s.schoolId === row.schoolId) &&
    (s.rule === null || s.rule === row.item.rule) &&
    (s.fingerprint === null || s.fingerprint === row.fingerprint)
  );
}

/**
 * The alert lifecycle (pending → firing → resolved), persisted in the state store so a restart neither
 * forgets a firing alert nor announces it twice. Notifications are grouped per school; a reminder
 * follows after `repeatS`; a resolve message follows a notified alert; silences mute notifications
 * while the lifecycle goes on (Alertmanager semantics).
 */
export class AlertManager {
  private running: Promise<AlertGroup[]> | undefined;
  /** Whether this collector led the last evaluation (several collectors on one PostgreSQL: one leads). */
  leading: boolean | undefined;
  /** Evaluations this collector ran as the leader (its notifications sent or tried). */
  evaluations = 0;
  /**
   * Seconds spent evaluating as the leader (reading the state, rules, saving alert rows), without sending
   * notifications: the alert pass's share of the collector, as Prometheus reports its rule evaluation time.
   */
  evaluationSeconds = 0;
  /** How long the last evaluation took (ms): `evaluateSoon` waits longer after a long one. */
  private lastEvaluationMs = 0;

  constructor(
    private readonly store: StateStore,
    private readonly opts: AlertManagerOptions,
  ) {}

  async alerts(filter: { state?: AlertRow['state']; schoolId?: string } = {}): Promise<AlertRow[]> {
    return (await this.store.alerts()).filter(
      (r) =>
        (filter.state === undefined || r.state === filter.state) &&
        (filter.schoolId === undefined || r.schoolId === filter.schoolId),
    );
  }

  addSilence(s: Omit<Silence, 'id'>): Promise<Silence> {
    return this.store.addSilence(s);
  }

  silences(now?: Date): Promise<Silence[]> {
    return this.store.silences(now);
  }

  expireSilence(id: number, now: Date): Promise<boolean> {
    return this.store.expireSilence(id, now);
  }

  private silenced(
    row: { schoolId: string; fingerprint: string; item: Desired },
    active: Silence[],
  ): boolean {
    return active.some((s) => silenceMutes(s, row));
  }

  private soon: NodeJS.Timeout | undefined;

  /**
   * An evaluation shortly (after a report): reports coalesce into one evaluation per `delayMs`, so a
   * burst of reports from many schools costs one pass over all schools, not one pass each. After a long
   * pass the wait grows to keep evaluations under EVALUATION_SHARE of the time (up to
   * MAX_ADAPTIVE_DELAY_MS).
   */
  evaluateSoon(now: () => Date, delayMs = 2000): void {
    if (this.soon) return;
    const wait = Math.max(delayMs, Math.min(MAX_ADAPTIVE_DELAY_MS, this.lastEvaluationMs / EVALUATION_SHARE));
    this.soon = setTimeout(() => {
      this.soon = undefined;
      this.evaluate(now()).catch((err: unknown) =>
        this.opts.log.error({ err: (err as Error).message }, 'alert evaluation failed'),
      );
    }, wait);
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
  private async digests(
    now: Date,
    schools: ReadonlyMap<string, SchoolFacts['school']>,
    announced: readonly AlertRow[],
  ): Promise<AlertGroup[]> {
    if (!this.opts.digestAt) return [];
    const [hh, mm] = this.opts.digestAt.split(':').map(Number) as [number, number];
    const out: AlertGroup[] = [];
    const active = await this.silences(now);
    const firingBySchool = new Map<string, AlertRow[]>();
    for (const r of await this.alerts({ state: 'firing' }))
      firingBySchool.set(r.schoolId, [...(firingBySchool.get(r.schoolId) ?? []), r]);
    for (const [id, school] of schools) {
      const local = localTime(now, school.timezone);
      if (local.minutes < hh * 60 + mm) continue;
      if (!(await this.store.claimDigest(id, local.date))) continue;
      const firing = (firingBySchool.get(id) ?? []).filter(
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
          timezone: school.timezone,
        },
        alerts: firing.map((r) => ({ ...r.item, status: 'firing', startsAt: r.firedAt ?? r.since })),
      });
    }
    return out;
  }

  private async run(now: Date): Promise<AlertGroup[]> {
    // several collectors on one PostgreSQL: only the one holding the lock evaluates and notifies
    const leading = await this.store.alertLeadership();
    if (leading !== this.leading && this.leading !== undefined) {
      this.opts.log.warn(
        { leading },
        leading ? 'this collector now leads alerting' : 'another collector leads alerting',
      );
    }
    this.leading = leading;
    if (!leading) return [];
    const started = performance.now();
    // in slices: reports are served in between (a pass over 1,000 schools is 80-400 ms of work)
    const slicer = new Slicer();
    const at = now.toISOString();
    const facts = await this.opts.facts(now, slicer);
    const series = this.opts
      .series?.(facts, now)
      .catch((err: unknown) =>
        this.opts.log.error({ err: (err as Error).message }, 'agent status series not written'),
      );
    const schools = new Map(facts.map((f) => [f.school.id, f.school]));
    const factsOf = new Map(facts.map((f) => [f.school.id, f]));
    const planned = (r: AlertRow) => {
      const f = factsOf.get(r.schoolId);
      return f !== undefined && this.opts.inMaintenance?.(f, r.item, now) === true;
    };
    const desired = new Map<string, { schoolId: string; item: Desired }>();
    for (const f of facts) {
      await slicer.pause();
      for (const d of this.opts.desired(f, now))
        desired.set(d.fingerprint, { schoolId: f.school.id, item: d });
    }
    const existing = new Map((await this.alerts()).map((r) => [r.fingerprint, r]));
    const active = await this.silences(now);
    const toFire: AlertRow[] = [];
    const toResolve: AlertRow[] = [];
    const saved: AlertRow[] = [];
    const deleted: string[] = [];
    const save = (r: AlertRow) => saved.push(r);
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
        deleted.push(fp);
        continue;
      }
      const row: AlertRow = { ...prev, state: 'resolved', resolvedAt: at };
      save(row);
      // only what was announced gets a resolve message; not what planned work withdrew
      if (prev.lastNotifiedAt !== null && !this.silenced(row, active) && !planned(row)) toResolve.push(row);
    }
    await this.store.saveAlerts(saved, deleted);

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
        ...(s?.timezone ? { timezone: s.timezone } : {}),
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
    groups.push(...(await this.digests(now, schools, toFire)));
    // the pass's own time, not the reports served during its pauses
    this.lastEvaluationMs = performance.now() - started - slicer.awayMs;
    this.evaluationSeconds += this.lastEvaluationMs / 1000;
    for (const g of groups) {
      try {
        await this.opts.notify(g);
        if (g.status === 'firing' && !g.digest)
          await this.store.markNotified(
            g.alerts.map((a) => a.fingerprint),
            at,
          );
      } catch (err) {
        this.opts.log.error(
          { school: g.school.id, err: (err as Error).message },
          'alert notification failed',
        );
      }
    }
    await series;
    this.evaluations++;
    return groups;
  }
}
