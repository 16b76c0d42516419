import { v7 as uuidv7 } from 'uuid';
import { describe, expect, it } from 'vitest';
import { partId, remainingParts, reportParts } from '../../agent/src/report-parts.js';
import type { ReachabilityResult, Report } from '../../protocol/report.js';
import { checkReport } from '../../protocol/report-check.js';
import { makeReport } from '../helpers/reports.js';

/** A report of `devices` TCP results in rooms of 50, with Chinese names (multi-byte UTF-8). */
function bigReport(devices: number): Report {
  const base = makeReport();
  const template = base.results[0] as ReachabilityResult;
  const results: ReachabilityResult[] = Array.from({ length: devices }, (_, i) => ({
    ...template,
    target: `教室终端 ${i}`,
    device: {
      ...template.device,
      name: `教室终端 ${i}`,
      room: `教室 ${Math.floor(i / 50)}`,
      roomType: 'classroom',
    },
    check: 'tcp',
    port: 80,
  }));
  return { ...base, results };
}

const bytes = (r: Report) => Buffer.byteLength(JSON.stringify(r));

describe('a cycle larger than the body limit goes as several reports', () => {
  it('a report that fits is one part, unchanged (no cycle header)', () => {
    const report = bigReport(10);
    const parts = [...reportParts(report, { maxBytes: 1_048_576, newId: uuidv7 })];
    expect(parts).toHaveLength(1);
    expect(parts[0]).toEqual(report);
    expect(parts[0]!.cycle).toBeUndefined();
  });

  it('5,000 results under 256 KiB: every part under the limit, valid, its own id, the results in order once', () => {
    const report = bigReport(5000);
    const maxBytes = 256 * 1024;
    expect(bytes(report)).toBeGreaterThan(4 * maxBytes);
    const parts = [...reportParts(report, { maxBytes, newId: uuidv7 })];
    expect(parts.length).toBeGreaterThan(4);
    for (const [i, p] of parts.entries()) {
      expect(bytes(p)).toBeLessThanOrEqual(maxBytes);
      expect(checkReport(JSON.parse(JSON.stringify(p))).ok).toBe(true);
      expect(p.cycle).toEqual({ id: report.reportId, part: i + 1, parts: parts.length, results: 5000 });
    }
    expect(parts[0]!.reportId).toBe(report.reportId);
    expect(new Set(parts.map((p) => p.reportId)).size).toBe(parts.length);
    expect(parts.flatMap((p) => p.results)).toEqual(report.results);
    // the parts are filled: none but the last is less than half full
    for (const p of parts.slice(0, -1)) expect(bytes(p)).toBeGreaterThan(maxBytes / 2);
  });

  it('more results than the protocol allows in one report: split by count even when they are small', () => {
    const report = bigReport(25_000);
    const parts = [...reportParts(report, { maxBytes: 64 * 1_048_576, newId: uuidv7 })];
    expect(parts.map((p) => p.results.length)).toEqual([20_000, 5000]);
  });

  it('a protocol violation in a part is thrown, naming the field', () => {
    const report = bigReport(3);
    (report.results[2] as ReachabilityResult).port = 70_000;
    expect(() => [...reportParts(report, { maxBytes: 1_048_576, newId: uuidv7 })]).toThrow(
      /invalid report: results\/2\/port/,
    );
  });
});

describe('a spooled report sent again in smaller parts (after a 413)', () => {
  it('part ids: lower-case UUIDv7 with the report’s time, the same for the same results, another for others', () => {
    const id = uuidv7();
    const a = partId(id, 0, 100);
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a.slice(0, 13)).toBe(id.slice(0, 13));
    expect(partId(id, 0, 100)).toBe(a);
    expect(new Set([a, partId(id, 0, 101), partId(id, 1, 100), partId(uuidv7(), 0, 100)]).size).toBe(4);
  });

  it('the rest of a part of a cycle: under the size, numbered after the parts sent, the cycle’s id and count kept', () => {
    const report = bigReport(3000);
    const part2of3: Report = {
      ...report,
      cycle: { id: uuidv7(), part: 2, parts: 3, results: 9000 },
    };
    const maxBytes = 64 * 1024;
    const rest = [...remainingParts(part2of3, { from: 1000, done: 2 }, maxBytes)];
    expect(rest.length).toBeGreaterThan(2);
    expect(rest[0]!.start).toBe(1000);
    expect(rest.at(-1)!.end).toBe(3000);
    expect(rest.flatMap((r) => r.part.results)).toEqual(report.results.slice(1000));
    for (const [i, { part, start, end }] of rest.entries()) {
      expect(bytes(part)).toBeLessThanOrEqual(maxBytes);
      expect(part.reportId).toBe(partId(report.reportId, start, end));
      expect(part.cycle).toEqual({
        id: part2of3.cycle!.id,
        part: 4 + i,
        parts: 3 + 2 + rest.length - 1,
        results: 9000,
      });
      expect(checkReport(JSON.parse(JSON.stringify(part))).ok).toBe(true);
    }
    // asked again from the same point, the same parts under the same ids
    expect(
      [...remainingParts(part2of3, { from: 1000, done: 2 }, maxBytes)].map((r) => r.part.reportId),
    ).toEqual(rest.map((r) => r.part.reportId));
  });
});
