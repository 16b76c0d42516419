import type { Ipv6Result } from '../../../../protocol/report.js';

/**
 * IPv6 readiness scores, modelled on test-ipv6.com (falling-sky `js/scores.js`, `GIGO.scores`).
 * PURE: no I/O, no clock; the probe (probe.ts and checks/) measures, this file judges.
 *
 * Two scores 0–10, each the MINIMUM over the symptoms found (10/10 when there is none):
 *   scoreV6      readiness for IPv6: how well the school fares when services offer IPv6
 *                (test-ipv6.com's first score, "readiness for content providers to go IPv6").
 *   scoreV4only  readiness to drop IPv4: how well it would fare with IPv6-only services
 *                (test-ipv6.com's second score, "readiness for content providers to give up IPv4").
 *
 * | symptom (exact phrase, used by the collector as a reason)   | v6 | v4only | test-ipv6.com analogue            |
 * |-------------------------------------------------------------|----|--------|-----------------------------------|
 * | no global IPv6 address                                      |  0 |   0    | ipv4_only 10/0 — REINTERPRETED    |
 * | no IPv6 default route                                       |  0 |   0    | broken_ipv6 0/0                   |
 * | IPv6 connections fail                                       |  0 |   0    | broken_ipv6 0/0                   |
 * | large IPv6 responses do not arrive (path MTU)               |  1 |   1    | "IPv6 MTU" 1/1                    |
 * | service <name> TLS invalid over IPv6                        |  1 |   1    | like "IPv6 MTU": the site looks   |
 * |                                                             |    |        | broken, no fallback after TLS     |
 * | service <name> not reachable over IPv6                      |  5 |   0    | ipv4_only:ds_timeout 5/0          |
 * | service <name> differs over IPv4 and IPv6                   |  7 |   7    | dualstack:slow 7/7 (works, but    |
 * |                                                             |    |        | not the same)                     |
 * | IPv6 slower than IPv4 (ratio x.xx)                          | 10 |   5    | ipv6_slow 10/5                    |
 * | resolver returns no AAAA for <name>                         | 10 |   0    | ipv6:nodns 10/0                   |
 * | IPv6-only name does not resolve                             | 10 |   0    | ipv6:nodns 10/0                   |
 * | service <name> has no AAAA                                  | 10 |   0    | ipv4_only 10/0 (service side)     |
 * | resolver not reachable over IPv6                            | 10 |   9    | v6ns:bad 10/9                     |
 * | (none)                                                      | 10 |  10    | dualstack:safe 10/10              |
 *
 * Reinterpretation: test-ipv6.com scores an IPv4-only client 10/0 — its first score asks "does anything
 * break for you when a site adds IPv6?", and an IPv4-only client just keeps using IPv4. Here scoreV6 is
 * the school's own IPv6 readiness (the `ipv6` target: "IPv6 readiness score ≥ 9/10", the target of IPv6规模部署; README "Compliance"),
 * so a school without IPv6 must not pass it: no global address, or an address without a default route,
 * scores 0/0 (the issue's "broken IPv6 0" and "IPv4-only …/0"). Every other pair is test-ipv6.com's.
 *
 * How symptoms are read from the checks (convention of observation.ts: a row with `error` set could not be
 * checked — no AAAA to connect to, the deadline passed, a misconfigured URL — and is never a symptom;
 * without `error`, `ok` is the verdict):
 * - host-address / default-route not ok → "no global IPv6 address" / "no IPv6 default route". Either one
 *   means the host has no working IPv6; the transport symptoms that follow from it (connections fail,
 *   resolver over IPv6, slow, path MTU, the services' IPv6 reachability/content/TLS) are then left out.
 * - tcp-v6 / http-v6 not ok → "IPv6 connections fail", when IPv4 to the same target works (or the
 *   target has no IPv4 address): a target that is down over both families says nothing about IPv6.
 * - dns-aaaa not ok → "resolver returns no AAAA for <target>"; dns-resolver-v6 not ok → "resolver not
 *   reachable over IPv6"; dns-v6-only not ok → "IPv6-only name does not resolve".
 * - pmtu not ok → "large IPv6 responses do not arrive (path MTU)" (the probe reports a verdict only once
 *   the connection was established: a black hole shows as a timeout after the connect).
 * - slow: degradation = (v6 − v4) / v4 of the mean connect time (tcp rows, each the best of three
 *   connects, over targets where both families connected) and of the mean request time (http rows, one
 *   request each, time to the response headers ≈ one round trip plus the server). The connect ratio
 *   decides; the request ratio only when there is no connect pair (one request is a noisy sample). IPv6
 *   is slow when that ratio is above `slowRatio` AND IPv6 is more than `slowMinDiffMs` slower
 *   (sub-millisecond LAN times are noise: 0.2 ms against 0.1 ms is a ratio of 1 but nobody notices).
 * - service rows carry their own symptoms, built by `serviceSymptoms()` below; they are scored here.
 * - dual-stack: data only (which family Happy Eyeballs used); no symptom.
 */

