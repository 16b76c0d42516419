// The synthetic district the collector benches load: schools spread over districts and education groups,
// and the report one agent sends each 60 s cycle for a school (campus) of 20 devices, as the agent's
// inventory defaults check them (recorder: icmp+http+snmp, camera/encoder: icmp+rtsp, switch/router: snmp,
// ap: icmp+snmp, panel: icmp+tcp 80, others icmp): 37 reachability results and 3 uplink-snmp interfaces
// every cycle; the host probe every 5th cycle (300 s); IPv6 readiness, the security baseline and a speed
// test in one cycle of 60 (they run hourly/daily on a real agent). A few schools have a device down, so
// compliance is not uniform (a school's faults follow its index modulo 30, its PROFILE). Reports are JSON
// templates filled with the school id, the agent id, a fresh report id and the current time, so a
// generator spends almost nothing per report.
import { v7 as uuidv7 } from 'uuid';
import type {
  BandwidthResult,
  HostResult,
  Ipv6Result,
  ProbeResult,
  ReachabilityResult,
  Report,
  SecurityResult,
  UplinkSnmpResult,
} from '../protocol/report.js';
import type { School } from '../protocol/school.js';
import { makeReport } from '../tests/helpers/reports.js';

const DISTRICTS = [
  '姑苏区',
  '虎丘区',
  '吴中区',
  '相城区',
  '吴江区',
  '苏州工业园区',
  '常熟市',
  '张家港市',
  '昆山市',
  '太仓市',
  '天宁区',
  '钟楼区',
  '新北区',
  '武进区',
  '金坛区',
  '溧阳市',
  '梁溪区',
  '锡山区',
  '惠山区',
  '滨湖区',
  '新吴区',
  '江阴市',
  '宜兴市',
  '玄武区',
  '秦淮区',
];
const GROUPS_PER_DISTRICT = 16;
const LEVELS = ['小学', '初级中学', '高级中学', '实验学校', '幼儿园'];

/** n schools over 25 districts, 16 education groups each (one school in nine in none); tiers and areas mixed. */
export function benchSchools(n: number): School[] {
  return Array.from({ length: n }, (_, i) => {
    const district = DISTRICTS[i % DISTRICTS.length]!;
    const g = Math.floor(i / DISTRICTS.length) % (GROUPS_PER_DISTRICT + 2);
    const school: School = {
      id: `bench-${String(i).padStart(5, '0')}`,
      name: `${district}第${i + 1}${LEVELS[i % LEVELS.length]!}`,
      district,
      pupils: [600, 1500, 2800, 900, 2000][i % 5]!,
      area: i % 3 === 0 ? 'rural' : 'urban',
      timezone: 'Asia/Shanghai',
    };
    if (g < GROUPS_PER_DISTRICT) school.group = `${district}第${g + 1}教育集团`;
    return school;
  });
}

type Check =
  | { check: 'icmp' }
  | { check: 'tcp'; port: number }
  | { check: 'http' }
  | { check: 'rtsp' }
  | { check: 'snmp' };

interface Device {
  name: string;
  type: string;
  room: string;
  roomType: string;
  critical: boolean;
  checks: Check[];
}

const ICMP: Check = { check: 'icmp' };
const HTTP: Check = { check: 'http' };
const RTSP: Check = { check: 'rtsp' };
const SNMP: Check = { check: 'snmp' };

