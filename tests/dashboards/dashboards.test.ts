import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { loadIdentity } from '../../agent/src/identity.js';
import { buildApp } from '../../collector/src/app.js';
import { publishCompliance } from '../../collector/src/compliance/refresh.js';
import {
  continuousQuery,
  ensureRetention,
  ROLLUP_MEASUREMENTS,
  ROLLUP_RPS,
  type RollupInterval,
  rollupSelect,
} from '../../collector/src/store/retention.js';
import { ALERT_FOLDER, alertRules } from '../../dashboards/src/alerts.js';
import {
  ALERTING_FILE,
  buildDashboards,
  buildFiles,
  DASHBOARDS_DIR,
  GENERATED_DIR,
} from '../../dashboards/src/build.js';
import { DATASOURCE_UID, UIDS, VARIABLES } from '../../dashboards/src/common.js';
import { loadGoals, type TargetsConfig } from '../../dashboards/src/goals.js';
import { xmlEscape } from '../../dashboards/src/layout-svg.js';
import type {
  BandwidthResult,
  Ipv6Result,
  LiveClassResult,
  ReachabilityResult,
  Report,
  UplinkSnmpResult,
} from '../../protocol/report.js';
import type { School } from '../../protocol/school.js';
import { type Influxd, influxdAvailable, startInfluxd } from '../helpers/influxd.js';
import { makeReport } from '../helpers/reports.js';
import { skipping } from '../helpers/skip.js';
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
  description?: string;
  timeFrom?: string;
  gridPos?: { x: number; y: number; w: number; h: number };
  datasource?: { type?: string; uid?: string };
  targets?: (Target & { resultFormat?: string })[];
  options?: unknown;
  fieldConfig?: {
    defaults?: {
      custom?: unknown;
      links?: { url: string }[];
      thresholds?: { steps: { value: number | null; color: string }[] };
    };
    overrides?: {
      matcher?: { id: string; options?: unknown };
      properties?: { id: string; value?: unknown }[];
    }[];
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
  it.skipIf(skipping(schemaSkip, 'dashboard schema'))(
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

// --- structure, goals, provisioning, pictures -----------------------------------------------------------

const TARGETS_YAML = join(PROJECT, 'config', 'targets.yaml');
/** The goals as the file states them, read with the yaml package (not through the collector's loader). */
const fileGoals = () => parseYaml(readFileSync(TARGETS_YAML, 'utf8')) as TargetsConfig;

/** The step at which a goal panel turns green. */
const greenAt = (p: Panel) =>
  p.fieldConfig?.defaults?.thresholds?.steps.find((s) => s.color === 'green' && s.value !== null)?.value;

/**
 * Stat and gauge panels that draw a goal: [dashboard, title prefix, the goal in targets.yaml]. Uplink and
 * backbone have no district goal in targets.yaml: every school must meet them (100 %).
 */
const GOAL_PANELS: [string, string, (t: TargetsConfig) => number][] = [
  [UIDS.overview, '上行带宽达标率', () => 100],
  [UIDS.overview, 'IPv6 就绪率', (t) => t.ipv6.districtGoalPct],
  [UIDS.overview, '录播室建有率', (t) => t.recordingRoom.districtGoalPct],
  [
    UIDS.overview,
    '录播室可用率',
    (t) => t.recordingRoom.workingDistrictGoalPct ?? t.recordingRoom.districtGoalPct,
  ],
  [UIDS.overview, '智慧教室建有率', (t) => t.smartClassroom.districtGoalPct],
  [
    UIDS.overview,
    '智慧教室可用率',
    (t) => t.smartClassroom.workingDistrictGoalPct ?? t.smartClassroom.districtGoalPct,
  ],
  [UIDS.overview, '班班通达标率', (t) => t.interactiveClassrooms.districtGoalPct ?? 100],
  [UIDS.overview, '无线覆盖达标率', (t) => t.wirelessCoverage.districtGoalPct ?? 100],
  [UIDS.overview, '校校通', (t) => t.connected.districtGoalPct],
  [UIDS.overview, '多媒体教室生均达标率', (t) => t.multimediaRooms.districtGoalPct ?? 100],
  [UIDS.overview, '主干达标率', () => 100],
  [UIDS.overview, '专递课堂达标率', (t) => t.liveClass.districtGoalPct ?? 100],
  [UIDS.school, '教学时段设备可用率', (t) => t.deviceAvailability.minPct],
];

function overrideSteps(p: Panel, field: string): (number | null)[] {
  const o = p.fieldConfig?.overrides?.find((x) => x.matcher?.id === 'byName' && x.matcher.options === field);
  const th = o?.properties?.find((x) => x.id === 'thresholds')?.value as
    | { steps: { value: number | null; color: string }[] }
    | undefined;
  return (th?.steps ?? []).filter((s) => s.color === 'green').map((s) => s.value);
}

describe('dashboard structure', () => {
  it('uids are unique across dashboards and alert rules; panel ids unique within a dashboard', () => {
    const ds = dashboards();
    const uids = [...ds.map((d) => d.uid), ...alertRules(loadGoals()).map((r) => r.uid)];
    expect(new Set(uids).size).toBe(uids.length);
    for (const d of ds) {
      const ids = d.panels.map((p) => p.id);
      expect(new Set(ids).size, d.uid).toBe(ids.length);
    }
  });

  it('panels lie inside the 24-column grid and no two gridPos overlap', () => {
    const problems: string[] = [];
    for (const d of dashboards()) {
      const ps = d.panels;
      for (const p of ps) {
        const g = p.gridPos;
        if (!g) {
          problems.push(`${d.uid} / ${p.title}: no gridPos`);
          continue;
        }
        if (g.x < 0 || g.y < 0 || g.w < 1 || g.h < 1 || g.x + g.w > 24)
          problems.push(`${d.uid} / ${p.title}: gridPos ${JSON.stringify(g)} outside the grid`);
      }
      for (let i = 0; i < ps.length; i++) {
        for (let j = i + 1; j < ps.length; j++) {
          const a = ps[i]!.gridPos!;
          const b = ps[j]!.gridPos!;
          if (a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h)
            problems.push(`${d.uid}: "${ps[i]!.title}" overlaps "${ps[j]!.title}"`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('every panel and every target uses the provisioned data source uid', () => {
    const provisioned = (
      parseYaml(readFileSync(join(DASHBOARDS_DIR, 'provisioning/datasources/campuswatch.yaml'), 'utf8')) as {
        datasources: { uid: string }[];
      }
    ).datasources.map((x) => x.uid);
    expect(provisioned).toEqual([DATASOURCE_UID]);
    const problems: string[] = [];
    for (const d of dashboards()) {
      for (const p of d.panels) {
        if (p.datasource?.uid !== DATASOURCE_UID || p.datasource.type !== 'influxdb')
          problems.push(`${d.uid} / ${p.title}: panel data source ${JSON.stringify(p.datasource)}`);
        for (const t of p.targets ?? [])
          if (t.datasource?.uid !== DATASOURCE_UID) problems.push(`${d.uid} / ${p.title} ${t.refId}`);
      }
      for (const v of d.templating.list as { name: string; datasource?: { uid?: string } }[])
        if (v.datasource?.uid !== DATASOURCE_UID) problems.push(`${d.uid} variable ${v.name}`);
    }
    expect(problems).toEqual([]);
  });

  it('every link (dashboard links, data links) targets a generated dashboard', () => {
    const uids = new Set(dashboards().map((d) => d.uid));
    const problems: string[] = [];
    let links = 0;
    for (const d of dashboards()) {
      const urls = (d.links ?? []).map((l) => l.url ?? '');
      for (const p of d.panels) {
        urls.push(...(p.fieldConfig?.defaults?.links ?? []).map((l) => l.url));
        for (const o of p.fieldConfig?.overrides ?? [])
          for (const prop of o.properties ?? [])
            if (prop.id === 'links') urls.push(...(prop.value as { url: string }[]).map((l) => l.url));
      }
      for (const url of urls) {
        links++;
        const uid = /^\/d\/([A-Za-z0-9_-]+)[?/]/.exec(url)?.[1];
        if (!uid || !uids.has(uid) || !existsSync(join(GENERATED_DIR, `${uid}.json`)))
          problems.push(`${d.uid}: ${url}`);
      }
    }
    expect(problems).toEqual([]);
    expect(links).toBeGreaterThan(10);
  });

  it('stat and gauge thresholds are the goals of config/targets.yaml (read at build time)', () => {
    const t = fileGoals();
    const problems: string[] = [];
    const ds = dashboards();
    for (const d of ds) {
      for (const p of d.panels.filter((x) => x.type === 'stat' || x.type === 'gauge')) {
        const steps = p.fieldConfig?.defaults?.thresholds?.steps ?? [];
        const goal = GOAL_PANELS.find(([uid, prefix]) => uid === d.uid && p.title?.startsWith(prefix));
        if (goal) {
          if (greenAt(p) !== goal[2](t))
            problems.push(`${d.uid} / ${p.title}: green at ${greenAt(p)}, targets.yaml says ${goal[2](t)}`);
          continue;
        }
        // Not a goal panel: a count where anything above zero is bad, or a plain value without colours.
        const isCount =
          JSON.stringify(steps) ===
          JSON.stringify([
            { color: 'green', value: null },
            { color: 'red', value: 1 },
          ]);
        const options = p.options as { colorMode?: string } | undefined;
        if (!isCount && options?.colorMode !== 'none')
          problems.push(
            `${d.uid} / ${p.title}: thresholds ${JSON.stringify(steps)} are not from targets.yaml`,
          );
      }
    }
    for (const [uid, prefix] of GOAL_PANELS)
      if (!ds.find((d) => d.uid === uid)?.panels.some((p) => p.title?.startsWith(prefix)))
        problems.push(`${uid}: no panel "${prefix}"`);
    // Goal-coloured panels of other types and table cells.
    const school = ds.find((d) => d.uid === UIDS.school)!;
    const ipv6 = school.panels.find((p) => p.title?.startsWith('IPv6 得分'))!;
    expect(greenAt(ipv6)).toBe(t.ipv6.minScore);
    const avail = school.panels.find((p) => p.title?.startsWith('设备可用率'))!;
    expect(overrideSteps(avail, 'availability_pct')).toEqual([t.deviceAvailability.minPct]);
    const ports = school.panels.find((p) => p.title?.startsWith('端口速率'))!;
    expect(overrideSteps(ports, 'speed_mbps')).toEqual([t.backbone.accessMinMbps]);
    // Titles that name a goal name the file's.
    const overview = ds.find((d) => d.uid === UIDS.overview)!;
    expect(overview.panels.map((p) => p.title)).toContain(
      `录播室建有率 (% with a recording room, goal ${t.recordingRoom.districtGoalPct}%)`,
    );
    // Alert rules too.
    const rules = alertRules(loadGoals());
    expect(rules.find((r) => r.uid === 'cw-uplink-below-target')?.evaluator.param).toBe(t.uplink.tolerance);
    expect(rules.find((r) => r.uid === 'cw-ipv6-score-dropped')?.evaluator.param).toBe(t.ipv6.minScore);
    expect(problems).toEqual([]);
  });

  it('other goals give other thresholds (the numbers are not a second copy)', () => {
    const g = structuredClone(loadGoals());
    g.recordingRoom.districtGoalPct = 67;
    g.deviceAvailability.minPct = 97.5;
    g.ipv6.minScore = 8;
    g.uplink.tolerance = 0.8;
    g.security.maxOpenSeverity = 'low';
    const ds = [...buildDashboards(g).values()] as unknown as Dash[];
    const find = (uid: string, prefix: string) =>
      ds.find((d) => d.uid === uid)!.panels.find((p) => p.title?.startsWith(prefix))!;
    expect(greenAt(find(UIDS.overview, '录播室建有率'))).toBe(67);
    g.connected.districtGoalPct = 95;
    expect(
      greenAt(
        ([...buildDashboards(g).values()] as unknown as Dash[])
          .find((d) => d.uid === UIDS.overview)!
          .panels.find((p) => p.title?.startsWith('校校通'))!,
      ),
    ).toBe(95);
    expect(greenAt(find(UIDS.school, '教学时段设备可用率'))).toBe(97.5);
    expect(greenAt(find(UIDS.school, 'IPv6 得分'))).toBe(8);
    expect(find(UIDS.overview, '未关闭高危发现').targets?.[0]?.query).toContain('/^(critical|high|medium)$/');
    const rules = alertRules(g);
    expect(rules.find((r) => r.uid === 'cw-uplink-below-target')?.evaluator.param).toBe(0.8);
  });
});

describe('provisioning files', () => {
  const read = (rel: string) => parseYaml(readFileSync(join(DASHBOARDS_DIR, 'provisioning', rel), 'utf8'));

  it('the data source is InfluxDB 1.x (InfluxQL) on database campuswatch with the panels’ uid', () => {
    const doc = read('datasources/campuswatch.yaml') as {
      apiVersion: number;
      datasources: { uid: string; type: string; url: string; jsonData: { dbName: string } }[];
    };
    expect(doc.apiVersion).toBe(1);
    expect(doc.datasources).toHaveLength(1);
    expect(doc.datasources[0]).toMatchObject({ uid: DATASOURCE_UID, type: 'influxdb' });
    expect(doc.datasources[0]!.jsonData.dbName).toBe('campuswatch');
    expect(new URL(doc.datasources[0]!.url).protocol).toMatch(/^https?:$/);
  });

  it('the dashboard provider loads the generated folder into the campuswatch folder', () => {
    const doc = read('dashboards/campuswatch.yaml') as {
      apiVersion: number;
      providers: { type: string; folder: string; options: { path: string } }[];
    };
    expect(doc.apiVersion).toBe(1);
    expect(doc.providers).toHaveLength(1);
    const provider = doc.providers[0]!;
    expect(provider.type).toBe('file');
    expect(provider.folder).toBe(ALERT_FOLDER);
    expect(provider.options.path).toMatch(/\/dashboards\/generated\/?$/);
    expect(GENERATED_DIR.endsWith(join('dashboards', 'generated'))).toBe(true);
    const json = readdirSync(GENERATED_DIR).filter((f) => f.endsWith('.json'));
    expect(json.sort()).toEqual(
      Object.values(UIDS)
        .map((u) => `${u}.json`)
        .sort(),
    );
  });

  it('the alert rules parse, sit in the same folder and query the same data source', () => {
    const doc = parseYaml(readFileSync(ALERTING_FILE, 'utf8')) as {
      apiVersion: number;
      groups: { folder: string; rules: { uid: string; data: { datasourceUid: string }[] }[] }[];
      muteTimes?: { name: string }[];
    };
    expect(doc.apiVersion).toBe(1);
    const rules = doc.groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.uid).sort()).toEqual(
      alertRules(loadGoals())
        .map((r) => r.uid)
        .sort(),
    );
    for (const g of doc.groups) expect(g.folder).toBe(ALERT_FOLDER);
    const uids = new Set(rules.flatMap((r) => r.data.map((x) => x.datasourceUid)));
    expect([...uids].sort()).toEqual(['__expr__', DATASOURCE_UID].sort());
  });
});

describe('layout pictures', () => {
  it('one SVG per dashboard with a box, the title and the type of every panel (UTF-8), embedded in the README', () => {
    const files = buildFiles();
    const readme = readFileSync(join(DASHBOARDS_DIR, 'README.md'), 'utf8');
    for (const d of dashboards()) {
      const svg = files.get(join(GENERATED_DIR, `${d.uid}.svg`));
      expect(svg, d.uid).toBeDefined();
      expect(svg!.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<svg ')).toBe(true);
      expect(svg).toContain(xmlEscape(d.title)); // Chinese as UTF-8, not entities
      expect(svg!.match(/<rect /g)).toHaveLength(d.panels.length + 1); // + background
      expect(svg!.match(/<g>/g)?.length).toBe(svg!.match(/<\/g>/g)?.length);
      for (const p of d.panels) {
        const g = p.gridPos!;
        expect(svg).toContain(`#${p.id} ${p.type}`);
        expect(svg).toContain(`${g.w}×${g.h} @ ${g.x},${g.y}`);
        // The first characters of the title (wrapping may cut the rest).
        expect(svg).toContain(xmlEscape([...(p.title ?? '')].slice(0, 4).join('')));
      }
      expect(readme).toContain(`](generated/${d.uid}.svg)`);
    }
  });
});

describe('retention statements', () => {
  it('rolls the main series up into rollup_1h / rollup_1d with mean/min/max, keeping every tag', () => {
    const m = ROLLUP_MEASUREMENTS.find((x) => x.measurement === 'device')!;
    expect(continuousQuery('campuswatch', m, '1h')).toBe(
      'CREATE CONTINUOUS QUERY "cq_device_1h" ON "campuswatch" BEGIN SELECT mean("up") AS "up_mean", min("up") AS "up_min", max("up") AS "up_max", mean("rtt_ms") AS "rtt_ms_mean", min("rtt_ms") AS "rtt_ms_min", max("rtt_ms") AS "rtt_ms_max", mean("loss_pct") AS "loss_pct_mean", min("loss_pct") AS "loss_pct_min", max("loss_pct") AS "loss_pct_max" INTO "campuswatch"."rollup_1h"."device" FROM "campuswatch"."raw"."device" GROUP BY time(1h), * END',
    );
    expect(continuousQuery('cw', m, '1d', { name: 'x', resample: { every: '1s', for: '2d' } })).toMatch(
      /^CREATE CONTINUOUS QUERY "x" ON "cw" RESAMPLE EVERY 1s FOR 2d BEGIN SELECT .* GROUP BY time\(1d\), \* END$/,
    );
  });
});

// --- the expected shape of a query's result -------------------------------------------------------------

/** Splits at top-level occurrences of `sep` (outside parentheses and quotes). */
function splitTop(s: string, sep: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = undefined;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (depth === 0 && s.startsWith(sep, i)) {
      parts.push(s.slice(start, i));
      start = i + sep.length;
      i += sep.length - 1;
    }
  }
  parts.push(s.slice(start));
  return parts;
}

/**
 * The columns and grouping tags InfluxDB returns for a SELECT, derived from its outer SELECT list: an
 * `AS "alias"` names a column, else the outermost function (`mean("x") * 100` → `mean`), else the field.
 */
function expectedShape(query: string): { columns: string[]; tags: string[] } {
  const [selectPart, ...rest] = splitTop(query.replace(/^SELECT /, ''), ' FROM ');
  const columns = ['time'];
  for (const item of splitTop(selectPart!, ', ')) {
    const alias = /\sAS\s+"((?:[^"\\]|\\.)+)"\s*$/.exec(item)?.[1];
    const fn = /^([a-z_]+)\(/i.exec(item.trim())?.[1];
    const field = /^"((?:[^"\\]|\\.)+)"/.exec(item.trim())?.[1];
    const name = alias ?? fn ?? field;
    if (!name) throw new Error(`cannot name the column of ${item}`);
    columns.push(name);
  }
  const tail = rest.join(' FROM ');
  const groupParts = splitTop(tail, ' GROUP BY ');
  const tags: string[] = [];
  if (groupParts.length > 1) {
    const group = splitTop(groupParts[groupParts.length - 1]!, ' fill(')[0]!;
    for (const g of splitTop(splitTop(group, ' ORDER BY ')[0]!.split(' LIMIT ')[0]!, ', ')) {
      const tag = /^"((?:[^"\\]|\\.)+)"$/.exec(g.trim())?.[1];
      if (tag) tags.push(tag);
    }
  }
  return { columns, tags };
}

