import type { ProbeName, ProbeResult } from '../../../protocol/report.js';
import type { AgentConfig } from '../config.js';
import type { Logger } from '../log.js';

/** The collector's credentials, given only to a probe kind that declares `needsCredentials` (the speed test). */
export interface CollectorCredentials {
  /** The agent's bearer token. */
  token: string;
  /** PEM text of `collector.caFile`: when set, the only CA trusted for the collector and its services. */
  ca?: string;
}

export interface ProbeContext {
  /** The caller's deadline: probes stop work and clear their timers when it aborts. */
  signal: AbortSignal;
  log: Logger;
  /** The agent's wall clock (injected so tests can run an agent whose clock is wrong). */
  now: () => Date;
  /**
   * The collector's credentials, or why there are none (not enrolled, an unreadable state directory): given
   * only to a kind whose `needsCredentials` is true; read when the run needs them.
   */
  credentials?: () => CollectorCredentials;
}

/**
 * One probe kind as the scheduler runs it (docs/architecture.md, "Probes"): the whole agent config in, the
 * registry hands the kind its own slice. `run` never throws for a failed check: a failure is an outcome in the
 * results. It may return several results (one per device and check).
 */
export interface Probe {
  readonly kind: ProbeName;
  run(config: AgentConfig, ctx: ProbeContext): Promise<ProbeResult[]>;
}

/** A probe as its kind's folder defines it: it sees only its slice of the config. */
export interface KindProbe<Slice> {
  run(slice: Slice, ctx: ProbeContext): Promise<ProbeResult[]>;
}

/**
 * A probe kind (agent/src/probes/<kind>/index.ts): which part of the agent's config its probe sees, and the
 * probe itself, loaded when it first runs (an agent that never runs the security scan does not carry its
 * libraries).
 */
export interface ProbeKind<Slice> {
  readonly kind: ProbeName;
  /** The probe's view of the config: its own `probes.<kind>` block plus what it names (the inventory, the collector URL). */
  slice(config: AgentConfig): Slice;
  /** True for the one kind that talks to the collector's own services with the agent's token. */
  readonly needsCredentials?: boolean;
  load(): Promise<KindProbe<Slice>>;
}
