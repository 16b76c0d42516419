import { setMaxListeners } from 'node:events';
import type { SecurityResult } from '../../../../protocol/report.js';
import { hostTarget } from '../lib/host-target.js';
import { createLimiter, elapsedMs, errorText, httpAgents, resolveHost } from '../lib/net-util.js';
import type { KindProbe, ProbeContext } from '../probe.js';
import { type Check, deviceScan, type ScanEnv, type SecurityPortKey } from './check.js';
import { rulePlans } from './rules/index.js';
import { HIGH_RISK_PORTS } from './rules/ports.js';
import type { SecuritySlice } from './slice.js';
import { clean, redact, type Subject, type Verdict } from './verdict.js';

/**
 * The security baseline scan (docs/architecture.md, "Security baseline"; README.md beside this file):
 * checks without credentials, each reported as one SecurityResult per (rule, target[, port]) with
 * `finding` true (problem present) or false (passing), so the collector can open and resolve findings.
 * Severity and 等保 clauses are the collector's policy. The rules and the families that check them:
 * rules/index.ts.
 *
 * Gentle by design: every network check goes through one limiter (`concurrency`), TCP checks are
 * connect-only (FTP reads the greeting, RTSP sends one DESCRIBE, HTTP one GET), the only credentials
 * tried are the two default SNMP communities (and, when SNMPv3 is required, the configured community),
 * and only the inventory's devices, the agent host and the configured TLS services are looked at.
 */

export type { SecurityPortKey } from './check.js';

export const DEFAULT_SECURITY_PORTS: Readonly<Record<SecurityPortKey, number>> = {
  'cleartext-telnet': 23,
  'cleartext-ftp': 21,
  'cleartext-tftp': 69,
  'http-admin-no-tls': 80,
  https: 443,
  'rtsp-no-auth': 554,
};

export interface SecurityProbeOptions {
  /** Test seam: point rules at other ports (default: the real numbers, DEFAULT_SECURITY_PORTS). */
  ports?: Partial<Record<SecurityPortKey, number>>;
  /** Test seam: the high-risk ports to try (default HIGH_RISK_PORTS). */
  highRiskPorts?: readonly number[];
  /** Run the agent-host rules (host-firewall-off, host-os-eol); default true. */
  hostChecks?: boolean;
}

/** A verdict for each subject of a check that did not run or failed unexpectedly. */
function unanswered(check: Check, v: Verdict): Verdict[] {
  return check.subjects.map(() => v);
}

/** Factory with test seams; the agent uses `securityProbe`. Never throws. */
export function createSecurityProbe(options: SecurityProbeOptions = {}): KindProbe<SecuritySlice> {
  const ports = { ...DEFAULT_SECURITY_PORTS, ...options.ports };
  const highRiskPorts = options.highRiskPorts ?? HIGH_RISK_PORTS;
  const hostChecks = options.hostChecks ?? true;
  const plans = rulePlans();

  return {
    async run(slice: SecuritySlice, ctx: ProbeContext): Promise<SecurityResult[]> {
      const cfg = slice.security;
      // Every check in flight listens for the deadline (up to `concurrency` connections, a name
      // lookup per device, the host commands): they listen on the scan's own signal, which has no
      // listener limit, and only that one listens on the caller's.
      const scan = new AbortController();
      setMaxListeners(0, scan.signal);
      const onAbort = () => scan.abort(ctx.signal.reason);
      if (ctx.signal.aborted) scan.abort(ctx.signal.reason);
      else ctx.signal.addEventListener('abort', onAbort, { once: true });
      const signal = scan.signal;
      const at = ctx.now().toISOString();
      const secrets = slice.secrets;
      const limit = createLimiter(cfg.concurrency);
      const results: SecurityResult[] = [];

      const emit = (s: Subject, v: Verdict, startedAt: number) => {
        const r: SecurityResult = {
          probe: 'security',
          target: s.target,
          outcome: v.outcome,
          durationMs: elapsedMs(startedAt),
          at,
          rule: s.rule,
          finding: v.finding,
          evidence: redact(clean(v.evidence, 1000), secrets).slice(0, 1000),
        };
        if (s.device) r.device = s.device;
        if (s.port !== undefined) r.port = s.port;
        if (v.value !== undefined) r.value = v.value;
        if (v.error !== undefined) r.error = redact(v.error, secrets).slice(0, 2000);
        results.push(r);
      };
      const emitAll = (check: Check, verdicts: Verdict[], startedAt: number) =>
        check.subjects.forEach((s, i) => {
          const v = verdicts[i];
          if (v) emit(s, v, startedAt);
        });

      /** Runs one network check under the limiter; an unexpected exception becomes an 'error' result. */
      const network = (check: Check) =>
        limit(async () => {
          const startedAt = performance.now();
          let verdicts: Verdict[];
          try {
            verdicts = signal.aborted
              ? unanswered(check, {
                  outcome: 'timeout',
                  finding: false,
                  evidence: 'the scan deadline passed before this check ran',
                  error: 'aborted',
                })
              : await check.run();
          } catch (err) {
            verdicts = unanswered(check, {
              outcome: 'error',
              finding: false,
              evidence: 'cannot tell: the check failed unexpectedly',
              error: errorText(err),
            });
          }
          emitAll(check, verdicts, startedAt);
        });
      /** Runs a local check (host commands): not network work, so outside the connection limiter. */
      const local = async (check: Check) => {
        const startedAt = performance.now();
        let verdicts: Verdict[];
        try {
          verdicts = await check.run();
        } catch (err) {
          verdicts = unanswered(check, {
            outcome: 'error',
            finding: false,
            evidence: 'cannot tell',
            error: errorText(err),
          });
        }
        emitAll(check, verdicts, startedAt);
      };

      const agents = httpAgents();
      const env: ScanEnv = {
        config: cfg,
        ports,
        highRiskPorts,
        timeoutMs: cfg.connectTimeoutMs,
        signal,
        secrets,
        agents,
        now: ctx.now,
      };
      const jobs: Promise<void>[] = [];
      try {
        for (const device of slice.devices) {
          const d = deviceScan(device, resolveHost(device.ref.address, signal));
          for (const plan of plans.device) for (const check of plan(d, env)) jobs.push(network(check));
        }
        for (const svc of cfg.tls) {
          for (const plan of plans.service) for (const check of plan(svc, env)) jobs.push(network(check));
        }
        if (hostChecks && cfg.hostChecks) {
          const target = hostTarget('agent-host');
          for (const plan of plans.host) for (const check of plan(target, env)) jobs.push(local(check));
        }
        await Promise.all(jobs);
      } finally {
        ctx.signal.removeEventListener('abort', onAbort);
        agents.destroy();
      }
      const problems = results.filter((r) => r.finding).length;
      ctx.log.debug({ results: results.length, findings: problems }, 'security scan done');
      return results;
    },
  };
}

/** The agent's security baseline probe (kind 'security'). */
export const securityProbe: KindProbe<SecuritySlice> = createSecurityProbe();