export const SYMPTOMS = {
  noGlobalAddress: 'no global IPv6 address',
  noDefaultRoute: 'no IPv6 default route',
  connectionsFail: 'IPv6 connections fail',
  pathMtu: 'large IPv6 responses do not arrive (path MTU)',
  resolverNotV6: 'resolver not reachable over IPv6',
  v6OnlyName: 'IPv6-only name does not resolve',
  noAaaa: (name: string) => `resolver returns no AAAA for ${name}`,
  slow: (ratio: number) => `IPv6 slower than IPv4 (ratio ${ratio.toFixed(2)})`,
  serviceNoAaaa: (service: string) => `service ${service} has no AAAA`,
  serviceNotV6: (service: string) => `service ${service} not reachable over IPv6`,
  serviceDiffers: (service: string) => `service ${service} differs over IPv4 and IPv6`,
  serviceTlsV6: (service: string) => `service ${service} TLS invalid over IPv6`,
} as const;

export type SymptomKind = keyof typeof SYMPTOMS;

/** The table above: [scoreV6, scoreV4only] per symptom kind. */
export const SCORE_TABLE: Readonly<Record<SymptomKind, readonly [v6: number, v4only: number]>> = {
  noGlobalAddress: [0, 0],
  noDefaultRoute: [0, 0],
  connectionsFail: [0, 0],
  pathMtu: [1, 1],
  serviceTlsV6: [1, 1],
  serviceNotV6: [5, 0],
  serviceDiffers: [7, 7],
  slow: [10, 5],
  noAaaa: [10, 0],
  v6OnlyName: [10, 0],
  serviceNoAaaa: [10, 0],
  resolverNotV6: [10, 9],
};

export interface ScoreOptions {
  /** Above this degradation ratio IPv6 counts as slow (config `probes.ipv6.slowRatio`). Default 0.5. */
  slowRatio?: number;
  /** …and only when IPv6 is at least this many milliseconds slower. Default 10. */
  slowMinDiffMs?: number;
}

export interface Ipv6Score {
  scoreV6: number;
  scoreV4only: number;
  /** Stable short phrases, most severe first. */
  symptoms: string[];
  /** (v6 − v4) / v4 of the mean connect time, when both families connected to some target. */
  degradation?: number;
  /** (v6 − v4) / v4 of the mean request time (response headers), when both families answered. */
  rttDegradation?: number;
  /** Mean connect / request times behind the ratios (ms). */
  connectMs?: { v6: number; v4: number };
  requestMs?: { v6: number; v4: number };
}

/** What the probe found out about one school service (see `serviceSymptoms`). */
export interface ServiceFacts {
  name: string;
  /** The resolver returned an AAAA record for the service's host. */
  aaaa: boolean;
  /** An HTTP response over IPv6 / IPv4: ok, failed, or not tried (no address of that family). */
  v6: 'ok' | 'failed' | 'untested';
  v4: 'ok' | 'failed' | 'untested';
  /** sha256 of both bodies equal; undefined when not compared (a side failed, or the page is dynamic). */
  sameContent: boolean | undefined;
  /** TLS certificate check (servername = host, rejectUnauthorized) per family; 'n/a' for http://. */
  tlsV6: 'valid' | 'invalid' | 'untested' | 'n/a';
  tlsV4: 'valid' | 'invalid' | 'untested' | 'n/a';
}

/**
 * The symptoms of one service. Only IPv6-specific problems count: a service down over both families,
 * or with a certificate that is invalid over IPv4 as well, is not an IPv6 problem (the baseline's TLS
 * rules see it).
 */
export function serviceSymptoms(f: ServiceFacts): string[] {
  const out: string[] = [];
  if (!f.aaaa) out.push(SYMPTOMS.serviceNoAaaa(f.name));
  if (f.aaaa && f.v6 === 'failed' && f.v4 !== 'failed') out.push(SYMPTOMS.serviceNotV6(f.name));
  if (f.sameContent === false) out.push(SYMPTOMS.serviceDiffers(f.name));
  if (f.tlsV6 === 'invalid' && f.tlsV4 !== 'invalid') out.push(SYMPTOMS.serviceTlsV6(f.name));
  return out;
}

const SERVICE_KINDS = ['serviceNoAaaa', 'serviceNotV6', 'serviceDiffers', 'serviceTlsV6'] as const;
/** Service symptoms that need a working IPv6 path to be judged. */
const SERVICE_TRANSPORT = new Set<SymptomKind>(['serviceNotV6', 'serviceDiffers', 'serviceTlsV6']);

