/**
 * Issue 24 acceptance 4: `agent revoke` — the agent's next report is refused (401) by the collector that
 * revoked it and, within one second, by a second collector sharing the same PostgreSQL. Two real
 * collector processes (`collector/src/cli.ts run`) on one throw-away PostgreSQL; the agents are HTTP
 * clients posting valid reports with their own tokens (enrolled through a collector's enrol API). One
 * agent is revoked through a collector's API, another with the CLI on the same state store.
 */

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { PgStateStore } from '../../collector/src/store/pg-state.js';
import type { School } from '../../protocol/school.js';
import { runCli } from '../helpers/cli.js';
import { CollectorProc } from '../helpers/collector-proc.js';
import { type Postgres, postgresAvailable, startPostgres } from '../helpers/postgres.js';
import { makeReport } from '../helpers/reports.js';
import { skipping } from '../helpers/skip.js';
import { WORLD_ADMIN_TOKEN } from '../helpers/world.js';

const skip = postgresAvailable();
/** The acceptance bound: the second collector refuses the revoked agent within this time. */
const WITHIN_MS = 1000;

const SCHOOLS: School[] = [
  { id: 'cz-wj-01', name: '常州市武进区星河实验小学', district: '武进区', timezone: 'Asia/Shanghai' },
  { id: 'cz-xb-01', name: '常州市新北区龙虎塘实验小学', district: '新北区', timezone: 'Asia/Shanghai' },
];

describe.skipIf(skipping(skip))(
  `agent revoke on two collectors sharing one PostgreSQL${skip ? ` (SKIPPED: ${skip})` : ''}`,
  () => {
    let dir: string;
    let pg: Postgres;
    let store: PgStateStore;
    const configs: string[] = [];
    const collectors: CollectorProc[] = [];
    const agents = new Map<string, { agentId: string; token: string }>();

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'cw-revoke-'));
      pg = await startPostgres();
      const stateUrl = await pg.createDatabase('campuswatch');
      store = await PgStateStore.open({ url: stateUrl });
      for (const name of ['a', 'b']) {
        const file = join(dir, `collector-${name}.yaml`);
        writeFileSync(
          file,
          stringify({
            listen: '127.0.0.1:0',
            adminToken: WORLD_ADMIN_TOKEN,
            dataDir: join(dir, `data-${name}`),
            state: { kind: 'postgres', url: stateUrl, poolMax: 4 },
            schools: SCHOOLS,
          }),
        );
        configs.push(file);
        collectors.push(new CollectorProc(name, file));
      }
      await Promise.all(collectors.map((c) => c.url));
      for (const school of SCHOOLS) {
        const { code } = await store.createEnrollCode(school.id, 3_600_000);
        const res = await fetch(`${await collectors[0]!.url}/api/v1/enroll`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ code, hostname: `nas-${school.id}`, agentVersion: '0.1.0' }),
        });
        expect(res.status).toBe(201);
        agents.set(school.id, (await res.json()) as { agentId: string; token: string });
      }
    }, 120_000);

    afterAll(async () => {
      await Promise.all(collectors.map((c) => c.kill()));
      await store?.close();
      await pg?.cleanup();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    /** A fresh report of the school's agent to a collector: its status and message. */
    const post = async (via: CollectorProc, schoolId: string) => {
      const a = agents.get(schoolId)!;
      const res = await fetch(`${await via.url}/api/v1/reports`, {
        method: 'POST',
        headers: { authorization: `Bearer ${a.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(makeReport({ agentId: a.agentId, schoolId })),
      });
      return { status: res.status, message: ((await res.json()) as { message?: string }).message ?? '' };
    };

    /**
     * Posts to `via` until it answers 401 or `WITHIN_MS` has passed since `from` (another process's
     * state: there is no event to await); the first 401 and when it came.
     */
    const refusedWithin = async (via: CollectorProc, schoolId: string, from: number) => {
      for (;;) {
        const answer = await post(via, schoolId);
        const elapsedMs = performance.now() - from;
        if (answer.status === 401 || elapsedMs > WITHIN_MS) return { ...answer, elapsedMs };
      }
    };

    it('revoked through one collector’s API: refused by it at once and by the other within a second', async () => {
      const [a, b] = collectors as [CollectorProc, CollectorProc];
      const school = SCHOOLS[0]!.id;
      // both collectors take the agent's reports before
      expect(await post(a, school)).toEqual({ status: 200, message: '' });
      expect(await post(b, school)).toEqual({ status: 200, message: '' });

      const res = await fetch(`${await a.url}/api/v1/agents/${agents.get(school)!.agentId}/revoke`, {
        method: 'POST',
        headers: { authorization: `Bearer ${WORLD_ADMIN_TOKEN}` },
      });
      const revokedAt = performance.now();
      expect(res.status, await res.clone().text()).toBe(200);

      const byA = await post(a, school);
      expect(byA.status).toBe(401);
      expect(byA.message).toContain('this agent was revoked');
      const byB = await refusedWithin(b, school, revokedAt);
      expect(byB.status, `collector b still answered ${byB.status} after ${byB.elapsedMs} ms`).toBe(401);
      expect(byB.message).toContain('this agent was revoked');
      expect(byB.elapsedMs).toBeLessThanOrEqual(WITHIN_MS);

      // the other school's agent is untouched, on both
      expect((await post(a, SCHOOLS[1]!.id)).status).toBe(200);
      expect((await post(b, SCHOOLS[1]!.id)).status).toBe(200);
    }, 60_000);

    it('revoked with the CLI on the shared state store: both running collectors refuse it', async () => {
      const [a, b] = collectors as [CollectorProc, CollectorProc];
      const school = SCHOOLS[1]!.id;
      const out = await runCli('collector', [
        'agent',
        'revoke',
        agents.get(school)!.agentId,
        '--config',
        configs[1]!,
      ]);
      expect(out.code, out.stderr).toBe(0);
      const revokedAt = performance.now();
      for (const via of [a, b]) {
        const answer = await refusedWithin(via, school, revokedAt);
        expect(answer.status).toBe(401);
        expect(answer.elapsedMs).toBeLessThanOrEqual(WITHIN_MS);
      }
    }, 60_000);
  },
);
