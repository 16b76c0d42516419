/** Small panel factories: every panel gets the data source, a description and its targets. */
import * as bargauge from '@grafana/grafana-foundation-sdk/bargauge';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as gauge from '@grafana/grafana-foundation-sdk/gauge';
import * as stat from '@grafana/grafana-foundation-sdk/stat';
import * as statushistory from '@grafana/grafana-foundation-sdk/statushistory';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { DATASOURCE } from './common.js';
import type { InfluxQLQueryBuilder } from './influxql.js';

interface Basics {
  title: string;
  description: string;
  targets: InfluxQLQueryBuilder[];
}

/** What every panel builder has: its title, description, data source and queries. */
interface PanelPreamble<P> {
  title(title: string): P;
  description(description: string): P;
  datasource(ref: common.DataSourceRef): P;
  targets(targets: InfluxQLQueryBuilder[]): P;
}

/** A panel's title, description, the campuswatch data source and its queries. */
function basics<P extends PanelPreamble<P>>(panel: P, b: Basics): P {
  return panel.title(b.title).description(b.description).datasource(DATASOURCE).targets(b.targets);
}

const last = () => new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false);

/** A list legend below the graph, without calculations. */
const bottomLegend = () =>
  new common.VizLegendOptionsBuilder()
    .showLegend(true)
    .displayMode(common.LegendDisplayMode.List)
    .placement(common.LegendPlacement.Bottom)
    .calcs([]);

const tooltip = (mode: common.TooltipDisplayMode) =>
  new common.VizTooltipOptionsBuilder().mode(mode).sort(common.SortOrder.None);

export function statPanel(b: Basics & { unit?: string }): stat.PanelBuilder {
  return basics(new stat.PanelBuilder(), b)
    .unit(b.unit ?? 'none')
    .reduceOptions(last())
    .colorMode(common.BigValueColorMode.Background)
    .graphMode(common.BigValueGraphMode.None);
}

export function gaugePanel(b: Basics & { unit: string; min: number; max: number }): gauge.PanelBuilder {
  return basics(new gauge.PanelBuilder(), b)
    .unit(b.unit)
    .min(b.min)
    .max(b.max)
    .reduceOptions(last())
    .showThresholdMarkers(true);
}

export function barGaugePanel(b: Basics & { unit?: string }): bargauge.PanelBuilder {
  return basics(new bargauge.PanelBuilder(), b)
    .unit(b.unit ?? 'none')
    .reduceOptions(last())
    .orientation(common.VizOrientation.Horizontal)
    .displayMode(common.BarGaugeDisplayMode.Basic);
}

export function timeseriesPanel(b: Basics & { unit?: string }): timeseries.PanelBuilder {
  return basics(new timeseries.PanelBuilder(), b)
    .unit(b.unit ?? 'none')
    .spanNulls(true)
    .legend(bottomLegend())
    .tooltip(tooltip(common.TooltipDisplayMode.Multi));
}

export function tablePanel(b: Basics): table.PanelBuilder {
  return basics(new table.PanelBuilder(), b);
}

export function statusHistoryPanel(b: Basics): statushistory.PanelBuilder {
  return basics(new statushistory.PanelBuilder(), b)
    .showValue(common.VisibilityMode.Never)
    .rowHeight(0.9)
    .legend(bottomLegend())
    .tooltip(tooltip(common.TooltipDisplayMode.Single));
}

/** How a limit or goal line is drawn over a series: dashed, without points. */
export const LIMIT_LINE: { id: string; value: unknown }[] = [
  { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
  { id: 'custom.showPoints', value: 'never' },
];
