// How `campuswatch-agent probe security` shows one result: a finding with what to do about its rule, a check
// that could not be done, or (verbose) the check that passed.
import type { SecurityResult } from '../../../../protocol/report.js';
import { type ResultPrinter, type Text, t, where } from '../print.js';

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

const HINTS = {
  securityFailed: {
    en: 'the check could not be done: see the error; check the address and that the agent host can reach the device',
    zh: '无法完成检查：请查看错误信息，确认设备地址正确、监测终端能访问该设备',
  },
  unknownRule: {
    en: 'see the rule in config/baseline.yaml on the collector',
    zh: '请查看采集服务器 config/baseline.yaml 中该规则的整改建议',
  },
} as const satisfies Record<string, Text>;

export const printSecurity: ResultPrinter<SecurityResult> = (r, lang, out) => {
  const subject = `${where(r.device, r.target)}${r.port !== undefined ? ` port ${r.port}` : ''}`;
  if (r.finding) {
    const fix = SECURITY_REMEDIATION[r.rule] ?? HINTS.unknownRule;
    out.lines.push({
      problem: true,
      text: `FINDING  ${subject}  ${r.rule}: ${r.evidence} → ${t(lang, fix)}`,
    });
  } else if (r.outcome !== 'ok') {
    out.lines.push({
      problem: true,
      text: `FAILED   ${subject}  ${r.rule}: ${r.outcome}${r.error ? ` (${r.error})` : ''} → ${t(lang, HINTS.securityFailed)}`,
    });
  } else out.lines.push({ problem: false, text: `ok       ${subject}  ${r.rule}: ${r.evidence}` });
};
