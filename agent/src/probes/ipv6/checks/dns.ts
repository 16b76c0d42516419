import { Resolver } from 'node:dns/promises';
import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import type { Outcome } from '../../../../../protocol/report.js';
import { deadlineText } from '../../lib/deadline.js';
import { elapsedMs, errnoCode } from '../../lib/net-util.js';
import type { Observation } from '../observation.js';

/** DNS: AAAA answers, the IPv6-only name, and whether the system's resolver is reachable over IPv6. */

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

export type DnsAnswer<T> = { ok: true; value: T; ms: number } | { ok: false; code: string; ms: number };

/** One query on a fresh resolver (one try per server), cancelled when `signal` aborts. */
export async function query<T>(
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

export function dnsFailure(code: string, signal: AbortSignal): { outcome: Outcome; text: string } {
  if (code === 'ECANCELLED' || signal.aborted) return { outcome: 'timeout', text: deadlineText(signal) };
  if (code === 'ETIMEOUT') return { outcome: 'timeout', text: 'no answer from the resolver (ETIMEOUT)' };
  if (code === 'ECONNREFUSED') return { outcome: 'refused', text: 'resolver not reachable (ECONNREFUSED)' };
  if (code === 'ENODATA') return { outcome: 'error', text: 'no AAAA record (ENODATA)' };
  if (code === 'ENOTFOUND') return { outcome: 'error', text: 'the name does not exist (ENOTFOUND)' };
  return { outcome: 'error', text: `the resolver answered ${code}` };
}

export async function aaaaCheck(name: string, timeoutMs: number, signal: AbortSignal): Promise<Observation> {
  const r = await query(signal, timeoutMs, undefined, (res) => res.resolve6(name));
  if (r.ok && r.value.length > 0) {
    const obs: Observation = {
      ok: true,
      outcome: 'ok',
      ms: r.ms,
      detail: `AAAA ${r.value.slice(0, 8).join(', ')}`,
    };
    if (r.value[0]) obs.address = r.value[0];
    return obs;
  }
  const f = r.ok ? { outcome: 'error' as const, text: 'no AAAA record' } : dnsFailure(r.code, signal);
  return { ok: false, outcome: f.outcome, ms: r.ms, detail: `${name}: ${f.text}` };
}

export async function resolverV6Check(
  probeName: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Observation> {
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
