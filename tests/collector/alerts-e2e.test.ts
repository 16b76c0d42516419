import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Receiver, receiver } from '../helpers/receiver.js';
import { telnetReport } from '../helpers/reports.js';
import { World, XINGHAI } from '../helpers/world.js';

/** Issue 6 acceptance 2 end to end: reports → findings → alert lifecycle → real channels. */
describe('alerts delivered to real channels', () => {
  const secret = 'whsec-0123456789abcdef';
  const dingSecret = 'SEC0123456789abcdef0123456789abcdef';
  let webhook: Receiver;
  let wecom: Receiver;
  let dingtalk: Receiver;
  let w: World;
  let token: string;
  let agentId: string;
  let now = new Date('2026-11-23T02:00:00Z');

  beforeAll(async () => {
    webhook = await receiver('{}');
    wecom = await receiver('{"errcode":0,"errmsg":"ok"}');
    dingtalk = await receiver('{"errcode":0,"errmsg":"ok"}');
    w = new World({
      collector: {
        alerts: {
          repeatS: 3600,
          agentSilentS: 86_400, // this test moves the clock by hours: keep the agent-silent rule out of it
          channels: [
            { name: 'ops-webhook', type: 'webhook', url: `${webhook.url}/hook`, secret, language: 'en' },
            { name: '值班企业微信', type: 'wecom', url: `${wecom.url}/cgi-bin/webhook/send?key=k1` },
            {
              name: '钉钉',
              type: 'dingtalk',
              url: `${dingtalk.url}/robot/send?access_token=t1`,
              secret: dingSecret,
            },
          ],
        },
      },
    });
    await w.startCollector();
    w.app!.campuswatch.now = () => now;
    ({ token, agentId } = w.enrollDirect());
  });
  afterAll(async () => {
    await w.cleanup();
    for (const r of [webhook, wecom, dingtalk]) r.server.close();
  });

  const telnet = async (open: boolean) => {
    const report = telnetReport({ agentId, schoolId: XINGHAI.id, at: now, open });
    expect((await w.postReport(token, report)).statusCode).toBe(200);
    // the collector evaluates a couple of seconds after reports; evaluate now rather than wait for it
    await w.app!.campuswatch.alerts.evaluate(now);
  };
  const counts = () => [webhook.got.length, wecom.got.length, dingtalk.got.length];

  it('a finding → exactly one message per channel, in each channel language, signed', async () => {
    await telnet(true);
    expect(counts()).toEqual([1, 1, 1]);
    const hook = webhook.got[0]!;
    expect(hook.headers['x-campuswatch-signature']).toBe(
      `sha256=${createHmac('sha256', secret).update(hook.body).digest('hex')}`,
    );
    const payload = JSON.parse(hook.body) as {
      status: string;
      school: { name: string };
      alerts: { title: { en: string } }[];
    };
    expect(payload).toMatchObject({ status: 'firing', school: { name: XINGHAI.name } });
    expect(payload.alerts[0]!.title.en).toBe('Clear-text Telnet management: 录播主机 A1:23');
    const md = (JSON.parse(wecom.got[0]!.body) as { markdown: { content: string } }).markdown.content;
    expect(md).toContain('【告警】');
    expect(md).toContain('明文 Telnet 管理');
    // XINGHAI declares no protection level: the default, level 2, whose clause is in chapter 7
    expect(md).toContain('等保条款（第二级）：7.1.4.1 身份鉴别');
    const q = new URL(dingtalk.got[0]!.url, 'http://x').searchParams;
    const expected = createHmac('sha256', dingSecret)
      .update(`${q.get('timestamp')}\n${dingSecret}`)
      .digest('base64');
    expect(q.get('sign')).toBe(expected);
    expect(q.get('access_token')).toBe('t1');
  });

  it('no repeat before the interval, not after a collector restart; one repeat after; one resolve when fixed', async () => {
    now = new Date(now.getTime() + 30 * 60_000);
    await w.app!.campuswatch.alerts.evaluate(now);
    expect(counts()).toEqual([1, 1, 1]);
    await w.stopCollector();
    await w.startCollector(); // restarted while firing
    w.app!.campuswatch.now = () => now;
    await w.app!.campuswatch.alerts.evaluate(now);
    expect(counts()).toEqual([1, 1, 1]);
    now = new Date(now.getTime() + 31 * 60_000);
    await w.app!.campuswatch.alerts.evaluate(now);
    expect(counts()).toEqual([2, 2, 2]);
    expect((JSON.parse(wecom.got[1]!.body) as { markdown: { content: string } }).markdown.content).toContain(
      '【重复提醒】',
    );
    await telnet(false);
    expect(counts()).toEqual([3, 3, 3]);
    expect((JSON.parse(wecom.got[2]!.body) as { markdown: { content: string } }).markdown.content).toContain(
      '【恢复】',
    );
    expect(JSON.parse(webhook.got[2]!.body)).toMatchObject({ status: 'resolved' });
    await w.app!.campuswatch.alerts.evaluate(new Date(now.getTime() + 60_000));
    expect(counts()).toEqual([3, 3, 3]);
    const health = (await w.app!.inject({ method: 'GET', url: '/healthz' })).json() as {
      notifications: { channel: string; sent: number }[];
    };
    expect(health.notifications.map((n) => [n.channel, n.sent]).sort()).toEqual(
      // counters are per process: the repeat and the resolve since the restart
      [
        ['ops-webhook', 2],
        ['值班企业微信', 2],
        ['钉钉', 2],
      ].sort(),
    );
    expect(JSON.stringify(health)).not.toContain(dingSecret);
  });
});

describe('silences over the admin API', () => {
  const adminToken = 'admin-0123456789abcdef';
  const w = new World({ collector: { adminToken } });
  beforeAll(() => w.startCollector());
  afterAll(() => w.cleanup());

  it('needs the admin token; creates, lists and expires a silence; bad input names the field', async () => {
    const post = (payload: object, token?: string) =>
      w.anonymous({
        method: 'POST',
        url: '/api/v1/silences',
        headers: token ? { authorization: `Bearer ${token}` } : {},
        payload,
      });
    expect((await post({ school: XINGHAI.id, duration: '2h', reason: '维护' })).statusCode).toBe(401);
    const agent = w.enrollDirect();
    expect((await post({ school: XINGHAI.id, duration: '2h', reason: '维护' }, agent.token)).statusCode).toBe(
      401,
    );
    const created = await post({ school: XINGHAI.id, duration: '2h', reason: '机房维护' }, adminToken);
    expect(created.statusCode).toBe(201);
    const id = (created.json() as { id: number }).id;
    const list = await w.app!.inject({
      method: 'GET',
      url: '/api/v1/silences',
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect((list.json() as { silences: { id: number; reason: string }[] }).silences).toEqual([
      expect.objectContaining({ id, reason: '机房维护' }),
    ]);
    const bad = await post({ school: XINGHAI.id, duration: 'forever', reason: 'x y z' }, adminToken);
    expect(bad.statusCode).toBe(400);
    expect((bad.json() as { message: string }).message).toContain('body/duration');
    const del = await w.app!.inject({
      method: 'DELETE',
      url: `/api/v1/silences/${id}`,
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect(del.statusCode).toBe(204);
    const after = await w.app!.inject({
      method: 'GET',
      url: '/api/v1/silences',
      headers: { authorization: `Bearer ${adminToken}` },
    });
    expect((after.json() as { silences: unknown[] }).silences).toEqual([]);
  });
});
