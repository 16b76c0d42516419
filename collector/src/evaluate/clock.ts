import type { ProtectionLevel } from '../../../protocol/school.js';

/** A security finding before the baseline issue's lifecycle takes it over: what, where, why, and the 等保 clause. */
export interface FindingCandidate {
  rule: string;
  severity: 'low' | 'medium' | 'high' | 'critical';
  target: string;
  evidence: string;
  mlps: string;
  remediation: string;
  /** The remediation in Chinese, for a school's IT officer. */
  remediationZh: string;
}

/**
 * 安全审计 b) of GB/T 22239-2019 per protection level: audit records carry the date and time of the event
 * (7.1.4.3 at 第二级, 8.1.4.3 at 第三级).
 */
export const CLOCK_CLAUSE: Record<ProtectionLevel, string> = {
  2: 'GB/T 22239-2019 7.1.4.3 安全审计 b) (audit records with date and time)',
  3: 'GB/T 22239-2019 8.1.4.3 安全审计 b) (audit records with date and time)',
};

/**
 * Agents whose clock is off by more than the threshold. 等保 2.0 asks that audit records carry a
 * trustworthy date and time, which a box without time synchronisation cannot give; the clause is the one
 * of the school's protection level. Pure.
 */
export function clockFindings(
  agents: readonly {
    id: string;
    hostname: string;
    lastSeenAt: string | null;
    clockOffsetMs: number | null;
  }[],
  maxOffsetMs: number,
  level: ProtectionLevel,
): FindingCandidate[] {
  return agents
    .filter((a) => a.clockOffsetMs !== null && Math.abs(a.clockOffsetMs) > maxOffsetMs)
    .map((a) => {
      const offset = a.clockOffsetMs!;
      const s = Math.round(Math.abs(offset) / 100) / 10;
      return {
        rule: 'agent_clock_unsynchronised',
        severity: 'medium',
        target: a.id,
        evidence: `agent ${a.id} on ${a.hostname}: clock ${offset > 0 ? 'ahead of' : 'behind'} the collector by ${s} s at ${a.lastSeenAt}`,
        mlps: CLOCK_CLAUSE[level],
        remediation:
          'enable NTP (chrony/systemd-timesyncd) on the agent host against the district time source',
        remediationZh:
          '在监测终端主机上开启 NTP 时间同步（chrony 或 systemd-timesyncd），以区县的时间服务器为准，使审计记录的时间可信。',
      };
    });
}