/** (v6 − v4) / v4, within the report schema's bounds; undefined when v4 is 0. */
export function degradationRatio(v6Ms: number, v4Ms: number): number | undefined {
  if (!(v4Ms > 0) || !Number.isFinite(v6Ms)) return undefined;
  const r = (v6Ms - v4Ms) / v4Ms;
  return Math.round(Math.min(1e6, Math.max(-1, r)) * 10_000) / 10_000;
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** A row that reached a verdict (see the convention above). */
const judged = (r: Ipv6Result): boolean => r.error === undefined;

/** Mean times over targets where both families succeeded for this pair of checks. */
function pairTimes(
  checks: Ipv6Result[],
  v6Check: Ipv6Result['check'],
  v4Check: Ipv6Result['check'],
): { v6: number; v4: number } | undefined {
  const v6: number[] = [];
  const v4: number[] = [];
  for (const a of checks) {
    if (a.check !== v6Check || !a.ok || a.ms === undefined) continue;
    const b = checks.find((c) => c.check === v4Check && c.target === a.target && c.ok && c.ms !== undefined);
    if (b?.ms === undefined) continue;
    v6.push(a.ms);
    v4.push(b.ms);
  }
  return v6.length > 0 ? { v6: mean(v6), v4: mean(v4) } : undefined;
}

/** Does IPv6 fail for a target where IPv4 works (or where there is no IPv4 to compare with)? */
function v6SpecificFailure(checks: Ipv6Result[], row: Ipv6Result, v4Check: Ipv6Result['check']): boolean {
  if (!judged(row) || row.ok) return false;
  const v4 = checks.find((c) => c.check === v4Check && c.target === row.target);
  if (v4 === undefined || !judged(v4)) return true;
  return v4.ok;
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

/** Turns the probe's checks into both scores and their symptoms (table and rules above). */
export function scoreIpv6(checks: Ipv6Result[], opts: ScoreOptions = {}): Ipv6Score {
  const slowRatio = opts.slowRatio ?? 0.5;
  const slowMinDiffMs = opts.slowMinDiffMs ?? 10;
  const found: { kind: SymptomKind; text: string }[] = [];
  const add = (kind: SymptomKind, text: string) => {
    if (!found.some((f) => f.text === text)) found.push({ kind, text });
  };
  const rows = (check: Ipv6Result['check']) => checks.filter((c) => c.check === check);
  const failed = (check: Ipv6Result['check']) => rows(check).filter((r) => judged(r) && !r.ok);

  if (failed('host-address').length > 0) add('noGlobalAddress', SYMPTOMS.noGlobalAddress);
  if (failed('default-route').length > 0) add('noDefaultRoute', SYMPTOMS.noDefaultRoute);
  const hostBroken = found.length > 0;

  for (const r of failed('dns-aaaa')) add('noAaaa', SYMPTOMS.noAaaa(r.target));
  if (failed('dns-v6-only').length > 0) add('v6OnlyName', SYMPTOMS.v6OnlyName);

  const score: Ipv6Score = { scoreV6: 10, scoreV4only: 10, symptoms: [] };
  const connect = pairTimes(checks, 'tcp-v6', 'tcp-v4');
  const request = pairTimes(checks, 'http-v6', 'http-v4');
  if (connect) {
    score.connectMs = { v6: round3(connect.v6), v4: round3(connect.v4) };
    const d = degradationRatio(connect.v6, connect.v4);
    if (d !== undefined) score.degradation = d;
  }
  if (request) {
    score.requestMs = { v6: round3(request.v6), v4: round3(request.v4) };
    const d = degradationRatio(request.v6, request.v4);
    if (d !== undefined) score.rttDegradation = d;
  }

  if (!hostBroken) {
    const v6Fails =
      rows('tcp-v6').some((r) => v6SpecificFailure(checks, r, 'tcp-v4')) ||
      rows('http-v6').some((r) => v6SpecificFailure(checks, r, 'http-v4'));
    if (v6Fails) add('connectionsFail', SYMPTOMS.connectionsFail);
    if (failed('dns-resolver-v6').length > 0) add('resolverNotV6', SYMPTOMS.resolverNotV6);
    if (failed('pmtu').length > 0) add('pathMtu', SYMPTOMS.pathMtu);
    const [times, ratio] = connect ? [connect, score.degradation] : [request, score.rttDegradation];
    if (times && ratio !== undefined && ratio > slowRatio && times.v6 - times.v4 > slowMinDiffMs) {
      add('slow', SYMPTOMS.slow(ratio));
    }
  }

  for (const r of rows('service')) {
    if (r.service === undefined || r.symptoms === undefined) continue;
    for (const kind of SERVICE_KINDS) {
      if (hostBroken && SERVICE_TRANSPORT.has(kind)) continue;
      const text = SYMPTOMS[kind](r.service);
      if (r.symptoms.includes(text)) add(kind, text);
    }
  }

  const order = Object.keys(SCORE_TABLE) as SymptomKind[];
  found.sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
  for (const f of found) {
    const [v6, v4only] = SCORE_TABLE[f.kind];
    score.scoreV6 = Math.min(score.scoreV6, v6);
    score.scoreV4only = Math.min(score.scoreV4only, v4only);
  }
  score.symptoms = found.map((f) => f.text);
  return score;
}
