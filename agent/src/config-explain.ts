/**
 * `campuswatch-agent check-config --explain`: the effective value of every key of the agent config and where it
 * came from: the file (perhaps through `${env:…}` / `${file:…}`), the schema's default, or derived from other
 * values (the speed-test server and the IPv6 targets from the collector URL, a device's checks from its room or
 * type, the size tier that the collector derives from the pupil count). Secrets are never printed.
 */
import { parse } from 'yaml';
import { formatTable } from '../../protocol/cli.js';
import { asNode, objectVariants, type SchemaNode } from '../../protocol/schema-walk.js';
import { AgentConfig } from './config.js';
import { checkLabel, checkSpecs, deviceChecks } from './inventory.js';
import { probeSchedules } from './probe-schedule.js';

export interface ExplainedValue {
  path: string;
  value: string;
  /** `file`, `file (${env:NAME})`, `default`, `not set`, or `derived: …` saying from what. */
  source: string;
}

/** Keys whose values are secrets: shown as set or not, never printed. */
const SECRET_KEYS = new Set(['community', 'authKey', 'privKey', 'password', 'token']);
const REFERENCE = /\$\{(env|file):[^}]*\}/;

/** A value as one line, secrets inside it (a check's SNMP community) replaced. */
const text = (v: unknown): string =>
  typeof v === 'string'
    ? v
    : JSON.stringify(v, (k, x: unknown) => (SECRET_KEYS.has(k) && x !== undefined ? '[redacted]' : x));

function rawAt(raw: unknown, segments: readonly (string | number)[]): { found: boolean; value?: unknown } {
  let at: unknown = raw;
  for (const s of segments) {
    if (at === null || typeof at !== 'object' || !(s in (at as object))) return { found: false };
    at = (at as Record<string | number, unknown>)[s];
  }
  return { found: true, value: at };
}

function joinSegments(segments: readonly (string | number)[]): string {
  let out = '';
  for (const s of segments) out += typeof s === 'number' ? `[${s}]` : out === '' ? s : `.${s}`;
  return out;
}

const isObjectSchema = (node: SchemaNode): boolean => objectVariants(node).length > 0 && !node.anyOf;

/**
 * Every key of `config` with its value and source. `rawText` is the YAML as written (references unresolved),
 * `config` what the loader made of it.
 */