/** The 20 devices of one campus; `prefix` names the campus when a school has several agents. */
function campusDevices(prefix: string): Device[] {
  const d = (
    name: string,
    type: string,
    room: string,
    roomType: string,
    checks: Check[],
    critical = true,
  ) => ({
    name: `${prefix}${name}`,
    type,
    room: `${prefix}${room}`,
    roomType,
    critical,
    checks,
  });
  return [
    d('录播主机 A1', 'recorder', '录播室 1', 'recording', [ICMP, HTTP, SNMP]),
    d('教师机位', 'camera', '录播室 1', 'recording', [ICMP, RTSP], false),
    d('学生机位', 'camera', '录播室 1', 'recording', [ICMP, RTSP], false),
    d('编码器', 'encoder', '录播室 1', 'recording', [ICMP, RTSP]),
    d('智慧黑板 301', 'panel', '智慧教室 301', 'smart', [ICMP, { check: 'tcp', port: 80 }]),
    d('投影仪 301', 'projector', '智慧教室 301', 'smart', [ICMP], false),
    d('智慧黑板 302', 'panel', '智慧教室 302', 'smart', [ICMP, { check: 'tcp', port: 80 }]),
    d('投影仪 302', 'projector', '智慧教室 302', 'smart', [ICMP], false),
    d('核心交换机', 'switch', '网络中心', 'core', [SNMP]),
    d('出口路由器', 'router', '网络中心', 'core', [SNMP]),
    d('NVR', 'nvr', '网络中心', 'core', [ICMP, HTTP, RTSP]),
    d('服务器', 'server', '网络中心', 'core', [ICMP, { check: 'tcp', port: 443 }]),
    ...Array.from({ length: 6 }, (_, k) => d(`AP-${k + 1}`, 'ap', '教学楼 AP', 'ap', [ICMP, SNMP])),
    d('教师机', 'pc', '计算机教室', 'lab', [ICMP], false),
    d('学生机 01', 'pc', '计算机教室', 'lab', [ICMP], false),
  ];
}

/** Placeholders the templates are split on. */
const SCHOOL = '__BENCH_SCHOOL__';
const AGENT = '__BENCH_AGENT__';
const RID = '__BENCH_RID__';
const AT = '__BENCH_AT__';

function reachability(dev: Device, c: Check, address: string, up: boolean): ReachabilityResult {
  const base = {
    probe: 'reachability' as const,
    target: dev.name,
    durationMs: up ? 2.4 : 3000,
    at: AT,
    device: {
      name: dev.name,
      address,
      type: dev.type,
      room: dev.room,
      roomType: dev.roomType,
      critical: dev.critical,
    },
    outcome: up ? ('ok' as const) : ('timeout' as const),
    up,
    ...(up ? {} : { error: 'no answer within 3000 ms' }),
  };
  switch (c.check) {
    case 'icmp':
      return {
        ...base,
        check: 'icmp',
        family: 4,
        address,
        sent: 3,
        received: up ? 3 : 0,
        lossPct: up ? 0 : 100,
        ...(up ? { rttMs: 0.62 } : {}),
      };
    case 'tcp':
      return { ...base, check: 'tcp', port: c.port, family: 4, address, ...(up ? { rttMs: 0.41 } : {}) };
    case 'http':
      return {
        ...base,
        check: 'http',
        url: `http://${address}/`,
        ...(up ? { status: 200, rttMs: 8.2 } : {}),
      };
    case 'rtsp':
      return { ...base, check: 'rtsp', port: 554, family: 4, ...(up ? { status: 200, rttMs: 3.1 } : {}) };
    case 'snmp':
      return {
        ...base,
        check: 'snmp',
        ...(up
          ? {
              rttMs: 4.7,
              uptimeS: 8_640_000,
              sysDescr: 'H3C Comware Platform Software, Version 7.1.070',
              ifDown: 2,
            }
          : {}),
      };
  }
}

function uplinkSnmp(prefix: string): UplinkSnmpResult[] {
  const port = (
    device: string,
    role: UplinkSnmpResult['role'],
    ifIndex: number,
    ifName: string,
    speed: number,
  ): UplinkSnmpResult => ({
    probe: 'uplink-snmp',
    target: `${prefix}${device}`,
    outcome: 'ok',
    durationMs: 35,
    at: AT,
    device: { name: `${prefix}${device}`, address: '10.0.0.1' },
    role,
    ifIndex,
    ifName,
    operUp: true,
    ifSpeedMbps: speed,
    ...(role === 'uplink' ? { inMbps: 212.4, outMbps: 48.9, utilPct: 21.2, sysUptimeS: 8_640_000 } : {}),
  });
  return [
    port('出口路由器', 'uplink', 1, 'GigabitEthernet 0/0', 1000),
    port('核心交换机', 'core', 49, 'TenGigabitEthernet 1/0/49', 10000),
    port('核心交换机', 'access', 1, 'GigabitEthernet 1/0/1', 1000),
  ];
}

