/**
 * 专递课堂 (live class) on the school dashboard: delay, jitter and loss to the city's live-class platform,
 * each beside the limit the agent's train was measured against (the `live_class` points carry it).
 */
import * as common from '@grafana/grafana-foundation-sdk/common';
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { filters, type Grid, q, targets, type VariableName } from './common.js';
import { select } from './influxql.js';
import { LIMIT_LINE, timeseriesPanel } from './panels.js';

/** `mean(field)` of live_class per interval and platform, aliased `<what> $tag_target`. */
function series(field: string, what: string, vars: readonly VariableName[]) {
  return q(
    select(`mean("${field}")`)
      .from('live_class')
      .where(...filters(...vars))
      .groupByTime('$__interval')
      .groupBy('target')
      .fill('none'),
    { alias: `${what} $tag_target` },
  );
}

/** Two panels in one row: delay and jitter (ms) with their limits, and loss (%) with its limit. */
export function liveClassPanels(
  d: dashboard.DashboardBuilder,
  grid: Grid,
  vars: readonly VariableName[],
): void {
  d.withPanel(
    grid.place(
      timeseriesPanel({
        title: '专递课堂时延与抖动 (Live-class delay and jitter)',
        description:
          'Round trip, one-way delay (RTT/2) and RFC 3550 jitter of the packet train to the live-class platform; the dashed limits are the ones the agent measured against (one way ≤ 150 ms, ITU-T G.114; jitter ≤ 30 ms unless configured).',
        unit: 'ms',
        targets: targets(
          series('rtt_ms', 'RTT', vars),
          series('one_way_ms', '单向 one-way', vars),
          series('jitter_ms', '抖动 jitter', vars),
          series('max_one_way_ms', '单向上限 one-way limit', vars),
          series('max_jitter_ms', '抖动上限 jitter limit', vars),
        ),
      })
        .min(0)
        .showPoints(common.VisibilityMode.Always)
        .overrideByRegexp('.*limit.*', LIMIT_LINE),
      12,
      8,
    ),
  );
  d.withPanel(
    grid.place(
      timeseriesPanel({
        title: '专递课堂丢包 (Live-class loss)',
        description:
          'Packets of the train not echoed before the deadline, % of the train; the dashed limit is the one the agent measured against (≤ 1 % unless configured).',
        unit: 'percent',
        targets: targets(
          series('loss_pct', '丢包 loss', vars),
          series('max_loss_pct', '丢包上限 loss limit', vars),
        ),
      })
        .min(0)
        .showPoints(common.VisibilityMode.Always)
        .overrideByRegexp('.*limit.*', LIMIT_LINE),
      12,
      8,
    ),
  );
}
