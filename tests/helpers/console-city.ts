/**
 * A small city for the console's tests: two districts, an education group, urban and rural schools with
 * Chinese names (and one hostile name), agents that reported rooms, speed tests and a security finding,
 * and one account per kind of user. Built on a real collector (World) listening on loopback.
 */
import { v7 as uuidv7 } from 'uuid';
import { hashPassword } from '../../collector/src/access/passwords.js';
import type { Report } from '../../protocol/report.js';
import type { School } from '../../protocol/school.js';
import { telnetReport } from './reports.js';
import { manyRooms, roomsReport } from './rooms-report.js';
import { World } from './world.js';

export const WUJIN = '武进区';
export const SIP = '苏州工业园区';
export const XINGHE = '星河教育集团';
/** A school name that would run script if it were rendered as markup. */
export const HOSTILE_SCHOOL_NAME = '<img src=x onerror=alert(1)>测试';
export const HOSTILE_ROOM_NAME = '"><script>alert(2)</script>录播';

export const CITY_SCHOOLS: School[] = [
  {
    id: 'wj-xinghe-pri',
    name: '武进区星河实验小学',
    district: WUJIN,
    group: XINGHE,
    pupils: 2400,
    area: 'urban',
    stage: 'primary',
    timezone: 'Asia/Shanghai',
  },
  {
    id: 'wj-xinghe-jr',
    name: '武进区星河初级中学',
    district: WUJIN,
    group: XINGHE,
    pupils: 1500,
    area: 'urban',
    stage: 'junior',
    timezone: 'Asia/Shanghai',
  },
  {
    id: 'wj-lijia',
    name: '武进区礼嘉中心小学',
    district: WUJIN,
    pupils: 600,
    area: 'rural',
    stage: 'primary',
    timezone: 'Asia/Shanghai',
  },
  {
    id: 'sz-xinghai',
    name: '苏州工业园区星海实验中学',
    district: SIP,
    pupils: 1800,
    area: 'urban',
    stage: 'senior',
    timezone: 'Asia/Shanghai',
  },
  {
    id: 'sz-weiting',
    name: '苏州工业园区唯亭学校',
    district: SIP,
    pupils: 900,
    area: 'rural',
    stage: 'nine-year',
    timezone: 'Asia/Shanghai',
  },
  {
    id: 'sz-hostile',
    name: HOSTILE_SCHOOL_NAME,
    district: SIP,
    pupils: 300,
    area: 'rural',
    stage: 'primary',
    timezone: 'Asia/Shanghai',
  },
];

export interface Account {
  name: string;
  password: string;
}

export interface ConsoleCity {
  world: World;
  admin: Account;
  /** A viewer of 武进区. */
  wujin: Account;
  /** On call for 苏州工业园区. */
  sipOncall: Account;
  /** A viewer of one school (wj-lijia). */
  lijia: Account;
  agents: Map<string, { agentId: string; token: string }>;
}

function speedTest(agentId: string, schoolId: string, at: Date, mbps: number): Report {
  const iso = at.toISOString();
  return {
    schema: 1,
    reportId: uuidv7(),
    agentId,
    schoolId,
    agentVersion: '0.1.0',
    startedAt: iso,
    finishedAt: iso,
    health: { spoolDepth: 0, spoolDropped: 0, spoolRejected: 0, cycleMs: 1, rssMb: 50 },
    results: (['down', 'up'] as const).map((direction) => ({
      probe: 'bandwidth' as const,
      target: 'collector',
      outcome: 'ok' as const,
      durationMs: 10_000,
      at: iso,
      method: 'http' as const,
      direction,
      mbps: direction === 'down' ? mbps : mbps * 0.8,
      streams: 4,
      durationS: 10,
      bytes: Math.round((mbps * 1e6 * 10) / 8),
    })),
  };
}

async function post(w: World, token: string, report: Report): Promise<void> {
  const r = await w.postReport(token, report);
  if (r.statusCode >= 300) throw new Error(`report refused: ${r.statusCode} ${r.body}`);
}

/** The city, its reports and accounts; `world.cleanup()` removes it. */
export async function consoleCity(
  opts: { collector?: Record<string, unknown>; now?: () => Date } = {},
): Promise<ConsoleCity> {
  const world = new World({
    schools: CITY_SCHOOLS,
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.collector ? { collector: opts.collector } : {}),
  });
  await world.startCollector();
  const access = world.app!.campuswatch.state.access;
  const now = new Date();
  const account = async (
    name: string,
    role: 'admin' | 'viewer' | 'oncall',
    scope: Parameters<typeof access.addAccount>[0]['scope'],
  ) => {
    const password = `pw-${name}-0123456789`;
    await access.addAccount({ name, role, scope, passwordHash: await hashPassword(password) }, now);
    return { name, password };
  };
  const admin = await account('city-admin', 'admin', { level: 'city' });
  const wujin = await account('wujin-cio', 'viewer', { level: 'district', district: WUJIN });
  const sipOncall = await account('sip-oncall', 'oncall', { level: 'district', district: SIP });
  const lijia = await account('lijia-it', 'viewer', { level: 'school', school: 'wj-lijia' });

  const agents = new Map<string, { agentId: string; token: string }>();
  for (const s of CITY_SCHOOLS) agents.set(s.id, world.enrollDirect(s.id, `agent-${s.id}`));
  const at = new Date(Date.now() - 60_000);
  const rooms = (id: string, hostile = false) =>
    roomsReport({
      ...agents.get(id)!,
      schoolId: id,
      at,
      rooms: [
        ...manyRooms(hostile ? HOSTILE_ROOM_NAME : '录播室', 'recording', 1, 1, 'recorder'),
        {
          name: '智慧教室 301',
          type: 'smart',
          devices: [{ name: '交互式平板 301', type: 'display', up: id !== 'wj-lijia' }],
        },
      ],
    });
  // 星河小学, 星河初中, 星海: rooms answering; 礼嘉: its smart classroom down; 唯亭 and the hostile school
  for (const id of ['wj-xinghe-pri', 'wj-xinghe-jr', 'sz-xinghai', 'wj-lijia'])
    await post(world, agents.get(id)!.token, rooms(id));
  await post(world, agents.get('sz-hostile')!.token, rooms('sz-hostile', true));
  // speed tests: 星河小学 meets its tier, 礼嘉 does not
  for (let i = 0; i < 5; i++) {
    const t = new Date(at.getTime() - (5 - i) * 86_400_000 + 1000);
    await post(
      world,
      agents.get('wj-xinghe-pri')!.token,
      speedTest(agents.get('wj-xinghe-pri')!.agentId, 'wj-xinghe-pri', t, 900 + i * 10),
    );
    await post(
      world,
      agents.get('wj-lijia')!.token,
      speedTest(agents.get('wj-lijia')!.agentId, 'wj-lijia', t, 120 + i * 5),
    );
  }
  // an open Telnet finding at 礼嘉 and at 星海
  for (const id of ['wj-lijia', 'sz-xinghai'])
    await post(
      world,
      agents.get(id)!.token,
      telnetReport({ ...agents.get(id)!, schoolId: id, at, open: true }),
    );
  // 唯亭's agent enrolled and never reported
  return { world, admin, wujin, sipOncall, lijia, agents };
}
