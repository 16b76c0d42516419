import {
  type HostResult,
  type Ipv6Result,
  liveClassOverLimits,
  type ProbeResult,
  type ReachabilityResult,
  type SecurityResult,
  type UplinkSnmpResult,
} from '../../protocol/report.js';
import type { DeviceStatus } from './device-status.js';

/**
 * What `campuswatch-agent probe <name>` prints without --json (pure): the problems first, one line
 * each with the device, the rule or check, the evidence and what to do; then one summary line; the
 * healthy lines only when asked (--verbose).
 */

export type Lang = 'zh' | 'en';

interface Text {
  en: string;
  zh: string;
}

/**
 * What to do about each security rule. The agent does not have the collector's config/baseline.yaml;
 * these are its `remediation` / `remediationZh` texts, word for word (a test keeps them equal).
 */
export const SECURITY_REMEDIATION: Readonly<Record<string, Text>> = {
  'cleartext-telnet': {
    en: 'Disable Telnet; manage the device over SSH only.',
    zh: '在设备上关闭 Telnet 服务，改用 SSH 登录管理；如设备不支持 SSH，请联系厂商升级固件，并把管理口限制在学校网管网段内。',
  },
  'cleartext-ftp': {
    en: 'Disable FTP or replace it with SFTP/FTPS.',
    zh: '关闭 FTP 服务；确需传文件时改用 SFTP 或 FTPS，并为账号设置强密码。',
  },
  'cleartext-tftp': {
    en: 'Disable TFTP outside maintenance windows.',
    zh: '平时关闭 TFTP 服务，只在升级固件或备份配置时临时开启，用完立即关闭。',
  },
  'http-admin-no-tls': {
    en: 'Enable HTTPS for the management interface and disable plain HTTP.',
    zh: '在设备的管理设置中开启 HTTPS，并关闭 HTTP 管理页面；登录管理页面时确认地址以 https:// 开头。',
  },
  'snmp-default-community': {
    en: 'Remove the public/private communities; use SNMPv3 authPriv or a strong read-only community with an ACL.',
    zh: '删除默认团体名 public 和 private；改用 SNMPv3（认证加密 authPriv），或设置复杂的只读团体名，并用访问控制列表只允许网管服务器访问。',
  },
  'snmp-v1v2c-enabled': {
    en: 'Disable SNMP v1/v2c; keep SNMPv3 authPriv only.',
    zh: '关闭 SNMP v1/v2c，只保留 SNMPv3（认证加密 authPriv），并同步修改监测终端上的 SNMP 配置。',
  },
  'high-risk-port': {
    en: 'Close the port or restrict it to the management network.',
    zh: '关闭不需要的服务和端口（如远程桌面 3389、SMB 445）；确需保留的，在防火墙或交换机上限制为只有学校网管网段可以访问。',
  },
  'rtsp-no-auth': {
    en: 'Enable RTSP authentication (digest) on the camera or encoder.',
    zh: '在摄像机或编码器的设置中开启 RTSP 认证（摘要认证 digest），设置强密码，并同步修改录播、监控平台中的取流地址。',
  },
  'tls-expired': {
    en: 'Renew the certificate.',
    zh: '证书已过期，请尽快向证书机构（或学校的云服务商）续签，并在服务器上更换为新证书。',
  },
  'tls-expiring': {
    en: 'Renew the certificate before it expires.',
    zh: '证书将在 30 天内过期，请提前续签并更换，避免师生访问时出现安全警告。',
  },
  'tls-old-protocol': {
    en: 'Offer TLS 1.2 and 1.3 only.',
    zh: '在服务器或设备的 HTTPS 设置中关闭 TLS 1.0 和 TLS 1.1，只保留 TLS 1.2 和 TLS 1.3。',
  },
  'tls-self-signed': {
    en: 'Use a certificate from a trusted CA.',
    zh: '面向师生和公众的服务不要使用自签名证书，请改用受信任证书机构签发的证书（可向上级教育部门或云服务商申请）。',
  },
  'host-firewall-off': {
    en: 'Enable the host firewall (nftables/ufw/Windows Firewall).',
    zh: '在监测终端所在主机上开启防火墙（Linux 用 ufw 或 nftables，Windows 用 Windows 防火墙），只放行需要的端口。',
  },
  'host-os-eol': {
    en: 'Upgrade to a supported release.',
    zh: '操作系统已停止安全更新，请升级到厂商仍在支持的版本；暂时无法升级的，应与其他网络隔离。',
  },
};

