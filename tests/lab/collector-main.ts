// Runs a collector inside a lab namespace (started with `lab.nodeIn('centre', …)`): listens on the given
// address, registers one school, enrols one agent into <agentStateDir>, prints one JSON line, then runs
// until SIGTERM.
import { saveIdentity } from '../../agent/src/identity.js';

/** The lab collector's admin token (tests read its API with it). */
const LAB_ADMIN_TOKEN = 'lab-admin-token-not-a-secret-0123';

import { buildApp } from '../../collector/src/app.js';
import { parseCollectorConfig } from '../../collector/src/config.js';
import type { SqliteStateStore } from '../../collector/src/store/sqlite-state.js';

const [dataDir, host, agentStateDir, schoolJson, targetsFile] = process.argv.slice(2);
if (!dataDir || !host || !agentStateDir || !schoolJson) {
  process.stderr.write('usage: collector-main.ts DATA_DIR HOST AGENT_STATE_DIR SCHOOL_JSON [TARGETS_FILE]\n');
  process.exit(2);
}
const school = JSON.parse(schoolJson) as { id: string };
const config = parseCollectorConfig(
  JSON.stringify({
    listen: `${host}:0`,
    // a lab address (10.203.x) inside a network namespace: plain HTTP is allowed explicitly
    allowPlainHttp: true,
    adminToken: LAB_ADMIN_TOKEN,
    dataDir,
    schools: [school],
    ...(targetsFile ? { targetsFile } : {}),
    speedtest: { maxConcurrent: 4 },
  }),
);
const app = await buildApp(config);
await app.listen({ host, port: 0 });
const addr = app.server.address();
const port = typeof addr === 'object' && addr ? addr.port : 0;
const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
const state = (app.campuswatch.state as SqliteStateStore).sync;
const { code } = state.createEnrollCode(school.id, 60_000);
const enrolled = state.enroll(code, { hostname: 'lab-school', version: '0.1.0' });
if ('error' in enrolled) throw new Error(`enrolment failed: ${enrolled.error}`);
saveIdentity(
  agentStateDir,
  {
    agentId: enrolled.agent.id,
    schoolId: school.id,
    collectorUrl: url,
    enrolledAt: new Date().toISOString(),
  },
  enrolled.token,
);
process.stdout.write(`${JSON.stringify({ url, agentId: enrolled.agent.id, pid: process.pid })}\n`);
process.once('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
