// The real collector as its own process for the benches: `startCollector` (collector/src/server.ts) with the
// given config file, logs (warn and above) on stderr, one JSON line `{ url, pid }` on stdout once it
// listens; SIGTERM shuts it down gracefully (and writes a --cpu-prof profile if node was asked for one).
// Usage: node --import tsx bench/collector-main.ts CONFIG_FILE [--synchronous NORMAL]
// (--synchronous: a what-if for the benches, PRAGMA synchronous on the state store's connection once it
// runs; collector/src/store/state.ts sets FULL)
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { pino } from 'pino';
import { loadCollectorConfig } from '../collector/src/config.js';
import { createCollectorLogger, startCollector } from '../collector/src/server.js';
import { SqliteStateStore } from '../collector/src/store/sqlite-state.js';

const [configFile, ...rest] = process.argv.slice(2);
const synchronous = rest[0] === '--synchronous' ? rest[1] : undefined;
if (!configFile) {
  process.stderr.write('usage: collector-main.ts CONFIG_FILE\n');
  process.exit(2);
}
const log = createCollectorLogger(process.env.CAMPUSWATCH_LOG_LEVEL ?? 'warn', pino.destination(2));
const running = await startCollector(loadCollectorConfig(configFile), { log, handleSignals: true });
if (synchronous && /^(OFF|NORMAL|FULL|EXTRA)$/.test(synchronous)) {
  const state = running.app.campuswatch.state;
  if (state instanceof SqliteStateStore) state.db.pragma(`synchronous = ${synchronous}`);
}
// CAMPUSWATCH_BENCH_STALLS=1 (bench/ingest --stall-log): one JSON line on stderr for every InfluxDB /write
// over 1 s, every event-loop block over 100 ms and every GC over 50 ms, each with its wall-clock start, so
// the bench can lay them next to influxd's log, the machine's I/O and each other
if (process.env.CAMPUSWATCH_BENCH_STALLS === '1') {
  const line = (o: object) => process.stderr.write(`${JSON.stringify(o)}\n`);
  const influx = running.app.campuswatch.influx;
  if (influx) {
    const observe = influx.onWrite;
    influx.onWrite = (seconds, ok) => {
      observe?.(seconds, ok);
      if (seconds > 1) line({ slowWrite: { sentAt: Date.now() - seconds * 1000, seconds, ok } });
    };
  }
  // a timer every 20 ms: a gap between two ticks over 100 ms is a block of the event loop
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    if (now - last > 120) line({ loopBlock: { at: Date.now() - (now - last), ms: now - last - 20 } });
    last = now;
  }, 20).unref();
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
      if (e.duration > 50)
        line({
          gc: {
            at: performance.timeOrigin + e.startTime,
            ms: e.duration,
            major: kind === constants.NODE_PERFORMANCE_GC_MAJOR,
          },
        });
    }
  }).observe({ entryTypes: ['gc'] });
}
process.stdout.write(`${JSON.stringify({ url: running.url, pid: process.pid })}\n`);