/** What to do when a check could not be done or a device does not answer. */
const HINTS = {
  securityFailed: {
    en: 'the check could not be done: see the error; check the address and that the agent host can reach the device',
    zh: '无法完成检查：请查看错误信息，确认设备地址正确、监测终端能访问该设备',
  },
  unknownRule: {
    en: 'see the rule in config/baseline.yaml on the collector',
    zh: '请查看采集服务器 config/baseline.yaml 中该规则的整改建议',
  },
  down: {
    en: 'check power, cable and switch port of the device, and its address in agent.yaml',
    zh: '请检查设备电源、网线和交换机端口，并核对 agent.yaml 中的设备地址',
  },
  authFailure: {
    en: 'the device answers but refuses the SNMP credentials: make the user and keys in agent.yaml match the device',
    zh: '设备有应答但拒绝了 SNMP 认证：请核对 agent.yaml 中的 SNMP 用户名和密钥与设备配置一致',
  },
  snmpFailed: {
    en: 'check that SNMP is enabled on the device and that the address, port and credentials in agent.yaml are right',
    zh: '请确认设备已开启 SNMP，并核对 agent.yaml 中的地址、端口和认证信息',
  },
  portDown: {
    en: 'the interface is down: check the cable and the other end',
    zh: '接口未连通：请检查网线和对端设备',
  },
  ipv4: {
    en: 'this target does not answer over IPv4 either: check its address in agent.yaml and the network path to it',
    zh: '该目标通过 IPv4 也无法访问：请核对 agent.yaml 中的地址以及到该目标的网络',
  },
  ipv6: {
    en: 'ask the network provider or the district for IPv6 on this network, then check the router and DNS settings',
    zh: '请向运营商或区教育网申请本网络的 IPv6，并检查路由器和 DNS 设置',
  },
  hostFailed: {
    en: 'the agent could not read its own host: see the error',
    zh: '监测终端无法读取本机信息：请查看错误信息',
  },
  diskFull: {
    en: 'free space on this disk (old logs, packages) or enlarge it',
    zh: '请清理该磁盘（旧日志、安装包）或扩容',
  },
} as const satisfies Record<string, Text>;

const DISK_FULL_PCT = 90;

/** One line of the output. */
export interface ReportLine {
  problem: boolean;
  text: string;
}

export interface ProbeReport {
  problems: string[];
  healthy: string[];
  checks: number;
  /** Lines printed after the summary whatever is wrong (the IPv6 score and its reasons, the host). */
  notes: string[];
}

const t = (lang: Lang, x: Text) => x[lang];

function where(device: { name: string; address: string; room?: string } | undefined, target: string) {
  if (!device) return target;
  return `${device.room ? `${device.room} / ` : ''}${device.name} (${device.address})`;
}

function securityLine(r: SecurityResult, lang: Lang): ReportLine {
  const subject = `${where(r.device, r.target)}${r.port !== undefined ? ` port ${r.port}` : ''}`;
  if (r.finding) {
    const fix = SECURITY_REMEDIATION[r.rule] ?? HINTS.unknownRule;
    return {
      problem: true,
      text: `FINDING  ${subject}  ${r.rule}: ${r.evidence} → ${t(lang, fix)}`,
    };
  }
  if (r.outcome !== 'ok') {
    return {
      problem: true,
      text: `FAILED   ${subject}  ${r.rule}: ${r.outcome}${r.error ? ` (${r.error})` : ''} → ${t(lang, HINTS.securityFailed)}`,
    };
  }
  return { problem: false, text: `ok       ${subject}  ${r.rule}: ${r.evidence}` };
}

function reachabilityLine(r: ReachabilityResult, lang: Lang): ReportLine {
  const check = `${r.check}${r.port !== undefined ? `/${r.port}` : ''}`;
  const subject = `${where(r.device, r.target)}${r.device.critical ? ' [critical]' : ''}`;
  if (r.up) {
    const rtt = r.rttMs !== undefined ? ` ${r.rttMs.toFixed(1)} ms` : '';
    return { problem: false, text: `up       ${subject}  ${check}${rtt}` };
  }
  const hint = r.authFailure ? HINTS.authFailure : r.check === 'snmp' ? HINTS.snmpFailed : HINTS.down;
  const evidence = [r.outcome, r.status !== undefined ? `status ${r.status}` : '', r.error ?? '']
    .filter(Boolean)
    .join(', ');
  return {
    problem: true,
    text: `${r.authFailure ? 'AUTH    ' : 'DOWN    '} ${subject}  ${check}: ${evidence} → ${t(lang, hint)}`,
  };
}