function host(prefix: string): HostResult {
  return {
    probe: 'host',
    target: `${prefix}campuswatch-box`,
    outcome: 'ok',
    durationMs: 180,
    at: AT,
    os: {
      platform: 'linux',
      distro: 'Debian GNU/Linux',
      release: '12',
      kernel: '6.1.0-21-amd64',
      arch: 'x64',
    },
    uptimeS: 3_456_000,
    cpu: { cores: 4, model: 'Intel(R) Celeron(R) N5105 @ 2.00GHz', loadPct: 3.5 },
    memory: { totalBytes: 8_229_117_952, usedBytes: 1_512_448_000 },
    disks: [
      { mount: '/', sizeBytes: 250_059_350_016, usedBytes: 12_884_901_888 },
      { mount: '/var', sizeBytes: 100_030_242_816, usedBytes: 2_147_483_648 },
    ],
    nics: [
      {
        name: 'lo',
        up: true,
        speedMbps: null,
        virtual: true,
        mac: '00:00:00:00:00:00',
        ipv4: ['127.0.0.1'],
        ipv6: ['::1'],
      },
      {
        name: 'enp1s0',
        up: true,
        speedMbps: 1000,
        virtual: false,
        mac: '52:54:00:12:34:56',
        ipv4: ['10.0.0.20'],
        ipv6: ['2001:db8:1::20', 'fe80::5054:ff:fe12:3456'],
      },
    ],
  };
}

function ipv6(prefix: string): Ipv6Result[] {
  const target = `${prefix}test-ipv6`;
  const check = (c: Ipv6Result['check'], ok: boolean, extra: Partial<Ipv6Result> = {}): Ipv6Result => ({
    probe: 'ipv6',
    target,
    outcome: 'ok',
    durationMs: 40,
    at: AT,
    check: c,
    ok,
    ...extra,
  });
  return [
    check('host-address', true, { detail: 'global address 2001:db8:1::20 (SLAAC)' }),
    check('default-route', true),
    check('dns-aaaa', true, { ms: 12 }),
    check('dns-resolver-v6', true, { ms: 9 }),
    check('tcp-v6', true, { ms: 21, family: 6 }),
    check('tcp-v4', true, { ms: 19, family: 4 }),
    check('http-v6', true, { ms: 48, family: 6 }),
    check('http-v4', true, { ms: 45, family: 4 }),
    check('dual-stack', true, { family: 6 }),
    check('service', true, { service: '学校主页', ms: 52, family: 6 }),
    check('score', true, { scoreV6: 10, scoreV4only: 10, symptoms: [], degradation: 0.07 }),
  ];
}

function security(prefix: string, openRdp: boolean): SecurityResult[] {
  const r = (
    rule: string,
    target: string,
    finding: boolean,
    evidence: string,
    port?: number,
  ): SecurityResult => ({
    probe: 'security',
    target: `${prefix}${target}`,
    outcome: 'ok',
    durationMs: 15,
    at: AT,
    rule,
    finding,
    evidence,
    ...(port ? { port } : {}),
  });
  return [
    r('cleartext-telnet', '录播主机 A1', false, 'TCP 23 refused (closed)', 23),
    r('snmp-default-community', '核心交换机', false, 'public/private: no answer'),
    r('high-risk-port', '服务器', openRdp, openRdp ? 'TCP 3389 open' : 'TCP 3389 refused (closed)', 3389),
  ];
}

function bandwidth(): BandwidthResult[] {
  const r = (direction: 'down' | 'up', mbps: number): BandwidthResult => ({
    probe: 'bandwidth',
    target: 'collector',
    outcome: 'ok',
    durationMs: 12_000,
    at: AT,
    method: 'http',
    direction,
    mbps,
    p90Mbps: mbps * 1.02,
    streams: 4,
    durationS: 10,
    bytes: Math.round((mbps * 1e6 * 10) / 8),
    rttIdleMs: 4.1,
    rttLoadedMs: 9.8,
    family: 4,
  });
  return [r('down', 468.2), r('up', 455.9)];
}

export type Variant = 'base' | 'host' | 'full';

/** Which results an agent's n-th cycle carries: host every 5th, everything every 60th. */
export function variantOf(agentIndex: number, cycle: number): Variant {
  const k = agentIndex + cycle;
  if (k % 60 === 0) return 'full';
  return k % 5 === 0 ? 'host' : 'base';
}

