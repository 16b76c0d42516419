// Rule family "host": the agent's own machine — host-firewall-off (no filtering rules in nft or iptables)
// and host-os-eol (the OS is past its end of security support). Local commands, not network work.
import { execFile } from 'node:child_process';
import si from 'systeminformation';
import { errnoCode, errorText, findExecutable, raceAbort } from '../../lib/net-util.js';
import type { HostPlan } from '../check.js';
import { clean, quote, type Verdict } from '../verdict.js';
import { daysPastEol, osEndOfLife } from './os-eol.js';

const HOST_CMD_TIMEOUT_MS = 10_000;

function run(
  file: string,
  args: string[],
  signal: AbortSignal,
): Promise<{ ok: true; stdout: string } | { ok: false; error: string }> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { timeout: HOST_CMD_TIMEOUT_MS, signal, maxBuffer: 8 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err)
          resolve({
            ok: false,
            error: clean(`${errnoCode(err) ?? 'failed'}: ${stderr || err.message}`, 300),
          });
        else resolve({ ok: true, stdout });
      },
    );
  });
}

const SBIN_PATH = `${process.env.PATH ?? ''}:/usr/sbin:/sbin:/usr/local/sbin`;

export interface RulesetSummary {
  rules: number;
  dropPolicy: boolean;
  tables: number;
}

/** Counts the rules and drop policies of `nft list ruleset` output. */
export function summarizeNft(text: string): RulesetSummary {
  let rules = 0;
  let tables = 0;
  let dropPolicy = false;
  const stack: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (line.endsWith('{')) {
      const kind = line.split(/\s+/)[0] ?? '';
      if (kind === 'table') tables++;
      stack.push(kind);
      continue;
    }
    if (line === '}') {
      stack.pop();
      continue;
    }
    if (stack[stack.length - 1] !== 'chain') continue;
    if (/\bpolicy\s+drop\b/.test(line)) dropPolicy = true;
    if (/^type\s+\S+\s+hook\b/.test(line) || /^policy\s/.test(line)) continue;
    rules++;
  }
  return { rules, dropPolicy, tables };
}

/** Counts the rules (-A) and non-ACCEPT policies (-P) of `iptables -S` output. */
export function summarizeIptables(text: string): { rules: number; nonAcceptPolicies: number } {
  let rules = 0;
  let nonAcceptPolicies = 0;
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t.startsWith('-A ')) rules++;
    else if (t.startsWith('-P ') && !/\sACCEPT$/.test(t)) nonAcceptPolicies++;
  }
  return { rules, nonAcceptPolicies };
}

async function firewallCheck(signal: AbortSignal): Promise<Verdict> {
  if (process.platform !== 'linux')
    return {
      outcome: 'error',
      finding: false,
      evidence: `cannot tell: firewall check implemented for Linux only (this host: ${process.platform})`,
      error: 'cannot tell',
    };
  const [nft, ipt] = await Promise.all([
    findExecutable('nft', SBIN_PATH),
    findExecutable('iptables', SBIN_PATH),
  ]);
  const parts: string[] = [];
  const failures: string[] = [];
  let told = false;
  let active = false;
  if (nft) {
    const r = await run(nft, ['list', 'ruleset'], signal);
    if (r.ok) {
      told = true;
      const s = summarizeNft(r.stdout);
      if (s.rules > 0 || s.dropPolicy) active = true;
      parts.push(`nft: ${s.tables} table(s), ${s.rules} rule(s)${s.dropPolicy ? ', a drop policy' : ''}`);
    } else failures.push(`nft list ruleset failed (${r.error})`);
  } else parts.push('nft: not installed');
  if (ipt) {
    const r = await run(ipt, ['-S'], signal);
    if (r.ok) {
      told = true;
      const s = summarizeIptables(r.stdout);
      if (s.rules > 0 || s.nonAcceptPolicies > 0) active = true;
      parts.push(`iptables: ${s.rules} rule(s), ${s.nonAcceptPolicies} non-ACCEPT polic(ies)`);
    } else failures.push(`iptables -S failed (${r.error})`);
  } else parts.push('iptables: not installed');
  if (!told)
    return {
      outcome: signal.aborted ? 'timeout' : 'error',
      finding: false,
      evidence: `cannot tell: ${[...parts, ...failures].join('; ')}`,
      error: `cannot tell whether a host firewall is active: ${failures.length > 0 ? failures.join('; ') : 'neither nft nor iptables is installed'}`,
    };
  const evidence = clean([...parts, ...failures].join('; '), 1000);
  return { outcome: 'ok', finding: !active, evidence: active ? evidence : `no filtering rules: ${evidence}` };
}

async function osEolCheck(signal: AbortSignal, now: Date): Promise<Verdict> {
  let info: si.Systeminformation.OsData;
  try {
    const raced = await raceAbort(si.osInfo(), signal);
    if (raced.aborted)
      return {
        outcome: 'timeout',
        finding: false,
        evidence: 'cannot tell: osInfo() did not finish',
        error: 'aborted',
      };
    info = raced.value;
  } catch (err) {
    return {
      outcome: 'error',
      finding: false,
      evidence: 'cannot tell: osInfo() failed',
      error: errorText(err),
    };
  }
  const name = clean(`${info.distro} ${info.release}${info.build ? ` (build ${info.build})` : ''}`, 200);
  const eol = osEndOfLife(info);
  if (!eol)
    return {
      outcome: 'error',
      finding: false,
      evidence: `cannot tell: no end-of-life date known for ${quote(name)}`,
      error: 'unknown OS release: not in the end-of-life table',
    };
  const days = daysPastEol(eol.eol, now);
  return {
    outcome: 'ok',
    finding: days > 0,
    value: days,
    evidence:
      days > 0
        ? `${quote(name)} = ${eol.product}, end of life ${eol.eol}: ${days} day(s) past`
        : `${quote(name)} = ${eol.product}, supported until ${eol.eol} (${-days} day(s) left)`,
  };
}

/** host-firewall-off on the agent host. */
export const firewallPlan: HostPlan = (target, env) => [
  { subjects: [{ rule: 'host-firewall-off', target }], run: async () => [await firewallCheck(env.signal)] },
];

/** host-os-eol on the agent host. */
export const osEolPlan: HostPlan = (target, env) => [
  { subjects: [{ rule: 'host-os-eol', target }], run: async () => [await osEolCheck(env.signal, env.now())] },
];
