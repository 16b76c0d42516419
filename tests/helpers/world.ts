import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { type AgentOptions, CampusAgent } from '../../agent/src/agent.js';
import { type AgentConfig, parseAgentConfig } from '../../agent/src/config.js';
import { enroll } from '../../agent/src/identity.js';
import { buildApp } from '../../collector/src/app.js';
import { type CollectorConfig, parseCollectorConfig } from '../../collector/src/config.js';
import { type SqliteState, SqliteStateStore } from '../../collector/src/store/sqlite-state.js';
import type { School } from '../../protocol/school.js';

/** The admin token of every test collector (a city administrator): `w.app.inject` sends it by default. */
export const WORLD_ADMIN_TOKEN = 'test-admin-token-not-a-secret-0123';

export const XINGHAI: School = {
  id: 'sz-xinghai-junior',
  name: '苏州工业园区星海实验中学, 初中部',
  district: '苏州工业园区',
  group: '星海教育集团',
  pupils: 1800,
  area: 'urban',
  timezone: 'Asia/Shanghai',
};

/**
 * A collector (real Fastify app on an ephemeral loopback port, optionally with a real InfluxDB) and
 * the means to enrol real agents against it. Everything lives in one temp dir removed by `cleanup`.
 */
export class World {
  readonly dir = mkdtempSync(join(tmpdir(), 'cw-world-'));
  readonly config: CollectorConfig;
  app: FastifyInstance | undefined;
  port = 0;
  private agents: CampusAgent[] = [];
  private readonly now: (() => Date) | undefined;
  /** The collector's `inject` without the admin token the tests send by default. */
  anonymous: (o: InjectOptions) => Promise<LightMyRequestResponse> = () => {
    throw new Error('start the collector first');
  };

  constructor(
    opts: {
      influxUrl?: string;
      schools?: School[];
      database?: string;
      collector?: Record<string, unknown>;
      /** The collector's clock (default: the real one). */
      now?: () => Date;
    } = {},
  ) {
    this.now = opts.now;
    this.config = parseCollectorConfig(
      JSON.stringify({
        listen: '127.0.0.1:0',
        dataDir: join(this.dir, 'collector'),
        schools: opts.schools ?? [XINGHAI],
        ...(opts.influxUrl
          ? { influx: { url: opts.influxUrl, database: opts.database ?? 'campuswatch', timeoutMs: 3000 } }
          : {}),
        ingest: { retryAfterS: 1 },
        adminToken: WORLD_ADMIN_TOKEN,
        ...opts.collector,
      }),
    );
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts the collector; after a stop it comes back on the same port. */
  async startCollector(): Promise<void> {
    const app = await buildApp(this.config, this.now ? { now: this.now } : {});
    // tests read the API as a city administrator unless they send their own credentials (`anonymous` sends none)
    const inject = app.inject.bind(app) as (o: InjectOptions) => Promise<LightMyRequestResponse>;
    this.anonymous = (o) => inject(o);
    app.inject = ((o: InjectOptions) => {
      const headers = { ...(o.headers ?? {}) } as Record<string, string>;
      if (!headers.authorization && !headers.cookie && this.config.adminToken)
        headers.authorization = `Bearer ${this.config.adminToken}`;
      return inject({ ...o, headers });
    }) as unknown as typeof app.inject;
    this.app = app;
    await this.app.listen({ host: '127.0.0.1', port: this.port });
    const addr = this.app.server.address();
    if (typeof addr === 'object' && addr) this.port = addr.port;
  }

  async stopCollector(): Promise<void> {
    await this.app?.close();
    this.app = undefined;
  }

  agentConfig(name: string, extra: Partial<AgentConfig> = {}): AgentConfig {
    const school = extra.school ?? XINGHAI;
    return parseAgentConfig(
      JSON.stringify({
        school,
        collector: { url: this.url, requestTimeoutS: 5 },
        state: join(this.dir, `agent-${name}`),
        probes: {
          host: { enabled: false },
          ipv6: { enabled: false },
          reachability: { pingCount: 1, tcpTimeoutMs: 1000 },
        },
        rooms: [
          {
            name: '录播室 1',
            type: 'recording',
            devices: [
              {
                name: '录播主机 A1, 东楼',
                type: 'recorder',
                address: '127.0.0.1',
                icmp: false,
                tcp: [this.port],
              },
            ],
          },
        ],
        ...extra,
      }),
      `${name}.yaml`,
    );
  }

  /** Enrols an agent straight in the state store (no agent process): its id and bearer token. */
  enrollDirect(schoolId: string = XINGHAI.id, hostname = 'test-agent'): { agentId: string; token: string } {
    const state = sqliteOf(this.app!);
    const { code } = state.createEnrollCode(schoolId, 60_000);
    const r = state.enroll(code, { hostname, version: '0.1.0' });
    if ('error' in r) throw new Error(`enrolment failed: ${r.error}`);
    return { agentId: r.agent.id, token: r.token };
  }

  /** POST /api/v1/reports through `inject`, as the agent with this token. */
  postReport(token: string, report: unknown) {
    return this.app!.inject({
      method: 'POST',
      url: '/api/v1/reports',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      payload: JSON.stringify(report),
    });
  }

  /** Enrols an agent through the real API and opens it. */
  async agent(
    name: string,
    opts: AgentOptions & { config?: Partial<AgentConfig> } = {},
  ): Promise<CampusAgent> {
    const config = this.agentConfig(name, opts.config);
    const { code } = sqliteOf(this.app!).createEnrollCode(config.school.id, 3_600_000);
    await enroll({ collectorUrl: this.url, code, stateDir: config.state });
    const agent = CampusAgent.open(config, { backoffBaseMs: 10, backoffMaxMs: 50, ...opts });
    this.agents.push(agent);
    return agent;
  }

  async cleanup(): Promise<void> {
    for (const a of this.agents) a.close();
    await this.stopCollector();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * The embedded store of a collector built by the tests, answered synchronously (set-up and inspection
 * in tests); throws for a collector on PostgreSQL.
 */
export function sqliteOf(app: FastifyInstance): SqliteState {
  const state = app.campuswatch.state;
  if (!(state instanceof SqliteStateStore))
    throw new Error(`this collector's state store is ${state.kind}, not sqlite`);
  return state.sync;
}
