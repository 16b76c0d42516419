/**
 * Grafana-managed alert rules equivalent to the collector's main alerts (for on-call), for sites that
 * prefer Grafana alerting. Written by `npm run dashboards` to `dashboards/provisioning/alerting/campuswatch.yaml`
 * in Grafana's file-provisioning format (apiVersion 1: groups, muteTimes).
 */
import { stringify } from 'yaml';
import { NEVER_REPORTED_AFTER_S } from '../../collector/src/evaluate/agent-status.js';
import { DATASOURCE_UID } from './common.js';
import { SILENT_AFTER_MIN } from './fleet.js';
import {
  failingSeverities,
  failingSeverityCondition,
  loadGoals,
  type TargetsConfig,
  tierText,
} from './goals.js';
import { type Select, select } from './influxql.js';

export const ALERT_FOLDER = 'campuswatch';
export const TEACHING_HOURS_MUTE = 'campuswatch-outside-teaching-hours';

export interface AlertRuleSpec {
  uid: string;
  title: string;
  /** InfluxQL with `$timeFilter`; one series per alert instance (GROUP BY tags). */
  query: Select;
  /** Seconds back from now that `$timeFilter` covers. */
  rangeS: number;
  reducer: 'last' | 'max' | 'min';
  /** Fires when the reduced value is `gt`/`lt` the parameter. */
  evaluator: { type: 'gt' | 'lt'; param: number };
  for: string;
  severity: 'critical' | 'high' | 'warning';
  summary: string;
  description: string;
  labels?: Record<string, string>;
}

const SCHOOL = ['school', 'school_name', 'district', 'group'];

/** The alert rules for these goals (thresholds from config/targets.yaml). */
export function alertRules(t: TargetsConfig): AlertRuleSpec[] {
  const pct = Math.round(t.uplink.tolerance * 100);
  const n = t.uplink.lastTests;
  return [
    {
      uid: 'cw-agent-silent',
      title: '代理沉默 (Agent silent for more than 3 report intervals)',
      query: select('count("results")')
        .from('agent')
        .groupByTime(`${SILENT_AFTER_MIN}m`, 'agent', ...SCHOOL)
        .fill(0),
      rangeS: 3600,
      reducer: 'last',
      evaluator: { type: 'lt', param: 1 },
      for: '2m',
      severity: 'high',
      summary: '{{ $labels.school_name }}: agent {{ $labels.agent }} has not reported for 3 intervals',
      description: `No report from the agent in the last ${SILENT_AFTER_MIN} minutes (reports every 60 s).`,
    },
    {
      uid: 'cw-agent-never-reported',
      title: '代理注册后从未上报 (Agent enrolled but never reported)',
      // agent_status: one point per agent every alerts.evaluateS (at most 3600 s); the latest says enrolled_s
      // while the agent has never reported, 0 once it has
      query: select('last("never_reported") * last("enrolled_s") AS "never_reported_s"')
        .from('agent_status')
        .groupBy('agent', ...SCHOOL),
      rangeS: 3600,
      reducer: 'last',
      evaluator: { type: 'gt', param: NEVER_REPORTED_AFTER_S },
      for: '0s',
      severity: 'high',
      summary: '{{ $labels.school_name }}: agent {{ $labels.agent }} was enrolled but has never reported',
      description: `Enrolled more than ${NEVER_REPORTED_AFTER_S / 60} minutes ago and not a single report since (the collector's alerts.neverReportedAfterS default): check that the agent service is running and can reach the collector. Needs the collector's alerting on (alerts.enabled, channels may be empty): its alert pass writes agent_status.`,
    },
    {
      uid: 'cw-recording-room-down',
      title: '录播室设备离线 (Recording room down in teaching hours)',
      query: select('last("up")')
        .from('device')
        .where('"room_type" = \'recording\'')
        .groupBy(...SCHOOL, 'room', 'device'),
      rangeS: 600,
      reducer: 'last',
      evaluator: { type: 'lt', param: 1 },
      for: '5m',
      severity: 'high',
      summary: '{{ $labels.school_name }}: {{ $labels.room }} / {{ $labels.device }} is down',
      description: `Notifications outside teaching hours are muted by the mute timing ${TEACHING_HOURS_MUTE} (route label teaching_hours=only).`,
      labels: { teaching_hours: 'only' },
    },
    {
      uid: 'cw-uplink-below-target',
      title: '上行带宽未达标 (Uplink below target in the last tests)',
      // Best of the last N successful tests per direction, as a share of the tier target: < tolerance fires.
      query: select('max("ratio")')
        .from(
          select('"mbps" / "target_mbps" AS "ratio"')
            .from('uplink_speedtest')
            .where('"ok" = 1')
            .groupBy(...SCHOOL, 'direction')
            .orderByTimeDesc()
            .limit(n),
        )
        .noTimeFilter()
        .groupBy(...SCHOOL, 'direction')
        .orderByTimeDesc(), // InfluxQL: a subquery is ordered in the same direction as its outer query
      rangeS: 7 * 86_400,
      reducer: 'last',
      evaluator: { type: 'lt', param: t.uplink.tolerance },
      for: '0s',
      severity: 'warning',
      summary: `{{ $labels.school_name }}: uplink {{ $labels.direction }} below ${pct}% of the tier target in the last ${n} tests`,
      description: `Measured throughput / tier target (${tierText(t)}) < ${t.uplink.tolerance} for each of the last ${n} tests.`,
    },
    {
      uid: 'cw-ipv6-score-dropped',
      title: `IPv6 得分下降 (IPv6 score dropped below ${t.ipv6.minScore})`,
      query: select('last("score_v6")')
        .from('ipv6')
        .where('"check" = \'score\'')
        .groupBy(...SCHOOL),
      rangeS: 86_400,
      reducer: 'last',
      evaluator: { type: 'lt', param: t.ipv6.minScore },
      for: '0s',
      severity: 'warning',
      summary: `{{ $labels.school_name }}: IPv6 readiness score below ${t.ipv6.minScore}/10`,
      description: `The latest IPv6 readiness score (test-ipv6 style, 0–10) is below the target of ${t.ipv6.minScore}.`,
    },
    {
      uid: 'cw-finding-critical-high',
      title: `高危安全发现 (Open ${failingSeverities(t).join('/')} finding)`,
      query: select('last("open")')
        .from('finding')
        .where(failingSeverityCondition(t))
        .groupBy(...SCHOOL, 'rule', 'target', 'severity', 'mlps'),
      rangeS: 86_400,
      reducer: 'last',
      evaluator: { type: 'gt', param: 0 },
      for: '0s',
      severity: 'critical',
      summary:
        '{{ $labels.school_name }}: {{ $labels.severity }} finding {{ $labels.rule }} on {{ $labels.target }}',
      description: '等保 2.0 clause {{ $labels.mlps }}.',
    },
  ];
}

