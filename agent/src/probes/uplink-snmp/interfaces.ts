import type { UplinkSnmpResult } from '../../../../protocol/report.js';
import {
  asText,
  describeWalkCut,
  OID,
  type SnmpClient,
  type SnmpFailure,
  type WalkLimits,
} from '../lib/snmp.js';
import type { UplinkSnmpConfig } from './schema.js';

/** The configured uplink and ports of the border router, found on the device by ifName, ifDescr or ifIndex. */

type Role = UplinkSnmpResult['role'];

/** A configured interface, by name or index. */
export interface IfTarget {
  role: Role;
  ifName?: string;
  ifIndex?: number;
}

/** A configured interface found on the device. */
export interface IfFound extends IfTarget {
  index: number;
  name: string;
}

/** A name usable as a tag value: no control characters, no trailing backslash, ≤ 128 characters. */
export function tagSafe(name: string): string {
  return name
    .replace(/\p{Cc}/gu, '')
    .trim()
    .replace(/\\+$/, '')
    .slice(0, 128);
}

// ---------------------------------------------------------------------------------------------
// Interfaces

export function listTargets(cfg: UplinkSnmpConfig): IfTarget[] {
  const out: IfTarget[] = [];
  if (cfg.uplink) out.push({ role: 'uplink', ...cfg.uplink });
  for (const p of cfg.ports) {
    const t: IfTarget = { role: p.role };
    if (p.ifName !== undefined) t.ifName = p.ifName;
    if (p.ifIndex !== undefined) t.ifIndex = p.ifIndex;
    out.push(t);
  }
  return out;
}

/** Index of `name` in a walked name column: exact match first, then a unique case-insensitive one. */
function findName(names: Map<number, unknown>, name: string): number | undefined {
  const lower = name.toLowerCase();
  let ci: number | undefined;
  let ciCount = 0;
  for (const [index, value] of names) {
    const text = asText(value);
    if (text === undefined) continue;
    if (text === name) return index;
    if (text.toLowerCase() === lower) {
      ci = index;
      ciCount++;
    }
  }
  return ciCount === 1 ? ci : undefined;
}

/**
 * Finds each configured interface: names via a walk of ifName, then of ifDescr for the names not
 * found; indexes by reading their ifName/ifDescr. Interfaces that do not exist get a failure.
 */
export async function resolveInterfaces(
  client: SnmpClient,
  targets: IfTarget[],
  deviceName: string,
  limits: WalkLimits,
): Promise<Array<IfFound | (IfTarget & SnmpFailure)>> {
  const byName = targets.filter((t) => t.ifName !== undefined);
  let names = new Map<number, unknown>();
  let descrs: Map<number, unknown> | undefined;
  const cuts: string[] = [];
  if (byName.length > 0) {
    // both walks share the device's time budget
    const shared = { ...limits, since: limits.since ?? performance.now() };
    const walked = await client.walk(OID.ifName, shared);
    names = walked.rows;
    if (walked.cut) cuts.push(describeWalkCut('ifName', walked.cut));
    if (byName.some((t) => findName(names, t.ifName ?? '') === undefined)) {
      const walkedDescr = await client.walk(OID.ifDescr, shared);
      descrs = walkedDescr.rows;
      if (walkedDescr.cut) cuts.push(describeWalkCut('ifDescr', walkedDescr.cut));
    }
  }
  const indexes = targets.filter((t) => t.ifName === undefined && t.ifIndex !== undefined);
  const labels =
    indexes.length > 0
      ? await client.get(
          indexes.flatMap((t) => [
            `${OID.ifName}.${t.ifIndex}`,
            `${OID.ifDescr}.${t.ifIndex}`,
            `${OID.ifOperStatus}.${t.ifIndex}`,
          ]),
        )
      : new Map<string, unknown>();
  return targets.map((t) => {
    if (t.ifName !== undefined) {
      let index = findName(names, t.ifName);
      if (index === undefined && descrs) index = findName(descrs, t.ifName);
      if (index === undefined) {
        const seen = new Set([...names.keys(), ...(descrs?.keys() ?? [])]).size;
        return {
          ...t,
          outcome: 'error',
          error: `interface "${t.ifName}" not found on ${deviceName} (looked in ifName and ifDescr of ${seen} interface(s)${cuts.length > 0 ? `; ${cuts.join('; ')}` : ''})`,
        };
      }
      return { ...t, index, name: t.ifName };
    }
    const index = t.ifIndex ?? 0;
    const name =
      asText(labels.get(`${OID.ifName}.${index}`)) ?? asText(labels.get(`${OID.ifDescr}.${index}`)) ?? '';
    const exists = name !== '' || labels.has(`${OID.ifOperStatus}.${index}`);
    if (!exists) {
      return {
        ...t,
        outcome: 'error',
        error: `ifIndex ${index} not found on ${deviceName} (no ifName, ifDescr or ifOperStatus)`,
      };
    }
    return { ...t, index, name: tagSafe(name) || `ifIndex ${index}` };
  });
}
