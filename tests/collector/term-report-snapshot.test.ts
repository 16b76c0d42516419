/**
 * Issue 26 item 2 and acceptance 1: term snapshots in both state stores (SQLite and PostgreSQL). The
 * fixture (3 districts × 30 schools, two terms of evidence through the store's own API) is snapshotted
 * after each term; the report of term 2 compared with term 1 lists exactly the (school, target) pairs whose
 * state the generator changed, with their direction, and each district KPI's change in points is the
 * difference of the two snapshots.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CITY } from '../../collector/src/access/model.js';
import { DEFAULT_BASELINE_FILE, loadBaseline } from '../../collector/src/baseline.js';
import { TARGET_NAMES } from '../../collector/src/evaluate/targets/registry.js';
import { PgStateStore } from '../../collector/src/store/pg-state.js';
import { SqliteStateStore, type StateStore } from '../../collector/src/store/state.js';
import { buildTermReport, type Direction } from '../../collector/src/term-report/model.js';
import {
  type TermSnapshot,
  takeTermSnapshots,
  UnknownTermError,
} from '../../collector/src/term-report/snapshot.js';
import { type Postgres, postgresAvailable, startPostgres } from '../helpers/postgres.js';
import { skipping } from '../helpers/skip.js';
import {
  AFTER_TERM1,
  AFTER_TERM2,
  availabilityOf,
  DISTRICTS,
  type Fixture,
  fixtureTargets,
  loadTerm,
  registerFixture,
  speedsOf,
  stateOf,
  TERM1,
  TERM2,
} from '../helpers/term-fixture.js';

const targets = fixtureTargets();
const baseline = loadBaseline(DEFAULT_BASELINE_FILE);

interface Backend {
  name: string;
  skip: string | undefined;
  open(): Promise<{ store: StateStore; close(): Promise<void> }>;
}

let pg: Postgres | undefined;
const BACKENDS: Backend[] = [
  {
    name: 'sqlite',
    skip: undefined,
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'cw-term-'));
      const store = new SqliteStateStore(dir);
      return {
        store,
        async close() {
          await store.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'postgres',
    skip: postgresAvailable(),
    async open() {
      pg ??= await startPostgres();
      const store = await PgStateStore.open({ url: await pg.createDatabase('term_snapshots'), poolMax: 4 });
      return { store, close: () => store.close() };
    },
  },
];

afterAll(async () => {
  await pg?.cleanup();
});

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

for (const backend of BACKENDS) {
  describe.skipIf(skipping(backend.skip))(
    `term snapshots on ${backend.name}${backend.skip ? ` (SKIPPED: ${backend.skip})` : ''}`,
    () => {
      let store: StateStore;
      let close: () => Promise<void>;
      let fixture: Fixture;
      let first: TermSnapshot[];
      let second: TermSnapshot[];
      const ctx = () => ({ state: store, targets, baseline });

      beforeAll(async () => {
        ({ store, close } = await backend.open());
        fixture = await registerFixture(store);
        await loadTerm(store, fixture, 1);
        const t1 = await takeTermSnapshots(ctx(), TERM1.name, {
          now: AFTER_TERM1,
          takenBy: 'test',
          trigger: 'term-end',
        });
        await loadTerm(store, fixture, 2);
        const t2 = await takeTermSnapshots(ctx(), TERM2.name, {
          now: AFTER_TERM2,
          takenBy: 'test',
          trigger: 'term-end',
        });
        first = t1.map((o) => (o.status === 'not-ended' ? undefined! : o.snapshot));
        second = t2.map((o) => (o.status === 'not-ended' ? undefined! : o.snapshot));
        expect(t1.map((o) => o.status)).toEqual(['stored', 'stored', 'stored']);
        expect(t2.map((o) => o.status)).toEqual(['stored', 'stored', 'stored']);
      }, 120_000);

      afterAll(async () => {
        await close?.();
      });

      it('one snapshot per district with every school, each district with its own calendar', async () => {
        expect(second.map((s) => s.district).sort()).toEqual([...DISTRICTS].sort());
        for (const s of second) {
          expect(s.schools).toHaveLength(30);
          expect(s.schools.every((x) => x.compliance.length === TARGET_NAMES.length)).toBe(true);
        }
        const jt = second.find((s) => s.district === '金坛区')!;
        expect([jt.from, jt.to]).toEqual(['2027-03-01', '2027-07-09']);
        expect(second.find((s) => s.district === '武进区')!.to).toBe(TERM2.to);
        // the district's own goal was frozen with it
        expect(jt.targets.find((t) => t.name === 'recording_room')).toMatchObject({
          goalPct: 90,
          goalSource: 'district',
          cityGoalPct: 80,
        });
        expect(
          (await store.snapshots.listSnapshots()).map((h) => `${h.term}|${h.district}|${h.schools}`),
        ).toEqual([TERM1.name, TERM2.name].flatMap((t) => [...DISTRICTS].sort().map((d) => `${t}|${d}|30`)));
      });

      it('is taken once: a second take stores nothing and answers the snapshot that stands', async () => {
        const again = await takeTermSnapshots(ctx(), TERM2.name, {
          now: new Date(AFTER_TERM2.getTime() + 86_400_000),
          takenBy: 'someone else',
          trigger: 'on-demand',
        });
        expect(again.map((o) => o.status)).toEqual(['existed', 'existed', 'existed']);
        const one = (await store.snapshots.snapshot(TERM2.name, '武进区'))!;
        expect(one.takenBy).toBe('test');
        expect(one.takenAt).toBe(AFTER_TERM2.toISOString());
        expect(await store.snapshots.saveSnapshot({ ...one, takenBy: 'overwrite' })).toBe(false);
        expect((await store.snapshots.snapshot(TERM2.name, '武进区'))!.takenBy).toBe('test');
      });

      it('refuses to change or delete a stored snapshot', async () => {
        const sql = "UPDATE term_snapshots SET taken_by = 'x'";
        const del = 'DELETE FROM term_snapshots';
        const s = store;
        if (s instanceof SqliteStateStore) {
          expect(() => s.db.exec(sql)).toThrow(/immutable/);
          expect(() => s.db.exec(del)).toThrow(/immutable/);
        } else {
          const url = pg!.urlOf('term_snapshots');
          const { Client } = await import('pg');
          const c = new Client({ connectionString: url });
          await c.connect();
          try {
            await expect(c.query(sql)).rejects.toThrow(/immutable/);
            await expect(c.query(del)).rejects.toThrow(/immutable/);
          } finally {
            await c.end();
          }
        }
        expect(await store.snapshots.listSnapshots()).toHaveLength(6);
      });

      it('an unknown term names the known ones; a term not ended yet is not frozen', async () => {
        await expect(
          takeTermSnapshots(ctx(), '2030学年', { now: AFTER_TERM2, takenBy: 't', trigger: 'on-demand' }),
        ).rejects.toThrow(UnknownTermError);
        await expect(
          takeTermSnapshots(ctx(), '2030学年', { now: AFTER_TERM2, takenBy: 't', trigger: 'on-demand' }),
        ).rejects.toThrow(`known terms: ${TERM1.name}, ${TERM2.name}`);
        // 2027-07-05: the city's term 2 has ended, 金坛区's (to 07-09) has not — but they exist already;
        // a fresh store shows the refusal
        const fresh = await BACKENDS[0]!.open();
        try {
          await fresh.store.upsertSchool(fixture.schools.find((s) => s.district === '金坛区')!);
          const early = await takeTermSnapshots({ state: fresh.store, targets, baseline }, TERM2.name, {
            now: new Date('2027-07-05T12:00:00+08:00'),
            takenBy: 't',
            trigger: 'on-demand',
          });
          expect(early).toEqual([
            expect.objectContaining({ district: '金坛区', status: 'not-ended', today: '2027-07-05' }),
          ]);
          expect(await fresh.store.snapshots.listSnapshots()).toEqual([]);
        } finally {
          await fresh.close();
        }
      });

      it('acceptance 1: the changes since term 1 are exactly the generator’s, with their direction', () => {
        const report = buildTermReport({
          term: TERM2.name,
          snapshots: second,
          compare: { term: TERM1.name, snapshots: first },
          scope: CITY,
          generatedAt: AFTER_TERM2,
        });
        const expected: string[] = [];
        for (const [i, s] of fixture.schools.entries())
          TARGET_NAMES.forEach((t, j) => {
            const a = stateOf(1, i, j);
            const b = stateOf(2, i, j);
            if (a === b) return;
            const direction: Direction = a === 'met' ? 'declined' : b === 'met' ? 'improved' : 'other';
            expected.push(`${s.id}|${t}|${a}>${b}|${direction}`);
          });
        const got = report.changes.map((c) => `${c.id}|${c.target}|${c.from}>${c.to}|${c.direction}`);
        expect(expected.length).toBeGreaterThan(50);
        expect(got.sort()).toEqual(expected.sort());
        // declined first
        const firstImproved = report.changes.findIndex((c) => c.direction !== 'declined');
        expect(report.changes.slice(firstImproved).every((c) => c.direction !== 'declined')).toBe(true);
      });

      it('acceptance 1: each district KPI change in points is the difference of the two snapshots', () => {
        const report = buildTermReport({
          term: TERM2.name,
          snapshots: second,
          compare: { term: TERM1.name, snapshots: first },
          scope: CITY,
          generatedAt: AFTER_TERM2,
        });
        expect(report.summaries.map((s) => s.district)).toEqual([
          null,
          ...[...DISTRICTS].sort(new Intl.Collator('zh-CN').compare),
        ]);
        let compared = 0;
        for (const summary of report.summaries.slice(1)) {
          const now = second.find((s) => s.district === summary.district)!.kpis.district;
          const before = first.find((s) => s.district === summary.district)!.kpis.district;
          for (const k of summary.kpis) {
            expect(k.pct).toBe(now.targets[k.target]!.pct);
            expect(k.previousPct).toBe(before.targets[k.target]!.pct);
            expect(k.changePts).toBe(
              Math.round((now.targets[k.target]!.pct! - before.targets[k.target]!.pct!) * 10) / 10,
            );
            // and from the generator, without the code under test
            const idx = fixture.schools.flatMap((s, i) => (s.district === summary.district ? [i] : []));
            const j = TARGET_NAMES.indexOf(k.target);
            const pct = (term: 1 | 2) =>
              Math.round((idx.filter((i) => stateOf(term, i, j) === 'met').length / idx.length) * 1000) / 10;
            expect([k.pct, k.previousPct]).toEqual([pct(2), pct(1)]);
            compared++;
          }
        }
        expect(compared).toBe(3 * TARGET_NAMES.length);
      });

      it('figures over the term: availability of the term’s days only, median speed tests, findings', () => {
        for (const [i, s] of fixture.schools.entries()) {
          const snap = second.find((x) => x.district === s.district)!.schools.find((x) => x.id === s.id)!;
          const { up, total } = availabilityOf(2, i);
          expect(snap.term.availability).toMatchObject({ up, total });
          expect(snap.term.uplink.down).toEqual({ tests: 3, medianMbps: median(speedsOf(2, i).down) });
          expect(snap.term.uplink.up).toEqual({ tests: 3, medianMbps: median(speedsOf(2, i).up) });
          // the high finding seen since term 1 is open and overdue (30 days); the critical one resolved in term 2
          expect(snap.openFindings.map((f) => `${f.rule}:${f.overdue}`)).toEqual(
            i % 5 === 0 ? ['cleartext-telnet:true'] : [],
          );
          expect(snap.term.findings).toEqual({ opened: 0, resolved: i % 9 === 0 ? 1 : 0 });
        }
        const wj01 = first.find((x) => x.district === '武进区')!.schools.find((x) => x.id === 'wj-01')!;
        // term 1: both open, the critical one worst first; days open counted to the snapshot
        const days = (firstSeen: string) =>
          Math.floor((AFTER_TERM1.getTime() - Date.parse(firstSeen)) / 86_400_000);
        expect(wj01.openFindings.map((f) => [f.rule, f.severity, f.daysOpen, f.dueDays, f.overdue])).toEqual([
          // first seen 100 and 3 days after the term's first day (the fixture)
          ['snmp-default-community', 'critical', days('2026-12-10T02:00:00.000Z'), 7, true],
          ['cleartext-telnet', 'high', days('2026-09-04T02:00:00.000Z'), 30, true],
        ]);
        expect(wj01.term.findings).toEqual({ opened: 2, resolved: 0 });
      });
    },
  );
}
