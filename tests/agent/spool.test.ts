import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { Spool } from '../../agent/src/spool/spool.js';
import { makeReport } from '../helpers/reports.js';

const dirs: string[] = [];
function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cw-spool-'));
  dirs.push(dir);
  return join(dir, 'spool.sqlite');
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('Spool', () => {
  it('keeps reports in order until acknowledged', () => {
    const spool = new Spool(tempFile(), 100);
    const reports = [makeReport(), makeReport(), makeReport()];
    for (const r of reports) spool.enqueue(r);
    expect(spool.oldest(10).map((s) => s.reportId)).toEqual(reports.map((r) => r.reportId));
    spool.ack(reports[0]!.reportId);
    expect(spool.oldest(10).map((s) => s.reportId)).toEqual(reports.slice(1).map((r) => r.reportId));
    expect(spool.counters()).toMatchObject({ depth: 2, delivered: 1, dropped: 0 });
    expect(JSON.parse(spool.oldest(1)[0]!.body)).toEqual(reports[1]);
    expect(spool.getMeta('lastDeliveryAt')).toMatch(/^\d{4}-/);
    spool.close();
  });

  it('runs in WAL mode with synchronous=FULL', () => {
    const spool = new Spool(tempFile(), 10);
    const db = (spool as unknown as { db: { pragma(s: string, o: { simple: true }): unknown } }).db;
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2); // FULL
    spool.close();
  });

  it('drops the oldest beyond the cap and counts every drop', () => {
    const spool = new Spool(tempFile(), 10);
    const reports = Array.from({ length: 13 }, () => makeReport());
    const outcomes = reports.map((r) => spool.enqueue(r));
    expect(outcomes.slice(0, 10).every((o) => o.dropped === 0)).toBe(true);
    expect(outcomes.slice(10).map((o) => o.dropped)).toEqual([1, 1, 1]);
    expect(spool.counters()).toMatchObject({ depth: 10, dropped: 3 });
    expect(spool.oldest(1)[0]!.reportId).toBe(reports[3]!.reportId);
    spool.close();
  });

  it('moves a refused report to the dead-letter table, counted', () => {
    const spool = new Spool(tempFile(), 10);
    const [a, b] = [makeReport(), makeReport()];
    spool.enqueue(a);
    spool.enqueue(b);
    spool.reject(a.reportId, 400, 'results/0/durationMs: must be >= 0');
    expect(spool.counters()).toMatchObject({ depth: 1, rejected: 1 });
    expect(spool.oldest(5).map((s) => s.reportId)).toEqual([b.reportId]);
    spool.close();
  });

  it('survives SIGKILL in the middle of spooling, 20 times: opens cleanly, no acknowledged report lost', async () => {
    const file = tempFile();
    const acknowledged: string[] = [];
    for (let round = 0; round < 20; round++) {
      const child = spawn(process.execPath, ['--import', 'tsx', 'tests/helpers/spool-writer.ts', file], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = new Promise<NodeJS.Signals | null>((resolve) =>
        child.once('exit', (_c, sig) => resolve(sig)),
      );
      const lines = createInterface({ input: child.stdout });
      const target = 5 + Math.floor(Math.random() * 60);
      let seen = 0;
      for await (const line of lines) {
        if (line === 'ready') continue;
        acknowledged.push(line);
        if (++seen === target) child.kill('SIGKILL');
      }
      expect(await exited).toBe('SIGKILL');
      const spool = new Spool(file, 100000);
      expect(spool.integrityCheck()).toBe('ok');
      const stored = new Set(spool.oldest(1_000_000).map((s) => s.reportId));
      const lost = acknowledged.filter((id) => !stored.has(id));
      expect(lost).toEqual([]);
      spool.close();
    }
    expect(acknowledged.length).toBeGreaterThanOrEqual(20 * 5);
  });
});
