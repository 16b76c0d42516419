import { isIP } from 'node:net';
import type { Family } from '../../lib/net-util.js';
import type { Observation } from '../observation.js';
import { type ServiceFacts, serviceSymptoms } from '../score.js';
import { bracket, describeHttp, httpGet, open, servernameOf, type Target } from '../transport.js';
import { type DnsAnswer, dnsFailure, query } from './dns.js';

/**
 * The school's own services (website, learning platform, recording platform): AAAA, an HTTP response
 * over each family, the same content over both, and a valid certificate over each.
 */

export async function serviceCheck(
  name: string,
  t: Target,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Observation> {
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
  const obs: Observation = {
    ok: facts.aaaa && facts.v6 === 'ok' && symptoms.length === 0,
    outcome: v6addr === undefined ? 'error' : v6 === undefined || v6.ok ? 'ok' : v6.outcome,
    family: 6,
    service: name,
    detail: `${t.url.href}: ${notes.join('; ')}`,
    symptoms,
  };
  if (v6addr !== undefined) obs.address = v6addr;
  if (v6?.ok && v6.r.headersMs !== undefined) obs.ms = v6.r.headersMs;
  if (obs.outcome === 'ok' && !obs.ok) obs.outcome = 'error';
  return obs;
}
