/** 1. 教育信息化达标总览 (District overview): how far the schools of a district/group are from the targets. */
import * as common from '@grafana/grafana-foundation-sdk/common';
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import {
  baseDashboard,
  filters,
  Grid,
  navLinks,
  okMapping,
  q,
  rollup,
  schoolLinkOverride,
  targets,
  thresholds,
  UIDS,
  type VariableName,
  variable,
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

/** Targets of the compliance measurement (collector/src/targets.ts) and their labels. */
export const COMPLIANCE_TARGETS: [string, string][] = [
  ['uplink_bandwidth', '上行带宽 (Uplink)'],
  ['backbone', '万兆主干千兆到桌面 (Backbone)'],
  ['ipv6', 'IPv6'],
  ['recording_room', '录播室 (Recording room)'],
  ['smart_classroom', '智慧教室 (Smart classroom)'],
  ['device_availability', '设备可用率 (Availability)'],
  ['security', '网络安全 (Security)'],
];

/** % of the selected schools whose latest compliance row for `target` is met. */
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
  )
    .withVariable(variable('district'))
    .withVariable(variable('group'))
    .links(navLinks(UIDS.overview, VARS));

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
        `录播室达标率 (% with a working recording room, goal ${t.recordingRoom.districtGoalPct}%)`,
        'recording_room',
        `智慧教育创新发展行动: ${t.recordingRoom.districtGoalPct}% of schools have at least ${t.recordingRoom.minPerSchool} automatic recording room whose devices are up.`,
        t.recordingRoom.districtGoalPct,
      ),
      4,
      5,
    ),
  );
  d.withPanel(
    grid.place(
      pctGauge(
        `智慧教室达标率 (% with a working smart classroom, goal ${t.smartClassroom.districtGoalPct}%)`,
        'smart_classroom',
        `${t.smartClassroom.districtGoalPct}% of schools have at least ${t.smartClassroom.minPerSchool} smart classroom whose devices are up.`,
        t.smartClassroom.districtGoalPct,
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
                { value: 5, color: 'orange' },
                { value: 7, color: 'green' },
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
