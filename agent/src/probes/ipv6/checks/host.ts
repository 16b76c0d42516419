import { execFile } from 'node:child_process';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { deadlineText } from '../../lib/deadline.js';
import { errnoCode, errorText } from '../../lib/net-util.js';
import type { Observation } from '../observation.js';

/** The host's own IPv6: a global unicast address on an up interface, and a default route (`ip -6 -j`). */

interface IpAddrInfo {
  family?: string;
  local?: string;
  prefixlen?: number;
  scope?: string;
  dynamic?: boolean;
  mngtmpaddr?: boolean;
  temporary?: boolean;
  deprecated?: boolean;
  tentative?: boolean;
  dadfailed?: boolean;
  protocol?: string;
  valid_life_time?: number;
}

interface IpLink {
  ifname?: string;
  flags?: string[];
  addr_info?: IpAddrInfo[];
}

interface IpRoute {
  type?: string;
  dst?: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  metric?: number;
}

export interface GlobalAddress {
  iface: string;
  address: string;
  prefixlen: number;
  /** SLAAC, DHCPv6, static … as far as the OS tells. */
  how: string;
  deprecated: boolean;
}

/** 2000::/3: global unicast (link-local fe80::/10 and ULA fc00::/7 are outside it). */
export function isGlobalUnicast(address: string): boolean {
  const bare = address.split('%')[0] ?? '';
  if (isIP(bare) !== 6) return false;
  const first = bare.startsWith('::') ? 0 : Number.parseInt(bare.split(':')[0] ?? '', 16);
  return Number.isFinite(first) && (first & 0xe000) === 0x2000;
}

/** How an address was obtained, from `ip -j addr` flags (kernel ≥ 6.3 also reports `protocol`). */
export function howObtained(a: IpAddrInfo): string {
  if (a.protocol === 'kernel_ra') return 'SLAAC';
  if (a.temporary) return 'SLAAC (temporary, privacy extensions)';
  if (a.mngtmpaddr) return 'SLAAC (privacy extensions)';
  if (a.dynamic) {
    const life = typeof a.valid_life_time === 'number' ? `, valid ${a.valid_life_time} s` : '';
    if (a.prefixlen === 128) return `DHCPv6${life}`;
    if (a.prefixlen === 64) return `SLAAC${life}`;
    return `dynamic${life}`;
  }
  return 'static';
}

function asArray<T>(value: unknown): T[] {
  return Array.isArray(value) ? (value as T[]) : [];
}

/** Global unicast addresses on interfaces that are up (administratively and with a carrier). */
export function globalAddresses(ipAddrJson: unknown): { global: GlobalAddress[]; other: string[] } {
  const global: GlobalAddress[] = [];
  const other: string[] = [];
  for (const link of asArray<IpLink>(ipAddrJson)) {
    const flags = Array.isArray(link.flags) ? link.flags : [];
    const up = flags.includes('UP') && flags.includes('LOWER_UP') && !flags.includes('LOOPBACK');
    for (const a of asArray<IpAddrInfo>(link.addr_info)) {
      if (a.family !== 'inet6' || typeof a.local !== 'string') continue;
      if (!up || a.tentative || a.dadfailed) continue;
      if (!isGlobalUnicast(a.local)) {
        other.push(a.local);
        continue;
      }
      global.push({
        iface: link.ifname ?? '?',
        address: a.local,
        prefixlen: typeof a.prefixlen === 'number' ? a.prefixlen : 128,
        how: howObtained(a),
        deprecated: a.deprecated === true,
      });
    }
  }
  global.sort((a, b) => Number(a.deprecated) - Number(b.deprecated));
  return { global, other };
}

const ROUTE_PROTOCOLS: Record<string, string> = {
  ra: 'router advertisement',
  dhcp: 'DHCPv6',
  static: 'static',
  boot: 'static',
  kernel: 'kernel',
};

/** Usable default routes from `ip -6 -j route show default`. */
export function defaultRoutes(ipRouteJson: unknown): IpRoute[] {
  return asArray<IpRoute>(ipRouteJson).filter(
    (r) => (r.dst === 'default' || r.dst === '::/0') && (r.type === undefined || r.type === 'unicast'),
  );
}