describe('expectedShape', () => {
  it('names columns from aliases and functions and finds the outer GROUP BY tags', () => {
    expect(
      expectedShape(
        'SELECT mean("met") * 100 AS "pct" FROM (SELECT last("met") AS "met" FROM "compliance" WHERE "a" =~ /^(x|y)$/ GROUP BY "school") GROUP BY "area", "target"',
      ),
    ).toEqual({ columns: ['time', 'pct'], tags: ['area', 'target'] });
    expect(
      expectedShape(
        'SELECT mean("met_mean") * 100 FROM "x" WHERE $timeFilter GROUP BY time(1d), "target" fill(none)',
      ),
    ).toEqual({ columns: ['time', 'mean'], tags: ['target'] });
    expect(expectedShape('SELECT "v", last("a") AS "b" FROM "x"')).toEqual({
      columns: ['time', 'v', 'b'],
      tags: [],
    });
  });
});

// --- against a real InfluxDB -----------------------------------------------------------------------------

const influxSkip = influxdAvailable();

/** Grafana's `regex` variable format (kbn.regexEscape); several values become `(a|b)`. */
const regexEscape = (v: string) => v.replace(/[\\^$*+?.()|[\]{}/]/g, '\\$&');
const regexFormat = (values: string[]) =>
  values.length === 1 ? regexEscape(values[0]!) : `(${values.map(regexEscape).join('|')})`;

