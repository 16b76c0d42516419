/**
 * Walks a TypeBox (JSON Schema) config schema key by key: the configuration reference in docs/ is generated
 * from it, the sample agent config is checked against it and `check-config --explain` labels each value with it.
 */

/** The parts of a JSON Schema that config schemas use (TypeBox builds plain JSON Schema objects). */
export interface SchemaNode {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: readonly unknown[];
  const?: unknown;
  properties?: Record<string, SchemaNode>;
  required?: readonly string[];
  patternProperties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  anyOf?: readonly SchemaNode[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
}

/** One key of a config file: its dotted path (`probes.bandwidth.window.start`, `rooms[].devices[].name`). */
export interface SchemaKey {
  /** Path segments: a property name, `[]` for an array's items, `<name>` for a map's entries. */
  segments: readonly string[];
  path: string;
  node: SchemaNode;
  /** The object schema holding the key (a union's member for a check such as `{ rtsp: … }`). */
  parent: SchemaNode;
  required: boolean;
}

export const asNode = (schema: unknown): SchemaNode => schema as SchemaNode;

export function joinPath(segments: readonly string[]): string {
  let out = '';
  for (const s of segments) {
    if (s === '[]') out += '[]';
    else out += out === '' ? s : `.${s}`;
  }
  return out;
}

/** The object variants of a node: itself, or the object members of its `anyOf`. */
export function objectVariants(node: SchemaNode): SchemaNode[] {
  if (node.properties) return [node];
  return (node.anyOf ?? []).filter((n) => n.properties !== undefined);
}

/**
 * Every key under `schema`, depth first in declaration order: object properties, an array's item schema
 * (`[]`), a map's value schema (`<name>`) and the object members of a union (a check such as `{ rtsp: … }`).
 */
export function schemaKeys(schema: unknown, prefix: readonly string[] = []): SchemaKey[] {
  const keys: SchemaKey[] = [];
  const seen = new Set<string>();
  const visit = (node: SchemaNode, at: readonly string[]): void => {
    for (const variant of objectVariants(node)) {
      const required = new Set(variant.required ?? []);
      for (const [name, child] of Object.entries(variant.properties ?? {})) {
        const segments = [...at, name];
        const path = joinPath(segments);
        if (seen.has(path)) continue;
        seen.add(path);
        keys.push({ segments, path, node: child, parent: variant, required: required.has(name) });
        visitValue(child, segments);
      }
    }
    for (const value of Object.values(node.patternProperties ?? {})) visitValue(value, [...at, '<name>']);
  };
  const visitValue = (node: SchemaNode, at: readonly string[]): void => {
    visit(node, at);
    for (const member of node.anyOf ?? []) if (member.items) visitValue(member.items, [...at, '[]']);
    if (node.items) visitValue(node.items, [...at, '[]']);
  };
  visitValue(asNode(schema), prefix);
  return keys;
}

/** A short human type: `integer 10–86400`, `"http" | "iperf3"`, `list of object`, `string (HH:MM)`. */
export function describeType(node: SchemaNode): string {
  if (node.const !== undefined) return JSON.stringify(node.const);
  if (node.enum) return node.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (node.anyOf) return node.anyOf.map(describeVariant).join(' | ');
  if (node.patternProperties) {
    const value = Object.values(node.patternProperties)[0];
    return `map of ${value ? describeType(value) : 'value'}`;
  }
  const type = Array.isArray(node.type) ? node.type.join(' | ') : (node.type ?? 'any');
  if (type === 'array') return `list of ${node.items ? describeType(node.items) : 'value'}`;
  const range = rangeOf(node);
  return range ? `${type} ${range}` : type;
}

function describeVariant(node: SchemaNode): string {
  if (node.properties && !node.patternProperties) {
    const names = Object.keys(node.properties);
    return names.length === 1 ? `{${names[0]}}` : 'object';
  }
  return describeType(node);
}

function rangeOf(node: SchemaNode): string {
  if (node.minimum !== undefined && node.maximum !== undefined) return `${node.minimum}–${node.maximum}`;
  if (node.minimum !== undefined) return `≥ ${node.minimum}`;
  if (node.maximum !== undefined) return `≤ ${node.maximum}`;
  return '';
}
