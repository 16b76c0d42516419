// Rule family "snmp": snmp-default-community (a device answers "public" or "private") and, when
// `snmpV3Required`, snmp-v1v2c-enabled (it answers SNMPv2c at all). One check answers both rules.
import type { Outcome } from '../../../../../protocol/report.js';
import type { ResolvedCheck } from '../../../inventory.js';
import type { SnmpAuth } from '../../../inventory-config.js';
import type { Family } from '../../lib/net-util.js';
import { asText, classify, ProbeAbortedError, SnmpClient, scrub } from '../../lib/snmp.js';
import type { DevicePlan } from '../check.js';
import { DEFAULT_COMMUNITIES } from '../slice.js';
import { quote, redact, type Verdict } from '../verdict.js';

const SYS_DESCR = '1.3.6.1.2.1.1.1.0';

type SnmpAnswer =
  | { answered: true; sysDescr?: string }
  | { answered: false; silent: true }
  | { answered: false; silent: false; outcome: Outcome; error: string };

/** One v2c GET of sysDescr with `community`; never throws. */
async function snmpV2cGet(
  address: string,
  family: Family,
  base: SnmpAuth,
  community: string,
  signal: AbortSignal,
): Promise<SnmpAnswer> {
  const s: SnmpAuth = {
    version: '2c',
    community,
    port: base.port,
    timeoutMs: base.timeoutMs,
    retries: base.retries,
    authProtocol: 'sha',
    privProtocol: 'aes',
  };
  const where = `${address} port ${s.port}`;
  let client: SnmpClient | undefined;
  try {
    client = new SnmpClient(address, family, s, signal);
    const values = await client.get([SYS_DESCR]);
    const descr = asText(values.get(SYS_DESCR));
    return descr !== undefined ? { answered: true, sysDescr: descr } : { answered: true };
  } catch (caught) {
    const err = signal.aborted ? new ProbeAbortedError('aborted') : caught;
    if (err instanceof Error && err.name === 'RequestTimedOutError') return { answered: false, silent: true };
    // An error-status answer (noSuchName, genErr …) is still an answer to this community.
    if (err instanceof Error && err.name === 'RequestFailedError') return { answered: true };
    const f = classify(err, s, where, client);
    return { answered: false, silent: false, outcome: f.outcome, error: f.error };
  } finally {
    client?.close();
  }
}

interface SnmpVerdicts {
  defaults: Verdict;
  v2c?: Verdict;
}

async function snmpChecks(
  address: string,
  family: Family,
  auth: SnmpAuth,
  v3Required: boolean,
  timeoutMs: number,
  signal: AbortSignal,
  secrets: readonly string[],
): Promise<SnmpVerdicts> {
  // Never wait longer than the scan's connect timeout per attempt, at most two attempts.
  const base: SnmpAuth = {
    ...auth,
    timeoutMs: Math.min(auth.timeoutMs, timeoutMs),
    retries: Math.min(auth.retries, 1),
  };
  const wait = `${base.timeoutMs} ms × ${base.retries + 1} attempt(s)`;
  let answeredBy: { community: string; sysDescr?: string } | undefined;
  for (const community of DEFAULT_COMMUNITIES) {
    const a = await snmpV2cGet(address, family, base, community, signal);
    if (a.answered) {
      answeredBy = { community, ...(a.sysDescr !== undefined ? { sysDescr: a.sysDescr } : {}) };
      break;
    }
    if (!a.silent) {
      const failed: Verdict = {
        outcome: a.outcome,
        finding: false,
        evidence: `cannot tell: the SNMP request with community "${community}" failed`,
        error: redact(a.error, secrets),
      };
      return { defaults: failed, ...(v3Required ? { v2c: failed } : {}) };
    }
  }
  const descr =
    answeredBy?.sysDescr !== undefined
      ? `; sysDescr ${quote(redact(scrub(answeredBy.sysDescr, auth), secrets), 200)}`
      : '';
  const defaults: Verdict = answeredBy
    ? {
        outcome: 'ok',
        finding: true,
        evidence: `SNMPv2c GET sysDescr answered with the default community "${answeredBy.community}"${descr}`,
      }
    : {
        outcome: 'ok',
        finding: false,
        evidence: `no answer with the default communities "public" or "private" within ${wait} each`,
      };
  if (!v3Required) return { defaults };
  if (answeredBy)
    return {
      defaults,
      v2c: {
        outcome: 'ok',
        finding: true,
        evidence: `SNMPv3 required, but the device answers SNMPv2c (default community "${answeredBy.community}")`,
      },
    };
  if (!auth.community) {
    return {
      defaults,
      v2c: {
        outcome: 'ok',
        finding: false,
        evidence: `no SNMPv2c answer with the default communities within ${wait} each (no community configured)`,
      },
    };
  }
  const own = await snmpV2cGet(address, family, base, auth.community, signal);
  if (own.answered)
    return {
      defaults,
      v2c: {
        outcome: 'ok',
        finding: true,
        evidence: 'SNMPv3 required, but the device answers SNMPv2c with the configured community',
      },
    };
  if (!own.silent)
    return {
      defaults,
      v2c: {
        outcome: own.outcome,
        finding: false,
        evidence: 'cannot tell: the SNMPv2c request with the configured community failed',
        error: redact(scrub(own.error, auth), secrets),
      },
    };
  return {
    defaults,
    v2c: {
      outcome: 'ok',
      finding: false,
      evidence: `no SNMPv2c answer with the configured or default communities within ${wait} each`,
    },
  };
}

/** Only devices the inventory knows to speak SNMP (an snmp check), on its port and with its settings. */
export const snmpPlan: DevicePlan = (d, env) => {
  const snmpCheck = d.device.checks.find(
    (c): c is Extract<ResolvedCheck, { kind: 'snmp' }> => c.kind === 'snmp',
  );
  if (!snmpCheck) return [];
  const auth = snmpCheck.auth;
  const v3Required = env.config.snmpV3Required;
  const subjects = [d.subject('snmp-default-community', auth.port)];
  if (v3Required) subjects.push(d.subject('snmp-v1v2c-enabled', auth.port));
  return [
    {
      subjects,
      run: () =>
        d.withAddress(subjects.length, async (a, f) => {
          const v = await snmpChecks(a, f, auth, v3Required, env.timeoutMs, env.signal, env.secrets);
          return v.v2c ? [v.defaults, v.v2c] : [v.defaults];
        }),
    },
  ];
};
