import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { AgentConfig, loadAgentConfig } from '../../agent/src/config.js';
import { PROBE_NAMES } from '../../protocol/probe-names.js';
import { asNode, objectVariants, type SchemaNode, schemaKeys } from '../../protocol/schema-walk.js';
import { PACKAGE_ROOT } from '../../protocol/version.js';

const FULL = join(PACKAGE_ROOT, 'config', 'agent.full.yaml');
const EXAMPLE = join(PACKAGE_ROOT, 'config', 'agent.example.yaml');

/**
 * Keys the sample shows only as a commented line: a CA file must exist to load, `tier` and `pupils` are
 * alternatives, and an interface is named by exactly one of ifName and ifIndex.
 */
const COMMENTED = ['collector.caFile', 'school.tier', 'probes.uplink-snmp.uplink.ifIndex'];

/** An object schema by its content: TypeBox copies a schema it wraps (Type.Optional), so identity differs. */
const shape = (node: SchemaNode): string => JSON.stringify(node);

/** Which keys of which object schema the YAML value uses (schemas are shared: SNMP settings, checks). */
function usedKeys(value: unknown, node: SchemaNode, used: Map<string, Set<string>>): void {
  if (Array.isArray(value)) {
    const items = node.items ?? node.anyOf?.find((m) => m.items)?.items;
    if (items) for (const v of value) usedKeys(v, items, used);
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const entries = Object.entries(value);
  const variant = objectVariants(node).find((v) => entries.every(([k]) => k in (v.properties ?? {})));
  if (variant?.properties) {
    const seen = used.get(shape(variant)) ?? new Set<string>();
    used.set(shape(variant), seen);
    for (const [k, v] of entries) {
      seen.add(k);
      const child = variant.properties[k];
      if (child) usedKeys(v, child, used);
    }
    return;
  }
  const mapValue = Object.values(node.patternProperties ?? {})[0];
  if (mapValue) for (const [, v] of entries) usedKeys(v, mapValue, used);
}

describe('config/agent.full.yaml, the sample with every key', () => {
  const text = readFileSync(FULL, 'utf8');

  it('is valid for the real config loader', () => {
    const config = loadAgentConfig(FULL);
    expect(Object.keys(config.probes).sort()).toEqual([...PROBE_NAMES].sort());
    expect(config.school.name).toBe('苏州工业园区星海实验中学, 初中部');
  });

  it('shows every probe and every key of the agent config schema', () => {
    const raw = parse(text) as Record<string, unknown>;
    const used = new Map<string, Set<string>>();
    usedKeys(raw, asNode(AgentConfig), used);
    const missing = schemaKeys(AgentConfig)
      .filter((k) => !COMMENTED.includes(k.path))
      .filter((k) => !used.get(shape(k.parent))?.has(k.segments[k.segments.length - 1] ?? ''))
      .map((k) => k.path);
    expect(
      missing,
      'keys of the agent config schema missing from config/agent.full.yaml: add each with a comment',
    ).toEqual([]);
    const probes = raw.probes as Record<string, unknown>;
    for (const name of PROBE_NAMES) expect(probes[name], `probes.${name}`).toBeTypeOf('object');
  });

  it('shows the alternatives as commented keys', () => {
    for (const path of COMMENTED) {
      const key = path.split('.').at(-1);
      expect(text, path).toMatch(new RegExp(`^\\s*# ${key}: `, 'm'));
    }
  });

  it('documents each key of the probes that are off by default with a comment', () => {
    const lines = text.split('\n');
    for (const key of ['window', 'method', 'device', 'uplink', 'ports', 'hostChecks', 'snmpV3Required']) {
      const line = lines.find((l) => new RegExp(`^\\s+${key}: `).test(l));
      expect(line, key).toMatch(/ # \S/);
    }
  });

  it('is referenced from config/agent.example.yaml, which stays valid', () => {
    expect(readFileSync(EXAMPLE, 'utf8')).toContain('config/agent.full.yaml');
    expect(loadAgentConfig(EXAMPLE).school.id).toBe('sz-xinghai-junior');
  });
});
