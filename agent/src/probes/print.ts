// What every kind's printer shares (agent/src/probes/<kind>/print.ts): the language, the line, the device as the
// IT officer names it and the hints more than one kind gives. Light on purpose: the CLI loads it to print a run,
// never the probes themselves.

import type { ProbeName } from '../../../protocol/probe-names.js';
import type { ProbeResult } from '../../../protocol/report.js';

export type Lang = 'zh' | 'en';

export interface Text {
  en: string;
  zh: string;
}

/** One line of the output. */
export interface ReportLine {
  problem: boolean;
  text: string;
}

/** Where a printer puts what it shows: its lines (problems or healthy), and notes printed after the summary. */
export interface PrintOut {
  lines: ReportLine[];
  notes: string[];
}

/** How one result of a kind is shown by `campuswatch-agent probe <kind>` (pure). */
export type ResultPrinter<R extends ProbeResult> = (r: R, lang: Lang, out: PrintOut) => void;

/** Every kind's printer by name: a kind without one does not compile. */
export type ResultPrinters = { readonly [K in ProbeName]: ResultPrinter<Extract<ProbeResult, { probe: K }>> };

export const t = (lang: Lang, x: Text) => x[lang];

/** The device as the inventory names it (room / name (address)), or the bare target. */
export function where(device: { name: string; address: string; room?: string } | undefined, target: string) {
  if (!device) return target;
  return `${device.room ? `${device.room} / ` : ''}${device.name} (${device.address})`;
}

/** What to do when a device does not answer, or refuses the SNMP credentials (device checks and the uplink). */
export const DEVICE_HINTS = {
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
} as const satisfies Record<string, Text>;
