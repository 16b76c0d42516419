import { formatCsv, formatTable } from '../../protocol/cli.js';
import { TARGET_NAMES, tierOf } from './evaluate/compliance.js';
import { schoolCompliance } from './evaluate/school-view.js';
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
    ...TARGET_NAMES.map((t) => {
      const c = s.compliance.find((r) => r.target === t);
      return c ? mark(c) : '-';
    }),
  ]);
}

export function renderComplianceReport(
  report: readonly SchoolComplianceReport[],
  format: 'table' | 'json' | 'csv',
): string {
  const headers = ['school', 'name', 'district', 'tier', 'last report', ...TARGET_NAMES];
  if (format === 'json') return JSON.stringify({ schools: report }, null, 2);
  if (format === 'csv')
    return formatCsv(
      headers,
      rowsOf(report, (c) => c.state),
    );
  if (report.length === 0) return 'no schools registered';
  const legend =
    'met = target met, NOT MET = target missed, - = no data yet (never counted as met or missed)';
  return `${formatTable(
    headers,
    rowsOf(report, (c) => MARK[c.state]),
  )}\n\n${legend}`;
}
