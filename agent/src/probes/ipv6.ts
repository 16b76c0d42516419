import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lookup, Resolver } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { networkInterfaces, hostname as osHostname } from 'node:os';
import { type ConnectionOptions, type TLSSocket, connect as tlsConnect } from 'node:tls';
import type { Ipv6Result, Outcome } from '../../../protocol/report.js';
import type { AgentConfig, Ipv6Config } from '../config.js';
import { type Ipv6Score, type ServiceFacts, scoreIpv6, serviceSymptoms } from './ipv6-score.js';
import { elapsedMs, errnoCode, errorText, type Family, outcomeOfErrno, raceAbort } from './net-util.js';
import type { Probe, ProbeContext } from './probe.js';

/**
 * The IPv6 readiness probe (measurement `ipv6`; the `ipv6` target of config/targets.yaml): host, DNS, connectivity, path MTU and the
 * school's own services, each a named check; one `check: score` row with both scores (ipv6-score.ts).
 *
 * Convention shared with the scoring: a row with `error` set could not be checked (no address of that
 * family to connect to, the probe deadline passed, a URL that cannot serve the check) and is no
 * symptom; without `error`, `ok` is the verdict and `detail` says what was seen.
 */

type Check = Ipv6Result['check'];

/** What one check found; the common fields (check, target, at, durationMs) are added around it. */
interface Finding {
  ok: boolean;
  outcome: Outcome;
  ms?: number;
  family?: Family;
  address?: string;
  detail?: string;
  error?: string;
  service?: string;
  symptoms?: string[];
}

/** Happy Eyeballs: Node's default attempt delay (RFC 8305 recommends 250 ms). */
const HE_ATTEMPT_MS = 250;
/** Bodies are hashed up to this size; the path-MTU check needs only more than 1280 bytes. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;
const IPV6_MIN_MTU = 1280;
/** Connections per TCP check; the fastest one is its connect time. */
const TCP_SAMPLES = 3;
const USER_AGENT = 'campuswatch-agent (ipv6 probe)';
const RESOLV_CONF = '/etc/resolv.conf';
/** systemd-resolved's list of the real upstream servers, behind its 127.0.0.53 stub. */
const RESOLVED_UPSTREAM = '/run/systemd/resolve/resolv.conf';
/** DNS errors that are an answer from the server (it is reachable), not a transport failure. */
const DNS_ANSWERED = new Set([
  'ENODATA',
  'ENOTFOUND',
  'EREFUSED',
  'ESERVFAIL',
  'EFORMERR',
  'ENOTIMP',
  'EBADRESP',
  'EBADNAME',
]);

const noop = (): void => {};

// ---------------------------------------------------------------------------------------------------
// Deadlines

/** The reason a check's own timer aborted it. */
class CheckTimeout extends Error {
  override readonly name = 'CheckTimeout';
  constructor(readonly ms: number) {
    super(`no answer within ${ms} ms`);
  }
}

function reasonText(signal: AbortSignal): string {
  const r: unknown = signal.reason;
  if (r instanceof CheckTimeout) return r.message;
  return 'the probe deadline passed';
}

/**
 * Runs `fn` with a signal that aborts after `ms` or when `parent` aborts, whichever comes first.
 * The timer and the parent listener are always removed.
 */
async function withDeadline<T>(ms: number, parent: AbortSignal, fn: (signal: AbortSignal) => Promise<T>) {
  const ac = new AbortController();
  const onAbort = () => ac.abort(parent.reason);
  parent.addEventListener('abort', onAbort, { once: true });
  const timer = setTimeout(() => ac.abort(new CheckTimeout(ms)), ms);
  try {
    return await fn(ac.signal);
  } finally {
    clearTimeout(timer);
    parent.removeEventListener('abort', onAbort);
  }
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Runs one check under its own deadline and turns what it found into a result row. Never throws. */
async function runCheck(
  check: Check,
  target: string,
  ctx: ProbeContext,
  timeoutMs: number,
  fn: (signal: AbortSignal) => Promise<Finding>,
): Promise<Ipv6Result> {
  const at = ctx.now().toISOString();
  const startedAt = performance.now();
  let finding: Finding;
  if (ctx.signal.aborted) {
    finding = { ok: false, outcome: 'timeout', error: 'not started: the probe deadline passed' };
  } else {
    try {
      finding = await withDeadline(timeoutMs, ctx.signal, fn);
    } catch (err) {
      finding = { ok: false, outcome: 'error', error: `unexpected failure: ${errorText(err)}` };
    }
    // A negative verdict reached because the caller's deadline passed is no verdict.
    if (ctx.signal.aborted && !finding.ok && finding.error === undefined) {
      finding = { ...finding, outcome: 'timeout', error: 'the probe deadline passed' };
    }
  }
  const result: Ipv6Result = {
    probe: 'ipv6',
    check,
    target: clip(target, 200),
    ok: finding.ok,
    outcome: finding.outcome,
    durationMs: elapsedMs(startedAt),
    at,
  };
  if (finding.ms !== undefined) result.ms = finding.ms;
  if (finding.family !== undefined) result.family = finding.family;
  if (finding.address !== undefined) result.address = clip(finding.address, 255);
  if (finding.detail !== undefined) result.detail = clip(finding.detail, 1000);
  if (finding.error !== undefined) result.error = clip(finding.error, 2000);
  if (finding.service !== undefined) result.service = clip(finding.service, 200);
  if (finding.symptoms !== undefined)
    result.symptoms = finding.symptoms.slice(0, 50).map((s) => clip(s, 200));
  return result;
}

// ---------------------------------------------------------------------------------------------------
// Host: addresses and routes (`ip -6 -j`)

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
    if (signal.aborted) return { error: `ip ${args.join(' ')}: ${reasonText(signal)}` };
    const code = errnoCode(err);
    if (code === 'ENOENT') return { error: '`ip` (iproute2) not available' };
    return { error: `ip -6 -j ${args.join(' ')} failed: ${errorText(err)}` };
  }
}

