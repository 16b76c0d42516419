/** `alerts` and `reports`: the alert rules' timing, the notification channels and routes, the term report's mail. */
import { type Static, Type } from 'typebox';
import type { Problem } from '../../../protocol/validate.js';
import { NEVER_REPORTED_AFTER_S } from '../evaluate/agent-status.js';
import { type ChannelConfig, checkChannelConfig, checkChannelNames } from '../notifiers/config.js';

export const AlertsConfig = Type.Object(
  {
    enabled: Type.Boolean({ default: true }),
    /** Seconds an alert must hold before it fires. */
    forS: Type.Integer({ default: 0, minimum: 0, maximum: 86_400 }),
    /** Reminder interval while firing. */
    repeatS: Type.Integer({ default: 14_400, minimum: 60, maximum: 30 * 86_400 }),
    /** How often the rules are evaluated (also after every report). */
    evaluateS: Type.Integer({ default: 30, minimum: 1, maximum: 3600 }),
    findingSeverity: Type.Enum(['critical', 'high', 'medium', 'low', 'info'], { default: 'high' }),
    /** An agent is silent after this many seconds without a report (3 × its 60 s cycle). */
    agentSilentS: Type.Integer({ default: 180, minimum: 30, maximum: 86_400 }),
    /** An enrolled agent that has not sent its first report this many seconds after enrolment alerts. */
    neverReportedAfterS: Type.Integer({
      default: NEVER_REPORTED_AFTER_S,
      minimum: 60,
      maximum: 30 * 86_400,
    }),
    channels: Type.Array(Type.Unknown(), { default: [], maxItems: 100 }),
    /** Once a day at this school-local time, a summary of what is still firing, per school. */
    digest: Type.Object(
      {
        enabled: Type.Boolean({ default: false }),
        at: Type.String({ default: '08:00', pattern: '^([01]\\d|2[0-3]):[0-5]\\d$' }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** Which channels get which alerts; with no routes every channel gets everything. */
    routes: Type.Array(
      Type.Object(
        {
          channels: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
          severity: Type.Optional(Type.Array(Type.Enum(['critical', 'high', 'medium', 'low', 'info']))),
          district: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
          group: Type.Optional(Type.Array(Type.String({ minLength: 1 }))),
        },
        { additionalProperties: false },
      ),
      { default: [] },
    ),
  },
  { additionalProperties: false, default: {} },
);
export type AlertsConfig = Static<typeof AlertsConfig>;

/** The term inspection report (督导通报): snapshots at term end and their e-mail. */
export const ReportsConfig = Type.Object(
  {
    /** The collector freezes each district's term snapshot after the term's last day (targets.yaml terms). */
    snapshotAtTermEnd: Type.Boolean({ default: true }),
    /**
     * A term that ended longer ago than this without a snapshot is left to `snapshot take` (its state
     * would be today's, not the term's end): a collector started long after a term does not freeze it.
     */
    snapshotGraceDays: Type.Integer({ default: 14, minimum: 1, maximum: 366 }),
    /** The report mailed once per term (with several collectors too) once its snapshots are taken. */
    termMail: Type.Array(
      Type.Object(
        {
          /** An e-mail channel of alerts.channels: its SMTP server, sender and (by default) recipients. */
          channel: Type.String({ minLength: 1 }),
          /** The district's report; absent: the whole city's. */
          district: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
          to: Type.Optional(
            Type.Array(Type.String({ pattern: '^[^\\s@]+@[^\\s@]+$' }), { minItems: 1, maxItems: 100 }),
          ),
          formats: Type.Array(Type.Enum(['pdf', 'xlsx', 'csv']), {
            default: ['pdf', 'xlsx'],
            minItems: 1,
          }),
          lang: Type.Enum(['zh', 'en'], { default: 'zh' }),
        },
        { additionalProperties: false },
      ),
      { default: [], maxItems: 200 },
    ),
  },
  { additionalProperties: false, default: {} },
);
export type ReportsConfig = Static<typeof ReportsConfig>;

/**
 * Each channel against its own schema (the defaults it fills in are kept in `alerts.channels`), their names
 * unique, and every channel a route or a term mail names defined (a term mail's an e-mail channel).
 */
export function checkAlerts(alerts: AlertsConfig, reports: ReportsConfig): Problem[] {
  const problems: Problem[] = [];
  const channels: ChannelConfig[] = [];
  alerts.channels.forEach((raw, i) => {
    const r = checkChannelConfig(raw, `alerts/channels/${i}`);
    if (r.ok) channels.push(r.value);
    else problems.push(...r.problems);
  });
  if (channels.length !== alerts.channels.length) return problems;
  problems.push(...checkChannelNames(channels, 'alerts/channels'));
  // keep the defaults the channel schemas filled in
  alerts.channels.splice(0, alerts.channels.length, ...channels);
  const names = new Set(channels.map((ch) => ch.name));
  const mail = new Set(channels.filter((ch) => ch.type === 'email').map((ch) => ch.name));
  reports.termMail.forEach((m, i) => {
    if (!mail.has(m.channel))
      problems.push({
        path: `reports/termMail/${i}/channel`,
        message: `no e-mail channel named ${JSON.stringify(m.channel)} in alerts.channels`,
      });
  });
  for (const [i, r] of alerts.routes.entries()) {
    for (const [j, n] of r.channels.entries()) {
      if (!names.has(n))
        problems.push({
          path: `alerts/routes/${i}/channels/${j}`,
          message: `no channel named ${JSON.stringify(n)}`,
        });
    }
  }
  return problems;
}
