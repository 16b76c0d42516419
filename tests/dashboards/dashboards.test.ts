import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadIdentity } from '../../agent/src/identity.js';
import {
  continuousQuery,
  ensureRetention,
  ROLLUP_MEASUREMENTS,
  ROLLUP_RPS,
  type RollupInterval,
  rollupSelect,
} from '../../collector/src/store/retention.js';
import { ALERT_RULES } from '../../dashboards/src/alerts.js';
import { buildDashboards, buildFiles, GENERATED_DIR } from '../../dashboards/src/build.js';
import { DATASOURCE_UID, UIDS, VARIABLES } from '../../dashboards/src/common.js';
import type {
  BandwidthResult,
  Ipv6Result,
  ReachabilityResult,
  Report,
  UplinkSnmpResult,
} from '../../protocol/report.js';
import { type Influxd, influxdAvailable, startInfluxd } from '../helpers/influxd.js';
import { makeReport } from '../helpers/reports.js';
import { World, XINGHAI } from '../helpers/world.js';

const PROJECT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SCHEMA_DIR = resolve(PROJECT, '../shared/grafana-jsonschema');

interface Target {
  refId?: string;
  query?: string;
  rawQuery?: boolean;
  datasource?: { uid?: string };
}
interface Panel {
  id?: number;
  type: string;
  title?: string;
  timeFrom?: string;
  targets?: Target[];
  options?: unknown;
  fieldConfig?: {
    defaults?: { custom?: unknown; links?: { url: string }[] };
    overrides?: { properties?: { id: string; value?: unknown }[] }[];
  };
}
interface Dash {
  uid: string;
  title: string;
  panels: Panel[];
  links?: { url?: string; type: string }[];
  templating: { list: { name: string; query?: unknown }[] };
}

interface SchemaFile {
  definitions: Record<string, { properties?: Record<string, unknown> }>;
}

/**
 * Grafana's CUE declares `MatcherConfig.options` and `DynamicConfigValue.value` as `_` (any; the SDK's
 * TypeScript says `any`), but the published JSON Schema renders them as `type: object`. Grafana (and the SDK's
 * own `overrideByName`) store strings, numbers and arrays there (`matcher: { id: "byName", options: "field" }`),
 * so exactly these two properties are set back to "any"; everything else is validated as published.
 */
function relaxAnyAsObject(schema: SchemaFile): void {
  const matcher = schema.definitions.MatcherConfig?.properties;
  const dynamic = schema.definitions.DynamicConfigValue?.properties;
  if (!matcher?.options || !dynamic?.value)
    throw new Error('dashboard schema changed: review relaxAnyAsObject');
  matcher.options = {};
  dynamic.value = {};
}

const dashboards = () => [...buildDashboards().values()] as unknown as Dash[];