async function hostAddressCheck(signal: AbortSignal): Promise<Finding> {
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

async function defaultRouteCheck(signal: AbortSignal): Promise<Finding> {
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
  const finding: Finding = {
    ok: true,
    outcome: 'ok',
    family: 6,
    detail: `${parts.filter(Boolean).join(' ')}, proto ${proto} (${how})${routes.length > 1 ? `; ${routes.length - 1} more` : ''}`,
  };
  if (best.gateway) finding.address = best.gateway;
  return finding;
}

// ---------------------------------------------------------------------------------------------------
// DNS

/** The `nameserver` lines of a resolv.conf. */
export function parseResolvConf(text: string): string[] {
  const servers: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/[#;].*$/, '').trim();
    const m = /^nameserver\s+(\S+)$/.exec(line);
    if (m?.[1]) servers.push(m[1]);
  }
  return servers;
}

const isLoopback = (a: string): boolean => a === '::1' || a.startsWith('127.');

/**
 * The system's name servers: /etc/resolv.conf (inside `ip netns exec`, /etc/netns/<ns>/resolv.conf is
 * bind-mounted there), behind systemd-resolved's stub its upstream list, else what c-ares uses.
 */
async function systemNameservers(): Promise<{ servers: string[]; source: string }> {
  try {
    const servers = parseResolvConf(await readFile(RESOLV_CONF, 'utf8'));
    if (servers.length > 0 && servers.every((s) => s === '127.0.0.53')) {
      try {
        const upstream = parseResolvConf(await readFile(RESOLVED_UPSTREAM, 'utf8'));
        if (upstream.length > 0) return { servers: upstream, source: RESOLVED_UPSTREAM };
      } catch {
        // no systemd-resolved upstream list: keep the stub
      }
    }
    return { servers, source: RESOLV_CONF };
  } catch (err) {
    const servers = new Resolver()
      .getServers()
      .map((s) => s.replace(/^\[(.+)\](?::\d+)?$/, '$1').replace(/^([\d.]+):\d+$/, '$1'));
    return { servers, source: `the system resolver (${RESOLV_CONF}: ${errnoCode(err) ?? 'unreadable'})` };
  }
}

type DnsAnswer<T> = { ok: true; value: T; ms: number } | { ok: false; code: string; ms: number };

/** One query on a fresh resolver (one try per server), cancelled when `signal` aborts. */
async function query<T>(
  signal: AbortSignal,
  timeoutMs: number,
  servers: string[] | undefined,
  fn: (r: Resolver) => Promise<T>,
): Promise<DnsAnswer<T>> {
  const resolver = new Resolver({ timeout: timeoutMs, tries: 1 });
  const startedAt = performance.now();
  if (servers) resolver.setServers(servers);
  const onAbort = () => resolver.cancel();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return { ok: true, value: await fn(resolver), ms: elapsedMs(startedAt) };
  } catch (err) {
    return { ok: false, code: errnoCode(err) ?? 'error', ms: elapsedMs(startedAt) };
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

function dnsFailure(code: string, signal: AbortSignal): { outcome: Outcome; text: string } {
  if (code === 'ECANCELLED' || signal.aborted) return { outcome: 'timeout', text: reasonText(signal) };
  if (code === 'ETIMEOUT') return { outcome: 'timeout', text: 'no answer from the resolver (ETIMEOUT)' };
  if (code === 'ECONNREFUSED') return { outcome: 'refused', text: 'resolver not reachable (ECONNREFUSED)' };
  if (code === 'ENODATA') return { outcome: 'error', text: 'no AAAA record (ENODATA)' };
  if (code === 'ENOTFOUND') return { outcome: 'error', text: 'the name does not exist (ENOTFOUND)' };
  return { outcome: 'error', text: `the resolver answered ${code}` };
}

async function aaaaCheck(name: string, timeoutMs: number, signal: AbortSignal): Promise<Finding> {
  const r = await query(signal, timeoutMs, undefined, (res) => res.resolve6(name));
  if (r.ok && r.value.length > 0) {
    const finding: Finding = {
      ok: true,
      outcome: 'ok',
      ms: r.ms,
      detail: `AAAA ${r.value.slice(0, 8).join(', ')}`,
    };
    if (r.value[0]) finding.address = r.value[0];
    return finding;
  }
  const f = r.ok ? { outcome: 'error' as const, text: 'no AAAA record' } : dnsFailure(r.code, signal);
  return { ok: false, outcome: f.outcome, ms: r.ms, detail: `${name}: ${f.text}` };
}

async function resolverV6Check(probeName: string, timeoutMs: number, signal: AbortSignal): Promise<Finding> {
  const { servers, source } = await systemNameservers();
  if (servers.length === 0) return { ok: false, outcome: 'error', error: `no nameserver in ${source}` };
  const v6 = servers.filter((s) => isIP(s.split('%')[0] ?? '') === 6);
  const remote6 = v6.filter((s) => !isLoopback(s));
  if (remote6.length === 0) {
    if (servers.every(isLoopback)) {
      return {
        ok: false,
        outcome: 'error',
        family: 6,
        error: `only a local resolver (${servers.join(', ')}) in ${source}: cannot tell whether the resolver is reachable over IPv6`,
      };
    }
    return {
      ok: false,
      outcome: 'error',
      family: 6,
      detail: `no IPv6 nameserver in ${source} (only ${servers.join(', ')})`,
    };
  }
  const asked = await Promise.all(
    remote6.slice(0, 3).map(async (server) => {
      let r: DnsAnswer<string[]>;
      try {
        r = await query(signal, timeoutMs, [server], (res) => res.resolve6(probeName));
      } catch (err) {
        // setServers refuses an address it cannot use (e.g. a zone index it does not know)
        r = { ok: false, code: errnoCode(err) ?? 'EINVAL', ms: 0 };
      }
      const answered = r.ok || DNS_ANSWERED.has(r.code);
      return { server, answered, r };
    }),
  );
  const good = asked.find((a) => a.answered);
  const summary = asked
    .map((a) =>
      a.answered
        ? `${a.server} answered in ${a.r.ms} ms`
        : `${a.server}: ${dnsFailure(a.r.ok ? 'error' : a.r.code, signal).text}`,
    )
    .join('; ');
  if (good) {
    return { ok: true, outcome: 'ok', family: 6, address: good.server, ms: good.r.ms, detail: summary };
  }
  const first = asked[0];
  const outcome = first && !first.r.ok ? dnsFailure(first.r.code, signal).outcome : 'error';
  return { ok: false, outcome, family: 6, detail: `no IPv6 nameserver of ${source} answered: ${summary}` };
}

// ---------------------------------------------------------------------------------------------------
// Connections and HTTP

interface Target {
  name: string;
  url: URL;
  /** Host name or address as in the URL, without brackets. */
  host: string;
  port: number;
  tls: boolean;
}

function parseTarget(name: string, text: string): Target | string {
  try {
    const url = new URL(text);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return `unsupported URL scheme in ${text}`;
    const tls = url.protocol === 'https:';
    const host = url.hostname.replace(/^\[(.+)\]$/, '$1');
    return { name, url, host, port: url.port ? Number(url.port) : tls ? 443 : 80, tls };
  } catch {
    return `invalid URL ${text}`;
  }
}

/** One address of `family` for `host` (an IP literal as it is; names via the system's getaddrinfo). */
async function addressOf(
  host: string,
  family: Family,
  signal: AbortSignal,
): Promise<{ address: string } | { error: string }> {
  const kind = isIP(host);
  if (kind === family) return { address: host };
  if (kind !== 0) return { error: `${host} is an IPv${kind} address: nothing to try over IPv${family}` };
  try {
    const raced = await raceAbort(lookup(host, { family }), signal);
    if (raced.aborted) return { error: `name resolution of ${host}: ${reasonText(signal)}` };
    return { address: raced.value.address };
  } catch (err) {
    return { error: `no IPv${family} address for ${host} (${errnoCode(err) ?? 'error'})` };
  }
}

/** Waits for `event` or an error or the abort, then removes its listeners. */
function settle(
  socket: Socket,
  event: 'connect' | 'secureConnect',
  signal: AbortSignal,
): Promise<{ ok: true } | { ok: false; err?: Error }> {
  return new Promise((resolve) => {
    const done = (r: { ok: true } | { ok: false; err?: Error }) => {
      socket.off(event, onOk);
      socket.off('error', onErr);
      signal.removeEventListener('abort', onAbort);
      resolve(r);
    };
    const onOk = () => done({ ok: true });
    const onErr = (err: Error) => done({ ok: false, err });
    const onAbort = () => done({ ok: false });
    socket.once(event, onOk);
    socket.once('error', onErr);
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
  });
}

type Opened =
  | {
      ok: true;
      socket: Socket;
      connectMs: number;
      tlsMs?: number;
      family: Family;
      address: string;
      attempted?: string[];
    }
  | {
      ok: false;
      outcome: Outcome;
      text: string;
      /** TCP connected, the TLS handshake failed: `code` is the TLS error code. */
      tlsFailed: boolean;
      code?: string;
      connectMs?: number;
    };

interface OpenOptions {
  host: string;
  port: number;
  /** Force a family (host is then an address of it), or let Happy Eyeballs choose (`auto`). */
  family: Family | 'auto';
  tls?: { servername: string | undefined; rejectUnauthorized: boolean };
}

function familyOf(socket: Socket): Family | undefined {
  if (socket.remoteFamily === 'IPv6') return 6;
  if (socket.remoteFamily === 'IPv4') return 4;
  return undefined;
}

/** A TCP (and optionally TLS) connection with its connect and handshake times. Never throws. */
async function open(o: OpenOptions, signal: AbortSignal): Promise<Opened> {
  const startedAt = performance.now();
  const tcp =
    o.family === 'auto'
      ? netConnect({
          host: o.host,
          port: o.port,
          autoSelectFamily: true,
          autoSelectFamilyAttemptTimeout: HE_ATTEMPT_MS,
        })
      : netConnect({ host: o.host, port: o.port, family: o.family });
  // Stays attached: an error after our own listeners are gone must not crash the process.
  tcp.on('error', noop);
  const c = await settle(tcp, 'connect', signal);
  if (!c.ok) {
    tcp.destroy();
    if (!c.err) return { ok: false, outcome: 'timeout', text: reasonText(signal), tlsFailed: false };
    const code = errnoCode(c.err);
    const r: Opened = {
      ok: false,
      outcome: outcomeOfErrno(code),
      text: code ?? errorText(c.err),
      tlsFailed: false,
    };
    if (code !== undefined) r.code = code;
    return r;
  }
  const connectMs = elapsedMs(startedAt);
  const family = familyOf(tcp) ?? (o.family === 'auto' ? 6 : o.family);
  const address = tcp.remoteAddress ?? o.host;
  const attempted = (tcp as Socket & { autoSelectFamilyAttemptedAddresses?: string[] })
    .autoSelectFamilyAttemptedAddresses;
  const base = { ok: true as const, connectMs, family, address, ...(attempted ? { attempted } : {}) };
  if (!o.tls) return { ...base, socket: tcp };

  const tlsStartedAt = performance.now();
  const opts: ConnectionOptions = {
    socket: tcp,
    host: address,
    rejectUnauthorized: o.tls.rejectUnauthorized,
    ALPNProtocols: ['http/1.1'],
  };
  if (o.tls.servername !== undefined) opts.servername = o.tls.servername;
  const secure: TLSSocket = tlsConnect(opts);
  secure.on('error', noop);
  const s = await settle(secure, 'secureConnect', signal);
  if (!s.ok) {
    secure.destroy();
    tcp.destroy();
    if (!s.err)
      return {
        ok: false,
        outcome: 'timeout',
        text: `TLS: ${reasonText(signal)}`,
        tlsFailed: false,
        connectMs,
      };
    const code = errnoCode(s.err) ?? 'TLS_ERROR';
    return { ok: false, outcome: 'error', text: `TLS: ${code}`, tlsFailed: true, code, connectMs };
  }
  return { ...base, socket: secure, tlsMs: elapsedMs(tlsStartedAt) };
}

interface HttpResponse {
  status?: number;
  bytes: number;
  sha256: string;
  /** The whole body arrived (or the first MAX_BODY_BYTES of it). */
  complete: boolean;
  /** From sending the request to the response headers (≈ one round trip plus the server's time). */
  headersMs?: number;
  totalMs: number;
  contentLength?: number;
  failure?: { outcome: Outcome; text: string };
}

/** GET `url` over an open connection (HTTP/1.1, `Connection: close`); destroys the socket. */
function httpGet(socket: Socket, url: URL, signal: AbortSignal): Promise<HttpResponse> {
  return new Promise((resolve) => {
    const startedAt = performance.now();
    const hash = createHash('sha256');
    let bytes = 0;
    let status: number | undefined;
    let headersMs: number | undefined;
    let contentLength: number | undefined;
    let settled = false;
    const req = httpRequest({
      createConnection: () => socket,
      method: 'GET',
      path: `${url.pathname}${url.search}`,
      headers: { host: url.host, 'user-agent': USER_AGENT, accept: '*/*', connection: 'close' },
    });
    const finish = (complete: boolean, failure?: HttpResponse['failure']) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      const r: HttpResponse = { bytes, sha256: hash.digest('hex'), complete, totalMs: elapsedMs(startedAt) };
      if (status !== undefined) r.status = status;
      if (headersMs !== undefined) r.headersMs = headersMs;
      if (contentLength !== undefined) r.contentLength = contentLength;
      if (failure) r.failure = failure;
      req.destroy();
      socket.destroy();
      resolve(r);
    };
    const onAbort = () => finish(false, { outcome: 'timeout', text: reasonText(signal) });
    req.on('response', (res) => {
      status = res.statusCode;
      headersMs = elapsedMs(startedAt);
      const len = Number(res.headers['content-length']);
      if (Number.isFinite(len) && len >= 0) contentLength = len;
      res.on('data', (chunk: Buffer) => {
        if (settled) return;
        hash.update(chunk);
        bytes += chunk.length;
        if (bytes >= MAX_BODY_BYTES) finish(true);
      });
      res.on('end', () => finish(true));
      res.on('error', (err) => finish(false, { outcome: 'error', text: errnoCode(err) ?? errorText(err) }));
      res.on('aborted', () => finish(false, { outcome: 'error', text: 'the response was cut off' }));
    });
    req.on('error', (err) => {
      const code = errnoCode(err);
      finish(false, { outcome: outcomeOfErrno(code), text: code ?? errorText(err) });
    });
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) onAbort();
    else req.end();
  });
}

