// `security`: the baseline checks' observations; kept per rule, target and port. They are written as
// `finding` points by the findings lifecycle (store/points.ts `findingLines`: severity and clause are
// collector policy), not as points of their own.
import type { SecurityResult } from '../../../protocol/report.js';
import type { ResultKind } from './result-kind.js';

export const securityResults: ResultKind<SecurityResult> = {
  probe: 'security',
  key: (r) => `security|${r.rule}|${r.target}|${r.port ?? 0}`,
  keyHoldsTarget: true,
  lines() {},
  rollups: [],
};
