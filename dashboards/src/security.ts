/** 3. 网络安全 (Security): open findings by severity, rule and 等保 clause; trends; schools; accepted risks. */
import * as common from '@grafana/grafana-foundation-sdk/common';
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import {
  baseDashboard,
  filters,
  Grid,
  q,
  schoolLinkOverride,
  targets,
  thresholds,
  UIDS,
  type VariableName,
} from './common.js';
import type { TargetsConfig } from './goals.js';
import { select } from './influxql.js';
import { barGaugePanel, tablePanel, timeseriesPanel } from './panels.js';

const VARS: VariableName[] = ['district', 'group'];

/** The latest `open` of every finding (school × rule × target), as a subquery. */
function latestFindings(...extraTags: string[]) {
  return select('last("open") AS "open"')
    .from('finding')
    .where(...filters(...VARS))
    .groupBy('school', 'rule', 'target', ...extraTags);
}

function openBy(tag: string, title: string, description: string) {
  return barGaugePanel({
    title,
    description,
    targets: targets(
      q(select('sum("open") AS "open"').from(latestFindings(tag)).noTimeFilter().groupBy(tag), {
        alias: `$tag_${tag}`,
      }),
    ),
  })
    .min(0)
    .thresholds(
      thresholds([
        [null, 'green'],
        [1, 'red'],
      ]),
    );
}

/** Transitions of `open` per finding and interval: +1 opened, −1 resolved. */
function transitions() {
  return select('difference(last("open")) AS "change"')
    .from('finding')
    .where(...filters(...VARS))
    .groupByTime('$__interval', 'school', 'rule', 'target')
    .fill('none');
}

export function security(_t: TargetsConfig): dashboard.DashboardBuilder {
  const grid = new Grid();
  const d = baseDashboard(
    UIDS.security,
    '网络安全 (Security)',
    'Security findings of the 等保 2.0 baseline checks: open by severity, rule and clause; opened vs resolved; schools; accepted risks.',
    VARS,
  );

  d.withPanel(
    grid.place(
      openBy('severity', '按严重度 (Open findings by severity)', 'Open findings per severity.'),
      8,
      8,
    ),
  );
  d.withPanel(
    grid.place(openBy('rule', '按规则 (Open findings by rule)', 'Open findings per baseline rule.'), 8, 8),
  );
  d.withPanel(
    grid.place(
      openBy(
        'mlps',
        '按等保条款 (Open findings by 等保 clause)',
        'Open findings per GB/T 22239-2019 clause.',
      ),
      8,
      8,
    ),
  );

  d.withPanel(
    grid.place(
      timeseriesPanel({
        title: '新增与关闭 (Findings opened vs resolved)',
        description: 'Per interval: findings that turned open (opened) and that turned closed (resolved).',
        targets: targets(
          q(
            select('count("change")')
              .from(transitions())
              .where('"change" > 0')
              .noTimeFilter()
              .groupByTime('$__interval')
              .fill(0),
            { alias: '新增 (opened)' },
          ),
          q(
            select('count("change")')
              .from(transitions())
              .where('"change" < 0')
              .noTimeFilter()
              .groupByTime('$__interval')
              .fill(0),
            { alias: '关闭 (resolved)' },
          ),
        ),
      })
        .drawStyle(common.GraphDrawStyle.Bars)
        .overrideByName('新增 (opened)', [{ id: 'color', value: { mode: 'fixed', fixedColor: 'red' } }])
        .overrideByName('关闭 (resolved)', [{ id: 'color', value: { mode: 'fixed', fixedColor: 'green' } }]),
      12,
      9,
    ),
  );

  d.withPanel(
    grid.place(
      tablePanel({
        title: '未关闭发现最多的学校 (Top schools by open findings)',
        description:
          'Schools ordered by open findings, critical and high counted separately. Click a school for its detail.',
        targets: targets(
          q(
            select('sum("open") AS "open"')
              .from(latestFindings('school_name'))
              .noTimeFilter()
              .groupBy('school', 'school_name'),
            { table: true },
          ),
        ),
      })
        .transformations([{ id: 'sortBy', options: { sort: [{ field: 'open', desc: true }] } }])
        .overrides([schoolLinkOverride('school', VARS)])
        .overrideByName('Time', [{ id: 'custom.hidden', value: true }])
        .overrideByName('open', [
          {
            id: 'thresholds',
            value: {
              mode: 'absolute',
              steps: [
                { value: null, color: 'green' },
                { value: 1, color: 'red' },
              ],
            },
          },
          { id: 'custom.cellOptions', value: { type: 'color-background' } },
        ]),
      12,
      9,
    ),
  );

  d.withPanel(
    grid.place(
      tablePanel({
        title: '即将到期的风险接受 (Accepted risks expiring soon)',
        description:
          'Findings whose risk was accepted (field accepted_until_s on finding, epoch seconds), soonest expiry first; red within 7 days.',
        targets: targets(
          q(
            select('last("accepted_until_s") * 1000 AS "accepted_until"')
              .from('finding')
              .where('"accepted_until_s" > 0', ...filters(...VARS))
              .groupBy('school', 'school_name', 'rule', 'severity', 'mlps'),
            { table: true },
          ),
        ),
      })
        .transformations([{ id: 'sortBy', options: { sort: [{ field: 'accepted_until', desc: false }] } }])
        .overrides([schoolLinkOverride('school', VARS)])
        .overrideByName('Time', [{ id: 'custom.hidden', value: true }])
        .overrideByName('accepted_until', [
          { id: 'unit', value: 'dateTimeAsLocal' },
          { id: 'displayName', value: '接受至 (accepted until)' },
        ]),
      24,
      8,
    ),
  );
  return d;
}
