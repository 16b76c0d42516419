import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { spoolFile } from '../../agent/src/identity.js';
import { Spool } from '../../agent/src/spool/spool.js';
import { runCli } from '../helpers/cli.js';
import { makeReport } from '../helpers/reports.js';
import { XINGHAI } from '../helpers/world.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A state directory and an agent config naming it, with `spool.maxDeadLetters`. */
function setUp(maxDeadLetters: number): { state: string; config: string } {
  const dir = mkdtempSync(join(tmpdir(), 'cw-spool-cli-'));
  dirs.push(dir);
  const state = join(dir, 'state');
  const config = join(dir, 'agent.yaml');
  writeFileSync(
    config,
    [
      'school:',
      `  id: ${XINGHAI.id}`,
      `  name: "${XINGHAI.name}"`,
      '  timezone: Asia/Shanghai',
      'collector:',
      '  url: http://127.0.0.1:9',
      `state: ${state}`,
      'spool:',
      `  maxDeadLetters: ${maxDeadLetters}`,
      '',
    ].join('\n'),
  );
  return { state, config };
}

const FUTURE =
  'results/0/at: 2026-12-07T08:00:00.000Z is 23 h in the future (more than ingest.futureToleranceS = 300 s) (after clock correction)';

describe('a spool that cannot write (no root needed: SQLite’s max_page_count stands for a full disk)', () => {
  it('holds new reports in memory, offers them after the stored ones, and stores them once it can', () => {
    const { state } = setUp(10);
    const failures: string[] = [];
    const recoveries: number[] = [];
    const spool = new Spool(spoolFile(state), 100, {
      onStoreError: (operation) => failures.push(operation),
      onRecovered: (_failure, held) => recoveries.push(held),
    });
    const db = (spool as unknown as { db: { pragma(s: string, o?: { simple: true }): unknown } }).db;
    const first = makeReport();
    spool.enqueue(first);
    db.pragma(`max_page_count = ${Number(db.pragma('page_count', { simple: true }))}`);
    const stored = [first.reportId];
    const held: string[] = [];
    for (let i = 0; i < 500 && held.length < 3; i++) {
      const r = makeReport();
      if (spool.enqueue(r).held) held.push(r.reportId);
      else if (held.length === 0) stored.push(r.reportId);
      else throw new Error('a report stored after one was held: the order would change');
    }
    expect(held).toHaveLength(3);
    expect(failures).toEqual(['store a report']); // said once, not per report
    const c = spool.counters();
    expect(c).toMatchObject({ held: 3, unstored: 3, depth: stored.length + 3 });
    expect(c.failure?.message).toContain('database or disk is full');
    // stored ones first, then the held ones, each telling why in its health
    const offered = spool.oldest(stored.length + 3);
    expect(offered.map((o) => o.reportId)).toEqual([...stored, ...held]);
    const told = JSON.parse(offered.at(-1)!.body) as { health: Record<string, unknown> };
    expect(told.health).toMatchObject({ spoolUnstored: 3, spoolFailure: { since: c.failure?.since } });
    // a held report delivered leaves memory, counted as delivered
    spool.ack(held[0]!);
    expect(spool.counters()).toMatchObject({ held: 2, delivered: 1 });

    // room again: the next report is stored after the held ones, which are written first
    db.pragma('max_page_count = 1073741823');
    const next = makeReport();
    expect(spool.enqueue(next).held).toBeUndefined();
    expect(recoveries).toEqual([2]);
    expect(spool.counters()).toMatchObject({ held: 0, unstored: 3, delivered: 1, failure: null });
    expect(spool.oldest(1000).map((o) => o.reportId)).toEqual([...stored, ...held.slice(1), next.reportId]);
    spool.close();
    // what was counted is on disk
    const again = new Spool(spoolFile(state), 100);
    expect(again.counters()).toMatchObject({ unstored: 3, delivered: 1, held: 0, failure: null });
    again.close();
  });

  it('a failure an earlier run wrote for status is shown until a report is stored again', () => {
    const { state } = setUp(10);
    const since = '2026-12-06T08:00:00.000Z';
    const before = new Spool(spoolFile(state), 100);
    before.setMeta(
      'storeFailure',
      JSON.stringify({ since, message: 'store a report: database or disk is full' }),
    );
    before.close();
    const recoveries: string[] = [];
    const spool = new Spool(spoolFile(state), 100, { onRecovered: (f) => recoveries.push(f.since) });
    expect(spool.counters().failure?.since).toBe(since); // what `status` shows
    spool.enqueue(makeReport());
    expect(spool.counters().failure).toBeNull();
    expect(recoveries).toEqual([since]);
    spool.close();
  });
});

