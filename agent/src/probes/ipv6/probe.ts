import { isIP } from 'node:net';
import type { Ipv6Result } from '../../../../protocol/report.js';
import { hostTarget } from '../lib/host-target.js';
import { elapsedMs } from '../lib/net-util.js';
import type { KindProbe } from '../probe.js';
import { dualStackCheck, httpCheck, tcpCheck } from './checks/connect.js';
import { aaaaCheck, resolverV6Check } from './checks/dns.js';
import { defaultRouteCheck, hostAddressCheck } from './checks/host.js';
import { pmtuCheck } from './checks/pmtu.js';
import { serviceCheck } from './checks/services.js';
import { type Check, clip, type Observation, runCheck } from './observation.js';
import type { Ipv6Config } from './schema.js';
import { type Ipv6Score, scoreIpv6 } from './score.js';
import { parseTarget, type Target } from './transport.js';

/**
 * The IPv6 readiness probe (measurement `ipv6`; the `ipv6` target of config/targets.yaml): host, DNS,
 * connectivity, path MTU and the school's own services, each a named check (checks/), run at once; one
 * `check: score` row with both scores (score.ts). README.md lists the checks and what each row carries.
 */

/** The host rows' target when the machine has no usable name (the series keep this key). */
const HOST_FALLBACK = 'unknown-host';

/** What the probe sees of the agent's config: its own block and the collector's URL (the default target). */
export interface Ipv6Slice {
  ipv6: Ipv6Config;
  collectorUrl: string;
}

/** The configured targets, or the collector's URL when none is configured. */
function targetsOf(slice: Ipv6Slice): { name: string; url: string }[] {
  if (slice.ipv6.targets.length > 0) return slice.ipv6.targets;
  const parsed = parseTarget('collector', slice.collectorUrl);
  return [{ name: typeof parsed === 'string' ? 'collector' : parsed.host, url: slice.collectorUrl }];
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
export const ipv6Probe: KindProbe<Ipv6Slice> = {
  async run(slice, ctx) {
    const cfg = slice.ipv6;
    const timeoutMs = cfg.connectTimeoutMs;
    // this machine, as the host checks and the score row name it
    const host = hostTarget(HOST_FALLBACK);
    const targets = targetsOf(slice).map((t) => ({ name: t.name, parsed: parseTarget(t.name, t.url) }));
    const hosts = [
      ...new Set(
        targets.flatMap((t) =>
          typeof t.parsed === 'string' || isIP(t.parsed.host) !== 0 ? [] : [t.parsed.host],
        ),
      ),
    ];
    const dnsNames = cfg.dnsNames.length > 0 ? cfg.dnsNames : hosts;
    const probeName = dnsNames[0] ?? cfg.v6OnlyName ?? hosts[0] ?? 'localhost';
    const check = (c: Check, target: string, fn: (signal: AbortSignal) => Promise<Observation>) =>
      runCheck(c, target, ctx, timeoutMs, fn);
    const badUrl = (c: Check, target: string, text: string, extra: Partial<Observation> = {}) =>
      check(c, target, async () => ({ ok: false, outcome: 'error', error: text, ...extra }));
    const withUrl = (
      c: Check,
      name: string,
      url: string,
      fn: (t: Target, signal: AbortSignal) => Promise<Observation>,
      extra: Partial<Observation> = {},
    ) => {
      const t = parseTarget(name, url);
      if (typeof t === 'string') return badUrl(c, name, t, extra);
      return check(c, c === 'dual-stack' || c === 'pmtu' || c === 'service' ? t.host : name, (s) => fn(t, s));
    };

    const jobs: Promise<Ipv6Result>[] = [
      check('host-address', host, hostAddressCheck),
      check('default-route', host, defaultRouteCheck),
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
      target: host, // hostTarget is at most 200 characters
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