describe('dashboards as code', () => {
  it('builds deterministically, and the committed files equal a fresh build (CI drift check)', () => {
    const a = buildFiles();
    const b = buildFiles();
    expect([...a.entries()]).toEqual([...b.entries()]);
    const drift: string[] = [];
    for (const [path, content] of a) {
      if (!existsSync(path)) drift.push(`${path} is missing: run npm run dashboards`);
      else if (readFileSync(path, 'utf8') !== content)
        drift.push(`${path} differs from a fresh build: run npm run dashboards`);
    }
    const expected = new Set(
      [...a.keys()].filter((p) => p.startsWith(GENERATED_DIR)).map((p) => p.slice(GENERATED_DIR.length + 1)),
    );
    for (const name of existsSync(GENERATED_DIR) ? readdirSync(GENERATED_DIR) : []) {
      if (!expected.has(name)) drift.push(`${name} in dashboards/generated is not produced by the build`);
    }
    expect(drift).toEqual([]);
  });

  it('has the four stable uids, Chinese titles with English in parentheses, no random ids or timestamps', () => {
    const ds = dashboards();
    expect(ds.map((d) => d.uid).sort()).toEqual(Object.values(UIDS).sort());
    for (const d of ds) {
      expect(d.title).toMatch(/^\p{Script=Han}.* \([A-Za-z ]+\)$/u);
      expect(d.panels.map((p) => p.id)).toEqual(d.panels.map((_, i) => i + 1));
    }
    const text = [...buildFiles().values()].join('\n');
    expect(text).not.toMatch(/20\d\d-\d\d-\d\dT\d\d:/);
  });

  it('every panel has InfluxQL targets on the campuswatch data source; links carry the variables', () => {
    const problems: string[] = [];
    for (const d of dashboards()) {
      const vars = d.templating.list.map((v) => v.name);
      expect(vars).toEqual(VARIABLES.filter((v) => vars.includes(v)));
      for (const p of d.panels) {
        const where = `${d.uid} / ${p.title}`;
        if (!p.targets || p.targets.length === 0) problems.push(`${where}: no target`);
        for (const t of p.targets ?? []) {
          if (!t.query || t.query.trim() === '') problems.push(`${where}: empty query ${t.refId}`);
          if (t.rawQuery !== true) problems.push(`${where}: ${t.refId} is not a raw InfluxQL query`);
          if (t.datasource?.uid !== DATASOURCE_UID)
            problems.push(`${where}: ${t.refId} has another data source`);
        }
      }
      // Every link to another campuswatch dashboard carries the variables both dashboards have.
      // Dashboard links carry the shared variables; data links (a school row) also set the school.
      const urls: [string, boolean][] = (d.links ?? []).map((l) => [l.url ?? '', false]);
      for (const p of d.panels) {
        for (const o of p.fieldConfig?.overrides ?? []) {
          for (const prop of o.properties ?? []) {
            if (prop.id === 'links')
              urls.push(...(prop.value as { url: string }[]).map((l): [string, boolean] => [l.url, true]));
          }
        }
      }
      expect(urls.length).toBeGreaterThan(0);
      for (const [url, dataLink] of urls) {
        const m = /^\/d\/([a-z-]+)\?/.exec(url);
        if (!m) {
          problems.push(`${d.uid}: link ${url} is not a /d/<uid>? link`);
          continue;
        }
        const target = dashboards().find((x) => x.uid === m[1]);
        if (!target) {
          problems.push(`${d.uid}: link to unknown dashboard ${m[1]}`);
          continue;
        }
        for (const v of target.templating.list.map((x) => x.name)) {
          if (!vars.includes(v) && !(dataLink && v === 'school')) continue;
          const carried = url.includes(`\${${v}:queryparam}`) || url.includes(`var-${v}=`);
          if (!carried) problems.push(`${d.uid}: link ${url} does not carry ${v}`);
        }
        if (!url.includes(`\${__url_time_range}`))
          problems.push(`${d.uid}: link ${url} drops the time range`);
      }
    }
    expect(problems).toEqual([]);
  });

  const schemaSkip = existsSync(join(SCHEMA_DIR, 'dashboard.jsonschema.json'))
    ? undefined
    : `${SCHEMA_DIR} not found (Grafana's dashboard JSON schemas)`;
  it.skipIf(schemaSkip !== undefined)(
    `validates against Grafana's dashboard JSON schema and the panel schemas${schemaSkip ? ` (SKIPPED: ${schemaSkip})` : ''}`,
    () => {
      const ajv = new Ajv({
        strict: false,
        allErrors: true,
        // The published schemas repeat an enum item (ScaleDirection), which Ajv's meta-validation rejects.
        validateSchema: false,
        validateFormats: false,
      });
      const files = readdirSync(SCHEMA_DIR).filter((f) => f.endsWith('.jsonschema.json'));
      for (const f of files) {
        const schema = JSON.parse(readFileSync(join(SCHEMA_DIR, f), 'utf8')) as SchemaFile;
        if (f === 'dashboard.jsonschema.json') relaxAnyAsObject(schema);
        ajv.addSchema(schema, f);
      }
      const validator = (ref: string): ValidateFunction | undefined => {
        const [file] = ref.split('#');
        if (!files.includes(file!)) return undefined;
        try {
          return ajv.getSchema(ref);
        } catch {
          return undefined;
        }
      };
      const dashboardSchema = validator('dashboard.jsonschema.json')!;
      const problems: string[] = [];
      let panelChecks = 0;
      for (const d of dashboards()) {
        const json: unknown = d;
        if (!dashboardSchema(json)) problems.push(`${d.uid}: ${ajv.errorsText(dashboardSchema.errors)}`);
        for (const p of d.panels) {
          const schemaFile = `${p.type.replaceAll('-', '')}.jsonschema.json`; // status-history → statushistory
          const options = validator(`${schemaFile}#/definitions/Options`);
          if (options) {
            panelChecks++;
            if (!options(p.options))
              problems.push(`${d.uid} / ${p.title} options: ${ajv.errorsText(options.errors)}`);
          }
          const custom = validator(`${schemaFile}#/definitions/FieldConfig`);
          if (custom && p.fieldConfig?.defaults?.custom !== undefined) {
            panelChecks++;
            if (!custom(p.fieldConfig.defaults.custom)) {
              problems.push(
                `${d.uid} / ${p.title} fieldConfig.defaults.custom: ${ajv.errorsText(custom.errors)}`,
              );
            }
          }
        }
      }
      expect(problems).toEqual([]);
      expect(panelChecks).toBeGreaterThan(20);
    },
  );
});

