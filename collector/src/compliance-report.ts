import { formatCsv, formatTable } from '../../protocol/cli.js';
import { schoolCompliance } from './compliance/school-view.js';
import { TARGETS, tierOf } from './evaluate/compliance.js';
import type { ComplianceRow, StateStore } from './store/state.js';
import type { TargetsConfig } from './targets.js';

export interface SchoolComplianceReport {
  id: string;
  name: string;
  district: string | null;
  group: string | null;
  tier: string;
  area: string | null;
  lastSeenAt: string | null;
  compliance: ComplianceRow[];
}

/** The compliance table per school, for people without Grafana (`campuswatch-collector report`). */
export async function complianceReport(
  state: StateStore,
  targets: TargetsConfig,
  filter: { district?: string } = {},
): Promise<SchoolComplianceReport[]> {
  const schools = (await state.listSchools()).filter(
    (s) => filter.district === undefined || s.district === filter.district,
  );
  return Promise.all(
    schools.map(async (s) => {
      const seen = (await state.listAgents(s.id))
        .map((a) => a.lastSeenAt)
        .filter((t): t is string => t !== null)
        .sort();
      return {
        id: s.id,
        name: s.name,
        district: s.district ?? null,
        group: s.group ?? null,
        tier: tierOf(s, targets),
        area: s.area ?? null,
        lastSeenAt: seen.at(-1) ?? null,
        compliance: await schoolCompliance(state, targets, s),
      };
    }),
  );
}

const MARK = { met: 'met', not_met: 'NOT MET', no_data: '-' } as const;

function rowsOf(report: readonly SchoolComplianceReport[], mark: (c: ComplianceRow) => string): string[][] {
  return report.map((s) => [
    s.id,
    s.name,
    s.district ?? '',
    s.tier,
    s.lastSeenAt ?? 'never',
    ...TARGETS.map(({ name }) => {
      const c = s.compliance.find((r) => r.target === name);
      return c ? mark(c) : '-';
    }),
  ]);
}

export function renderComplianceReport(
  report: readonly SchoolComplianceReport[],
  format: 'table' | 'json' | 'csv',
): string {
  const columns = ['school', 'name', 'district', 'tier', 'last report'];
  if (format === 'json') return JSON.stringify({ schools: report }, null, 2);
  // with a byte-order mark: Excel and WPS on Chinese Windows read the names as UTF-8 (not GBK)
  if (format === 'csv')
    return `\uFEFF${formatCsv(
      [...columns, ...TARGETS.map((t) => t.name)],
      rowsOf(report, (c) => c.state),
    )}`;
  // a terminal is narrow: short headings, named in full under the table
  const headers = [...columns, ...TARGETS.map((t) => t.short)];
  if (report.length === 0) return 'no schools registered';
  const legend = [
    'met = target met, NOT MET = target missed (a school without the room too: 未建), - = no data or too old',
    '(unmonitored: counted in every district figure, never as met)',
    ...TARGETS.map((t) => `  ${t.short.padEnd(9)} ${t.name}: ${t.label.en} (${t.label.zh})`),
  ].join('\n');
  return `${formatTable(
    headers,
    rowsOf(report, (c) => MARK[c.state]),
  )}\n\n${legend}`;
}
