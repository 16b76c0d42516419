#!/usr/bin/env bash
# Builds the optional native addon native/sockopt (setsockopt/getsockopt for the speed test's
# SO_RCVLOWAT) into native/sockopt/build/sockopt.node and copies it beside the agent bundle
# (dist/agent-bundle/sockopt.node, which deploy/install-agent.sh installs with the bundle) and into
# dist/collector/ (for installs that copy dist/ without the checkout).
# Needs a C compiler and Node's headers (node_api.h); without them it says so and exits 0: the speed
# test works without the addon (more CPU). Run by `npm run build`; --strict makes a failure an error.
set -uo pipefail
cd "$(dirname "$0")/.."
strict=0
[ "${1:-}" = --strict ] && strict=1
src=native/sockopt/sockopt.c
out=native/sockopt/build/sockopt.node

skip() {
  echo "build-native: sockopt addon not built: $*; the speed test runs without SO_RCVLOWAT" >&2
  rm -f dist/agent-bundle/sockopt.node dist/collector/sockopt.node
  [ "$strict" = 0 ]
  exit
}

[ "$(uname -s)" = Linux ] || skip "not Linux"
cc=${CC:-cc}
command -v "$cc" >/dev/null 2>&1 || cc=gcc
command -v "$cc" >/dev/null 2>&1 || skip "no C compiler (apt-get install gcc)"
# Node's headers: beside the running node (/usr/include/node for Debian's and NodeSource's packages,
# <prefix>/include/node for the official tarballs), or npm's nodedir
inc=""
for d in "$(node -p 'require("path").resolve(process.execPath, "../../include/node")')" \
  "${npm_config_nodedir:+$npm_config_nodedir/include/node}" /usr/include/node /usr/local/include/node; do
  if [ -n "$d" ] && [ -f "$d/node_api.h" ]; then
    inc=$d
    break
  fi
done
[ -n "$inc" ] || skip "no node_api.h (Node's headers; Debian: apt-get install libnode-dev, or a nodedir)"

if ! [ -f "$out" ] || [ "$src" -nt "$out" ] || [ "$0" -nt "$out" ]; then
  mkdir -p "$(dirname "$out")"
  "$cc" -O2 -Wall -Wextra -Werror -fPIC -shared -I"$inc" -o "$out.tmp" "$src" || skip "$cc failed on $src"
  mv "$out.tmp" "$out"
fi
# it must load into this node (N-API: any Node >= 12 on this architecture and libc)
node -e 'const m = require(process.argv[1]); if (typeof m.setInt !== "function") process.exit(1)' "$PWD/$out" ||
  skip "$out does not load into $(node --version)"
copies=""
for d in dist/agent-bundle dist/collector; do
  if [ -d "$d" ]; then
    cp "$out" "$d/sockopt.node.tmp" && mv "$d/sockopt.node.tmp" "$d/sockopt.node"
    copies="$copies $d/sockopt.node"
  fi
done
echo "build-native: $out${copies:+ (copied to$copies)}" >&2
