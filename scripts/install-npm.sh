#!/usr/bin/env bash
# npm ci, skipped when node_modules already matches package-lock.json (better-sqlite3 builds from source: ~80 s).
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.campuswatch-lock-hash
want=$( (sha256sum package-lock.json; node --version) | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "campuswatch: npm ci" >&2
npm ci --no-audit --no-fund >&2
echo "$want" >"$stamp"
