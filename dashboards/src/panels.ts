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

const last = () => new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false);

export function statPanel(b: Basics & { unit?: string }): stat.PanelBuilder {
  return new stat.PanelBuilder()
    .title(b.title)
    .description(b.description)
    .datasource(DATASOURCE)
    .targets(b.targets)
    .unit(b.unit ?? 'none')
    .reduceOptions(last())
    .colorMode(common.BigValueColorMode.Background)
    .graphMode(common.BigValueGraphMode.None);
}

export function gaugePanel(b: Basics & { unit: string; min: number; max: number }): gauge.PanelBuilder {
  return new gauge.PanelBuilder()
    .title(b.title)
    .description(b.description)
    .datasource(DATASOURCE)
    .targets(b.targets)
    .unit(b.unit)
    .min(b.min)
    .max(b.max)
    .reduceOptions(last())
    .showThresholdMarkers(true);
}

export function barGaugePanel(b: Basics & { unit?: string }): bargauge.PanelBuilder {
  return new bargauge.PanelBuilder()
    .title(b.title)
    .description(b.description)
    .datasource(DATASOURCE)
    .targets(b.targets)
    .unit(b.unit ?? 'none')
    .reduceOptions(last())
    .orientation(common.VizOrientation.Horizontal)
    .displayMode(common.BarGaugeDisplayMode.Basic);
}

export function timeseriesPanel(b: Basics & { unit?: string }): timeseries.PanelBuilder {
  return new timeseries.PanelBuilder()
    .title(b.title)
    .description(b.description)
    .datasource(DATASOURCE)
    .targets(b.targets)
    .unit(b.unit ?? 'none')
    .spanNulls(true)
    .legend(
      new common.VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(common.LegendDisplayMode.List)
        .placement(common.LegendPlacement.Bottom)
        .calcs([]),
    )
    .tooltip(
      new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.None),
    );
}

export function tablePanel(b: Basics): table.PanelBuilder {
  return new table.PanelBuilder()
    .title(b.title)
    .description(b.description)
    .datasource(DATASOURCE)
    .targets(b.targets);
}

export function statusHistoryPanel(b: Basics): statushistory.PanelBuilder {
  return new statushistory.PanelBuilder()
    .title(b.title)
    .description(b.description)
    .datasource(DATASOURCE)
    .targets(b.targets)
    .showValue(common.VisibilityMode.Never)
    .rowHeight(0.9)
    .legend(
      new common.VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(common.LegendDisplayMode.List)
        .placement(common.LegendPlacement.Bottom)
        .calcs([]),
    )
    .tooltip(
      new common.VizTooltipOptionsBuilder()
        .mode(common.TooltipDisplayMode.Single)
        .sort(common.SortOrder.None),
    );
}
