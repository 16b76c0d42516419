/**
 * Per-check deadlines shared by the probes: a check gets a signal that aborts after its own time or when
 * the probe's signal aborts, whichever comes first, and the timer and the listener are always removed.
 */

/** The reason a check's own timer aborted it (the caller's deadline aborts with the caller's reason). */
export class CheckTimeout extends Error {
  override readonly name = 'CheckTimeout';
  constructor(readonly ms: number) {
    super(`no answer within ${ms} ms`);
  }
}

export interface Deadline {
  /** Aborts after `ms` (reason: a CheckTimeout) or when the parent aborts (reason: the parent's). */
  signal: AbortSignal;
  /** Removes the timer and the parent listener; call it when the check ends. */
  clear: () => void;
}

/** A signal that aborts with `parent` or after `ms`; `clear()` removes the timer and the listener. */
export function deadline(parent: AbortSignal, ms: number): Deadline {
  const controller = new AbortController();
  const onAbort = () => controller.abort(parent.reason);
  const timer = setTimeout(() => controller.abort(new CheckTimeout(ms)), ms);
  if (parent.aborted) {
    clearTimeout(timer);
    controller.abort(parent.reason);
  } else parent.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    clear: () => {
      clearTimeout(timer);
      parent.removeEventListener('abort', onAbort);
    },
  };
}

/** Runs `fn` under `deadline(parent, ms)`; the timer and the parent listener are removed when it settles. */
export async function withDeadline<T>(
  ms: number,
  parent: AbortSignal,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const d = deadline(parent, ms);
  try {
    return await fn(d.signal);
  } finally {
    d.clear();
  }
}

/** Why a deadline's signal aborted, for a result's error: the check's own time, or the probe's deadline. */
export function deadlineText(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  return reason instanceof CheckTimeout ? reason.message : 'the probe deadline passed';
}
