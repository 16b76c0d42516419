import type { Severity } from '../baseline.js';

export type Language = 'zh-CN' | 'en';

/** One alert inside a notification (docs/architecture.md, "Alerts": grouped per school). */
export interface AlertItem {
  /** Stable identity of the alert: rule + school + subject. */
  fingerprint: string;
  /**
   * Alert rule id (alerts/rules.ts ALERT_RULES): finding, agent-silent, agent-never-reported,
   * recording-room-down, uplink-below-target, ipv6-score-dropped, over-budget.
   */
  rule: string;
  severity: Severity;
  status: 'firing' | 'resolved';
  /** What it is about, in both languages (device, room, finding rule …). */
  title: { zh: string; en: string };
  /** The facts: evidence, 等保 clause, measured value vs goal … */
  detail: { zh: string; en: string };
  startsAt: string;
  endsAt?: string;
  labels: Record<string, string>;
}

/** What a channel sends: the alerts of one school that changed (or repeat) together. */
export interface AlertGroup {
  /** 'firing' when any alert fires; 'resolved' when all in the group resolved; a repeat is firing again. */
  status: 'firing' | 'resolved';
  repeat: boolean;
  /** The daily summary of what is still firing (alerts.digest), not a change. */
  digest?: boolean;
  /** `timezone`: the school's IANA zone, in which the texts give times (default Asia/Shanghai). */
  school: { id: string; name: string; district?: string; group?: string; timezone?: string };
  alerts: AlertItem[];
  /** Link for the reader (Grafana school dashboard or the API). */
  url?: string;
}

export interface NotifyContext {
  signal: AbortSignal;
}

/** Sending failed: `retryable` tells the dispatcher whether to try again (5xx, timeouts, rate limits). */
export class NotifyError extends Error {
  override readonly name = 'NotifyError';
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** One channel (docs/architecture.md, "Alerts"). `send` resolves when the peer confirmed delivery, else throws NotifyError. */
export interface Notifier {
  readonly type: 'webhook' | 'wecom' | 'dingtalk' | 'feishu' | 'email';
  readonly name: string;
  readonly language: Language;
  send(group: AlertGroup, ctx: NotifyContext): Promise<void>;
}
