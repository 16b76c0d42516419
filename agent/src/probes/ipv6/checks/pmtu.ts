import type { Observation } from '../observation.js';
import { addressOf, describeHttp, httpGet, open, servernameOf, type Target } from '../transport.js';

/** IPv6's minimum link MTU: a response larger than this needs more than one full-size packet. */
const IPV6_MIN_MTU = 1280;

/** A response larger than 1280 bytes over IPv6 must arrive (ICMPv6 Packet Too Big not filtered). */
export async function pmtuCheck(t: Target, signal: AbortSignal): Promise<Observation> {
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
