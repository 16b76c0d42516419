// Rule family "tls": the certificates and protocol versions of the configured public services
// (`probes.security.tls`): tls-expired, tls-expiring, tls-self-signed, tls-old-protocol. One check
// answers all four rules for one service.
import type { Outcome } from '../../../../../protocol/report.js';
import { resolveHost } from '../../lib/net-util.js';
import { LOCAL_PROTOCOL_CODES, SELF_SIGNED_CODES, tlsHandshake } from '../../lib/tls.js';
import type { ServicePlan } from '../check.js';
import { clean, quote, type SecurityRule, type Verdict } from '../verdict.js';

const EXPIRING_DAYS = 30;
const DAY_MS = 86_400_000;
/** The rules one TLS check answers, in the order of its verdicts. */
const TLS_RULES: readonly SecurityRule[] = [
  'tls-expired',
  'tls-expiring',
  'tls-self-signed',
  'tls-old-protocol',
];

function isoDay(d: Date): string {
  return Number.isNaN(d.getTime()) ? 'invalid date' : d.toISOString().slice(0, 10);
}

async function tlsChecks(
  url: string,
  timeoutMs: number,
  signal: AbortSignal,
  now: Date,
): Promise<{ port: number; verdicts: Array<[SecurityRule, Verdict]> }> {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = u.port ? Number(u.port) : 443;
  const failAll = (outcome: Outcome, error: string, evidence: string) => ({
    port,
    verdicts: TLS_RULES.map((r): [SecurityRule, Verdict] => [
      r,
      { outcome, finding: false, evidence, error },
    ]),
  });
  const resolved = await resolveHost(host, signal);
  if (!resolved.ok) return failAll(resolved.outcome, resolved.error, `cannot resolve ${host}`);
  const servername = resolved.address === host ? undefined : host;
  let main = await tlsHandshake(resolved.address, port, servername, timeoutMs * 2, signal);
  if (!main.ok && main.connected && !signal.aborted) {
    // a server that speaks only TLS 1.0/1.1 refuses Node's default minimum (1.2): read its certificate
    // with the old versions allowed, so tls-old-protocol reports the problem rather than an error
    main = await tlsHandshake(resolved.address, port, servername, timeoutMs * 2, signal, {
      min: 'TLSv1',
      max: 'TLSv1.3',
    });
  }
  if (!main.ok || !main.cert) {
    const outcome = main.ok ? 'error' : (main.outcome ?? 'error');
    return failAll(
      outcome,
      main.error ?? 'the server sent no certificate',
      `no TLS handshake with ${host}:${port}${main.code ? ` (${main.code})` : ''}`,
    );
  }
  const cert = main.cert;
  const notBefore = new Date(cert.validFrom);
  const notAfter = new Date(cert.validTo);
  const daysLeft = Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS);
  const subject = clean(cert.subject.replace(/\n/g, ', '), 200);
  const issuer = clean(cert.issuer.replace(/\n/g, ', '), 200);
  const dates = `certificate ${quote(subject)} valid ${isoDay(notBefore)} to ${isoDay(notAfter)}`;
  const expired = notAfter.getTime() <= now.getTime();
  const verdicts: Array<[SecurityRule, Verdict]> = [];
  verdicts.push([
    'tls-expired',
    {
      outcome: 'ok',
      finding: expired,
      value: daysLeft,
      evidence: expired ? `${dates}: expired ${-daysLeft} day(s) ago` : `${dates}: not expired`,
    },
  ]);
  const expiring = !expired && daysLeft < EXPIRING_DAYS;
  verdicts.push([
    'tls-expiring',
    {
      outcome: 'ok',
      finding: expiring,
      value: daysLeft,
      evidence: expired
        ? `${dates}: already expired`
        : `${dates}: ${daysLeft} day(s) left${expiring ? ` (< ${EXPIRING_DAYS})` : ''}`,
    },
  ]);
  const sameName = cert.issuer === cert.subject;
  const selfCode =
    main.authorizationError !== undefined && SELF_SIGNED_CODES.has(main.authorizationError)
      ? main.authorizationError
      : undefined;
  const selfSigned = sameName || selfCode !== undefined;
  const verification = main.authorizationError ?? 'verified';
  verdicts.push([
    'tls-self-signed',
    {
      outcome: 'ok',
      finding: selfSigned,
      evidence: `${sameName ? `issuer = subject = ${quote(subject)}` : `issuer ${quote(issuer)}`}; verification: ${clean(verification, 100)}`,
    },
  ]);
  verdicts.push([
    'tls-old-protocol',
    await oldProtocolCheck(resolved.address, port, servername, timeoutMs, signal),
  ]);
  return { port, verdicts };
}

async function oldProtocolCheck(
  address: string,
  port: number,
  servername: string | undefined,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Verdict> {
  const accepted: string[] = [];
  const refused: string[] = [];
  for (const v of ['TLSv1', 'TLSv1.1'] as const) {
    const h = await tlsHandshake(address, port, servername, timeoutMs * 2, signal, { min: v, max: v });
    if (h.ok) {
      accepted.push(`${v} (${h.cipher ?? 'cipher unknown'})`);
      continue;
    }
    if (h.code !== undefined && LOCAL_PROTOCOL_CODES.has(h.code)) {
      return {
        outcome: 'error',
        finding: false,
        evidence: `cannot tell: this agent's OpenSSL cannot offer ${v} (${h.code})`,
        error: `the local OpenSSL cannot offer ${v} even at security level 0 (${h.code}); a "not found" would be false`,
      };
    }
    if (h.outcome === 'timeout' || !h.connected) {
      return {
        outcome: h.outcome ?? 'error',
        finding: false,
        evidence: `cannot tell: no ${v} handshake attempt completed`,
        error: h.error ?? 'no connection',
      };
    }
    refused.push(`${v} refused${h.code ? ` (${h.code})` : ''}`);
  }
  if (accepted.length > 0)
    return {
      outcome: 'ok',
      finding: true,
      evidence: `accepts ${accepted.join(', ')}${refused.length > 0 ? `; ${refused.join('; ')}` : ''}`,
    };
  return { outcome: 'ok', finding: false, evidence: refused.join('; ') };
}

/** All four TLS rules of one configured service, from one handshake (and two more for the old versions). */
export const tlsPlan: ServicePlan = (svc, env) => {
  const port = URL.canParse(svc.url) ? new URL(svc.url).port : '';
  const base = { target: svc.name, port: port ? Number(port) : 443 };
  return [
    {
      subjects: TLS_RULES.map((rule) => ({ rule, ...base })),
      async run() {
        const r = await tlsChecks(svc.url, env.timeoutMs, env.signal, env.now());
        const byRule = new Map(r.verdicts);
        return TLS_RULES.map(
          (rule) =>
            byRule.get(rule) ?? {
              outcome: 'error',
              finding: false,
              evidence: 'not checked',
              error: 'not checked',
            },
        );
      },
    },
  ];
};