const execFileText = (file: string, args: string[], signal: AbortSignal) =>
  new Promise<string>((resolve, reject) => {
    execFile(file, args, { signal, maxBuffer: 4 * 1024 * 1024, encoding: 'utf8' }, (err, stdout) => {
      if (err) reject(err);
      else resolve(stdout);
    });
  });

async function ipJson(args: string[], signal: AbortSignal): Promise<{ value: unknown } | { error: string }> {
  try {
    const text = await execFileText('ip', ['-6', '-j', ...args], signal);
    return { value: JSON.parse(text.trim() === '' ? '[]' : text) as unknown };
  } catch (err) {
    if (signal.aborted) return { error: `ip ${args.join(' ')}: ${deadlineText(signal)}` };
    const code = errnoCode(err);
    if (code === 'ENOENT') return { error: '`ip` (iproute2) not available' };
    return { error: `ip -6 -j ${args.join(' ')} failed: ${errorText(err)}` };
  }
}

export async function hostAddressCheck(signal: AbortSignal): Promise<Observation> {
  const r = await ipJson(['addr', 'show'], signal);
  let found: { global: GlobalAddress[]; other: string[] };
  let source = '';
  if ('error' in r) {
    if (signal.aborted) return { ok: false, outcome: 'timeout', family: 6, error: r.error };
    // Not Linux (or no iproute2): the OS's interface list still tells whether there is an address.
    const global: GlobalAddress[] = [];
    const other: string[] = [];
    for (const [iface, list] of Object.entries(networkInterfaces())) {
      for (const a of list ?? []) {
        if (a.family !== 'IPv6' || a.internal) continue;
        if (isGlobalUnicast(a.address)) {
          const prefixlen = Number(a.cidr?.split('/')[1] ?? 128);
          global.push({ iface, address: a.address, prefixlen, how: 'unknown', deprecated: false });
        } else other.push(a.address);
      }
    }
    found = { global, other };
    source = ` (from the OS interface list: ${r.error})`;
  } else {
    found = globalAddresses(r.value);
  }
  const best = found.global[0];
  if (!best) {
    const others = found.other.length > 0 ? `only link-local/ULA: ${found.other.slice(0, 5).join(', ')}` : '';
    return {
      ok: false,
      outcome: 'unreachable',
      family: 6,
      detail: `no global unicast IPv6 address on an up interface${others ? ` (${others})` : ''}${source}`,
    };
  }
  const more = found.global.length > 1 ? `; ${found.global.length - 1} more global address(es)` : '';
  return {
    ok: true,
    outcome: 'ok',
    family: 6,
    address: best.address,
    detail: `${best.address}/${best.prefixlen} on ${best.iface}, obtained by ${best.how}${best.deprecated ? ' (deprecated)' : ''}${more}${source}`,
  };
}

export async function defaultRouteCheck(signal: AbortSignal): Promise<Observation> {
  const r = await ipJson(['route', 'show', 'default'], signal);
  if ('error' in r) {
    return {
      ok: false,
      outcome: signal.aborted ? 'timeout' : 'error',
      family: 6,
      error: `cannot read the IPv6 routes: ${r.error}`,
    };
  }
  const routes = defaultRoutes(r.value);
  const best = routes[0];
  if (!best) return { ok: false, outcome: 'unreachable', family: 6, detail: 'no IPv6 default route' };
  // `ip` leaves out the default protocol, boot (what `ip route add` sets).
  const proto = best.protocol ?? 'boot';
  const how = ROUTE_PROTOCOLS[proto] ?? proto;
  const parts = [`default${best.gateway ? ` via ${best.gateway}` : ''}`, best.dev ? `dev ${best.dev}` : ''];
  if (best.metric !== undefined) parts.push(`metric ${best.metric}`);
  const obs: Observation = {
    ok: true,
    outcome: 'ok',
    family: 6,
    detail: `${parts.filter(Boolean).join(' ')}, proto ${proto} (${how})${routes.length > 1 ? `; ${routes.length - 1} more` : ''}`,
  };
  if (best.gateway) obs.address = best.gateway;
  return obs;
}