/** Line-protocol escaping of tag keys/values. */
const lpTag = (v: string) => v.replace(/[\\,= ]/g, '\\$&');

/** The lab: four schools in three districts, Chinese names; one group with brackets, one school without a group. */
const SCHOOLS: School[] = [
  XINGHAI,
  {
    id: 'sz-weiting-primary',
    name: '苏州工业园区唯亭实验小学',
    district: '苏州工业园区',
    group: '唯亭教育集团(东区)',
    pupils: 800,
    area: 'rural',
    timezone: 'Asia/Shanghai',
  },
  {
    id: 'tc-shaxi-senior',
    name: '江苏省太仓市沙溪高级中学',
    district: '太仓市',
    group: '沙溪教育集团',
    pupils: 2600,
    area: 'rural',
    timezone: 'Asia/Shanghai',
  },
  {
    id: 'cz-hutang-2nd',
    name: '常州市武进区湖塘桥第二实验小学',
    district: '武进区',
    pupils: 1200,
    area: 'urban',
    timezone: 'Asia/Shanghai',
  },
];
const distinct = (xs: (string | undefined)[]) => [...new Set(xs.filter((x): x is string => !!x))].sort();

type Body = {
  results?: {
    error?: string;
    series?: { name: string; tags?: Record<string, string>; columns: string[] }[];
  }[];
};