function uplinkLine(r: UplinkSnmpResult, lang: Lang): ReportLine {
  const subject = `${r.device.name} (${r.device.address}) ${r.ifName || `ifIndex ${r.ifIndex}`} [${r.role}]`;
  if (r.outcome !== 'ok') {
    return {
      problem: true,
      text: `FAILED   ${subject}: ${r.outcome}${r.error ? ` (${r.error})` : ''} → ${t(lang, HINTS.snmpFailed)}`,
    };
  }
  if (!r.operUp)
    return { problem: true, text: `DOWN     ${subject}: ifOperStatus not up → ${t(lang, HINTS.portDown)}` };
  const rates =
    r.inMbps !== undefined
      ? ` in ${r.inMbps.toFixed(1)} Mbps, out ${(r.outMbps ?? 0).toFixed(1)} Mbps${r.utilPct !== undefined ? `, ${r.utilPct.toFixed(0)}%` : ''}`
      : r.note
        ? ` (${r.note})`
        : '';
  const speed = r.ifSpeedMbps !== undefined ? ` ${r.ifSpeedMbps} Mbps link` : '';
  return { problem: false, text: `up       ${subject}${speed}${rates}` };
}

function ipv6Line(r: Ipv6Result, lang: Lang): ReportLine {
  const subject = `${r.check}${r.service ? ` ${r.service}` : ''}`;
  const evidence = r.detail ?? r.error ?? r.outcome;
  if (r.ok && r.outcome === 'ok') return { problem: false, text: `ok       ${subject}: ${evidence}` };
  return {
    problem: true,
    text: `FAILED   ${subject} (${r.target}): ${evidence}${r.error && r.error !== evidence ? ` (${r.error})` : ''} → ${t(lang, r.family === 4 || r.check.endsWith('-v4') ? HINTS.ipv4 : HINTS.ipv6)}`,
  };
}

function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
}

function hostLines(r: HostResult, lang: Lang): { lines: ReportLine[]; notes: string[] } {
  if (r.outcome !== 'ok') {
    return {
      lines: [
        {
          problem: true,
          text: `FAILED   host ${r.target}: ${r.outcome}${r.error ? ` (${r.error})` : ''} → ${t(lang, HINTS.hostFailed)}`,
        },
      ],
      notes: [],
    };
  }
  const lines: ReportLine[] = r.disks.map((d) => {
    const pct = d.sizeBytes > 0 ? (100 * d.usedBytes) / d.sizeBytes : 0;
    const text = `disk ${d.mount}: ${pct.toFixed(0)}% used (${gib(d.usedBytes)} of ${gib(d.sizeBytes)})`;
    return pct >= DISK_FULL_PCT
      ? { problem: true, text: `FULL     host ${r.target} ${text} → ${t(lang, HINTS.diskFull)}` }
      : { problem: false, text: `ok       host ${r.target} ${text}` };
  });
  const nics = r.nics.filter((n) => !n.virtual);
  const notes = [
    `host ${r.target}: ${[r.os.distro, r.os.release].filter(Boolean).join(' ')} (${r.os.platform} ${r.os.kernel}, ${r.os.arch}), up ${(r.uptimeS / 86_400).toFixed(1)} days`,
    `cpu ${r.cpu.cores} cores${r.cpu.loadPct !== null ? `, ${r.cpu.loadPct.toFixed(0)}% busy` : ''}; memory ${gib(r.memory.usedBytes)} of ${gib(r.memory.totalBytes)} used`,
    ...nics.map(
      (n) =>
        `nic ${n.name}: ${n.up ? 'up' : 'down'}${n.speedMbps ? ` ${n.speedMbps} Mbps` : ''}${[...n.ipv4, ...n.ipv6].length > 0 ? ` ${[...n.ipv4, ...n.ipv6].join(' ')}` : ''}`,
    ),
  ];
  return { lines, notes };
}