export function explainConfig(config: AgentConfig, rawText: string, nowMs = Date.now()): ExplainedValue[] {
  const raw: unknown = parse(rawText) ?? {};
  const out: ExplainedValue[] = [];
  const derived = derivedValues(config);

  const visit = (value: unknown, node: SchemaNode, segments: (string | number)[]): void => {
    const path = joinSegments(segments);
    const objectNode = isObjectSchema(node) ? node : undefined;
    if (objectNode?.properties && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [key, child] of Object.entries(objectNode.properties)) {
        visit((value as Record<string, unknown>)[key], child, [...segments, key]);
      }
      return;
    }
    const items = node.items;
    if (Array.isArray(value) && items && isObjectSchema(items) && value.length > 0) {
      value.forEach((v, i) => {
        visit(v, items, [...segments, i]);
      });
      return;
    }
    const mapValue = Object.values(node.patternProperties ?? {})[0];
    if (mapValue && value !== null && typeof value === 'object' && Object.keys(value).length > 0) {
      for (const [k, v] of Object.entries(value)) visit(v, mapValue, [...segments, k]);
      return;
    }
    const inFile = rawAt(raw, segments);
    const key = segments[segments.length - 1];
    const secret = typeof key === 'string' && SECRET_KEYS.has(key);
    const shown = (v: unknown) => (secret ? '[redacted]' : text(v));
    const d = derived.get(path);
    if (inFile.found) {
      const ref = typeof inFile.value === 'string' ? REFERENCE.exec(inFile.value) : null;
      out.push({ path, value: shown(value), source: ref ? `file (${ref[0]})` : 'file' });
    } else if (d) {
      out.push({ path, value: d.value, source: `derived: ${d.from}` });
    } else if (value === undefined) {
      out.push({ path, value: '-', source: 'not set' });
    } else {
      out.push({ path, value: shown(value), source: 'default' });
    }
  };
  visit(config, asNode(AgentConfig), []);

  // when each probe runs: from its enabled and intervalS, the cycle, and for the speed test its window
  const schedules = probeSchedules(config, nowMs);
  for (const [name, schedule] of Object.entries(schedules)) {
    const at = out.findIndex((e) => e.path === `probes.${name}.enabled`);
    const entry = {
      path: `probes.${name} (schedule)`,
      value: schedule,
      source:
        name === 'bandwidth'
          ? "derived: enabled, window, school.timezone and the school's offset in the window"
          : 'derived: enabled, intervalS and cycle.intervalS',
    };
    if (at >= 0) out.splice(at, 0, entry);
    else out.push(entry);
  }

  // values that only exist derived: each device's checks when it names none
  config.rooms.forEach((room, r) => {
    room.devices.forEach((device, d) => {
      const { source } = checkSpecs(config, room, device);
      if (source === 'device') return;
      const from: Record<string, string> = {
        legacy: 'the legacy icmp/tcp keys',
        room: `rooms[${r}].defaults.checks`,
        inventory: `inventory.deviceTypeDefaults.${device.type}`,
        'built-in': `the built-in checks of type ${device.type}`,
        custom: `the custom type ${device.type}`,
      };
      const at = out.findIndex((e) => e.path === `rooms[${r}].devices[${d}].checks`);
      const entry = {
        path: `rooms[${r}].devices[${d}].checks`,
        value: deviceChecks(config, room, device).map(checkLabel).join(' ') || '-',
        source: `derived: ${from[source] ?? source}`,
      };
      if (at >= 0) out[at] = entry;
      else out.push(entry);
    });
  });
  return out;
}

function derivedValues(config: AgentConfig): Map<string, { value: string; from: string }> {
  const d = new Map<string, { value: string; from: string }>();
  const s = config.school;
  if (s.tier === undefined) {
    d.set('school.tier', {
      value: s.pupils !== undefined ? `(from ${s.pupils} pupils)` : "(the collector's default tier)",
      from:
        s.pupils !== undefined
          ? "by the collector from school.pupils and targets.yaml's uplink.tiers"
          : "the collector's targets.yaml uplink.defaultTier (neither tier nor pupils is set)",
    });
  }
  if (s.protectionLevel === undefined) {
    d.set('school.protectionLevel', {
      value: "(the collector's default)",
      from: 'by the collector: defaultProtectionLevel of baseline.yaml',
    });
  }
  const bw = config.probes.bandwidth;
  if (bw.server === undefined && bw.method === 'http') {
    d.set('probes.bandwidth.server', {
      value: config.collector.url,
      from: 'collector.url (the collector may hand out another with the slot)',
    });
  }
  const v6 = config.probes.ipv6;
  if (v6.targets.length === 0) {
    const name = new URL(config.collector.url).hostname;
    d.set('probes.ipv6.targets', {
      value: JSON.stringify([{ name, url: config.collector.url }]),
      from: 'collector.url',
    });
  }
  if (v6.dnsNames.length === 0) {
    const urls = v6.targets.length > 0 ? v6.targets.map((t) => t.url) : [config.collector.url];
    const names = [...new Set(urls.map((u) => new URL(u).hostname))];
    d.set('probes.ipv6.dnsNames', {
      value: JSON.stringify(names),
      from:
        v6.targets.length > 0 ? 'the host names of probes.ipv6.targets' : 'the host name of collector.url',
    });
  }
  return d;
}

export function renderExplain(file: string, entries: readonly ExplainedValue[]): string {
  return [
    `${file}: OK. The effective configuration; source: file = set in ${file}, default = the built-in default`,
    '(docs/configuration.md), derived = computed from other values, not set = an optional key left out.',
    '',
    formatTable(
      ['key', 'value', 'source'],
      entries.map((e) => [e.path, e.value, e.source]),
    ),
    '',
  ].join('\n');
}
