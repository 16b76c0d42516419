// Architecture rules, checked in CI (scripts/test.sh step "deps"): no import cycles anywhere, and the layering
// the README describes — the agent and the collector share only protocol/; evaluation is pure (no store,
// routes or notifiers); probes only observe (they neither spool nor forward); protocol/ depends on neither side.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'Import cycles (type-only imports included) make modules impossible to understand or test in isolation.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'agent-not-collector',
      severity: 'error',
      comment: 'The agent and the collector share only protocol/.',
      from: { path: '^agent/' },
      to: { path: '^collector/' },
    },
    {
      name: 'collector-not-agent',
      severity: 'error',
      comment: 'The agent and the collector share only protocol/.',
      from: { path: '^collector/' },
      to: { path: '^agent/' },
    },
    {
      name: 'protocol-standalone',
      severity: 'error',
      comment: 'protocol/ is what both sides agree on: it depends on neither.',
      from: { path: '^protocol/' },
      to: { path: '^(agent|collector|dashboards)/' },
    },
    {
      name: 'evaluate-is-pure',
      severity: 'error',
      comment:
        'Evaluation turns results into outcomes; storing, serving and notifying them is done by its callers.',
      from: { path: '^collector/src/evaluate/' },
      to: { path: '^collector/src/(store|routes|notifiers)/' },
    },
    {
      name: 'probes-only-observe',
      severity: 'error',
      comment: 'A probe returns results; the spool and the forwarder deliver them.',
      from: { path: '^agent/src/probes/' },
      to: { path: '^agent/src/(spool|forwarder)' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