/** InfluxQL over POST (CREATE/ALTER/SELECT INTO need it); returns the raw JSON body, throws on errors. */
async function runOn(url: string, db: string, q: string): Promise<Body> {
  const res = await fetch(`${url}/query?db=${encodeURIComponent(db)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ q }).toString(),
  });
  const body = (await res.json()) as Body & { error?: string };
  const err = body.error ?? body.results?.find((r) => r.error)?.error;
  if (!res.ok || err) throw new Error(`${q}: ${err ?? res.status}`);
  return body;
}
const seriesOf = (body: Body) => (body.results ?? []).flatMap((r) => r.series ?? []);

/** Template variables bound as Grafana binds them, `$timeFilter` and `$__interval` substituted. */
function substitute(query: string, vars: Record<string, string[]>, range: string): string {
  let q = query;
  for (const [name, values] of Object.entries(vars))
    q = q.replaceAll(`\${${name}:regex}`, regexFormat(values));
  return q.replaceAll('$timeFilter', `time > now() - ${range}`).replaceAll('$__interval', '1m');
}

/** Speed tests, SNMP, IPv6 and a smart classroom for one report of a school. */
function richResults(at: string, minutesAgo: number, mbps: number) {
  const speed = (direction: 'down' | 'up', v: number): BandwidthResult => ({
    probe: 'bandwidth',
    target: 'collector',
    outcome: 'ok',
    durationMs: 10_000,
    at,
    method: 'http',
    direction,
    mbps: v,
    p90Mbps: v + 5,
    streams: 4,
    durationS: 10,
    bytes: Math.round((v * 1e6 * 10) / 8),
    rttIdleMs: 2,
    rttLoadedMs: 9,
  });
  const snmp = (
    role: UplinkSnmpResult['role'],
    ifName: string,
    ifIndex: number,
    sp: number,
    rates: boolean,
  ): UplinkSnmpResult => ({
    probe: 'uplink-snmp',
    target: '核心交换机',
    outcome: 'ok',
    durationMs: 20,
    at,
    device: { name: '核心交换机', address: '10.203.0.1' },
    role,
    ifIndex,
    ifName,
    operUp: true,
    ifSpeedMbps: sp,
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
  const liveClass: LiveClassResult = {
    probe: 'live-class',
    target: '苏州市专递课堂平台',
    outcome: 'ok',
    durationMs: 1100,
    at,
    transport: 'udp-echo',
    host: '10.203.2.2',
    port: 7,
    rttMs: 30 + minutesAgo,
    rttP95Ms: 40 + minutesAgo,
    oneWayMs: (30 + minutesAgo) / 2,
    jitterMs: 2 + minutesAgo,
    lossPct: minutesAgo === 6 ? 2 : 0,
    sent: 50,
    received: minutesAgo === 6 ? 49 : 50,
    packetBytes: 200,
    limits: { oneWayMs: 150, jitterMs: 30, lossPct: 1 },
  };
  return [
    smart,
    speed('down', mbps - minutesAgo),
    speed('up', mbps + 10 - minutesAgo),
    snmp('uplink', 'ge-0/0/1', 1, 1000, true),
    snmp('core', 'xe-1/0/1', 101, 10_000, false),
    snmp('access', 'ge-1/0/2', 202, 1000, false),
    v6('host-address', { family: 6 }),
    v6('dns-aaaa'),
    v6('service', { service: 'www' }),
    v6('score', { scoreV6: 9.5 - minutesAgo / 10, scoreV4only: 10, degradation: 0.05 }),
    liveClass,
  ];
}

/** Reports of every school: XINGHAI through a real agent cycle plus posted results, the others posted. */
async function fillLab(w: World): Promise<void> {
  const agent = await w.agent('a');
  await agent.once();
  const { token } = loadIdentity(agent.config.state)!;
  const tokens = new Map<string, { agentId: string; token: string }>([
    [XINGHAI.id, { agentId: agent.identity.agentId, token }],
  ]);
  for (const s of SCHOOLS.slice(1)) tokens.set(s.id, w.enrollDirect(s.id, `agent-${s.id}`));
  for (const [i, s] of SCHOOLS.entries()) {
    const { agentId, token: tk } = tokens.get(s.id)!;
    for (const minutesAgo of [6, 3]) {
      const base = makeReport({ agentId, schoolId: s.id, at: new Date(Date.now() - minutesAgo * 60_000) });
      const report: Report = {
        ...base,
        results: [...base.results, ...richResults(base.startedAt, minutesAgo, [480, 300, 1000, 520][i]!)],
      };
      const res = await w.postReport(tk, report);
      expect(res.statusCode, res.body).toBe(200);
    }
  } // the collector's periodic pass: district KPIs (compliance_kpi) and the rows of every registered school
  await publishCompliance(w.app!.campuswatch, new Date());
  // an alert pass: the agent_status points of every enrolled agent (fleet series, Grafana alert rule)
  await w.app!.campuswatch.alerts.evaluate(new Date());
}

describe.skipIf(skipping(influxSkip, 'with a real InfluxDB'))(
  `every panel query returns data from a real agent → collector → InfluxDB run of the lab${influxSkip ? ` (SKIPPED: ${influxSkip})` : ''}`,
  () => {
    let influx: Influxd;
    let w: World;
    const db = 'campuswatch';
    let tags: Record<string, string> = {};
    const run = (q: string) => runOn(influx.url, db, q);

    /** The bindings every query is run with: one school selected; and All / several districts. */
    const bindings = (): [string, Record<string, string[]>][] => [
      ['one school', { district: [tags.district!], group: [tags.group!], school: [tags.school!] }],
      ['All', { district: ['.*'], group: ['.*'], school: [tags.school!] }],
      ['two districts', { district: [tags.district!, '太仓市'], group: ['.*'], school: [tags.school!] }],
    ];
    // Grafana sends All as the allValue `.*` unescaped: keep it raw.
    const sub = (query: string, vars: Record<string, string[]>, range: string) =>
      substitute(
        query
          .replaceAll(vars.district?.[0] === '.*' ? `\${district:regex}` : '\0', '.*')
          .replaceAll(vars.group?.[0] === '.*' ? `\${group:regex}` : '\0', '.*'),
        vars,
        range,
      );

    // The lab's reports are 6 and 3 minutes old: with the packaged timetable (Mon–Fri 07:30–17:30 school
    // time) a run in the evening or at a weekend has no teaching-hours sample, so no device_availability
    // compliance and an empty panel. The lab's collector teaches every day, 00:00–23:59 (of two samples
    // 3 minutes apart, at least one is inside), so the panel has data whenever the suite runs.
    const labDir = mkdtempSync(join(tmpdir(), 'cw-dash-lab-'));
    const labTargets = join(labDir, 'targets.yaml');

    beforeAll(async () => {
      const targets = parseYaml(readFileSync(TARGETS_YAML, 'utf8')) as {
        deviceAvailability: { teachingHours: Record<string, unknown> };
      };
      targets.deviceAvailability.teachingHours = {
        ...targets.deviceAvailability.teachingHours,
        days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'],
        start: '00:00',
        end: '23:59',
        terms: [],
        holidays: [],
      };
      writeFileSync(labTargets, stringifyYaml(targets));
      influx = await startInfluxd();
      w = new World({
        influxUrl: influx.url,
        database: db,
        schools: SCHOOLS,
        collector: { targetsFile: labTargets },
      });
      await w.startCollector(); // creates the database, the retention policies and the rollups
      await fillLab(w);

      const row = (
        await influx.query(
          `SELECT last("results"), * FROM "agent" WHERE "school" = '${XINGHAI.id}' GROUP BY *`,
          db,
        )
      )[0]!;
      tags = Object.fromEntries(
        ['district', 'group', 'school', 'school_name', 'size_tier', 'area'].map((k) => [k, String(row[k])]),
      );

      // Findings (the collector's contract: tags rule, severity, target, mlps; fields open, value and, for an
      // accepted risk, accepted_until_s): one opened, one resolved, one accepted risk; a silent agent.
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

      // This influxd runs no CQ service: backfill the rollups with the CQs' own statements.
      for (const m of ROLLUP_MEASUREMENTS) {
        for (const interval of Object.keys(ROLLUP_RPS) as RollupInterval[]) {
          await run(rollupSelect(db, m, interval, 'time > now() - 3d'));
        }
      }
    }, 120_000);

    afterAll(async () => {
      await w?.cleanup();
      await influx?.cleanup();
      rmSync(labDir, { recursive: true, force: true });
    });

    it('the variable queries return exactly the registered districts, groups and schools', async () => {
      const values = async (query: string, vars: Record<string, string[]>) =>
        seriesOf(await run(sub(query, vars, '1h')))
          .flatMap((s) => (s as unknown as { values: [string, string][] }).values.map((v) => v[1]))
          .sort();
      const all = { district: ['.*'], group: ['.*'] };
      for (const d of dashboards()) {
        const q = Object.fromEntries(d.templating.list.map((v) => [v.name, String(v.query)]));
        expect(await values(q.district!, all)).toEqual(distinct(SCHOOLS.map((s) => s.district)));
        expect(await values(q.group!, all)).toEqual(distinct(SCHOOLS.map((s) => s.group)));
        if (q.school) {
          expect(await values(q.school, all)).toEqual(distinct(SCHOOLS.map((s) => s.id)));
          const sip = { district: ['苏州工业园区'], group: ['.*'] };
          expect(await values(q.school, sip)).toEqual(
            distinct(SCHOOLS.filter((s) => s.district === '苏州工业园区').map((s) => s.id)),
          );
          const bracketGroup = { district: ['.*'], group: ['唯亭教育集团(东区)'] };
          expect(await values(q.school, bracketGroup)).toEqual(['sz-weiting-primary']);
        }
        const groupsOfSip = await values(q.group!, { district: ['苏州工业园区'], group: ['.*'] });
        expect(groupsOfSip).toEqual(
          distinct(SCHOOLS.filter((s) => s.district === '苏州工业园区').map((s) => s.group)),
        );
      }
    });

    it('every panel target returns series with the columns and tags its SELECT names, under every binding', async () => {
      const problems: string[] = [];
      let ran = 0;
      for (const [label, vars] of bindings()) {
        for (const d of dashboards()) {
          for (const p of d.panels) {
            const range = p.timeFrom ?? '1h'; // a relative time override (365d over a rollup) is the range
            for (const t of p.targets ?? []) {
              const q = sub(t.query!, vars, range);
              expect(q).not.toMatch(/\$\{?[a-z_]/i); // no template variable left
              const where = `[${label}] ${d.uid} / ${p.title} ${t.refId}`;
              let series: ReturnType<typeof seriesOf>;
              try {
                series = seriesOf(await run(q));
              } catch (err) {
                problems.push(`${where}: ${(err as Error).message}`);
                continue;
              }
              ran++;
              if (series.length === 0) {
                problems.push(`${where}: no series for ${q}`);
                continue;
              }
              const shape = expectedShape(t.query!);
              for (const s of series) {
                if (JSON.stringify(s.columns) !== JSON.stringify(shape.columns))
                  problems.push(
                    `${where}: columns ${JSON.stringify(s.columns)}, expected ${JSON.stringify(shape.columns)}`,
                  );
                const missing = shape.tags.filter((tag) => !(tag in (s.tags ?? {})));
                if (missing.length > 0) problems.push(`${where}: series without tags ${missing.join(', ')}`);
              }
            }
          }
        }
      }
      expect(problems).toEqual([]);
      expect(ran).toBeGreaterThan(120);
    });

    it('the overview sees every school; the school dashboard only the selected one', async () => {
      const overview = dashboards().find((d) => d.uid === UIDS.overview)!;
      const matrix = overview.panels.find((p) => p.title?.startsWith('落后学校'))!;
      const all = seriesOf(
        await run(sub(matrix.targets![0]!.query!, { district: ['.*'], group: ['.*'] }, '1h')),
      );
      expect(distinct(all.map((s) => s.tags?.school))).toEqual(distinct(SCHOOLS.map((s) => s.id)));
      const school = dashboards().find((d) => d.uid === UIDS.school)!;
      const targetsPanel = school.panels.find((p) => p.title?.startsWith('达标情况'))!;
      const one = seriesOf(
        await run(
          sub(
            targetsPanel.targets![0]!.query!,
            { district: ['.*'], group: ['.*'], school: ['tc-shaxi-senior'] },
            '1h',
          ),
        ),
      );
      expect(one.length).toBeGreaterThan(0);
    });

    it('every Grafana alert rule query returns series (one per alert instance)', async () => {
      const empty: string[] = [];
      for (const rule of alertRules(loadGoals())) {
        const n = seriesOf(await run(substitute(rule.query.toString(), {}, `${rule.rangeS}s`))).length;
        if (n === 0) empty.push(rule.uid);
      }
      expect(empty).toEqual([]);
    });

    it('the silent-agent queries see the agent that stopped reporting, and the security trend sees both transitions', async () => {
      const silent = (await run(
        substitute(
          'SELECT count("reports") FROM (SELECT last("reports") AS "reports" FROM (SELECT count("results") AS "reports" FROM "agent" WHERE $timeFilter GROUP BY time(5m), "agent" fill(0)) GROUP BY "agent") WHERE "reports" = 0',
          {},
          '1h',
        ),
      )) as { results: { series?: { values: [number, number][] }[] }[] };
      expect(silent.results[0]?.series?.[0]?.values[0]?.[1]).toBeGreaterThanOrEqual(1);
      const sec = dashboards().find((d) => d.uid === UIDS.security)!;
      const trend = sec.panels.find((p) => p.title?.includes('opened vs resolved'))!;
      const vars = { district: [tags.district!], group: [tags.group!] };
      for (const t of trend.targets!) {
        const body = (await run(sub(t.query!, vars, '1h'))) as {
          results: { series?: { values: [number, number][] }[] }[];
        };
        const total = (body.results[0]?.series?.[0]?.values ?? []).reduce((s, [, v]) => s + (v ?? 0), 0);
        expect(total, t.refId).toBe(1);
      }
      const accepted = sec.panels.find((p) => p.title?.includes('Accepted risks'))!;
      const rows = seriesOf(await run(sub(accepted.targets![0]!.query!, vars, '1h')));
      expect(rows.map((s) => s.tags?.rule)).toEqual(['smb-v1']);
    });
  },
);

describe.skipIf(skipping(influxSkip, 'with a real InfluxDB'))(
  `retention policies and continuous queries at collector start${influxSkip ? ` (SKIPPED: ${influxSkip})` : ''}`,
  () => {
    let influx: Influxd;
    let w: World;
    const db = 'campuswatch';
    const run = (q: string) => runOn(influx.url, db, q);
    const snapshot = async () => ({
      rps: await influx.query(`SHOW RETENTION POLICIES ON "${db}"`),
      cqs: await influx.query('SHOW CONTINUOUS QUERIES'),
    });

    beforeAll(async () => {
      influx = await startInfluxd({ continuousQueries: { runInterval: '1s' } }); // a fresh InfluxDB, CQ service on
      w = new World({ influxUrl: influx.url, database: db, schools: SCHOOLS });
    }, 60_000);

    afterAll(async () => {
      await w?.cleanup();
      await influx?.cleanup();
    });

    it('the first collector start creates raw (default), rollup_1h, rollup_1d and one CQ per series and interval', async () => {
      expect((await influx.query('SHOW DATABASES')).map((r) => r.name)).not.toContain(db);
      await w.startCollector();
      const { rps, cqs } = await snapshot();
      const cfg = w.config.influx!;
      expect(rps.find((r) => r.name === 'raw')).toMatchObject({
        duration: `${cfg.rawRetentionDays * 24}h0m0s`,
        default: true,
      });
      for (const name of Object.values(ROLLUP_RPS)) {
        expect(rps.find((r) => r.name === name)).toMatchObject({
          duration: `${cfg.rollupRetentionDays * 24}h0m0s`,
          default: false,
        });
      }
      const names = cqs.map((r) => r.name).sort();
      expect(names).toEqual(
        ROLLUP_MEASUREMENTS.flatMap((m) =>
          (Object.keys(ROLLUP_RPS) as RollupInterval[]).map((i) => `cq_${m.measurement}_${i}`),
        ).sort(),
      );
    });

    it('a second start changes nothing', async () => {
      const before = await snapshot();
      await w.stopCollector();
      await w.startCollector();
      // and a build of its own (what `campuswatch-collector` does at every start)
      const app = await buildApp({ ...w.config, dataDir: join(w.dir, 'second') });
      await app.close();
      expect(await snapshot()).toEqual(before);
    });

    it('a changed raw retention is applied with ALTER at the next start', async () => {
      const altered = await ensureRetentionWith(run, db, 30);
      expect(altered).toMatchObject({ duration: '720h0m0s', default: true });
      await ensureRetentionWith(run, db, w.config.influx!.rawRetentionDays);
    });

    it('the rollup CQ statements fill the rollup policies the dashboards read (CQ service, RESAMPLE EVERY 1s)', async () => {
      await fillLab(w);
      // The collector's CQs run at the end of each hour/day; copies of the same statements resample every second.
      for (const m of ROLLUP_MEASUREMENTS) {
        for (const interval of Object.keys(ROLLUP_RPS) as RollupInterval[]) {
          const resample = { every: '1s', for: interval === '1h' ? '2h' : '2d' };
          await run(
            continuousQuery(db, m, interval, { name: `test_${m.measurement}_${interval}`, resample }),
          );
        }
      }
      const cqs = await influx.query('SHOW CONTINUOUS QUERIES');
      const body = (name: string) =>
        String(cqs.find((r) => r.name === name)?.query).replace(/^.* BEGIN /, '');
      expect(body('test_device_1h')).toBe(body('cq_device_1h'));
      expect(body('test_compliance_1d')).toBe(body('cq_compliance_1d'));

      const deadline = Date.now() + 20_000;
      let rows: Record<string, unknown>[] = [];
      while (Date.now() < deadline) {
        rows = await influx.query(`SELECT * FROM "${db}"."rollup_1d"."compliance"`, db);
        const hourly = await influx.query(`SELECT * FROM "${db}"."rollup_1h"."device"`, db);
        if (rows.length > 0 && hourly.length > 0) break;
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(rows.length).toBeGreaterThan(0);
      expect(rows[0]).toHaveProperty('met_mean');
      // The panels reading a rollup return data from what the CQ wrote.
      const vars = { district: ['.*'], group: ['.*'], school: [XINGHAI.id] };
      let rollupPanels = 0;
      for (const d of dashboards()) {
        for (const p of d.panels) {
          for (const t of p.targets ?? []) {
            if (!t.query!.includes('"rollup_')) continue;
            rollupPanels++;
            let q = t.query!.replaceAll(`\${district:regex}`, '.*').replaceAll(`\${group:regex}`, '.*');
            q = substitute(q, vars, p.timeFrom ?? '1h');
            expect(seriesOf(await run(q)).length, `${d.uid} / ${p.title} ${t.refId}`).toBeGreaterThan(0);
          }
        }
      }
      expect(rollupPanels).toBeGreaterThanOrEqual(2);
    }, 60_000);
  },
);

/** ensureRetention with another raw retention; the raw policy afterwards. */
async function ensureRetentionWith(run: (q: string) => Promise<Body>, db: string, rawDays: number) {
  await ensureRetention(run, { database: db, rawDays, rollupDays: 1096 });
  const body = await run(`SHOW RETENTION POLICIES ON "${db}"`);
  const s = seriesOf(body)[0] as unknown as { columns: string[]; values: unknown[][] };
  const row = s.values
    .map((v) => Object.fromEntries(s.columns.map((c, i) => [c, v[i]])))
    .find((r) => r.name === 'raw');
  return row;
}
