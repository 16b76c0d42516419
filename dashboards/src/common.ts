/** Shared pieces of the campuswatch dashboards: data source, variables, filters, links, layout, colours. */
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import type * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { ROLLUP_RPS } from '../../collector/src/store/retention.js';
import { InfluxQLQueryBuilder, inRp, type Select, tagMatchesVar } from './influxql.js';

export const DATASOURCE_UID = 'campuswatch-influxdb';
export const DATASOURCE: common.DataSourceRef = { type: 'influxdb', uid: DATASOURCE_UID };

export const UIDS = {
  overview: 'cw-overview',
  school: 'cw-school',
  security: 'cw-security',
  fleet: 'cw-fleet',
} as const;
export type DashboardUid = (typeof UIDS)[keyof typeof UIDS];

export const TAGS = ['campuswatch'];

/** The template variables, in dependency order. */
export const VARIABLES = ['district', 'group', 'school'] as const;
export type VariableName = (typeof VARIABLES)[number];

const LABELS: Record<VariableName, string> = {
  district: '区县 (District)',
  group: '教育集团 (Group)',
  school: '学校 (School)',
};

/**
 * `SHOW TAG VALUES` over `agent` (one point per report, every common tag), restricted by the variables
 * before it: group depends on district, school on district and group. All = `.*` (matches an absent tag).
 */
export function variable(name: VariableName): dashboard.QueryVariableBuilder {
  const before = VARIABLES.slice(0, VARIABLES.indexOf(name));
  const where = before.length > 0 ? ` WHERE ${before.map((v) => tagMatchesVar(v, v)).join(' AND ')}` : '';
  const query = `SHOW TAG VALUES FROM "agent" WITH KEY = "${name}"${where}`;
  const v = new dashboard.QueryVariableBuilder(name)
    .label(LABELS[name])
    .datasource(DATASOURCE)
    .query(query)
    .definition(query)
    .refresh(dashboard.VariableRefresh.OnTimeRangeChanged)
    .sort(dashboard.VariableSort.AlphabeticalAsc)
    .current({ selected: true, text: ['All'], value: ['$__all'] });
  return name === 'school'
    ? v.multi(false).includeAll(false).current({ selected: false, text: '', value: '' })
    : v.multi(true).includeAll(true).allValue('.*');
}

/** WHERE conditions restricting a query to the selected variables. */
export function filters(...vars: VariableName[]): string[] {
  return vars.map((v) => tagMatchesVar(v, v));
}

/**
 * Where a rollup of `measurement` lives, e.g. `"rollup_1d"."compliance"`: in the data source's own database
 * (no database named), so that the same dashboards work in a district's Grafana organisation, whose data
 * source reads only that district's database (deploy/grafana-organisations.md).
 */
export function rollup(interval: keyof typeof ROLLUP_RPS, measurement: string): string {
  return inRp(undefined, ROLLUP_RPS[interval], measurement);
}

/** Query helpers: one target per call, data source set, refIds A, B, C… by position. */
export function q(
  query: Select | string,
  opts: { alias?: string; table?: boolean } = {},
): InfluxQLQueryBuilder {
  const b = new InfluxQLQueryBuilder(query).datasource(DATASOURCE);
  if (opts.alias !== undefined) b.alias(opts.alias);
  if (opts.table) b.format('table');
  return b;
}

export function targets(...queries: InfluxQLQueryBuilder[]): InfluxQLQueryBuilder[] {
  return queries.map((b, i) => b.refId(String.fromCharCode(65 + i)));
}

/** `/d/<uid>?var-…` carrying the given variables (Grafana's `queryparam` format) and the time range. */
export function dashboardUrl(uid: DashboardUid, vars: readonly VariableName[], extra = ''): string {
  const params = [
    ...vars.map((v) => `\${${v}:queryparam}`),
    ...(extra ? [extra] : []),
    `\${__url_time_range}`,
  ];
  return `/d/${uid}?${params.join('&')}`;
}

/** A dashboard-level link that keeps the time range and the current variables. */
export function dashboardLink(
  title: string,
  uid: DashboardUid,
  vars: readonly VariableName[],
): dashboard.DashboardLinkBuilder {
  return new dashboard.DashboardLinkBuilder(title)
    .type(dashboard.DashboardLinkType.Link)
    .url(dashboardUrl(uid, vars))
    .icon('dashboard')
    .tooltip(title)
    .tags([])
    .asDropdown(false)
    .targetBlank(false)
    .includeVars(false)
    .keepTime(false);
}

/** Links to every other campuswatch dashboard, carrying this dashboard's variables. */
export function navLinks(
  self: DashboardUid,
  vars: readonly VariableName[],
): dashboard.DashboardLinkBuilder[] {
  const all: [string, DashboardUid][] = [
    ['达标总览 (Overview)', UIDS.overview],
    ['学校详情 (School)', UIDS.school],
    ['网络安全 (Security)', UIDS.security],
    ['代理状态 (Agent fleet)', UIDS.fleet],
  ];
  return all.filter(([, uid]) => uid !== self).map(([title, uid]) => dashboardLink(title, uid, vars));
}

/** A field override making a table cell (the school id column) a link to the school detail dashboard. */
export function schoolLinkOverride(
  field: string,
  vars: readonly VariableName[],
): {
  matcher: dashboard.MatcherConfig;
  properties: dashboard.DynamicConfigValue[];
} {
  const carried = vars.filter((v) => v !== 'school');
  return {
    matcher: { id: 'byName', options: field },
    properties: [
      {
        id: 'links',
        value: [
          {
            title: '学校详情 (School detail)',
            url: dashboardUrl(UIDS.school, carried, `var-school=\${__data.fields.${field}}`),
          },
        ],
      },
    ],
  };
}

export function thresholds(steps: [number | null, string][]): dashboard.ThresholdsConfigBuilder {
  return new dashboard.ThresholdsConfigBuilder()
    .mode(dashboard.ThresholdsMode.Absolute)
    .steps(steps.map(([value, color]) => ({ value, color })));
}

/** Value mapping 1 → ok text (green), 0 → bad text (red). */
export function okMapping(ok: string, bad: string): dashboard.ValueMapping[] {
  return [
    {
      type: dashboard.MappingType.ValueToText,
      options: { '0': { text: bad, color: 'red', index: 1 }, '1': { text: ok, color: 'green', index: 0 } },
    },
  ];
}

/** Places panels left to right in rows of 24 columns (stable positions, no overlap). */
export class Grid {
  private x = 0;
  private y = 0;
  private rowHeight = 0;

  place<T extends { gridPos(g: dashboard.GridPos): T }>(panel: T, w: number, h: number): T {
    if (this.x + w > 24) {
      this.x = 0;
      this.y += this.rowHeight;
      this.rowHeight = 0;
    }
    panel.gridPos({ x: this.x, y: this.y, w, h });
    this.x += w;
    this.rowHeight = Math.max(this.rowHeight, h);
    return panel;
  }
}

/**
 * The dashboard skeleton every campuswatch dashboard shares: its filter variables (in this order) and the
 * links to the other dashboards carrying them.
 */
export function baseDashboard(
  uid: DashboardUid,
  title: string,
  description: string,
  vars: readonly VariableName[],
): dashboard.DashboardBuilder {
  const d = new dashboard.DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags(TAGS)
    .timezone('browser')
    .editable()
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .time({ from: 'now-24h', to: 'now' })
    .refresh('1m');
  for (const v of vars) d.withVariable(variable(v));
  return d.links(navLinks(uid, vars));
}

export type PanelBuilder = cog.Builder<dashboard.Panel>;
