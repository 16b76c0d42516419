/** 1. 教育信息化达标总览 (District overview): how far the schools of a district/group are from the targets. */
import * as common from '@grafana/grafana-foundation-sdk/common';
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { TARGETS } from '../../collector/src/evaluate/targets/registry.js';
import { districtGoal } from '../../collector/src/evaluate/targets/target.js';
import {
  baseDashboard,
  filters,
  Grid,
  okMapping,
  q,
  rollup,
  schoolLinkOverride,
  targets,
  thresholds,
  UIDS,
  type VariableName,
} from './common.js';
import {
  ALL_SCHOOLS_PCT,
  failingSeverities,
  failingSeverityCondition,
  type TargetsConfig,
  tierText,
} from './goals.js';
import { select, str } from './influxql.js';
import { barGaugePanel, gaugePanel, statPanel, tablePanel, timeseriesPanel } from './panels.js';

const VARS: VariableName[] = ['district', 'group'];

/** Targets of the compliance measurement and their labels: the collector's registry of targets, not a copy. */
export const COMPLIANCE_TARGETS: [string, string][] = TARGETS.map((t) => [
  t.name,
  `${t.label.zh} (${t.label.en})`,
]);

/** A target's district goal under the city's targets (null: none set). */
const goalOf = (t: TargetsConfig, name: string) => districtGoal(TARGETS.find((m) => m.name === name)!, t);

/**
 * % of the selected schools whose latest compliance row for `target` is met. Every registered school
 * writes its rows (an unmonitored one with met = 0, no_data = 1), so the denominator is all of them.
 */
function pctMeeting(target: string) {
  return select('mean("met") * 100 AS "pct"')
    .from(
      select('last("met") AS "met"')
        .from('compliance')
        .where(`"target" = ${str(target)}`, ...filters(...VARS))
        .groupBy('school'),
    )
    .noTimeFilter();
}

function pctStat(title: string, target: string, description: string, goal: number) {
  return statPanel({ title, description, unit: 'percent', targets: targets(q(pctMeeting(target))) })
    .min(0)
    .max(100)
    .thresholds(
      thresholds([
        [null, 'red'],
        [goal * 0.8, 'orange'],
        [goal, 'green'],
      ]),
    );
}

function pctGauge(title: string, target: string, description: string, goal: number) {
  return gaugePanel({
    title,
    description,
    unit: 'percent',
    min: 0,
    max: 100,
    targets: targets(q(pctMeeting(target))),
  })
    .thresholds(
      thresholds([
        [null, 'red'],
        [goal, 'green'],
      ]),
    )
    .showThresholdLabels(true);
}

