// The real collector as its own process for the benches: `startCollector` (collector/src/server.ts) with the
// given config file, logs (warn and above) on stderr, one JSON line `{ url, pid }` on stdout once it
// listens; SIGTERM shuts it down gracefully (and writes a --cpu-prof profile if node was asked for one).
// Usage: node --import tsx bench/collector-main.ts CONFIG_FILE [--synchronous NORMAL]
// (--synchronous: a what-if for the benches, PRAGMA synchronous on the state store's connection once it
// runs; collector/src/store/state.ts sets FULL)
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
process.stdout.write(`${JSON.stringify({ url: running.url, pid: process.pid })}\n`);
