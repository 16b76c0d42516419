#!/usr/bin/env bash
# README command (1): installs what it needs, then runs the collector on the embedded default (no InfluxDB)
# and an agent probing this machine; prints the web console's address, the first administrator's
# credentials, where the API is and a first compliance summary.
# Ctrl-C (or SIGTERM) stops both. Settings: CAMPUSWATCH_HOME (default ./.campuswatch), CAMPUSWATCH_PORT
# (default 8080; 0 picks a free port).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
home=${CAMPUSWATCH_HOME:-$root/.campuswatch}
port=${CAMPUSWATCH_PORT:-8080}
mkdir -p "$home"

bash scripts/install-system.sh --run
bash scripts/install-npm.sh
npm run --silent build

collector=(node "$root/dist/collector/src/cli.js")
agent=(node "$root/dist/agent-bundle/cli.js") # the bundled agent, as installed at schools
# the daemon with the node flags of deploy/systemd/campuswatch-agent.service (less memory, no WebAssembly)
agent_run=(node --lite-mode --no-expose-wasm "$root/dist/agent-bundle/cli.js")
school_id=demo-school

"${collector[@]}" school add --data "$home/collector" --id "$school_id" --name "示范学校 (campuswatch demo), $(hostname)" \
  --district 示范区 --group 示范教育集团 --tier small --area urban >/dev/null

# the first city administrator, made once; its generated password is printed once, below
admin_password=$("${collector[@]}" user add --data "$home/collector" --if-none --name admin --role admin --scope city \
  --generate-password | sed -n 's/^password (shown once): //p')

pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap 'cleanup; exit 0' INT TERM
trap cleanup EXIT

"${collector[@]}" run --data "$home/collector" --listen "127.0.0.1:$port" >"$home/collector.out" 2>"$home/collector.log" &
pids+=($!)
url=""
for _ in $(seq 1 100); do
  url=$(sed -n 's/^campuswatch collector listening on \(http[^ ]*\).*/\1/p' "$home/collector.out" 2>/dev/null | head -n1)
  [ -n "$url" ] && break
  if ! kill -0 "${pids[0]}" 2>/dev/null; then
    echo "the collector did not start; its log:" >&2
    cat "$home/collector.log" >&2
    exit 1
  fi
  sleep 0.1
done
[ -n "$url" ] || { echo "the collector did not say where it listens" >&2; exit 1; }
port=${url##*:}

ipv6_enabled=true
[ "${CAMPUSWATCH_LOOPBACK_ONLY:-0}" = 1 ] && ipv6_enabled=false

# the agent: this machine's own addresses as the demo inventory, and the collector port as a TCP check
cat >"$home/agent.yaml" <<YAML
school: { id: $school_id, name: "示范学校 (campuswatch demo), $(hostname)", district: 示范区, group: 示范教育集团, tier: small, area: urban }
collector: { url: "$url" }
state: "$home/agent"
cycle: { intervalS: 60 }
# the IPv6 checks ask this machine's resolvers; CAMPUSWATCH_LOOPBACK_ONLY=1 (the smoke test) keeps every packet local
probes: { ipv6: { enabled: ${ipv6_enabled} } }
rooms:
  - name: 录播室 1
    type: recording
    devices:
      - { name: "录播主机 (this machine)", type: recorder, address: 127.0.0.1, checks: [icmp, { tcp: $port }] }
  - name: 智慧教室 1
    type: smart
    devices:
      - { name: "智慧黑板 (this machine, IPv6)", type: panel, address: "::1" }
YAML
if [ ! -f "$home/agent/token" ]; then
  code=$("${collector[@]}" enroll-code --data "$home/collector" --school "$school_id" 2>/dev/null)
  "${agent[@]}" enroll --collector "$url" --code "$code" --state "$home/agent" >/dev/null
fi
if ! "${agent[@]}" once --config "$home/agent.yaml" 2>>"$home/agent.log"; then
  echo "the agent's first cycle failed; the end of its log:" >&2
  tail -n 5 "$home/agent.log" >&2
  exit 1
fi

echo
echo "campuswatch is running on the embedded default (no InfluxDB configured: no series for Grafana)."
echo "  console:    $url/   (open it in a browser and sign in with the account below)"
echo "  API:        $url/api/v1/schools   (school detail: $url/api/v1/schools/$school_id; sign in first)"
if [ -n "$admin_password" ]; then
  echo "  sign in:    account admin, password $admin_password   (shown once: keep it; change it with"
  echo "              ${collector[*]} user passwd --data $home/collector --name admin --generate-password)"
else
  echo "  sign in:    with the admin account made at the first start (its password was shown then)"
fi
echo "              e.g. curl -c $home/cookies -H 'content-type: application/json' \\"
echo "                     -d '{\"name\":\"admin\",\"password\":\"…\"}' $url/api/v1/login"
echo "                   curl -b $home/cookies $url/api/v1/schools"
echo "  health:     $url/healthz"
echo "  state:      $home   (logs: collector.log, agent.log)"
echo "  agent:      ${agent[*]} status --config $home/agent.yaml"
echo
echo "compliance summary:"
"${collector[@]}" report --data "$home/collector"
echo
echo "(Ctrl-C stops the collector and the agent)"

"${agent_run[@]}" run --config "$home/agent.yaml" 2>>"$home/agent.log" &
pids+=($!)
wait "${pids[0]}"
