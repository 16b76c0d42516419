#!/usr/bin/env bash
# README command (2): installs what the tests need and runs the whole suite.
# Prints "N passed, N failed, N skipped" as its last line; exits non-zero when anything failed.
# Failed counts failing tests, suite-level failures (a failing beforeAll, a file that does not import) and the
# failed steps (build, typecheck, lint, deps, bench-smoke); with CI=true (.ci/run) every skipped test too
# (scripts/vitest-summary.mjs). Arguments go to vitest; with none, the benchmarks' smoke runs follow the suite.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system.sh --tests || { echo "0 passed, 1 failed"; exit 1; }
bash scripts/install-npm.sh || { echo "0 passed, 1 failed"; exit 1; }

checks_failed=0
step() {
  local name=$1
  shift
  echo "== $name" >&2
  if ! "$@"; then
    echo "== $name FAILED" >&2
    checks_failed=$((checks_failed + 1))
  fi
}
step build npm run --silent build
# the build treats the speed test's native addon as optional; CI must have it (its tests skip without it)
step native-addon bash scripts/build-native.sh --strict
step typecheck npm run --silent typecheck
step lint npx biome ci .
# no import cycles; agent and collector share only protocol/; evaluation, probes and protocol stay in their layer
step deps npx depcruise --config .dependency-cruiser.cjs agent collector protocol dashboards

results=dist/test-results.json
rm -f "$results"
npx vitest run "$@"
vitest_rc=$?
# every bench/ script in its smoke mode (tiny sizes, the real code path), so a change cannot silently break one
if [ $# -eq 0 ]; then
  step bench-smoke bash scripts/bench-smoke.sh
fi
if [ ! -s "$results" ]; then
  echo "vitest wrote no results (exit $vitest_rc)" >&2
  echo "0 passed, $((checks_failed + 1)) failed"
  exit 1
fi
read -r passed failed skipped < <(node scripts/vitest-summary.mjs "$results")
[ -n "${failed:-}" ] || { echo "scripts/vitest-summary.mjs failed on $results" >&2; passed=0 failed=1 skipped=0; }
failed=$((failed + checks_failed))
if [ "$vitest_rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