const bracket = (address: string): string => (address.includes(':') ? `[${address}]` : address);
const servernameOf = (t: Target): string | undefined => (isIP(t.host) === 0 ? t.host : undefined);

/**
 * TCP connect time: the best of TCP_SAMPLES connections one after the other (the minimum is what the
 * path costs; the others also carry the delays of this process's busy event loop).
 */
async function tcpCheck(t: Target, family: Family, signal: AbortSignal): Promise<Finding> {
  const a = await addressOf(t.host, family, signal);
  if ('error' in a)
    return { ok: false, outcome: signal.aborted ? 'timeout' : 'error', family, error: a.error };
  const where = `${bracket(a.address)}:${t.port}`;
  const times: number[] = [];
  for (let i = 0; i < TCP_SAMPLES; i++) {
    const c = await open({ host: a.address, port: t.port, family }, signal);
    if (!c.ok) {
      const after = times.length > 0 ? ` (after ${times.length} good connection(s))` : '';
      return {
        ok: false,
        outcome: c.outcome,
        family,
        address: a.address,
        detail: `TCP ${where}: ${c.text}${after}`,
      };
    }
    c.socket.destroy();
    times.push(c.connectMs);
  }
  const best = Math.min(...times);
  return {
    ok: true,
    outcome: 'ok',
    family,
    address: a.address,
    ms: best,
    detail: `TCP ${where} connected ${times.length} times in ${times.join(', ')} ms (best ${best} ms)`,
  };
}