describe('the dead-letter table', () => {
  it('keeps the newest maxDeadLetters, drops the oldest first and counts them', () => {
    const { state } = setUp(3);
    const spool = new Spool(spoolFile(state), 100, { maxDeadLetters: 3 });
    const reports = Array.from({ length: 5 }, () => makeReport());
    for (const r of reports) spool.enqueue(r);
    for (const [i, r] of reports.entries()) spool.reject(r.reportId, 413, `too large ${i}`);
    expect(spool.counters()).toMatchObject({ depth: 0, rejected: 3, deadDropped: 2 });
    expect(spool.deadLetters().map((d) => d.reportId)).toEqual(reports.slice(2).map((r) => r.reportId));
    expect(spool.deadLetters()[0]).toMatchObject({ status: 413, reason: 'too large 2' });
    // the count survives a restart
    spool.close();
    const again = new Spool(spoolFile(state), 100, { maxDeadLetters: 3 });
    expect(again.counters()).toMatchObject({ rejected: 3, deadDropped: 2 });
    again.close();
  });

  it('spool list / replay / drop through the CLI', async () => {
    const { state, config } = setUp(10);
    const spool = new Spool(spoolFile(state), 100, { maxDeadLetters: 10 });
    const [waiting, tooLarge, future, other] = [makeReport(), makeReport(), makeReport(), makeReport()];
    for (const r of [waiting, tooLarge, future, other]) spool.enqueue(r);
    spool.reject(tooLarge.reportId, 413, 'request body is larger than the limit of 1048576 bytes');
    spool.reject(future.reportId, 400, FUTURE);
    spool.reject(other.reportId, 400, 'results/0/durationMs: must be >= 0');
    spool.close();

    const list = await runCli('agent', ['spool', 'list', '--config', config]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain(waiting.reportId);
    expect(list.stdout).not.toContain(tooLarge.reportId);
    expect(list.stdout).toContain("1 report waiting, 3 dead letters ('spool list --dead')");

    const dead = await runCli('agent', ['spool', 'list', '--dead', '--json', '--config', config]);
    expect(dead.code, dead.stderr).toBe(0);
    const parsed = JSON.parse(dead.stdout) as {
      deadLetters: { reportId: string; status: number; reason: string }[];
      cap: number;
      droppedBeyondCap: number;
    };
    expect(parsed.deadLetters.map((d) => [d.reportId, d.status])).toEqual([
      [tooLarge.reportId, 413],
      [future.reportId, 400],
      [other.reportId, 400],
    ]);
    expect(parsed).toMatchObject({ cap: 10, droppedBeyondCap: 0 });
    const deadText = await runCli('agent', ['spool', 'list', '--dead', '--config', config]);
    expect(deadText.stdout).toContain('3 dead letters (at most 10 kept, 0 dropped beyond)');
    expect(deadText.stdout).toContain('refused only for times in the future');

    // replay one: back in the queue, after the one waiting
    const replay = await runCli('agent', ['spool', 'replay', future.reportId, '--config', config]);
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stdout).toBe(
      `replayed ${future.reportId}\n1 dead letter moved back to the queue; the running agent sends it at its next try\n`,
    );
    const after = new Spool(spoolFile(state), 100);
    expect(after.oldest(5).map((r) => r.reportId)).toEqual([waiting.reportId, future.reportId]);
    expect(JSON.parse(after.oldest(5)[1]!.body)).toEqual(future); // the report as it was, byte for byte
    after.close();

    // an id that is not a dead letter: exit 1, nothing changed; neither id nor --all: usage, exit 2
    const unknown = await runCli('agent', ['spool', 'replay', waiting.reportId, '--config', config]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(`no dead letter ${waiting.reportId}`);
    const neither = await runCli('agent', ['spool', 'drop', '--config', config]);
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain('give a report id');

    const drop = await runCli('agent', ['spool', 'drop', '--all', '--config', config]);
    expect(drop.code, drop.stderr).toBe(0);
    expect(drop.stdout).toBe(
      `dropped ${tooLarge.reportId}\ndropped ${other.reportId}\n2 dead letters deleted\n`,
    );
    const end = new Spool(spoolFile(state), 100);
    expect(end.counters()).toMatchObject({ depth: 2, rejected: 0 });
    end.close();

    // a daemon that started on a full disk holds the spool alone (exclusive mode): said, not "database is locked"
    const daemon = new Database(spoolFile(state));
    daemon.pragma('locking_mode = EXCLUSIVE');
    daemon.pragma('journal_mode = WAL');
    daemon.prepare("INSERT INTO meta (key, value) VALUES ('held', 'by the daemon')").run();
    try {
      const locked = await runCli('agent', ['spool', 'list', '--config', config]);
      expect(locked.code).toBe(1);
      expect(locked.stderr).toContain('is held by the running agent alone');
    } finally {
      daemon.close();
    }
  }, 120_000);
});
