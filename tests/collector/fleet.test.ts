/**
 * Issue 24 item 3: the lifecycle of agents and schools through the API, with scoped tokens (a district's
 * on-call revokes and names its own schools' agents; only a city administrator describes schools again
 * or archives them), what a revoked agent meets (401 saying so; a real agent keeps its reports), and what
 * archiving changes (KPIs, alerts) and keeps (history).
 */
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Role, Scope } from '../../collector/src/access/model.js';
import { publishCompliance } from '../../collector/src/compliance/refresh.js';
import type { AgentView } from '../../collector/src/fleet.js';
import type { School } from '../../protocol/school.js';
import { makeReport, telnetReport } from '../helpers/reports.js';
import { World, XINGHAI } from '../helpers/world.js';

const school = (id: string, district: string, group: string): School => ({
  id,
  name: `${id} 学校`,
  district,
  group,
  timezone: 'Asia/Shanghai',
});
const SCHOOLS = [
  school('a-1', '武进区', '星河教育集团'),
  school('a-2', '武进区', '湖塘教育集团'),
  school('b-1', '新北区', '龙虎塘教育集团'),
];
const HOUR = 3_600_000;

describe('agent and school lifecycle through the API, in scope', () => {
  const w = new World({ schools: SCHOOLS, collector: { alerts: { agentSilentS: 600 } } });
  const tokens = new Map<string, string>();
  const agents = new Map<string, { agentId: string; token: string }>();
  const machines: Record<string, { role: Role; scope: Scope }> = {
    'wj-oncall': { role: 'oncall', scope: { level: 'district', district: '武进区' } },
    'wj-viewer': { role: 'viewer', scope: { level: 'district', district: '武进区' } },
  };

  beforeAll(async () => {
    await w.startCollector();
    const access = w.app!.campuswatch.state.access;
    for (const [name, m] of Object.entries(machines))
      tokens.set(name, (await access.addToken({ name, accountId: null, ...m }, new Date())).token);
    // an agent per school, each reporting an open Telnet finding (an alert)
    for (const s of SCHOOLS) {
      const a = w.enrollDirect(s.id, `nas-${s.id}`);
      agents.set(s.id, a);
      const res = await report(s.id);
      expect(res.statusCode, res.body).toBe(200);
    }
    // a second agent at a-1 that never reports
    agents.set('a-1/2', w.enrollDirect('a-1', 'nas-a-1-second'));
  });
  afterAll(() => w.cleanup());

  const as = (name: string | undefined, method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) =>
    (name === undefined ? w.app!.inject : w.anonymous)({
      method,
      url,
      ...(name === undefined ? {} : { headers: { authorization: `Bearer ${tokens.get(name)}` } }),
      ...(payload ? { payload } : {}),
    });
  const admin = (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) =>
    as(undefined, method, url, payload);
  function report(key: string): Promise<LightMyRequestResponse> {
    const a = agents.get(key)!;
    const schoolId = key.split('/')[0]!;
    return w.postReport(a.token, telnetReport({ agentId: a.agentId, schoolId, at: new Date(), open: true }));
  }
  const listed = async (name: string | undefined, query = '') =>
    ((await as(name, 'GET', `/api/v1/agents${query}`)).json() as { agents: AgentView[] }).agents;
  const auditOf = async (action: string) =>
    (await w.app!.campuswatch.state.access.audit({})).filter((e) => e.action === action);

  it('lists agents of the schools in scope with status, version and last report', async () => {
    const all = await listed(undefined);
    expect(all.map((a) => [a.schoolId, a.hostname, a.status])).toEqual([
      ['a-1', expect.stringMatching(/^nas-a-1/), expect.any(String)],
      ['a-1', expect.stringMatching(/^nas-a-1/), expect.any(String)],
      ['a-2', 'nas-a-2', 'reporting'],
      ['b-1', 'nas-b-1', 'reporting'],
    ]);
    const a1 = all.filter((a) => a.schoolId === 'a-1');
    expect(a1.find((a) => a.id === agents.get('a-1/2')!.agentId)).toMatchObject({
      status: 'never_reported',
      lastSeenAt: null,
      version: '0.1.0',
      name: null,
      revokedAt: null,
    });
    expect(a1.find((a) => a.id === agents.get('a-1')!.agentId)?.lastSeenAt).toEqual(expect.any(String));

    // a district sees its own schools' agents; another district's school does not exist for it
    expect([...new Set((await listed('wj-viewer')).map((a) => a.schoolId))]).toEqual(['a-1', 'a-2']);
    expect((await listed('wj-viewer', '?school=a-2')).map((a) => a.id)).toEqual([agents.get('a-2')!.agentId]);
    const outside = await as('wj-viewer', 'GET', '/api/v1/agents?school=b-1');
    expect(outside.statusCode).toBe(404);
    expect(outside.json().message).toBe('query/school: unknown school "b-1"');
  });

  it('revoke: on-call in scope only; the agent’s next report is 401 saying it was revoked; audited once', async () => {
    const target = agents.get('a-1')!;
    const viewer = await as('wj-viewer', 'POST', `/api/v1/agents/${target.agentId}/revoke`);
    expect(viewer.statusCode).toBe(403);
    // another district's agent does not exist for a district's on-call
    const other = await as('wj-oncall', 'POST', `/api/v1/agents/${agents.get('b-1')!.agentId}/revoke`);
    expect(other.statusCode).toBe(404);
    expect(other.json().message).toBe(`unknown agent "${agents.get('b-1')!.agentId}"`);
    expect((await report('b-1')).statusCode).toBe(200);

    const res = await as('wj-oncall', 'POST', `/api/v1/agents/${target.agentId}/revoke`);
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json() as { agent: AgentView; revokedNow: boolean };
    expect(body.revokedNow).toBe(true);
    expect(body.agent).toMatchObject({
      id: target.agentId,
      status: 'revoked',
      revokedAt: expect.any(String),
    });

    const refused = await report('a-1');
    expect(refused.statusCode).toBe(401);
    expect(refused.json().message).toContain(`this agent was revoked at ${body.agent.revokedAt}`);
    // the speed-test service (agent token) refuses it too
    const slot = await w.app!.inject({
      method: 'POST',
      url: '/api/v1/speedtest/slots',
      headers: { authorization: `Bearer ${target.token}`, 'content-type': 'application/json' },
      payload: '{}',
    });
    expect(slot.statusCode).toBe(401);
    // the school's other agent goes on
    expect((await report('a-1/2')).statusCode).toBe(200);

    // again: the same answer, the first time kept, nothing more audited
    const again = await as('wj-oncall', 'POST', `/api/v1/agents/${target.agentId}/revoke`);
    expect(again.json()).toMatchObject({ revokedNow: false, agent: { revokedAt: body.agent.revokedAt } });
    expect((await auditOf('agent.revoke')).map((e) => [e.actor, e.target, e.detail])).toEqual([
      ['token:wj-oncall', target.agentId, 'school a-1'],
    ]);
    // listed as revoked; no longer counted among the school's agents
    expect((await listed(undefined, '?school=a-1')).find((a) => a.id === target.agentId)?.status).toBe(
      'revoked',
    );
    const schools = (await admin('GET', '/api/v1/schools')).json() as {
      schools: { id: string; agents: number }[];
    };
    expect(schools.schools.find((s) => s.id === 'a-1')?.agents).toBe(1);
  });

  it('a revoked agent raises no agent-silent alert; an active one that stops does', async () => {
    const later = new Date(Date.now() + HOUR);
    await w.app!.campuswatch.alerts.evaluate(later);
    const silent = (await w.app!.campuswatch.alerts.alerts({}))
      .filter((a) => a.item.rule === 'agent-silent')
      .map((a) => a.item.labels.agent ?? a.schoolId);
    expect(silent).toContain(agents.get('b-1')!.agentId);
    expect(silent).not.toContain(agents.get('a-1')!.agentId);
  });

  it('rename: on-call in scope; a Chinese name round-trips; a bad one is 400 naming the field', async () => {
    const target = agents.get('a-2')!;
    expect(
      (await as('wj-viewer', 'POST', `/api/v1/agents/${target.agentId}/rename`, { name: 'x' })).statusCode,
    ).toBe(403);
    const bad = await as('wj-oncall', 'POST', `/api/v1/agents/${target.agentId}/rename`, {
      name: 'a\u0007b',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toContain('body/name:');
    const res = await as('wj-oncall', 'POST', `/api/v1/agents/${target.agentId}/rename`, {
      name: '湖塘校区机房',
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().agent).toMatchObject({ name: '湖塘校区机房', hostname: 'nas-a-2' });
    const detail = (await admin('GET', '/api/v1/schools/a-2')).json() as { agents: { name: string }[] };
    expect(detail.agents.map((a) => a.name)).toEqual(['湖塘校区机房']);
    expect((await auditOf('agent.rename')).map((e) => [e.actor, e.detail])).toEqual([
      ['token:wj-oncall', '(no name) -> 湖塘校区机房'],
    ]);
    const cleared = await as('wj-oncall', 'POST', `/api/v1/agents/${target.agentId}/rename`, { name: null });
    expect(cleared.json().agent.name).toBeNull();
  });

  it('PATCH a school: city administrator only; fields change or go (null); problems name the field', async () => {
    const denied = await as('wj-oncall', 'PATCH', '/api/v1/schools/a-2', { pupils: 10 });
    expect(denied.statusCode).toBe(403);
    expect(denied.json().message).toBe('only a city administrator may do this');

    const bad = await admin('PATCH', '/api/v1/schools/a-2', { tier: 'huge', id: 'x' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toContain(
      'body/tier: must be one of: "small", "medium", "large" or must be null',
    );
    expect(bad.json().message).toContain('body/id: unknown key');
    const zone = await admin('PATCH', '/api/v1/schools/a-2', { timezone: 'Mars/Olympus' });
    expect(zone.statusCode).toBe(400);
    expect(zone.json().message).toBe('body/timezone: unknown time zone "Mars/Olympus"');
    expect((await admin('PATCH', '/api/v1/schools/nope', { pupils: 1 })).statusCode).toBe(404);

    const res = await admin('PATCH', '/api/v1/schools/a-2', {
      name: '常州市武进区湖塘桥实验小学',
      group: null,
      pupils: 1500,
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().changed).toEqual(['name', 'group', 'pupils']);
    const stored = await w.app!.campuswatch.state.getSchool('a-2');
    expect(stored).toEqual({
      id: 'a-2',
      name: '常州市武进区湖塘桥实验小学',
      district: '武进区',
      pupils: 1500,
      timezone: 'Asia/Shanghai',
    });
    expect((await auditOf('school.update')).map((e) => [e.target, e.detail])).toEqual([
      ['a-2', 'name, group, pupils'],
    ]);
    // nothing changes: nothing audited
    expect((await admin('PATCH', '/api/v1/schools/a-2', { pupils: 1500 })).json().changed).toEqual([]);
    expect(await auditOf('school.update')).toHaveLength(1);
  });

  it('archive: city administrator only; its agents are refused, it leaves the KPIs and alerts, its history stays', async () => {
    expect((await as('wj-oncall', 'POST', '/api/v1/schools/b-1/archive')).statusCode).toBe(403);
    const now = new Date();
    await w.app!.campuswatch.alerts.evaluate(now);
    const firing = async () =>
      (await w.app!.campuswatch.alerts.alerts({ schoolId: 'b-1' })).filter((a) => a.state !== 'resolved');
    expect((await firing()).length).toBeGreaterThan(0);
    const before = (await admin('GET', '/api/v1/compliance')).json() as { overall: { schools: number } };
    expect(before.overall.schools).toBe(3);

    const res = await admin('POST', '/api/v1/schools/b-1/archive');
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json() as {
      school: { archivedAt: string };
      archivedNow: boolean;
      revokedAgents: string[];
    };
    expect(body).toMatchObject({ archivedNow: true, revokedAgents: [agents.get('b-1')!.agentId] });

    const refused = await report('b-1');
    expect(refused.statusCode).toBe(401);
    expect(refused.json().message).toContain('this agent was revoked');
    // out of the KPIs (API and the series published to InfluxDB) and of the school list
    const after = (await admin('GET', '/api/v1/compliance')).json() as {
      overall: { schools: number };
      districts: { district: string }[];
    };
    expect(after.overall.schools).toBe(2);
    expect(after.districts.map((d) => d.district)).toEqual(['武进区']);
    expect((await publishCompliance(w.app!.campuswatch, now)).overall.schools).toBe(2);
    const ids = async (q = '') =>
      ((await admin('GET', `/api/v1/schools${q}`)).json() as { schools: { id: string }[] }).schools.map(
        (s) => s.id,
      );
    expect(await ids()).toEqual(['a-1', 'a-2']);
    expect(await ids('?all=true')).toEqual(['a-1', 'a-2', 'b-1']);
    // its alerts resolve; its history stays readable
    await w.app!.campuswatch.alerts.evaluate(new Date(now.getTime() + 1000));
    expect(await firing()).toEqual([]);
    const detail = await admin('GET', '/api/v1/schools/b-1');
    expect(detail.statusCode).toBe(200);
    expect(detail.json().school.archivedAt).toBe(body.school.archivedAt);
    const findings = (await admin('GET', '/api/v1/findings?school=b-1')).json() as { findings: unknown[] };
    expect(findings.findings).toHaveLength(1);
    expect((await listed(undefined, '?school=b-1')).map((a) => a.status)).toEqual(['revoked']);

    const again = await admin('POST', '/api/v1/schools/b-1/archive');
    expect(again.json()).toMatchObject({ archivedNow: false, revokedAgents: [], school: body.school });
    expect((await auditOf('school.archive')).map((e) => [e.target, e.detail])).toEqual([
      ['b-1', `agents revoked: ${agents.get('b-1')!.agentId}`],
    ]);
  });
});

describe('a real agent whose token is revoked', () => {
  const w = new World();
  beforeAll(() => w.startCollector());
  afterAll(() => w.cleanup());

  it('keeps its reports spooled and says the collector revoked it', async () => {
    const agent = await w.agent('box');
    const first = await agent.once();
    expect(first.flush).toMatchObject({ delivered: 1 });
    const [listed] = (
      (await w.app!.inject({ method: 'GET', url: `/api/v1/agents?school=${XINGHAI.id}` })).json() as {
        agents: AgentView[];
      }
    ).agents;
    expect(listed?.status).toBe('reporting');
    const revoke = await w.app!.inject({ method: 'POST', url: `/api/v1/agents/${listed!.id}/revoke` });
    expect(revoke.statusCode).toBe(200);

    const second = await agent.once();
    expect(second.flush.delivered).toBe(0);
    expect(second.flush.stopped).toMatchObject({ kind: 'auth', status: 401 });
    expect(
      second.flush.stopped && 'message' in second.flush.stopped && second.flush.stopped.message,
    ).toContain('this agent was revoked');
    // nothing lost: the report waits in the spool
    expect(agent.spool.counters().depth).toBe(1);
    expect(agent.spool.oldest(1)[0]?.reportId).toBe(second.report.reportId);
  });

  it('an upgraded agent is listed with the version it reports', async () => {
    const { agentId, token } = w.enrollDirect(XINGHAI.id, 'upgraded-box');
    const report = { ...makeReport({ agentId, schoolId: XINGHAI.id }), agentVersion: '9.9.9' };
    expect((await w.postReport(token, report)).statusCode).toBe(200);
    const agents = (
      (await w.app!.inject({ method: 'GET', url: '/api/v1/agents' })).json() as { agents: AgentView[] }
    ).agents;
    expect(agents.find((a) => a.id === agentId)?.version).toBe('9.9.9');
  });
});
