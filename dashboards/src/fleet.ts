/** 4. 代理状态 (Agent fleet): last report, versions, spool, cycle time, silent agents. */
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
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
import { barGaugePanel, statPanel, statusHistoryPanel, tablePanel, timeseriesPanel } from './panels.js';

const VARS: VariableName[] = ['district', 'group'];
const F = () => filters(...VARS);

/** Minutes without a report after which an agent counts as silent (3 report intervals of 60 s, rounded up). */
export const SILENT_AFTER_MIN = 5;

export function fleet(_t: TargetsConfig): dashboard.DashboardBuilder {
  const grid = new Grid();
  const d = baseDashboard(
    UIDS.fleet,
    '代理状态 (Agent fleet)',
    'The agents in the schools: last report, versions, spool, cycle time, agents that went silent.',
    VARS,
  );

  // Silent now: per agent, reports in the last SILENT_AFTER_MIN minutes (fill(0) keeps agents seen in the
  // range but silent since); an agent whose latest bucket is 0 is silent.
  const recent = select('count("results") AS "reports"')
    .from('agent')
    .where(...F())
    .groupByTime(`${SILENT_AFTER_MIN}m`, 'agent', 'school', 'school_name')
    .fill(0);
  d.withPanel(
    grid.place(
      statPanel({
        title: '当前沉默的代理 (Agents silent now)',
        description: `Agents that reported in the time range but not in the last ${SILENT_AFTER_MIN} minutes (3 report intervals).`,
        targets: targets(
          q(
            select('count("reports") AS "silent"')
              .from(select('last("reports") AS "reports"').from(recent).noTimeFilter().groupBy('agent'))
              .where('"reports" = 0')
              .noTimeFilter(),
          ),
        ),
      })
        .noValue('0')
        .thresholds(
          thresholds([
            [null, 'green'],
            [1, 'red'],
          ]),
        ),
      6,
      8,
    ),
  );
  d.withPanel(
    grid.place(
      barGaugePanel({
        title: '版本分布 (Version spread)',
        description: 'Agents per version (latest report of each agent).',
        targets: targets(
          q(
            select('count("results") AS "agents"')
              .from(
                select('last("results") AS "results"')
                  .from('agent')
                  .where(...F())
                  .groupBy('agent', 'version'),
              )
              .noTimeFilter()
              .groupBy('version'),
            { alias: '$tag_version' },
          ),
        ),
      }).colorScheme(new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.PaletteClassic)),
      6,
      8,
    ),
  );
  d.withPanel(
    grid.place(
      tablePanel({
        title: '最后上报 (Last report per agent)',
        description:
          'Time of the latest report of each agent, its version, lag and spool. Click a school for its detail.',
        targets: targets(
          q(
            select(
              'last("results") AS "results"',
              'last("lag_s") AS "lag_s"',
              'last("spool_depth") AS "spool_depth"',
              'last("clock_offset_s") AS "clock_offset_s"',
            )
              .from('agent')
              .where(...F())
              .groupBy('school', 'school_name', 'agent', 'version'),
            { table: true },
          ),
        ),
      })
        .transformations([{ id: 'sortBy', options: { sort: [{ field: 'Time', desc: false }] } }])
        .overrides([schoolLinkOverride('school', VARS)])
        .overrideByName('Time', [{ id: 'displayName', value: '最后上报 (last report)' }])
        .overrideByName('lag_s', [{ id: 'unit', value: 's' }])
        .overrideByName('clock_offset_s', [{ id: 'unit', value: 's' }]),
      12,
      8,
    ),
  );
  d.withPanel(
    grid.place(
      statusHistoryPanel({
        title: '上报心跳 (Report heartbeat; red = silent)',
        description: `Reports per ${SILENT_AFTER_MIN} minutes and agent; 0 means the agent was silent.`,
        targets: targets(q(recent, { alias: '$tag_school_name $tag_agent' })),
      })
        .mappings([
          {
            type: dashboard.MappingType.ValueToText,
            options: { '0': { text: '沉默 (silent)', color: 'red', index: 0 } },
          },
        ])
        .thresholds(
          thresholds([
            [null, 'red'],
            [1, 'green'],
          ]),
        ),
      24,
      8,
    ),
  );
  d.withPanel(
    grid.place(
      timeseriesPanel({
        title: '缓存队列 (Spool depth and drops)',
        description: 'Reports waiting in the agent spool, and reports dropped because the spool was full.',
        targets: targets(
          q(
            select('max("spool_depth")')
              .from('agent')
              .where(...F())
              .groupByTime('$__interval', 'agent')
              .fill('none'),
            { alias: 'depth $tag_agent' },
          ),
          q(
            select('max("spool_dropped")')
              .from('agent')
              .where(...F())
              .groupByTime('$__interval', 'agent')
              .fill('none'),
            { alias: 'dropped $tag_agent' },
          ),
        ),
      }),
      12,
      9,
    ),
  );
  d.withPanel(
    grid.place(
      timeseriesPanel({
        title: '采集周期 (Cycle time)',
        description: 'Duration of one probe cycle per agent.',
        unit: 'ms',
        targets: targets(
          q(
            select('mean("cycle_ms")')
              .from('agent')
              .where(...F())
              .groupByTime('$__interval', 'agent')
              .fill('none'),
            { alias: '$tag_agent' },
          ),
        ),
      }),
      12,
      9,
    ),
  );
  return d;
}