/** Schools whose index is equal modulo PROFILES have the same faults (and share report templates). */
export const PROFILES = 30;

function results(profile: number, campus: number, campuses: number, variant: Variant): ProbeResult[] {
  const prefix = campuses > 1 ? `${campus + 1}号校区 ` : '';
  const devices = campusDevices(prefix);
  const down = new Set<string>();
  if (profile % 10 === 3) down.add(`${prefix}录播主机 A1`); // recording room target missed
  if (profile % 10 === 7) down.add(`${prefix}智慧黑板 301`); // one smart classroom of two down
  if (profile % 15 === 5) down.add(`${prefix}AP-4`);
  const out: ProbeResult[] = [];
  if (variant !== 'base') out.push(host(prefix));
  devices.forEach((dev, k) => {
    // every school numbers its own LAN the same way
    const address = `10.0.${campus}.${k + 10}`;
    for (const c of dev.checks) out.push(reachability(dev, c, address, !down.has(dev.name)));
  });
  if (variant === 'full') out.push(...bandwidth());
  out.push(...uplinkSnmp(prefix));
  if (variant === 'full') out.push(...ipv6(prefix), ...security(prefix, profile === 4));
  return out;
}

type Hole = 'school' | 'agent' | 'rid' | 'at';
const HOLES: Record<string, Hole> = { [SCHOOL]: 'school', [AGENT]: 'agent', [RID]: 'rid', [AT]: 'at' };

/** One agent's report as a JSON text with holes for the school id, agent id, report id and the times. */
export class ReportTemplate {
  private readonly parts: string[] = [];
  private readonly holes: Hole[] = [];
  readonly resultCount: number;

  constructor(profile: number, campus: number, campuses: number, variant: Variant) {
    const base = makeReport({ agentId: AGENT, schoolId: SCHOOL });
    const report: Report = {
      ...base,
      reportId: RID,
      startedAt: AT,
      finishedAt: AT,
      health: { spoolDepth: 0, spoolDropped: 0, spoolRejected: 0, cycleMs: 4200, rssMb: 58.3 },
      results: results(profile, campus, campuses, variant),
    };
    this.resultCount = report.results.length;
    for (const [i, p] of JSON.stringify(report)
      .split(/(__BENCH_(?:SCHOOL|AGENT|RID|AT)__)/)
      .entries()) {
      if (i % 2 === 0) this.parts.push(p);
      else this.holes.push(HOLES[p]!);
    }
  }

  /** The report's JSON for one send: fresh report id, every time `at`. */
  fill(schoolId: string, agentId: string, at: Date, reportId: string = uuidv7()): string {
    const iso = at.toISOString();
    let s = this.parts[0]!;
    for (let i = 0; i < this.holes.length; i++) {
      const h = this.holes[i];
      s +=
        (h === 'agent' ? agentId : h === 'rid' ? reportId : h === 'at' ? iso : schoolId) + this.parts[i + 1]!;
    }
    return s;
  }
}

export interface BenchAgent {
  agentId: string;
  token: string;
  schoolId: string;
  /** Index of its school in benchSchools(). */
  schoolIndex: number;
  /** Its campus within the school (0 when the school has one agent). */
  campus: number;
}

/** Templates for every (profile, campus, variant), built lazily and kept (at most 30 × campuses × 3). */
export class Templates {
  private readonly cache = new Map<string, ReportTemplate>();
  constructor(private readonly campuses: number) {}

  get(agent: Pick<BenchAgent, 'schoolIndex' | 'campus'>, variant: Variant): ReportTemplate {
    const profile = agent.schoolIndex % PROFILES;
    const key = `${profile}|${agent.campus}|${variant}`;
    let t = this.cache.get(key);
    if (!t) {
      t = new ReportTemplate(profile, agent.campus, this.campuses, variant);
      this.cache.set(key, t);
    }
    return t;
  }

  /** The report an agent sends in a cycle, as the object the collector parses. */
  report(agent: BenchAgent, cycle: number, at: Date, agentIndex: number): Report {
    return JSON.parse(
      this.get(agent, variantOf(agentIndex, cycle)).fill(agent.schoolId, agent.agentId, at),
    ) as Report;
  }
}
