#!/usr/bin/env bash
# Every benchmark in bench/ in its smoke mode (`--smoke`: tiny sizes, seconds, the real code path, a non-zero
# exit on any error), so that a change cannot silently break one. scripts/test.sh runs it after the suite.
# A bench/*.ts that is not one of the benches' helper modules below and has no `--smoke` fails this script.
# Needs what the benches need, as CI has it: a build (dist/), influxd, Chromium, and root for the lab benches
# (bandwidth, sweep) and for agent-footprint's ICMP.
#   bash scripts/bench-smoke.sh [NAME …]    (default: every bench; NAME as in bench/NAME.ts)
set -uo pipefail
cd "$(dirname "$0")/.."
# modules the benches import or start, not benches themselves
helpers=" collector-main load-gen proc raw-points school-profile stall-report write-recorder "
if [ $# -gt 0 ]; then
  benches=("$@")
else
  benches=()
  for f in bench/*.ts; do
    name=$(basename "$f" .ts)
    [[ $helpers == *" $name "* ]] || benches+=("$name")
  done
fi
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
failed=()
t0=$(date +%s)
for name in "${benches[@]}"; do
  if ! grep -q -- "--smoke" "bench/$name.ts"; then
    echo "bench-smoke: $name FAILED: bench/$name.ts has no --smoke mode" >&2
    failed+=("$name")
    continue
  fi
  start=$(date +%s)
  timeout --kill-after=10 "${BENCH_SMOKE_TIMEOUT_S:-600}" npx tsx "bench/$name.ts" --smoke >"$logs/$name.log" 2>&1
  rc=$?
  if [ "$rc" -eq 0 ]; then
    echo "bench-smoke: $name ok in $(($(date +%s) - start)) s" >&2
  else
    echo "bench-smoke: $name FAILED (exit $rc) in $(($(date +%s) - start)) s; the end of its output:" >&2
    tail -n 25 "$logs/$name.log" | sed 's/^/    /' >&2
    failed+=("$name")
  fi
done
echo "bench-smoke: ${#benches[@]} benches in $(($(date +%s) - t0)) s, ${#failed[@]} failed${failed[*]:+: ${failed[*]}}" >&2
[ "${#failed[@]}" -eq 0 ]
