import type { Ipv6Result, Outcome } from '../../../../protocol/report.js';
import { withDeadline } from '../lib/deadline.js';
import { elapsedMs, errorText, type Family } from '../lib/net-util.js';
import type { ProbeContext } from '../probe.js';

/**
 * What one check observes, and how it becomes a result row. Convention shared with the scoring
 * (score.ts): a row with `error` set could not be checked (no address of that family to connect to, the
 * probe deadline passed, a URL that cannot serve the check) and is no symptom; without `error`, `ok` is
 * the verdict and `detail` says what was seen.
 */

export type Check = Ipv6Result['check'];

/** What one check observed; the common fields (check, target, at, durationMs) are added around it. */
export interface Observation {
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

export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Runs one check under its own deadline and turns what it observed into a result row. Never throws. */
export async function runCheck(
  check: Check,
  target: string,
  ctx: ProbeContext,
  timeoutMs: number,
  fn: (signal: AbortSignal) => Promise<Observation>,
): Promise<Ipv6Result> {
  const at = ctx.now().toISOString();
  const startedAt = performance.now();
  let obs: Observation;
  if (ctx.signal.aborted) {
    obs = { ok: false, outcome: 'timeout', error: 'not started: the probe deadline passed' };
  } else {
    try {
      obs = await withDeadline(timeoutMs, ctx.signal, fn);
    } catch (err) {
      obs = { ok: false, outcome: 'error', error: `unexpected failure: ${errorText(err)}` };
    }
    // A negative verdict reached because the caller's deadline passed is no verdict.
    if (ctx.signal.aborted && !obs.ok && obs.error === undefined) {
      obs = { ...obs, outcome: 'timeout', error: 'the probe deadline passed' };
    }
  }
  const result: Ipv6Result = {
    probe: 'ipv6',
    check,
    target: clip(target, 200),
    ok: obs.ok,
    outcome: obs.outcome,
    durationMs: elapsedMs(startedAt),
    at,
  };
  if (obs.ms !== undefined) result.ms = obs.ms;
  if (obs.family !== undefined) result.family = obs.family;
  if (obs.address !== undefined) result.address = clip(obs.address, 255);
  if (obs.detail !== undefined) result.detail = clip(obs.detail, 1000);
  if (obs.error !== undefined) result.error = clip(obs.error, 2000);
  if (obs.service !== undefined) result.service = clip(obs.service, 200);
  if (obs.symptoms !== undefined) result.symptoms = obs.symptoms.slice(0, 50).map((s) => clip(s, 200));
  return result;
}