/** The lines for the results of one probe run; the IPv6 score row becomes notes (score and reasons). */
export function probeReport(results: readonly ProbeResult[], lang: Lang): ProbeReport {
  const lines: ReportLine[] = [];
  const notes: string[] = [];
  for (const r of results) {
    switch (r.probe) {
      case 'security':
        lines.push(securityLine(r, lang));
        break;
      case 'reachability':
        lines.push(reachabilityLine(r, lang));
        break;
      case 'uplink-snmp':
        lines.push(uplinkLine(r, lang));
        break;
      case 'ipv6':
        if (r.check === 'score') {
          notes.push(
            `IPv6 score ${r.scoreV6 ?? '-'}/10, IPv4-drop score ${r.scoreV4only ?? '-'}/10${(r.symptoms ?? []).length > 0 ? ':' : ''}`,
            ...(r.symptoms ?? []).map((s) => `  - ${s}`),
          );
          if (r.outcome !== 'ok') lines.push(ipv6Line(r, lang));
        } else lines.push(ipv6Line(r, lang));
        break;
      case 'host': {
        const h = hostLines(r, lang);
        lines.push(...h.lines);
        notes.push(...h.notes);
        break;
      }
      case 'live-class': {
        const over = liveClassOverLimits(r);
        const numbers = `${r.target} (${r.transport} ${r.host}:${r.port}): one-way ${r.oneWayMs ?? '-'} ms, jitter ${r.jitterMs ?? '-'} ms, loss ${r.lossPct}%`;
        lines.push({
          problem: over.length > 0,
          text: `${over.length > 0 ? 'OVER    ' : 'ok      '} ${numbers}${over.length > 0 ? `: ${over.join(', ')}` : ''}`,
        });
        break;
      }
      case 'bandwidth':
        lines.push(
          r.outcome === 'ok'
            ? { problem: false, text: `ok       ${r.direction} ${r.mbps} Mbps` }
            : {
                problem: true,
                text: `FAILED   ${r.direction}: ${r.outcome}${r.error ? ` (${r.error})` : ''}`,
              },
        );
        break;
    }
  }
  return {
    problems: lines.filter((l) => l.problem).map((l) => l.text),
    healthy: lines.filter((l) => !l.problem).map((l) => l.text),
    checks: lines.length,
    notes,
  };
}

/** `probe devices`: one line per device that is not up (critical ones first), from the device statuses. */
export function deviceReport(devices: readonly DeviceStatus[], lang: Lang): ProbeReport {
  const line = (d: DeviceStatus) => {
    const failed = d.checks.filter((c) => !c.up);
    const evidence = failed
      .map(
        (c) =>
          `${c.check}${c.port !== undefined ? `/${c.port}` : ''} ${c.outcome}${c.error ? ` (${c.error})` : ''}`,
      )
      .join('; ');
    const ok = d.checks
      .filter((c) => c.up)
      .map((c) => `${c.check}${c.port !== undefined ? `/${c.port}` : ''}`)
      .join(' ');
    const subject = `${d.room} / ${d.name} (${d.address})${d.critical ? ' [critical]' : ''}`;
    if (d.up) return `up       ${subject}  ${ok}`;
    const hint = d.authFailure ? HINTS.authFailure : HINTS.down;
    return `${d.authFailure ? 'AUTH    ' : 'DOWN    '} ${subject}  ${evidence} → ${t(lang, hint)}`;
  };
  const down = devices.filter((d) => !d.up).sort((a, b) => Number(b.critical) - Number(a.critical));
  return {
    problems: down.map(line),
    healthy: devices.filter((d) => d.up).map(line),
    checks: devices.length,
    notes: [],
  };
}

/** The text to print: problems, then the summary line, then (verbose) the healthy lines, then notes. */
export function renderReport(report: ProbeReport, what: 'check' | 'device', verbose: boolean): string {
  const n = report.problems.length;
  const on = `on ${report.checks} ${what}${report.checks === 1 ? '' : 's'}`;
  const summary = n === 0 ? `no problems ${on}` : `${n} ${n === 1 ? 'problem' : 'problems'} ${on}`;
  const out = [...report.problems, summary];
  if (verbose && report.healthy.length > 0) out.push('', ...report.healthy);
  if (report.notes.length > 0) out.push('', ...report.notes);
  return `${out.join('\n')}\n`;
}