function describeHttp(r: HttpResponse, c: { connectMs: number; tlsMs?: number }): string {
  const tls = c.tlsMs !== undefined ? `, TLS ${c.tlsMs} ms` : '';
  const status =
    r.status !== undefined ? `HTTP ${r.status}, ${r.bytes} bytes` : `no response (${r.bytes} bytes)`;
  return `${status}; connect ${c.connectMs} ms${tls}, headers ${r.headersMs ?? '-'} ms, total ${r.totalMs} ms`;
}

async function httpCheck(t: Target, family: Family, signal: AbortSignal): Promise<Finding> {
  const a = await addressOf(t.host, family, signal);
  if ('error' in a)
    return { ok: false, outcome: signal.aborted ? 'timeout' : 'error', family, error: a.error };
  const tls = t.tls ? { servername: servernameOf(t), rejectUnauthorized: false } : undefined;
  const c = await open({ host: a.address, port: t.port, family, ...(tls ? { tls } : {}) }, signal);
  if (!c.ok) {
    return {
      ok: false,
      outcome: c.outcome,
      family,
      address: a.address,
      detail: `GET ${t.url.href}: ${c.text}`,
    };
  }
  const r = await httpGet(c.socket, t.url, signal);
  const detail = `GET ${t.url.href} over ${bracket(c.address)}: ${describeHttp(r, c)}`;
  if (r.failure)
    return {
      ok: false,
      outcome: r.failure.outcome,
      family,
      address: c.address,
      detail: `${detail}: ${r.failure.text}`,
    };
  const finding: Finding = {
    ok: r.status !== undefined && r.status < 500,
    outcome: r.status !== undefined && r.status < 500 ? 'ok' : 'error',
    family,
    address: c.address,
    detail,
  };
  if (r.headersMs !== undefined) finding.ms = r.headersMs;
  return finding;
}

