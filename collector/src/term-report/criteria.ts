/** What a school had to show to meet each target, in words, from the targets as they applied (the snapshot's). */
import type { TargetsConfig } from '../targets.js';
import type { Lang } from './lang.js';

type Applied = Omit<TargetsConfig, 'districts'>;

const STAGE_ZH: Record<string, string> = {
  primary: '小学',
  junior: '初中',
  senior: '高中',
  'nine-year': '九年一贯制',
  'twelve-year': '十二年一贯制',
};

export function criterionOf(target: string, t: Applied, lang: Lang): string {
  const zh = lang === 'zh';
  const tiers = t.uplink.tiers;
  switch (target) {
    case 'school_connected':
      return zh ? `探针在 ${t.connected.maxAge} 内上报` : `an agent reported within ${t.connected.maxAge}`;
    case 'uplink_bandwidth':
      return zh
        ? `下行与上行 ≥ ${tiers.small.mbps}/${tiers.medium.mbps}/${tiers.large.mbps} Mbit/s（小/中/大规模）× ${t.uplink.tolerance}`
        : `down and up ≥ ${tiers.small.mbps}/${tiers.medium.mbps}/${tiers.large.mbps} Mbit/s (small/medium/large) × ${t.uplink.tolerance}`;
    case 'backbone':
      return zh
        ? `核心端口 ≥ ${t.backbone.coreMinMbps}、接入端口 ≥ ${t.backbone.accessMinMbps} Mbit/s`
        : `core ports ≥ ${t.backbone.coreMinMbps}, access ports ≥ ${t.backbone.accessMinMbps} Mbit/s`;
    case 'ipv6':
      return zh
        ? `就绪评分 ≥ ${t.ipv6.minScore}${t.ipv6.requireServices ? '，校内服务支持 IPv6' : ''}`
        : `readiness score ≥ ${t.ipv6.minScore}${t.ipv6.requireServices ? ', services over IPv6' : ''}`;
    case 'wireless_coverage':
      return zh
        ? `教学用房有在线 AP ≥ ${t.wirelessCoverage.minPct}%`
        : `teaching rooms with an AP up ≥ ${t.wirelessCoverage.minPct}%`;
    case 'interactive_classrooms':
      return zh
        ? `教室有可用多媒体交互设备 ≥ ${t.interactiveClassrooms.minPct}%`
        : `classrooms with a working panel or projector ≥ ${t.interactiveClassrooms.minPct}%`;
    case 'multimedia_rooms': {
      const per = Object.entries(t.multimediaRooms.per100Pupils)
        .map(([stage, n]) => `${zh ? (STAGE_ZH[stage] ?? stage) : stage} ${n}`)
        .join(zh ? '、' : ', ');
      return zh ? `每百名学生网络多媒体教室 ≥ ${per}` : `multimedia rooms per 100 pupils ≥ ${per}`;
    }
    case 'recording_room':
      return zh
        ? `建有录播室 ≥ ${t.recordingRoom.minPerSchool} 间`
        : `recording rooms ≥ ${t.recordingRoom.minPerSchool}`;
    case 'recording_room_working':
      return zh ? '录播室教学时段可用' : 'the recording room works in teaching hours';
    case 'smart_classroom':
      return zh
        ? `建有智慧教室 ≥ ${t.smartClassroom.minPerSchool} 间`
        : `smart classrooms ≥ ${t.smartClassroom.minPerSchool}`;
    case 'smart_classroom_working':
      return zh ? '智慧教室教学时段可用' : 'the smart classroom works in teaching hours';
    case 'device_availability':
      return zh
        ? `关键设备教学时段可用率 ≥ ${t.deviceAvailability.minPct}%（${t.deviceAvailability.windowDays} 天）`
        : `critical devices up ≥ ${t.deviceAvailability.minPct}% in teaching hours (${t.deviceAvailability.windowDays} days)`;
    case 'security':
      if (t.security.maxOpenSeverity === 'none') return zh ? '无未整改的安全隐患' : 'no open finding';
      return zh
        ? `无高于${t.security.maxOpenSeverity === 'low' ? '低危' : '中危'}的未整改安全隐患`
        : `no open finding above ${t.security.maxOpenSeverity}`;
    case 'live_class':
      // the limits travel with each train (the agent's probes.live-class): these are their defaults
      return zh
        ? '到专递课堂平台单向时延 ≤ 150 ms、抖动 ≤ 30 ms、丢包 ≤ 1%（探针所测限值）'
        : 'to the live-class platform: one way ≤ 150 ms, jitter ≤ 30 ms, loss ≤ 1 % (the limits each train carries)';
    default:
      return '';
  }
}