function ruleYaml(r: AlertRuleSpec): Record<string, unknown> {
  return {
    uid: r.uid,
    title: r.title,
    condition: 'C',
    data: [
      {
        refId: 'A',
        relativeTimeRange: { from: r.rangeS, to: 0 },
        datasourceUid: DATASOURCE_UID,
        model: {
          refId: 'A',
          query: r.query.toString(),
          rawQuery: true,
          resultFormat: 'time_series',
          intervalMs: 60_000,
          maxDataPoints: 43_200,
        },
      },
      {
        refId: 'B',
        datasourceUid: '__expr__',
        model: {
          refId: 'B',
          type: 'reduce',
          expression: 'A',
          reducer: r.reducer,
          settings: { mode: 'dropNN' },
        },
      },
      {
        refId: 'C',
        datasourceUid: '__expr__',
        model: {
          refId: 'C',
          type: 'threshold',
          expression: 'B',
          conditions: [{ evaluator: { type: r.evaluator.type, params: [r.evaluator.param] } }],
        },
      },
    ],
    noDataState: 'OK',
    execErrState: 'Error',
    for: r.for,
    annotations: { summary: r.summary, description: r.description },
    labels: { campuswatch: 'true', severity: r.severity, ...r.labels },
    isPaused: false,
  };
}

export function alertRulesYaml(t: TargetsConfig = loadGoals()): string {
  const doc = {
    apiVersion: 1,
    groups: [
      {
        orgId: 1,
        name: 'campuswatch',
        folder: ALERT_FOLDER,
        interval: '1m',
        rules: alertRules(t).map(ruleYaml),
      },
    ],
    muteTimes: [
      {
        orgId: 1,
        name: TEACHING_HOURS_MUTE,
        time_intervals: [
          { weekdays: ['saturday', 'sunday'], location: 'Asia/Shanghai' },
          {
            weekdays: ['monday:friday'],
            times: [
              { start_time: '00:00', end_time: '07:30' },
              { start_time: '17:30', end_time: '24:00' },
            ],
            location: 'Asia/Shanghai',
          },
        ],
      },
    ],
  };
  return `# Generated by \`npm run dashboards\` from dashboards/src/alerts.ts: do not edit by hand.\n${stringify(doc, { lineWidth: 0 })}`;
}