/** Which family Happy Eyeballs (Node's autoSelectFamily) picks for a dual-stack name, and whether it loads. */
async function dualStackCheck(t: Target, signal: AbortSignal): Promise<Finding> {
  const tls = t.tls ? { servername: servernameOf(t), rejectUnauthorized: false } : undefined;
  const c = await open({ host: t.host, port: t.port, family: 'auto', ...(tls ? { tls } : {}) }, signal);
  if (!c.ok)
    return { ok: false, outcome: c.outcome, detail: `GET ${t.url.href} (autoSelectFamily): ${c.text}` };
  const tried = c.attempted && c.attempted.length > 0 ? `; tried ${c.attempted.join(', ')}` : '';
  const r = await httpGet(c.socket, t.url, signal);
  const detail = `Happy Eyeballs (autoSelectFamily, ${HE_ATTEMPT_MS} ms per attempt) used IPv${c.family} ${bracket(c.address)}, connected in ${c.connectMs} ms (name resolution included)${tried}; ${describeHttp(r, c)}`;
  const ok = !r.failure && r.status !== undefined && r.status < 500;
  return {
    ok,
    outcome: r.failure?.outcome ?? (ok ? 'ok' : 'error'),
    family: c.family,
    address: c.address,
    ms: c.connectMs,
    detail: r.failure ? `${detail}: ${r.failure.text}` : detail,
  };
}

