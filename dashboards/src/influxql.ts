/**
 * A small InfluxQL (InfluxDB 1.x) layer for the dashboards: the SDK ships no InfluxDB query type, so
 * `InfluxQLQueryBuilder` implements the SDK's `Builder<Dataquery>` (LIBRARY-NOTES) and produces the
 * target Grafana's InfluxDB data source stores for raw InfluxQL: `{ refId, query, rawQuery, resultFormat, alias }`.
 * `select()` composes the InfluxQL text so that filters, time grouping and retention policies are written once.
 */
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import type * as common from '@grafana/grafana-foundation-sdk/common';

export type ResultFormat = 'time_series' | 'table';

/** The InfluxDB data source's query model (raw InfluxQL mode). */
export interface InfluxQLQuery extends cog.Dataquery {
  refId: string;
  datasource?: common.DataSourceRef;
  query: string;
  rawQuery: true;
  resultFormat: ResultFormat;
  alias?: string;
  hide?: boolean;
}

export class InfluxQLQueryBuilder implements cog.Builder<cog.Dataquery> {
  private readonly internal: Omit<InfluxQLQuery, '_implementsDataqueryVariant'>;

  constructor(query: string | Select, refId = 'A') {
    this.internal = { refId, query: String(query), rawQuery: true, resultFormat: 'time_series' };
  }

  refId(refId: string): this {
    this.internal.refId = refId;
    return this;
  }

  datasource(ref: common.DataSourceRef): this {
    this.internal.datasource = ref;
    return this;
  }

  /** Grafana's alias patterns: `$tag_<key>`, `$m` (measurement), `$col` (column). */
  alias(alias: string): this {
    this.internal.alias = alias;
    return this;
  }

  format(format: ResultFormat): this {
    this.internal.resultFormat = format;
    return this;
  }

  build(): InfluxQLQuery {
    // Key order is fixed here so the generated JSON is stable.
    const { refId, datasource, query, rawQuery, resultFormat, alias, hide } = this.internal;
    return {
      refId,
      ...(datasource ? { datasource } : {}),
      query,
      rawQuery,
      resultFormat,
      ...(alias !== undefined ? { alias } : {}),
      ...(hide !== undefined ? { hide } : {}),
      _implementsDataqueryVariant() {},
    };
  }
}

/** Double-quoted InfluxQL identifier. */
export function ident(name: string): string {
  return `"${name.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
}

/** Single-quoted InfluxQL string literal. */
export function str(value: string): string {
  return `'${value.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/** `"tag" =~ /^${var:regex}$/`: a tag matched against a Grafana template variable (All = `.*`). */
export function tagMatchesVar(tag: string, variable: string): string {
  return `${ident(tag)} =~ /^\${${variable}:regex}$/`;
}

/**
 * A measurement in an explicit retention policy, e.g. `"campuswatch"."rollup_1d"."device"`, or without a
 * database (`"rollup_1d"."device"`: the query's own database, the data source's).
 */
export function inRp(database: string | undefined, rp: string, measurement: string): string {
  return `${database === undefined ? '' : `${ident(database)}.`}${ident(rp)}.${ident(measurement)}`;
}

/**
 * `SELECT … FROM … WHERE … AND $timeFilter GROUP BY … fill(…)`, built step by step. `from()` takes a
 * measurement name (quoted here), a pre-rendered `inRp(…)` source, or a nested `Select` (a subquery).
 */
export class Select {
  private fieldsList: string[];
  private source = '';
  private conditions: string[] = [];
  private time = true;
  private groups: string[] = [];
  private fillMode: string | undefined;
  private order: string | undefined;
  private limitN: number | undefined;

  constructor(fields: string[]) {
    this.fieldsList = fields;
  }

  from(source: string | Select, opts: { raw?: boolean } = {}): this {
    if (source instanceof Select) this.source = `(${source.toString()})`;
    else this.source = opts.raw ? source : ident(source);
    return this;
  }

  where(...conditions: string[]): this {
    this.conditions.push(...conditions);
    return this;
  }

  /** Leave out `$timeFilter` (outer queries over a subquery that already has it). */
  noTimeFilter(): this {
    this.time = false;
    return this;
  }

  /** `GROUP BY time(<interval>)` first, then tags (quoted). */
  groupByTime(interval: string, ...tags: string[]): this {
    this.groups = [`time(${interval})`, ...tags.map(ident)];
    return this;
  }

  groupBy(...tags: string[]): this {
    this.groups = tags.map(ident);
    return this;
  }

  fill(mode: 'null' | 'none' | 'previous' | 'linear' | number): this {
    this.fillMode = String(mode);
    return this;
  }

  orderByTimeDesc(): this {
    this.order = 'time DESC';
    return this;
  }

  limit(n: number): this {
    this.limitN = n;
    return this;
  }

  toString(): string {
    if (this.source === '') throw new Error('InfluxQL SELECT without FROM');
    const where = [...this.conditions, ...(this.time ? ['$timeFilter'] : [])];
    let q = `SELECT ${this.fieldsList.join(', ')} FROM ${this.source}`;
    if (where.length > 0) q += ` WHERE ${where.join(' AND ')}`;
    if (this.groups.length > 0) q += ` GROUP BY ${this.groups.join(', ')}`;
    if (this.fillMode !== undefined) q += ` fill(${this.fillMode})`;
    if (this.order !== undefined) q += ` ORDER BY ${this.order}`;
    if (this.limitN !== undefined) q += ` LIMIT ${this.limitN}`;
    return q;
  }
}

export function select(...fields: string[]): Select {
  return new Select(fields);
}
