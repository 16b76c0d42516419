import { describe, expect, it } from 'vitest';
import { groupForChannel } from '../../collector/src/alerts/routing.js';
import type { AlertGroup } from '../../collector/src/notifiers/notifier.js';

const group: AlertGroup = {
  status: 'firing',
  repeat: false,
  school: { id: 's', name: '星海', district: '苏州工业园区', group: '星海教育集团' },
  alerts: (['critical', 'medium'] as const).map((severity) => ({
    fingerprint: severity,
    rule: 'finding',
    severity,
    status: 'firing',
    title: { zh: severity, en: severity },
    detail: { zh: '', en: '' },
    startsAt: '2026-11-23T02:00:00.000Z',
    labels: {},
  })),
};

describe('routing', () => {
  it('routes by severity, district and group; no routes = everything everywhere', () => {
    expect(groupForChannel(group, 'wecom', [])).toBe(group);
    const routes = [
      { channels: ['oncall'], severity: ['critical' as const, 'high' as const] },
      { channels: ['district-sip'], district: ['苏州工业园区'] },
      { channels: ['taicang'], district: ['太仓市'] },
    ];
    expect(groupForChannel(group, 'oncall', routes)?.alerts.map((a) => a.severity)).toEqual(['critical']);
    expect(groupForChannel(group, 'district-sip', routes)?.alerts).toHaveLength(2);
    expect(groupForChannel(group, 'taicang', routes)).toBeUndefined();
    expect(groupForChannel(group, 'unrouted', routes)).toBeUndefined();
  });
});

import { pino } from 'pino';
import { afterAll, beforeAll } from 'vitest';
import { collectFacts } from '../../collector/src/alerts/facts.js';
import { AlertManager } from '../../collector/src/alerts/manager.js';
import { desiredAlerts } from '../../collector/src/alerts/rules.js';
import type { SecurityResult } from '../../protocol/report.js';
import { makeReport, telnetReport } from '../helpers/reports.js';
import { World, XINGHAI } from '../helpers/world.js';

describe('alert lifecycle (issue 6 acceptance 2, with a recording notifier)', () => {
  // the app's own alerting is off here: this test drives a manager of its own on the same store
  const w = new World({ collector: { alerts: { enabled: false } } });
  let token: string;
  let agentId: string;
  let now = new Date('2026-11-23T02:00:00Z');
  const sent: AlertGroup[] = [];
  const manager = () => {
    const ctx = w.app!.campuswatch;
    return new AlertManager(ctx.state, {
      forS: 0,
      repeatS: 3600,
      log: pino({ level: 'silent' }),
      facts: (t) => collectFacts(ctx, t),
      desired: (f, t) =>
        desiredAlerts(
          f,
          ctx.baseline,
          { findingSeverity: 'high', agentSilentS: 86_400, neverReportedAfterS: 30 * 86_400 },
          t,
        ),
      notify: async (g) => {
        sent.push(g);
      },
    });
  };
  beforeAll(async () => {
    await w.startCollector();
    w.app!.campuswatch.now = () => now;
    ({ token, agentId } = w.enrollDirect());
  });
  afterAll(() => w.cleanup());

  const telnet = async (open: boolean) => {
    const report = telnetReport({ agentId, schoolId: XINGHAI.id, at: now, open });
    expect((await w.postReport(token, report)).statusCode).toBe(200);
  };

  it('fires once, repeats only after the interval, survives a restart without a duplicate, resolves once; a silence mutes', async () => {
    let m = manager();
    await telnet(true);
    expect(await m.evaluate(now)).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      status: 'firing',
      repeat: false,
      school: { id: XINGHAI.id, name: XINGHAI.name },
    });
    expect(sent[0]!.alerts.map((a) => a.title.zh)).toEqual(['明文 Telnet 管理：录播主机 A1:23']);
    now = new Date(now.getTime() + 10 * 60_000);
    expect(await m.evaluate(now)).toEqual([]); // still firing, no reminder yet
    m = manager(); // the collector restarts while firing
    expect(await m.evaluate(now)).toEqual([]);
    now = new Date(now.getTime() + 3600_000);
    const repeat = await m.evaluate(now);
    expect(repeat).toHaveLength(1);
    expect(repeat[0]).toMatchObject({ status: 'firing', repeat: true });
    await telnet(false); // the peer is fixed
    const resolved = await m.evaluate(now);
    expect(resolved).toHaveLength(1);
    expect(resolved[0]).toMatchObject({ status: 'resolved' });
    expect(await m.evaluate(new Date(now.getTime() + 60_000))).toEqual([]);
    expect(sent).toHaveLength(3);

    // a silence for the school mutes the next firing (the lifecycle still records it)
    const silence = await m.addSilence({
      schoolId: XINGHAI.id,
      rule: null,
      fingerprint: null,
      startsAt: now.toISOString(),
      endsAt: new Date(now.getTime() + 2 * 3600_000).toISOString(),
      reason: '机房维护 maintenance',
      createdBy: 'test',
    });
    await telnet(true);
    expect(await m.evaluate(now)).toEqual([]);
    expect(await m.alerts({ state: 'firing' })).toHaveLength(1);
    expect(await m.expireSilence(silence.id, now)).toBe(true);
    expect(await m.evaluate(now)).toHaveLength(1); // announced once the silence ends
    expect(sent).toHaveLength(4);
  });
});

describe('daily digest', () => {
  const w = new World({ collector: { alerts: { enabled: false } } });
  const sent: AlertGroup[] = [];
  beforeAll(async () => {
    await w.startCollector();
  });
  afterAll(() => w.cleanup());

  it('once a day after the digest time (school-local), what is still firing', async () => {
    const ctx = w.app!.campuswatch;
    const { token, agentId } = w.enrollDirect();
    let now = new Date('2026-11-23T02:00:00Z'); // 10:00 Shanghai
    const m = new AlertManager(ctx.state, {
      forS: 0,
      repeatS: 7 * 86_400,
      digestAt: '08:00',
      log: pino({ level: 'silent' }),
      facts: (t) => collectFacts(ctx, t),
      desired: (f, t) =>
        desiredAlerts(
          f,
          ctx.baseline,
          { findingSeverity: 'high', agentSilentS: 30 * 86_400, neverReportedAfterS: 30 * 86_400 },
          t,
        ),
      notify: async (g) => {
        sent.push(g);
      },
    });
    const base = makeReport({ agentId, schoolId: XINGHAI.id, at: now });
    const finding: SecurityResult = {
      probe: 'security',
      target: '核心交换机',
      outcome: 'ok',
      durationMs: 1,
      at: base.startedAt,
      rule: 'snmp-default-community',
      finding: true,
      evidence: 'community "public" answered',
    };
    expect((await w.postReport(token, { ...base, results: [finding] })).statusCode).toBe(200);
    const first = await m.evaluate(now);
    // the firing message; no digest for it on the same run (already announced)
    expect(first.map((g) => [g.status, g.digest ?? false])).toEqual([['firing', false]]);
    now = new Date('2026-11-23T23:30:00Z'); // 07:30 next day: before the digest time
    expect(await m.evaluate(now)).toEqual([]);
    now = new Date('2026-11-24T00:05:00Z'); // 08:05
    const digest = await m.evaluate(now);
    expect(digest).toHaveLength(1);
    expect(digest[0]).toMatchObject({ status: 'firing', digest: true, school: { id: XINGHAI.id } });
    expect(digest[0]!.alerts.map((a) => a.rule)).toEqual(['finding']);
    expect(await m.evaluate(new Date('2026-11-24T06:00:00Z'))).toEqual([]); // once a day
  });
});