/** A response larger than 1280 bytes over IPv6 must arrive (ICMPv6 Packet Too Big not filtered). */
async function pmtuCheck(t: Target, signal: AbortSignal): Promise<Finding> {
  const a = await addressOf(t.host, 6, signal);
  if ('error' in a)
    return { ok: false, outcome: signal.aborted ? 'timeout' : 'error', family: 6, error: a.error };
  const tls = t.tls ? { servername: servernameOf(t), rejectUnauthorized: false } : undefined;
  const c = await open({ host: a.address, port: t.port, family: 6, ...(tls ? { tls } : {}) }, signal);
  if (!c.ok) {
    return {
      ok: false,
      outcome: c.outcome,
      family: 6,
      address: a.address,
      error: `could not connect to ${t.url.href} over IPv6 (${c.text}): no path-MTU verdict`,
    };
  }
  const r = await httpGet(c.socket, t.url, signal);
  const base = { family: 6 as const, address: c.address, ms: r.totalMs };
  const expected = r.contentLength !== undefined ? ` of ${r.contentLength}` : '';
  if (r.complete && r.bytes > IPV6_MIN_MTU) {
    return {
      ...base,
      ok: true,
      outcome: 'ok',
      detail: `${r.bytes} bytes arrived over IPv6; ${describeHttp(r, c)}`,
    };
  }
  if (r.complete) {
    return {
      ...base,
      ok: false,
      outcome: 'error',
      error: `${t.url.href} answered only ${r.bytes} bytes (HTTP ${r.status ?? '-'}): the MTU URL must serve more than ${IPV6_MIN_MTU}`,
    };
  }
  return {
    ...base,
    ok: false,
    outcome: r.failure?.outcome ?? 'error',
    detail: `connected in ${c.connectMs} ms, but only ${r.bytes}${expected} bytes arrived (${r.failure?.text ?? 'incomplete'}): large IPv6 packets are lost, ICMPv6 Packet Too Big is probably filtered`,
  };
}

// ---------------------------------------------------------------------------------------------------
// School services

