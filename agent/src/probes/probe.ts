import type { ProbeName, ProbeResult } from '../../../protocol/report.js';
import type { AgentConfig } from '../config.js';
import type { Logger } from '../log.js';

export interface ProbeContext {
  /** The caller's deadline: probes stop work and clear their timers when it aborts. */
  signal: AbortSignal;
  log: Logger;
  /** The agent's wall clock (injected so tests can run an agent whose clock is wrong). */
  now: () => Date;
}

/**
 * One probe kind (docs/architecture.md, "Probes"). `run` never throws for a failed check: a failure is an outcome
 * in the results. It may return several results (one per device and check).
 */
export interface Probe {
  readonly kind: ProbeName;
  run(config: AgentConfig, ctx: ProbeContext): Promise<ProbeResult[]>;
}