describe('retention statements', () => {
  it('rolls the main series up into rollup_1h / rollup_1d with mean/min/max, keeping every tag', () => {
    const m = ROLLUP_MEASUREMENTS.find((x) => x.measurement === 'device')!;
    expect(continuousQuery('campuswatch', m, '1h')).toBe(
      'CREATE CONTINUOUS QUERY "cq_device_1h" ON "campuswatch" BEGIN SELECT mean("up") AS "up_mean", min("up") AS "up_min", max("up") AS "up_max", mean("rtt_ms") AS "rtt_ms_mean", min("rtt_ms") AS "rtt_ms_min", max("rtt_ms") AS "rtt_ms_max", mean("loss_pct") AS "loss_pct_mean", min("loss_pct") AS "loss_pct_min", max("loss_pct") AS "loss_pct_max" INTO "campuswatch"."rollup_1h"."device" FROM "campuswatch"."raw"."device" GROUP BY time(1h), * END',
    );
  });
});

// ---------------------------------------------------------------------------------------------------------

const influxSkip = influxdAvailable();

/** Grafana's `regex` variable format (kbn.regexEscape). */
const regexEscape = (v: string) => v.replace(/[\\^$*+?.()|[\]{}/]/g, '\\$&');

/** Line-protocol escaping of tag keys/values. */
const lpTag = (v: string) => v.replace(/[\\,= ]/g, '\\$&');