export function overview(t: TargetsConfig): dashboard.DashboardBuilder {
  const grid = new Grid();
  const d = baseDashboard(
    UIDS.overview,
    '教育信息化达标总览 (District overview)',
    'Share of schools meeting each informatization target, the lagging schools, and the urban/rural gap.',
    VARS,
  );

  d.withPanel(
    grid.place(
      pctStat(
        '上行带宽达标率 (% meeting uplink bandwidth)',
        'uplink_bandwidth',
        `Schools whose measured down and up speed reach the tier target × ${t.uplink.tolerance} (${tierText(t)}).`,
        ALL_SCHOOLS_PCT,
      ),
      4,
      5,
    ),
  );
  d.withPanel(
    grid.place(
      pctStat(
        'IPv6 就绪率 (% IPv6-ready)',
        'ipv6',
        `Schools with an IPv6 readiness score ≥ ${t.ipv6.minScore}/10${t.ipv6.requireServices ? ' and their services reachable over IPv6' : ''}; goal ${t.ipv6.districtGoalPct}%.`,
        t.ipv6.districtGoalPct,
      ),
      4,
      5,
    ),
  );
  d.withPanel(
    grid.place(
      pctGauge(
        `录播室建有率 (% with a recording room, goal ${t.recordingRoom.districtGoalPct}%)`,
        'recording_room',
        `"80%的学校建有自动录播室": schools whose inventory declares at least ${t.recordingRoom.minPerSchool} recording room whose devices have answered (建有), over every registered school; unmonitored schools count as not having one.`,
        t.recordingRoom.districtGoalPct,
      ),
      4,
      5,
    ),
  );
  d.withPanel(
    grid.place(
      pctStat(
        '录播室可用率 (% whose recording room works in teaching hours)',
        'recording_room_working',
        'Schools whose recording room has every critical device up (可用), over every registered school.',
        t.recordingRoom.workingDistrictGoalPct ?? t.recordingRoom.districtGoalPct,
      ),
      4,
      5,
    ),
  );
  d.withPanel(
    grid.place(
      pctGauge(
        `智慧教室建有率 (% with a smart classroom, goal ${t.smartClassroom.districtGoalPct}%)`,
        'smart_classroom',
        `"每校建有智慧教室": schools with at least ${t.smartClassroom.minPerSchool} smart classroom whose devices have answered (建有), over every registered school.`,
        t.smartClassroom.districtGoalPct,
      ),
      4,
      5,
    ),
  );
  d.withPanel(
    grid.place(
      pctStat(
        '智慧教室可用率 (% whose smart classroom works)',
        'smart_classroom_working',
        'Schools whose smart classroom has every critical device up (可用), over every registered school.',
        t.smartClassroom.workingDistrictGoalPct ?? t.smartClassroom.districtGoalPct,
      ),
      4,
      5,
    ),
  );
  d.withPanel(
    grid.place(
      pctStat(
        '班班通达标率 (% with an interactive device in every classroom)',
        'interactive_classrooms',
        `"每个教室配置多媒体交互设备": schools where ≥ ${t.interactiveClassrooms.minPct}% of classrooms have a working ${t.interactiveClassrooms.deviceTypes.join('/')}.`,
        goalOf(t, 'interactive_classrooms') ?? ALL_SCHOOLS_PCT,
      ),
      4,
      5,
    ),
  );
  d.withPanel(
    grid.place(
      pctStat(
        '无线覆盖达标率 (% with every teaching room covered by Wi-Fi)',
        'wireless_coverage',
        `"有线、无线网络全覆盖": schools where ≥ ${t.wirelessCoverage.minPct}% of teaching rooms (${t.wirelessCoverage.roomTypes.join(', ')}) have an access point up.`,
        goalOf(t, 'wireless_coverage') ?? ALL_SCHOOLS_PCT,
      ),
      4,
      5,
    ),
  );
  d.withPanel(
    grid.place(
      pctStat(
        '校校通 (% of registered schools whose agent reports)',
        'school_connected',
        `"校园网络校校通": registered schools with an agent that reported in the last ${t.connected.maxAge}.`,
        t.connected.districtGoalPct,
      ),
      4,
      5,
    ),
  );
  d.withPanel(
    grid.place(
      pctStat(
        '多媒体教室生均达标率 (% meeting rooms per 100 pupils)',
        'multimedia_rooms',
        `Networked multimedia rooms per 100 pupils ≥ the national equalisation standard (${Object.entries(
          t.multimediaRooms.per100Pupils,
        )
          .map(([stage, n]) => `${stage} ${n}`)
          .join(', ')}); schools without a stage are unmonitored.`,
        goalOf(t, 'multimedia_rooms') ?? ALL_SCHOOLS_PCT,
      ),
      4,
      5,
    ),
  );
  d.withPanel(
    grid.place(
      pctStat(
        '主干达标率 (% meeting backbone)',
        'backbone',
        `Core uplinks ≥ ${t.backbone.coreMinMbps} Mbit/s and access ports ≥ ${t.backbone.accessMinMbps} Mbit/s (SNMP ifHighSpeed).`,
        ALL_SCHOOLS_PCT,
      ),
      4,
      5,
    ),
  );
  d.withPanel(
    grid.place(
      pctStat(
        '专递课堂达标率 (% with a live-class path within the limits)',
        'live_class',
        `"城乡学校网上结对…课堂教学同步实施" (专递课堂, 名师课堂): schools whose path to the live-class platform is within the limits its agent measured against (one way ≤ 150 ms, ITU-T G.114; jitter ≤ 30 ms; loss ≤ 1 % unless configured), over every registered school.`,
        goalOf(t, 'live_class') ?? ALL_SCHOOLS_PCT,
      ),
      4,
      5,
    ),
  );
  d.withPanel(
    grid.place(
      statPanel({
        title: `未关闭高危发现 (Open ${failingSeverities(t).join('/')} findings)`,
        description: `Open security findings of severity ${failingSeverities(t).join(' or ')} in the selected schools (等保 2.0; security.maxOpenSeverity = ${t.security.maxOpenSeverity}).`,
        targets: targets(
          q(
            select('sum("open") AS "open"')
              .from(
                select('last("open") AS "open"')
                  .from('finding')
                  .where(failingSeverityCondition(t), ...filters(...VARS))
                  .groupBy('school', 'rule', 'target'),
              )
              .noTimeFilter(),
          ),
        ),
      }).thresholds(
        thresholds([
          [null, 'green'],
          [1, 'red'],
        ]),
      ),
      4,
      5,
    ),
  );

  // The bureau's table: per district and target, % of ALL registered schools meeting it, the goal that
  // applied there (a district may override it), and met / not met / unmonitored counts.
  d.withPanel(
    grid.place(
      tablePanel({
        title: '区县达标 KPI (District KPIs: every registered school counted, unmonitored shown apart)',
        description:
          'Written by the collector every few minutes (compliance_kpi): pct = met ÷ registered schools; goal = the district’s own goal or the city default; 未监测 (unmonitored) = registered schools without fresh evidence.',
        targets: targets(
          q(
            select(
              'last("pct") AS "pct"',
              'last("goal_pct") AS "goal"',
              'last("met") AS "met"',
              'last("not_met") AS "not_met"',
              'last("no_data") AS "unmonitored"',
              'last("schools") AS "schools"',
            )
              .from('compliance_kpi')
              .where(`"level" = 'district'`, ...filters('district'))
              .groupBy('district', 'target'),
            { table: true },
          ),
        ),
      }),
      24,
      9,
    ),
  );
  // Lagging schools: one row per school, one column per target (1 met / 0 not met), fewest met first.
  const matrix = tablePanel({
    title: '落后学校 (Schools by gap to the targets, lagging first)',
    description:
      'Latest state of every target per school; "达标项" counts the targets met, so the schools furthest from the targets come first. Click a school for its detail.',
    targets: targets(
      q(
        select('last("met") AS "met"')
          .from('compliance')
          .where(...filters(...VARS))
          .groupBy('school', 'target'),
        { table: true },
      ),
    ),
  })
    .transformations([
      {
        id: 'groupingToMatrix',
        options: { columnField: 'target', rowField: 'school', valueField: 'met', emptyValue: 'null' },
      },
      {
        id: 'calculateField',
        options: {
          mode: 'reduceRow',
          reduce: { reducer: 'sum', include: COMPLIANCE_TARGETS.map(([t]) => t) },
          alias: '达标项 (targets met)',
        },
      },
      { id: 'sortBy', options: { sort: [{ field: '达标项 (targets met)', desc: false }] } },
      {
        id: 'organize',
        options: {
          renameByName: Object.fromEntries([['school\\target', '学校 (school)'], ...COMPLIANCE_TARGETS]),
        },
      },
    ])
    .mappings(okMapping('达标', '未达标'))
    .cellOptions({
      type: common.TableCellDisplayMode.ColorBackground,
      mode: common.TableCellBackgroundDisplayMode.Basic,
      applyToRow: false,
    })
    .overrides([
      schoolLinkOverride('学校 (school)', VARS),
      {
        matcher: { id: 'byName', options: '学校 (school)' },
        properties: [{ id: 'custom.cellOptions', value: { type: 'auto' } }],
      },
      {
        matcher: { id: 'byName', options: '达标项 (targets met)' },
        properties: [
          { id: 'mappings', value: [] },
          { id: 'custom.cellOptions', value: { type: 'color-text' } },
          {
            id: 'thresholds',
            value: {
              mode: 'absolute',
              steps: [
                { value: null, color: 'red' },
                { value: Math.ceil(TARGETS.length * 0.7), color: 'orange' },
                { value: TARGETS.length, color: 'green' },
              ],
            },
          },
        ],
      },
    ]);
  d.withPanel(grid.place(matrix, 24, 10));

  // The digital gap: urban vs rural, per target.
  d.withPanel(
    grid.place(
      barGaugePanel({
        title: '城乡差距 (Urban vs rural: % of schools meeting each target)',
        description: 'Share of schools meeting each target, by area tag (urban / rural): the digital gap.',
        unit: 'percent',
        targets: targets(
          q(
            select('mean("met") * 100 AS "pct"')
              .from(
                select('last("met") AS "met"')
                  .from('compliance')
                  .where(...filters(...VARS))
                  .groupBy('school', 'area', 'target'),
              )
              .noTimeFilter()
              .groupBy('area', 'target'),
            { alias: '$tag_area · $tag_target' },
          ),
        ),
      })
        .min(0)
        .max(100)
        .thresholds(
          thresholds([
            [null, 'red'],
            [80, 'orange'],
            [100, 'green'],
          ]),
        ),
      12,
      10,
    ),
  );

  // School-year trend from the daily rollup (beyond the raw retention).
  d.withPanel(
    grid.place(
      timeseriesPanel({
        title: '学年趋势 (Share of school-days meeting each target, daily rollup)',
        description: 'Daily rollup (rollup_1d, kept 3 years) so that school years can be compared.',
        unit: 'percent',
        targets: targets(
          q(
            select('mean("met_mean") * 100')
              .from(rollup('1d', 'compliance'), { raw: true })
              .where(...filters(...VARS))
              .groupByTime('1d', 'target')
              .fill('none'),
            { alias: '$tag_target' },
          ),
        ),
      })
        .timeFrom('365d')
        .min(0)
        .max(100),
      12,
      10,
    ),
  );
  return d;
}
