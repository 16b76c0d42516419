// bench/pprof-top: where a Go process (influxd) spent its CPU, from the CPU profiles its /debug/pprof/profile
// endpoint writes (gzipped protobuf), decoded with pprof-format. Prints per profile the functions with the
// most CPU on their own (flat) and under them (cumulative), as a share of the profile's samples, and the
// seconds sampled. bench/ingest --influx-pprof DIR takes one per measured phase and prints this summary.
// Run with: npx tsx bench/pprof-top.ts FILE.pb.gz [FILE2.pb.gz …] [--top 25]
//   --smoke (scripts/bench-smoke.sh): encodes a small Go-shaped CPU profile with known shares, gzips it,
//   summarises it as above and checks the shares (exit code 1 when they are wrong).
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  Line,
  Location,
  Function as PprofFunction,
  Profile,
  Sample,
  StringTable,
  ValueType,
} from 'pprof-format';

export interface FunctionShare {
  name: string;
  /** Share of all sampled CPU with this function at the top of the stack. */
  flat: number;
  /** Share of all sampled CPU with this function anywhere on the stack. */
  cum: number;
}

export interface ProfileSummary {
  /** CPU seconds sampled. */
  cpuS: number;
  /** Wall seconds the profile covered. */
  wallS: number;
  functions: FunctionShare[];
}

/** Decodes a (gzipped or plain) pprof CPU profile and sums its samples by function. */
export function summariseProfile(bytes: Uint8Array): ProfileSummary {
  const raw = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
  const p = Profile.decode(raw);
  const strings = p.stringTable.strings;
  // the value in nanoseconds of CPU: Go writes [samples/count, cpu/nanoseconds]
  const k = p.sampleType.findIndex((t) => strings[Number(t.type)] === 'cpu');
  const valueIndex = k >= 0 ? k : p.sampleType.length - 1;
  const fnName = new Map<string, string>();
  for (const f of p.function) fnName.set(String(f.id), strings[Number(f.name)] ?? '?');
  // a location may stand for several inlined functions (its lines, innermost first)
  const locNames = new Map<string, string[]>();
  for (const l of p.location) {
    const names = l.line.map((ln) => fnName.get(String(ln.functionId)) ?? '?');
    locNames.set(String(l.id), names.length > 0 ? names : [`0x${Number(l.address).toString(16)}`]);
  }
  const flat = new Map<string, number>();
  const cum = new Map<string, number>();
  let total = 0;
  for (const s of p.sample) {
    const v = Number(s.value[valueIndex] ?? 0);
    if (v === 0) continue;
    total += v;
    const stack = s.locationId.flatMap((id) => locNames.get(String(id)) ?? ['?']);
    const top = stack[0];
    if (top !== undefined) flat.set(top, (flat.get(top) ?? 0) + v);
    for (const name of new Set(stack)) cum.set(name, (cum.get(name) ?? 0) + v);
  }
  const functions = [...cum.entries()].map(([name, c]) => ({
    name,
    flat: total > 0 ? (flat.get(name) ?? 0) / total : 0,
    cum: total > 0 ? c / total : 0,
  }));
  return { cpuS: total / 1e9, wallS: Number(p.durationNanos) / 1e9, functions };
}

/** Trims Go's package paths (github.com/influxdata/influxdb/tsdb/engine/tsm1.(*Cache).Write → tsm1.(*Cache).Write). */
function short(name: string): string {
  return name.replace(/^.*\//, '');
}

/** The summary as text: the `top` functions by flat share, then by cumulative share. */
export function formatSummary(label: string, s: ProfileSummary, top = 25): string {
  const pct = (x: number) => `${(x * 100).toFixed(1).padStart(5)}%`;
  const lines = [`${label}: ${s.cpuS.toFixed(1)} s CPU sampled over ${s.wallS.toFixed(0)} s`];
  lines.push('  flat   cum    function (by flat)');
  for (const f of [...s.functions].sort((a, b) => b.flat - a.flat).slice(0, top))
    lines.push(`  ${pct(f.flat)} ${pct(f.cum)} ${short(f.name)}`);
  lines.push('  flat   cum    function (by cumulative)');
  for (const f of [...s.functions].sort((a, b) => b.cum - a.cum).slice(0, top))
    lines.push(`  ${pct(f.flat)} ${pct(f.cum)} ${short(f.name)}`);
  return lines.join('\n');
}

/**
 * A profile as Go writes one ([samples/count, cpu/nanoseconds]): main.work calls tsm1.write (inlined into the
 * same location) 3 s and runtime.gcBgMarkWorker runs 1 s, over 10 s of wall time.
 */
function smokeProfile(): Uint8Array {
  const st = new StringTable();
  const fn = (id: number, name: string) => new PprofFunction({ id, name: st.dedup(name) });
  const fns = [
    fn(1, 'main.work'),
    fn(2, 'github.com/influxdata/influxdb/tsdb/engine/tsm1.write'),
    fn(3, 'runtime.gcBgMarkWorker'),
  ];
  const loc = (id: number, functionIds: number[]) =>
    new Location({ id, line: functionIds.map((functionId) => new Line({ functionId })) });
  const profile = new Profile({
    sampleType: [
      new ValueType({ type: st.dedup('samples'), unit: st.dedup('count') }),
      new ValueType({ type: st.dedup('cpu'), unit: st.dedup('nanoseconds') }),
    ],
    function: fns,
    location: [loc(1, [2, 1]), loc(2, [1]), loc(3, [3])],
    sample: [
      new Sample({ locationId: [1, 2], value: [200, 2e9] }),
      new Sample({ locationId: [2], value: [100, 1e9] }),
      new Sample({ locationId: [3], value: [100, 1e9] }),
    ],
    stringTable: st,
    durationNanos: 10e9,
  });
  return gzipSync(profile.encode());
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv.includes('--smoke')) {
  const s = summariseProfile(smokeProfile());
  console.log(formatSummary('smoke profile', s, 5));
  const share = (name: string) => s.functions.find((f) => f.name.endsWith(name));
  const ok =
    s.cpuS === 4 &&
    s.wallS === 10 &&
    share('tsm1.write')?.flat === 0.5 &&
    share('main.work')?.flat === 0.25 &&
    share('main.work')?.cum === 0.75 &&
    share('runtime.gcBgMarkWorker')?.cum === 0.25;
  if (!ok) {
    console.error('bench/pprof-top --smoke: the summary does not give the shares encoded in the profile');
    process.exitCode = 1;
  }
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--top');
  const top = i >= 0 ? Number(process.argv[i + 1]) : 25;
  const files = process.argv.slice(2).filter((a, k, all) => a !== '--top' && all[k - 1] !== '--top');
  if (files.length === 0 || !Number.isInteger(top) || top < 1) {
    console.error('usage: npx tsx bench/pprof-top.ts FILE.pb.gz [FILE2.pb.gz …] [--top N]');
    process.exit(2);
  }
  for (const f of files) console.log(formatSummary(basename(f), summariseProfile(readFileSync(f)), top));
}
