import type { Family } from '../../lib/net-util.js';
import type { Observation } from '../observation.js';
import {
  addressOf,
  bracket,
  describeHttp,
  HE_ATTEMPT_MS,
  httpGet,
  open,
  servernameOf,
  type Target,
} from '../transport.js';

/** Connectivity to a target over each family (TCP connect, HTTP GET), and which one Happy Eyeballs picks. */

/** Connections per TCP check; the fastest one is its connect time. */
const TCP_SAMPLES = 3;

/**
 * TCP connect time: the best of TCP_SAMPLES connections one after the other (the minimum is what the
 * path costs; the others also carry the delays of this process's busy event loop).
 */
export async function tcpCheck(t: Target, family: Family, signal: AbortSignal): Promise<Observation> {
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

export async function httpCheck(t: Target, family: Family, signal: AbortSignal): Promise<Observation> {
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
  const obs: Observation = {
    ok: r.status !== undefined && r.status < 500,
    outcome: r.status !== undefined && r.status < 500 ? 'ok' : 'error',
    family,
    address: c.address,
    detail,
  };
  if (r.headersMs !== undefined) obs.ms = r.headersMs;
  return obs;
}

/** Which family Happy Eyeballs (Node's autoSelectFamily) picks for a dual-stack name, and whether it loads. */
export async function dualStackCheck(t: Target, signal: AbortSignal): Promise<Observation> {
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
