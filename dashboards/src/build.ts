/**
 * `npm run dashboards`: writes `dashboards/generated/<uid>.json`, a picture of its layout
 * `dashboards/generated/<uid>.svg`, and the Grafana alert rules under `dashboards/provisioning/alerting/`.
 * Goals (thresholds) come from `config/targets.yaml`. Deterministic: keys sorted, no timestamps, no random ids.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { alertRulesYaml } from './alerts.js';
import { fleet } from './fleet.js';
import { loadGoals, type TargetsConfig } from './goals.js';
import { layoutSvg } from './layout-svg.js';
import { overview } from './overview.js';
import { school } from './school.js';
import { security } from './security.js';

export const DASHBOARDS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const GENERATED_DIR = join(DASHBOARDS_DIR, 'generated');
export const ALERTING_FILE = join(DASHBOARDS_DIR, 'provisioning', 'alerting', 'campuswatch.yaml');

/** JSON value with object keys sorted recursively (functions and undefined dropped, as JSON does). */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v === undefined || typeof v === 'function') continue;
      out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}

export function render(value: unknown): string {
  return `${JSON.stringify(sortKeys(value), null, 2)}\n`;
}

/** Every dashboard, keyed by uid, as the plain JSON object written to disk. */
export function buildDashboards(goals: TargetsConfig = loadGoals()): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const factory of [overview, school, security, fleet]) {
    const built = factory(goals).build();
    const uid = built.uid;
    if (!uid) throw new Error(`dashboard ${built.title} has no uid`);
    // Assign panel ids by position: stable and unique within the dashboard.
    for (const [i, panel] of (built.panels ?? []).entries()) panel.id = i + 1;
    out.set(uid, JSON.parse(render(built)) as Record<string, unknown>);
  }
  return out;
}

/** File name → content of everything `npm run dashboards` writes. */
export function buildFiles(goals: TargetsConfig = loadGoals()): Map<string, string> {
  const files = new Map<string, string>();
  for (const [uid, json] of buildDashboards(goals)) {
    files.set(join(GENERATED_DIR, `${uid}.json`), render(json));
    files.set(join(GENERATED_DIR, `${uid}.svg`), layoutSvg(json));
  }
  files.set(ALERTING_FILE, alertRulesYaml(goals));
  return files;
}

function main(): void {
  mkdirSync(GENERATED_DIR, { recursive: true });
  for (const name of readdirSync(GENERATED_DIR)) {
    if (name.endsWith('.json') || name.endsWith('.svg')) rmSync(join(GENERATED_DIR, name));
  }
  for (const [path, content] of buildFiles()) {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, content);
    console.log(`wrote ${path.slice(DASHBOARDS_DIR.length - 'dashboards'.length)}`);
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