async function serviceCheck(
  name: string,
  t: Target,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Finding> {
  const [aaaa, a] = await Promise.all([
    isIP(t.host) === 6
      ? Promise.resolve<DnsAnswer<string[]>>({ ok: true, value: [t.host], ms: 0 })
      : isIP(t.host) === 4
        ? Promise.resolve<DnsAnswer<string[]>>({ ok: false, code: 'ENODATA', ms: 0 })
        : query(signal, timeoutMs, undefined, (r) => r.resolve6(t.host)),
    isIP(t.host) === 4
      ? Promise.resolve<DnsAnswer<string[]>>({ ok: true, value: [t.host], ms: 0 })
      : isIP(t.host) === 6
        ? Promise.resolve<DnsAnswer<string[]>>({ ok: false, code: 'ENODATA', ms: 0 })
        : query(signal, timeoutMs, undefined, (r) => r.resolve4(t.host)),
  ]);
  const v6addr = aaaa.ok ? aaaa.value[0] : undefined;
  const v4addr = a.ok ? a.value[0] : undefined;
  const servername = servernameOf(t);

  const fetchOver = async (address: string | undefined, family: Family) => {
    if (address === undefined) return undefined;
    const tls = t.tls ? { servername, rejectUnauthorized: false } : undefined;
    const c = await open({ host: address, port: t.port, family, ...(tls ? { tls } : {}) }, signal);
    if (!c.ok) return { ok: false as const, text: c.text, outcome: c.outcome };
    const r = await httpGet(c.socket, t.url, signal);
    if (r.failure || r.status === undefined || r.status >= 500) {
      return {
        ok: false as const,
        text: r.failure?.text ?? `HTTP ${r.status ?? '-'}`,
        outcome: r.failure?.outcome ?? 'error',
      };
    }
    return { ok: true as const, r, c };
  };
  const tlsCodes: Partial<Record<Family, string>> = {};
  const tlsOver = async (address: string | undefined, family: Family): Promise<ServiceFacts['tlsV6']> => {
    if (!t.tls) return 'n/a';
    if (address === undefined) return 'untested';
    const c = await open(
      { host: address, port: t.port, family, tls: { servername, rejectUnauthorized: true } },
      signal,
    );
    if (c.ok) {
      c.socket.destroy();
      return 'valid';
    }
    if (c.tlsFailed) {
      tlsCodes[family] = c.code ?? 'TLS_ERROR';
      return 'invalid';
    }
    return 'untested';
  };
  const [v6, v4, tlsV6, tlsV4] = await Promise.all([
    fetchOver(v6addr, 6),
    fetchOver(v4addr, 4),
    tlsOver(v6addr, 6),
    tlsOver(v4addr, 4),
  ]);

  let sameContent: boolean | undefined;
  let contentNote = 'content not compared';
  if (v6?.ok && v4?.ok) {
    if (v6.r.sha256 === v4.r.sha256 && v6.r.status === v4.r.status) {
      sameContent = true;
      contentNote = `same content over IPv4 and IPv6 (sha256 ${v6.r.sha256.slice(0, 12)}…)`;
    } else {
      // A page that changes from one request to the next (a clock, a token) cannot be compared.
      const again = await fetchOver(v4addr, 4);
      if (again?.ok && (again.r.sha256 !== v4.r.sha256 || again.r.status !== v4.r.status)) {
        contentNote = 'the content changes from one request to the next: not compared';
      } else {
        sameContent = false;
        contentNote = `content differs: IPv6 HTTP ${v6.r.status} sha256 ${v6.r.sha256.slice(0, 12)}…, IPv4 HTTP ${v4.r.status} sha256 ${v4.r.sha256.slice(0, 12)}…`;
      }
    }
  }
  const facts: ServiceFacts = {
    name,
    aaaa: v6addr !== undefined,
    v6: v6 === undefined ? 'untested' : v6.ok ? 'ok' : 'failed',
    v4: v4 === undefined ? 'untested' : v4.ok ? 'ok' : 'failed',
    sameContent,
    tlsV6,
    tlsV4,
  };
  const notes: string[] = [];
  if (v6addr === undefined) {
    notes.push(`no AAAA for ${t.host}${aaaa.ok ? '' : ` (${dnsFailure(aaaa.code, signal).text})`}`);
  } else if (v6?.ok) {
    notes.push(`IPv6 ${bracket(v6addr)}: ${describeHttp(v6.r, v6.c)}`);
  } else if (v6) {
    notes.push(`IPv6 ${bracket(v6addr)}: ${v6.text}`);
  }
  if (v4addr === undefined) notes.push(`no A for ${t.host}`);
  else if (v4 && !v4.ok) notes.push(`IPv4 ${v4addr}: ${v4.text}`);
  else if (v4?.ok) notes.push(`IPv4 ${v4addr}: HTTP ${v4.r.status}`);
  notes.push(contentNote);
  if (t.tls) {
    const tlsText = (v: ServiceFacts['tlsV6'], f: Family) =>
      v === 'invalid' ? `invalid (${tlsCodes[f]})` : v === 'valid' ? 'valid' : 'not checked';
    notes.push(`TLS over IPv6 ${tlsText(tlsV6, 6)}, over IPv4 ${tlsText(tlsV4, 4)}`);
  }
  const symptoms = serviceSymptoms(facts);
  const finding: Finding = {
    ok: facts.aaaa && facts.v6 === 'ok' && symptoms.length === 0,
    outcome: v6addr === undefined ? 'error' : v6 === undefined || v6.ok ? 'ok' : v6.outcome,
    family: 6,
    service: name,
    detail: `${t.url.href}: ${notes.join('; ')}`,
    symptoms,
  };
  if (v6addr !== undefined) finding.address = v6addr;
  if (v6?.ok && v6.r.headersMs !== undefined) finding.ms = v6.r.headersMs;
  if (finding.outcome === 'ok' && !finding.ok) finding.outcome = 'error';
  return finding;
}

// ---------------------------------------------------------------------------------------------------
// The probe

function hostTarget(): string {
  const name = osHostname().trim();
  return name === '' ? 'unknown-host' : name;
}

/** The configured targets, or the collector's URL when none is configured. */
function targetsOf(config: AgentConfig): { name: string; url: string }[] {
  const cfg = config.probes.ipv6;
  if (cfg.targets.length > 0) return cfg.targets;
  const parsed = parseTarget('collector', config.collector.url);
  return [{ name: typeof parsed === 'string' ? 'collector' : parsed.host, url: config.collector.url }];
}

function scoreDetail(s: Ipv6Score, results: Ipv6Result[]): string {
  const parts: string[] = [];
  if (s.connectMs) {
    parts.push(
      `connect IPv6 ${s.connectMs.v6} ms vs IPv4 ${s.connectMs.v4} ms (ratio ${s.degradation ?? '-'})`,
    );
  }
  if (s.requestMs) {
    parts.push(
      `request IPv6 ${s.requestMs.v6} ms vs IPv4 ${s.requestMs.v4} ms (ratio ${s.rttDegradation ?? '-'})`,
    );
  }
  const ds = results.find((r) => r.check === 'dual-stack' && r.ok);
  if (ds?.family !== undefined) parts.push(`dual-stack used IPv${ds.family}`);
  return parts.length > 0 ? parts.join('; ') : 'no IPv6/IPv4 pair to compare';
}

/**
 * IPv6 readiness (test-ipv6.com style): every configured check runs at once, each under its own
 * `connectTimeoutMs` deadline and the caller's signal; one row per check plus the `score` row.
 */
export const ipv6Probe: Probe = {
  kind: 'ipv6',
  async run(config, ctx) {
    const cfg: Ipv6Config = config.probes.ipv6;
    const timeoutMs = cfg.connectTimeoutMs;
    const targets = targetsOf(config).map((t) => ({ name: t.name, parsed: parseTarget(t.name, t.url) }));
    const hosts = [
      ...new Set(
        targets.flatMap((t) =>
          typeof t.parsed === 'string' || isIP(t.parsed.host) !== 0 ? [] : [t.parsed.host],
        ),
      ),
    ];
    const dnsNames = cfg.dnsNames.length > 0 ? cfg.dnsNames : hosts;
    const probeName = dnsNames[0] ?? cfg.v6OnlyName ?? hosts[0] ?? 'localhost';
    const check = (c: Check, target: string, fn: (signal: AbortSignal) => Promise<Finding>) =>
      runCheck(c, target, ctx, timeoutMs, fn);
    const badUrl = (c: Check, target: string, text: string, extra: Partial<Finding> = {}) =>
      check(c, target, async () => ({ ok: false, outcome: 'error', error: text, ...extra }));
    const withUrl = (
      c: Check,
      name: string,
      url: string,
      fn: (t: Target, signal: AbortSignal) => Promise<Finding>,
      extra: Partial<Finding> = {},
    ) => {
      const t = parseTarget(name, url);
      if (typeof t === 'string') return badUrl(c, name, t, extra);
      return check(c, c === 'dual-stack' || c === 'pmtu' || c === 'service' ? t.host : name, (s) => fn(t, s));
    };

    const jobs: Promise<Ipv6Result>[] = [
      check('host-address', hostTarget(), hostAddressCheck),
      check('default-route', hostTarget(), defaultRouteCheck),
      ...dnsNames.map((n) => check('dns-aaaa', n, (s) => aaaaCheck(n, timeoutMs, s))),
      check('dns-resolver-v6', 'resolver', (s) => resolverV6Check(probeName, timeoutMs, s)),
    ];
    if (cfg.v6OnlyName !== undefined) {
      const n = cfg.v6OnlyName;
      jobs.push(check('dns-v6-only', n, (s) => aaaaCheck(n, timeoutMs, s)));
    }
    for (const t of targets) {
      const p = t.parsed;
      if (typeof p === 'string') {
        for (const c of ['tcp-v6', 'tcp-v4', 'http-v6', 'http-v4'] as const) jobs.push(badUrl(c, t.name, p));
        continue;
      }
      jobs.push(
        check('tcp-v6', t.name, (s) => tcpCheck(p, 6, s)),
        check('tcp-v4', t.name, (s) => tcpCheck(p, 4, s)),
        check('http-v6', t.name, (s) => httpCheck(p, 6, s)),
        check('http-v4', t.name, (s) => httpCheck(p, 4, s)),
      );
    }
    if (cfg.dualStackUrl !== undefined)
      jobs.push(withUrl('dual-stack', 'dual-stack', cfg.dualStackUrl, dualStackCheck));
    if (cfg.mtuUrl !== undefined) jobs.push(withUrl('pmtu', 'pmtu', cfg.mtuUrl, pmtuCheck));
    for (const svc of cfg.services) {
      jobs.push(
        withUrl('service', svc.name, svc.url, (t, s) => serviceCheck(svc.name, t, timeoutMs, s), {
          service: svc.name,
        }),
      );
    }

    const startedAt = performance.now();
    const at = ctx.now().toISOString();
    const results = await Promise.all(jobs);
    const s = scoreIpv6(results, { slowRatio: cfg.slowRatio });
    const score: Ipv6Result = {
      probe: 'ipv6',
      check: 'score',
      target: clip(hostTarget(), 200),
      ok: s.scoreV6 === 10 && s.scoreV4only === 10,
      outcome: 'ok',
      durationMs: elapsedMs(startedAt),
      at,
      scoreV6: s.scoreV6,
      scoreV4only: s.scoreV4only,
      symptoms: s.symptoms.slice(0, 50).map((x) => clip(x, 200)),
      detail: clip(scoreDetail(s, results), 1000),
    };
    if (s.degradation !== undefined) score.degradation = s.degradation;
    ctx.log.debug(
      { checks: results.length, scoreV6: s.scoreV6, scoreV4only: s.scoreV4only, symptoms: s.symptoms },
      'ipv6 checks done',
    );
    return [...results, score];
  },
};
