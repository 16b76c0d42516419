#!/usr/bin/env bash
# README command (2): installs what the tests need and runs the whole suite.
# Prints "N passed, N failed, N skipped" as its last line; exits non-zero when anything failed.
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

results=dist/test-results.json
rm -f "$results"
npx vitest run "$@"
vitest_rc=$?
if [ ! -s "$results" ]; then
  echo "vitest wrote no results (exit $vitest_rc)" >&2
  echo "0 passed, $((checks_failed + 1)) failed"
  exit 1
fi
read -r passed failed skipped < <(node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(r.numPassedTests, r.numFailedTests + (r.numRuntimeErrorTestSuites ?? 0), r.numPendingTests + r.numTodoTests);
' "$results")
failed=$((failed + checks_failed))
if [ "$vitest_rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
