import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeLatest } from '../../collector/src/ingest/merge-latest.js';
import type { ProbeResult, Report } from '../../protocol/report.js';
import { SENT_AT_HEADER } from '../../protocol/version.js';
import { makeReport } from '../helpers/reports.js';
import { World, XINGHAI } from '../helpers/world.js';

const HOUR = 3_600_000;
const DEVICE = '录播主机 A1';

/**
 * A report of one reachability result for DEVICE stamped `at`, up or down, its window stamped `sent`
 * (a report's results lie in its window: a clock wrong while measuring puts the window ahead too).
 */
function reachability(agentId: string, at: Date, up: boolean, sent: Date = at): Report {
  const r = makeReport({ agentId, schoolId: XINGHAI.id, at, device: DEVICE });
  const result = r.results[0]!;
  if (result.probe !== 'reachability') throw new Error('makeReport changed its result');
  const { rttMs: _rtt, ...rest } = result;
  return {
    ...r,
    startedAt: sent.toISOString(),
    finishedAt: sent.toISOString(),
    results: [up ? result : { ...rest, up: false, received: 0, lossPct: 100 }],
  };
}

interface Detail {
  latest: ProbeResult[];
  rooms: { devices: { name: string; up: boolean; at: string }[] }[];
}

describe('results from the future (clock wrong while measuring, right when sending)', () => {
  let t = Date.UTC(2026, 11, 7, 1, 30, 0); // 09:30 Beijing, a Monday
  const w = new World({ now: () => new Date(t), collector: { ingest: { futureToleranceS: 300 } } });
  let agent: { agentId: string; token: string };
  beforeAll(async () => {
    await w.startCollector();
    agent = w.enrollDirect(XINGHAI.id, 'bios-clock');
  });
  afterAll(() => w.cleanup());

  const post = (report: Report) =>
    w.app!.inject({
      method: 'POST',
      url: '/api/v1/reports',
      headers: {
        authorization: `Bearer ${agent.token}`,
        'content-type': 'application/json',
        // the agent's clock is right when it sends: no clock correction applies
        [SENT_AT_HEADER]: new Date(t).toISOString(),
      },
      payload: JSON.stringify(report),
    });
  const device = async () => {
    const res = await w.app!.inject({ method: 'GET', url: `/api/v1/schools/${XINGHAI.id}` });
    expect(res.statusCode, res.body).toBe(200);
    const detail = res.json() as Detail;
    const latest = detail.latest.filter((r) => r.probe === 'reachability' && r.target === DEVICE);
    expect(latest).toHaveLength(1);
    const shown = detail.rooms.flatMap((r) => r.devices).find((d) => d.name === DEVICE);
    return { latest: latest[0] as ProbeResult & { up: boolean }, shown };
  };

  it('refuses a result 23 h ahead naming it; the correct "down" result that follows is the latest state', async () => {
    const ahead = await post(reachability(agent.agentId, new Date(t + 23 * HOUR), true));
    expect(ahead.statusCode, ahead.body).toBe(400);
    expect((ahead.json() as { message: string }).message).toMatch(
      /results\/0\/at: \S+ is 23 h in the future \(more than ingest\.futureToleranceS = 300 s\)/,
    );
    t += 60_000;
    const down = await post(reachability(agent.agentId, new Date(t), false));
    expect(down.statusCode, down.body).toBe(200);
    const { latest, shown } = await device();
    expect(latest.up).toBe(false);
    expect(latest.at).toBe(new Date(t).toISOString());
    expect(shown).toMatchObject({ up: false });
  });

  it('tolerance boundary: 299 s ahead is stored as stamped, 301 s ahead is refused', async () => {
    t += 60_000;
    const within = await post(reachability(agent.agentId, new Date(t + 299_000), true));
    expect(within.statusCode, within.body).toBe(200);
    expect((await device()).latest.at).toBe(new Date(t + 299_000).toISOString());
    const beyond = reachability(agent.agentId, new Date(t), true);
    const late = { ...beyond, finishedAt: new Date(t + 301_000).toISOString() };
    const refused = await post(late);
    expect(refused.statusCode, refused.body).toBe(400);
    expect((refused.json() as { message: string }).message).toMatch(
      // 301 s and the few milliseconds the request took
      /^finishedAt: \S+ is 30[12] s in the future/,
    );
  });

  it('a stored result from the future (a collector clock set back) does not hide a later "down"', async () => {
    // the collector's own clock ran 23 h ahead when this report arrived, so it was accepted as current
    const wrong = t + 23 * HOUR;
    const saved = t;
    t = wrong;
    const early = await post(reachability(agent.agentId, new Date(wrong), true));
    expect(early.statusCode, early.body).toBe(200);
    expect((await device()).latest.at).toBe(new Date(wrong).toISOString());
    // corrected: the next report, of a real outage, is stamped 23 h before the stored result
    t = saved + 120_000;
    const down = await post(reachability(agent.agentId, new Date(t), false));
    expect(down.statusCode, down.body).toBe(200);
    const { latest, shown } = await device();
    expect(latest).toMatchObject({ up: false, at: new Date(t).toISOString() });
    expect(shown).toMatchObject({ up: false });
    // and the same from the store itself, past the cache: a fresh collector on the same data
    await w.stopCollector();
    await w.startCollector();
    expect((await device()).latest).toMatchObject({ up: false, at: new Date(t).toISOString() });
    // an older result than the stored one, now that the stored one is not in the future, still loses
    const stale = await post(reachability(agent.agentId, new Date(t - 60_000), true));
    expect(stale.statusCode, stale.body).toBe(200);
    expect((await device()).latest).toMatchObject({ up: false, at: new Date(t).toISOString() });
  });
});

describe('mergeLatest with a stored result from the future', () => {
  const now = Date.UTC(2026, 11, 7, 2, 0, 0);
  const base = reachability('ag', new Date(now), true).results[0]!;
  const at = (ms: number) => ({ ...base, at: new Date(ms).toISOString() });

  it('the incoming result replaces a stored one stamped after now, even though it is older', () => {
    expect(mergeLatest([at(now + 23 * HOUR)], [at(now)], now)).toEqual([at(now)]);
  });

  it('a stored result not in the future still wins against an older one', () => {
    expect(mergeLatest([at(now)], [at(now - 60_000)], now)).toEqual([at(now)]);
    expect(mergeLatest([at(now + 23 * HOUR)], [at(now)])).toEqual([at(now + 23 * HOUR)]); // no clock given
  });
});