describe.skipIf(influxSkip !== undefined)(
  `every panel query returns data from a real agent → collector → InfluxDB run${influxSkip ? ` (SKIPPED: ${influxSkip})` : ''}`,
  () => {
    let influx: Influxd;
    let w: World;
    const db = 'campuswatch';
    let tags: Record<string, string> = {};

    /** InfluxQL over POST (CREATE/ALTER/SELECT INTO need it); returns the raw JSON body, throws on errors. */
    const run = async (q: string): Promise<unknown> => {
      const res = await fetch(`${influx.url}/query?db=${db}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ q }).toString(),
      });
      const body = (await res.json()) as { results?: { error?: string }[]; error?: string };
      const err = body.error ?? body.results?.find((r) => r.error)?.error;
      if (!res.ok || err) throw new Error(`${q}: ${err ?? res.status}`);
      return body;
    };
    const seriesCount = (body: unknown) =>
      ((body as { results?: { series?: unknown[] }[] }).results ?? []).reduce(
        (n, r) => n + (r.series?.length ?? 0),
        0,
      );

    const substitute = (query: string, range: string) =>
      query
        .replaceAll(`\${district:regex}`, regexEscape(tags.district!))
        .replaceAll(`\${group:regex}`, regexEscape(tags.group!))
        .replaceAll(`\${school:regex}`, regexEscape(tags.school!))
        .replaceAll('$timeFilter', `time > now() - ${range}`)
        .replaceAll('$__interval', '1m');

    beforeAll(async () => {
      influx = await startInfluxd();
      w = new World({ influxUrl: influx.url, database: db });
      await w.startCollector();
      // What the collector does at start-up: the database exists, then the policies and rollups.
      await ensureRetention(run, { database: db, rawDays: 90, rollupDays: 1095 });

      // A real agent cycle: agent health, a recording-room device, compliance rows.
      const agent = await w.agent('a');
      await agent.once();

      // Further results from the same agent: speed tests, SNMP, IPv6, a smart classroom device.
      const { token } = loadIdentity(agent.config.state)!;
      const agentId = agent.identity.agentId;
      const post = async (report: Report) => {
        const res = await w.app!.inject({
          method: 'POST',
          url: '/api/v1/reports',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          payload: JSON.stringify(report),
        });
        expect(res.statusCode, res.body).toBe(200);
      };
      for (const minutesAgo of [6, 3]) {
        const base = makeReport({
          agentId,
          schoolId: XINGHAI.id,
          at: new Date(Date.now() - minutesAgo * 60_000),
        });
        const at = base.startedAt;
        const speed = (direction: 'down' | 'up', mbps: number): BandwidthResult => ({
          probe: 'bandwidth',
          target: 'collector',
          outcome: 'ok',
          durationMs: 10_000,
          at,
          method: 'http',
          direction,
          mbps,
          p90Mbps: mbps + 5,
          streams: 4,
          durationS: 10,
          bytes: Math.round((mbps * 1e6 * 10) / 8),
          rttIdleMs: 2,
          rttLoadedMs: 9,
        });
        const snmp = (
          role: UplinkSnmpResult['role'],
          ifName: string,
          speed: number,
          rates: boolean,
        ): UplinkSnmpResult => ({
          probe: 'uplink-snmp',
          target: '核心交换机',
          outcome: 'ok',
          durationMs: 20,
          at,
          device: { name: '核心交换机', address: '10.203.0.1' },
          role,
          ifIndex: ifName.length,
          ifName,
          operUp: true,
          ifSpeedMbps: speed,
          ...(rates ? { inMbps: 120 + minutesAgo, outMbps: 40, utilPct: 12 + minutesAgo } : {}),
        });
        const v6 = (check: Ipv6Result['check'], extra: Partial<Ipv6Result> = {}): Ipv6Result => ({
          probe: 'ipv6',
          target: 'school',
          outcome: 'ok',
          durationMs: 5,
          at,
          check,
          ok: true,
          ms: 4,
          ...extra,
        });
        const smart: ReachabilityResult = {
          probe: 'reachability',
          target: '智慧黑板 1',
          outcome: 'ok',
          durationMs: 1,
          at,
          device: {
            name: '智慧黑板 1',
            address: '127.0.0.1',
            room: '智慧教室 301',
            roomType: 'smart',
            type: 'board',
          },
          check: 'icmp',
          up: true,
          rttMs: 0.2,
          lossPct: 0,
          family: 4,
        };
        await post({
          ...base,
          results: [
            ...base.results,
            smart,
            speed('down', 470 - minutesAgo),
            speed('up', 480 - minutesAgo),
            snmp('uplink', 'ge-0/0/1', 1000, true),
            snmp('core', 'xe-1/0/1', 10_000, false),
            snmp('access', 'ge-1/0/2', 1000, false),
            v6('host-address', { family: 6 }),
            v6('dns-aaaa'),
            v6('service', { service: 'www' }),
            v6('score', { scoreV6: 9.5 - minutesAgo / 10, scoreV4only: 10, degradation: 0.05 }),
          ],
        });
      }

      // The school's common tags, as the collector wrote them.
      const row = (await influx.query('SELECT last("results"), * FROM "agent" GROUP BY *', db))[0]!;
      tags = Object.fromEntries(
        ['district', 'group', 'school', 'school_name', 'size_tier', 'area'].map((k) => [k, String(row[k])]),
      );

      // Findings (not written by the collector yet): one opened, one resolved, one accepted risk; and an
      // agent that went silent half an hour ago.
      const common = Object.entries(tags)
        .map(([k, v]) => `${k}=${lpTag(v)}`)
        .join(',');
      const ns = (minutesAgo: number) => `${(Date.now() - minutesAgo * 60_000) * 1_000_000}`;
      const expires = Math.round(Date.now() / 1000) + 5 * 86_400;
      const lines = [
        `finding,${common},rule=telnet-open,severity=critical,target=10.203.0.1:23,mlps=8.1.4.2 open=0,value=0 ${ns(20)}`,
        `finding,${common},rule=telnet-open,severity=critical,target=10.203.0.1:23,mlps=8.1.4.2 open=1,value=1 ${ns(10)}`,
        `finding,${common},rule=snmp-default-community,severity=high,target=10.203.0.1,mlps=8.1.4.3 open=1,value=1 ${ns(20)}`,
        `finding,${common},rule=snmp-default-community,severity=high,target=10.203.0.1,mlps=8.1.4.3 open=0,value=0 ${ns(10)}`,
        `finding,${common},rule=smb-v1,severity=medium,target=10.203.0.9,mlps=8.1.4.4 open=1,value=1,accepted_until_s=${expires} ${ns(15)}`,
        `agent,${common},agent=ag_silent,version=0.0.9 spool_depth=0,spool_dropped=0,spool_rejected=0,cycle_ms=900,rss_mb=40,lag_s=1,clock_offset_s=0,clock_shifted=0,results=1 ${ns(30)}`,
      ];
      const res = await fetch(`${influx.url}/write?db=${db}&precision=ns`, {
        method: 'POST',
        body: lines.join('\n'),
      });
      expect(res.status, await res.text()).toBe(204);

      // Idempotent: a second run changes nothing and does not fail.
      await ensureRetention(run, { database: db, rawDays: 90, rollupDays: 1095 });

      // The CQ service would run the rollups at the end of each hour/day: backfill them the same way.
      for (const m of ROLLUP_MEASUREMENTS) {
        for (const interval of Object.keys(ROLLUP_RPS) as RollupInterval[]) {
          await run(rollupSelect(db, m, interval, 'time > now() - 3d'));
        }
      }
    }, 120_000);

    afterAll(async () => {
      await w?.cleanup();
      await influx?.cleanup();
    });

    it('creates the raw (default) and rollup policies and one continuous query per series and interval', async () => {
      const rps = await influx.query(`SHOW RETENTION POLICIES ON "${db}"`);
      expect(rps.find((r) => r.name === 'raw')).toMatchObject({ duration: '2160h0m0s', default: true });
      expect(rps.find((r) => r.name === 'rollup_1h')).toMatchObject({
        duration: '26280h0m0s',
        default: false,
      });
      expect(rps.find((r) => r.name === 'rollup_1d')).toMatchObject({
        duration: '26280h0m0s',
        default: false,
      });
      const cqs = (await influx.query('SHOW CONTINUOUS QUERIES')).map((r) => r.name);
      expect(cqs).toHaveLength(ROLLUP_MEASUREMENTS.length * 2);
      // A changed raw retention is applied with ALTER.
      await ensureRetention(run, { database: db, rawDays: 30, rollupDays: 1095 });
      const raw = (await influx.query(`SHOW RETENTION POLICIES ON "${db}"`)).find((r) => r.name === 'raw');
      expect(raw).toMatchObject({ duration: '720h0m0s', default: true });
      await ensureRetention(run, { database: db, rawDays: 90, rollupDays: 1095 });
    });

    it('every dashboard variable and every panel target returns at least one series', async () => {
      const empty: string[] = [];
      let ran = 0;
      for (const d of dashboards()) {
        for (const v of d.templating.list) {
          const body = await run(substitute(String(v.query), '1h'));
          ran++;
          if (seriesCount(body) === 0) empty.push(`${d.uid} variable ${v.name}`);
        }
        for (const p of d.panels) {
          // A panel with a relative time override (e.g. 365d over a rollup) is queried over that range.
          const range = p.timeFrom ?? '1h';
          for (const t of p.targets ?? []) {
            const q = substitute(t.query!, range);
            expect(q).not.toMatch(/\$\{?[a-z_]/i); // no template variable left
            let n = 0;
            try {
              n = seriesCount(await run(q));
            } catch (err) {
              empty.push(`${d.uid} / ${p.title} ${t.refId}: ${(err as Error).message}`);
              continue;
            }
            ran++;
            if (n === 0) empty.push(`${d.uid} / ${p.title} ${t.refId}: no series for ${q}`);
          }
        }
      }
      expect(empty).toEqual([]);
      expect(ran).toBeGreaterThan(40);
    });

    it('every Grafana alert rule query returns series (one per alert instance)', async () => {
      const empty: string[] = [];
      for (const rule of ALERT_RULES) {
        const body = await run(substitute(rule.query.toString(), `${rule.rangeS}s`));
        if (seriesCount(body) === 0) empty.push(rule.uid);
      }
      expect(empty).toEqual([]);
    });

    it('the silent-agent queries see the agent that stopped reporting, and the security trend sees both transitions', async () => {
      const silent = await run(
        substitute(
          'SELECT count("reports") FROM (SELECT last("reports") AS "reports" FROM (SELECT count("results") AS "reports" FROM "agent" WHERE $timeFilter GROUP BY time(5m), "agent" fill(0)) GROUP BY "agent") WHERE "reports" = 0',
          '1h',
        ),
      );
      const silentCount = (silent as { results: { series?: { values: [number, number][] }[] }[] }).results[0]
        ?.series?.[0]?.values[0]?.[1];
      expect(silentCount).toBeGreaterThanOrEqual(1);
      const sec = dashboards().find((d) => d.uid === UIDS.security)!;
      const trend = sec.panels.find((p) => p.title?.includes('opened vs resolved'))!;
      for (const t of trend.targets!) {
        const body = (await run(substitute(t.query!, '1h'))) as {
          results: { series?: { values: [number, number][] }[] }[];
        };
        const total = (body.results[0]?.series?.[0]?.values ?? []).reduce((s, [, v]) => s + (v ?? 0), 0);
        expect(total, t.refId).toBe(1);
      }
    });
  },
);
