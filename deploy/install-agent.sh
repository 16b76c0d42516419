#!/usr/bin/env bash
# Installs (or upgrades in place) the campuswatch agent on a school's Debian/Ubuntu box, enrols it with a
# one-time code, checks its configuration and starts it under systemd. Run it as root from a campuswatch
# checkout (git clone, or an unpacked source archive):
#
#   sudo bash deploy/install-agent.sh --collector https://collector.example.edu.cn --code ABCDE-FGHJK-LMNPQ \
#     --school-id sz-xinghai-junior --school-name "苏州工业园区星海实验中学, 初中部"
#
# Re-running it upgrades the installed package and keeps agent.yaml and the token (no second enrolment
# unless --re-enroll). `--help` lists every option; deploy/README.md explains what it does and why.
set -euo pipefail

prog=install-agent.sh
unit=campuswatch-agent
service_user=campuswatch
min_node=20.18.1

usage() {
  cat <<'EOF'
usage: install-agent.sh --collector URL --code CODE --school-id ID --school-name NAME [options]

Installs the campuswatch agent into /opt/campuswatch, writes /etc/campuswatch/agent.yaml (only when it is
absent), enrols with the one-time code (only when /var/lib/campuswatch-agent has no token yet), runs
check-config, and installs and starts the systemd unit campuswatch-agent.

required on the first install (agent.yaml and the token are kept on later runs):
  --collector URL       the collector, e.g. https://collector.example.edu.cn
  --code CODE           one-time enrolment code (campuswatch-collector enroll-code --school ID)
  --school-id ID        the school's id as registered at the collector
  --school-name NAME    the school's name

options:
  --district D --group G --tier small|medium|large --pupils N --area urban|rural
                        more identity for the new agent.yaml (optional)
  --ca-file FILE        PEM CA of the collector's certificate (copied to /etc/campuswatch/collector-ca.pem,
                        named by collector.caFile in the new agent.yaml and used for the enrolment)
  --allow-plain-http    allow an http:// collector that is not on loopback (code and token travel in clear
                        text; sets collector.allowPlainHttp in the new agent.yaml)
  --re-enroll           enrol again with --code even though a token exists (replaces the token)
  --from-dir DIR        campuswatch source to install (default: the checkout this script is in)
  --build               rebuild DIR's dist/ (default: only when it is missing or older than the sources)
  --no-build            install DIR's dist/ as it is (error when it is missing)
  --with-iperf3         also install iperf3 (for `bandwidth: { method: iperf3 }`)
  --skip-packages       do not install Node.js or Debian packages (only check for them)
  --no-start            install and enable the unit, but do not (re)start it
  --no-systemd          no system user, no unit: run `campuswatch-agent run` under your own supervisor
  --prefix DIR          install below DIR (DIR/opt/campuswatch, DIR/etc/campuswatch, DIR/var/lib/...);
                        for staging and tests, needs --no-systemd
  -h, --help            this text

environment:
  NODESOURCE_REPO       NodeSource apt repository used when the distribution's Node.js is older than 20.18.1
                        (default https://deb.nodesource.com/node_20.x; a mirror's URL works too)

Exit codes: 0 done, 2 bad usage (the message names the option), 1 a step failed (the message says which).
EOF
}

say() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }
warn() { printf '%s: warning: %s\n' "$prog" "$*" >&2; }
die() {
  printf '%s: %s\n' "$prog" "$*" >&2
  if [ "${was_active:-0}" = 1 ]; then
    printf '%s: %s was stopped for the upgrade and is not running now: fix the above and re-run (or: systemctl start %s)\n' \
      "$prog" "$unit" "$unit" >&2
  fi
  exit 1
}
usage_error() {
  printf '%s: %s\n' "$prog" "$*" >&2
  printf "run '%s --help' for the options\n" "$prog" >&2
  exit 2
}

# ---------------------------------------------------------------------------------------------- options
collector="" code="" school_id="" school_name="" ca_file="" prefix="" from_dir=""
district="" group="" tier="" pupils="" area=""
re_enroll=0 allow_plain_http=0 build=auto with_iperf3=0 skip_packages=0 no_start=0 no_systemd=0

value_of() { # value_of OPTION "$@": the option's argument, or a usage error naming the option
  if [ $# -lt 3 ] || [ -z "$3" ] || [ "${3#--}" != "$3" ]; then
    usage_error "$1 needs a value"
  fi
  printf '%s' "$3"
}

while [ $# -gt 0 ]; do
  opt=$1
  case $opt in
  --*=*)
    # --name=value: split and handle like "--name value"
    set -- "${opt%%=*}" "${opt#*=}" "${@:2}"
    continue
    ;;
  esac
  case $opt in
  --collector) collector=$(value_of "$opt" "$@") ;;
  --code) code=$(value_of "$opt" "$@") ;;
  --school-id) school_id=$(value_of "$opt" "$@") ;;
  --school-name) school_name=$(value_of "$opt" "$@") ;;
  --district) district=$(value_of "$opt" "$@") ;;
  --group) group=$(value_of "$opt" "$@") ;;
  --tier) tier=$(value_of "$opt" "$@") ;;
  --pupils) pupils=$(value_of "$opt" "$@") ;;
  --area) area=$(value_of "$opt" "$@") ;;
  --ca-file) ca_file=$(value_of "$opt" "$@") ;;
  --prefix) prefix=$(value_of "$opt" "$@") ;;
  --from-dir) from_dir=$(value_of "$opt" "$@") ;;
  --re-enroll | --allow-plain-http | --build | --no-build | --with-iperf3 | --skip-packages | --no-start | --no-systemd | -h | --help) ;;
  *) usage_error "unknown option $opt" ;;
  esac
  case $opt in
  --re-enroll) re_enroll=1 ;;
  --allow-plain-http) allow_plain_http=1 ;;
  --build) build=always ;;
  --no-build) build=never ;;
  --with-iperf3) with_iperf3=1 ;;
  --skip-packages) skip_packages=1 ;;
  --no-start) no_start=1 ;;
  --no-systemd) no_systemd=1 ;;
  -h | --help)
    usage
    exit 0
    ;;
  *) shift ;; # options with a value: drop the value too
  esac
  shift
done

# ---------------------------------------------------------------------------------------------- checks
if [ -n "$prefix" ]; then
  case $prefix in
  /*) ;;
  *) prefix=$(pwd)/$prefix ;;
  esac
  prefix=${prefix%/}
  [ "$no_systemd" = 1 ] || usage_error "--prefix stages an install outside the system paths: pass --no-systemd with it"
fi

opt_dir=$prefix/opt/campuswatch
etc_dir=$prefix/etc/campuswatch
state_dir=$prefix/var/lib/campuswatch-agent
bin_dir=$prefix/usr/local/bin
config=$etc_dir/agent.yaml
# the unit's ExecStart and StateDirectory= name these paths: they only move with --prefix (no systemd)
unit_dir=/etc/systemd/system

have_config=0
[ -f "$config" ] && have_config=1
enrolled=0
[ -f "$state_dir/token" ] && [ -f "$state_dir/identity.json" ] && enrolled=1
need_enroll=0
if [ "$enrolled" = 0 ] || [ "$re_enroll" = 1 ]; then need_enroll=1; fi

missing=()
if [ "$have_config" = 0 ]; then
  [ -n "$collector" ] || missing+=("--collector URL (the collector's address, e.g. https://collector.example.edu.cn)")
  [ -n "$school_id" ] || missing+=("--school-id ID (the school's id as registered at the collector)")
  [ -n "$school_name" ] || missing+=("--school-name NAME (the school's name)")
fi
if [ "$need_enroll" = 1 ] && [ -z "$code" ]; then
  missing+=("--code CODE (the one-time enrolment code: run 'campuswatch-collector enroll-code --school ID' on the collector)")
fi
if [ ${#missing[@]} -gt 0 ]; then
  for m in "${missing[@]}"; do printf '%s: missing %s\n' "$prog" "$m" >&2; done
  exit 2
fi
if [ -n "$collector" ] && ! [[ $collector =~ ^https?://[^[:space:]/]+(/.*)?$ ]]; then
  usage_error "--collector must be an http(s):// URL, got $collector"
fi
if [[ $collector =~ ^http://([^/:]+|\[[^]]+\]) ]] && [ "$allow_plain_http" = 0 ]; then
  host=${BASH_REMATCH[1]}
  if ! [[ $host =~ ^(localhost|127\.[0-9.]+|\[::1\])$ ]]; then
    usage_error "--collector $collector: plain HTTP to a non-loopback host sends the enrolment code and the token in clear text; use https:// (with --ca-file for a private CA) or pass --allow-plain-http"
  fi
fi
if [ -n "$school_id" ] && ! [[ $school_id =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ ]]; then
  usage_error "--school-id must be 1-64 letters, digits, '.', '_' or '-' (starting with a letter or digit), got $school_id"
fi
if [ -n "$tier" ] && ! [[ $tier =~ ^(small|medium|large)$ ]]; then usage_error "--tier must be small, medium or large"; fi
if [ -n "$area" ] && ! [[ $area =~ ^(urban|rural)$ ]]; then usage_error "--area must be urban or rural"; fi
if [ -n "$pupils" ] && ! [[ $pupils =~ ^[0-9]+$ ]]; then usage_error "--pupils must be a whole number"; fi
if [ -n "$ca_file" ] && ! [ -r "$ca_file" ]; then usage_error "--ca-file $ca_file: cannot read the file"; fi

if [ -z "$from_dir" ]; then
  from_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
fi
[ -d "$from_dir" ] || usage_error "--from-dir $from_dir: no such directory"
from_dir=$(cd "$from_dir" && pwd)
grep -q '"name": *"campuswatch"' "$from_dir/package.json" 2>/dev/null ||
  usage_error "--from-dir $from_dir is not a campuswatch checkout (no package.json named campuswatch)"

is_root=0
[ "$(id -u)" = 0 ] && is_root=1
if [ "$is_root" = 0 ] && [ -z "$prefix" ]; then
  die "run as root (sudo bash $0 ...): it installs into /opt, /etc and /var/lib and manages a systemd unit"
fi
if [ "$no_systemd" = 0 ] && ! [ -d /run/systemd/system ]; then
  die "systemd is not running on this machine (PID 1 is $(cat /proc/1/comm 2>/dev/null || echo unknown)): pass --no-systemd and run 'campuswatch-agent run --config $config' under your own supervisor"
fi

mkdir -p "$prefix/opt"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$prefix/opt/.campuswatch-install.lock"
  flock -n 9 || die "another install-agent.sh is running (lock $prefix/opt/.campuswatch-install.lock)"
fi

# ---------------------------------------------------------------------------------------------- Node.js
node_ok() {
  command -v node >/dev/null 2>&1 &&
    node -e 'const [a, b, c] = process.versions.node.split(".").map(Number);
             const [x, y, z] = process.argv[1].split(".").map(Number);
             process.exit(a !== 20 && a < 22 ? 1 : a > x || (a === x && (b > y || (b === y && c >= z))) ? 0 : 1)' "$min_node"
}
apt_install() {
  say "installing $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null ||
    die "apt-get install $* failed (see the messages above)"
}
apt_updated=0
apt_update() {
  if [ "$apt_updated" = 0 ]; then
    apt-get update -qq || die "apt-get update failed: check the box's network and /etc/apt/sources.list"
    apt_updated=1
  fi
}
can_apt() { [ "$is_root" = 1 ] && [ "$skip_packages" = 0 ] && command -v apt-get >/dev/null 2>&1; }

if ! node_ok; then
  have=$(node --version 2>/dev/null || echo none)
  can_apt || die "Node.js >= $min_node (20 LTS or 22+) is needed, found $have; install it (deploy/README.md) or run as root without --skip-packages"
  apt_update
  candidate=$(apt-cache policy nodejs 2>/dev/null | awk '/Candidate:/ { print $2 }')
  if [ -n "$candidate" ] && [ "$candidate" != "(none)" ] && dpkg --compare-versions "$candidate" ge "$min_node"; then
    say "Node.js $have is too old: installing the distribution's nodejs $candidate"
    apt_install nodejs npm
  else
    repo=${NODESOURCE_REPO:-https://deb.nodesource.com/node_20.x}
    say "Node.js $have is too old and the distribution has ${candidate:-none}: installing Node.js 20 from NodeSource ($repo)"
    apt_install ca-certificates curl gnupg
    install -d -m 0755 /etc/apt/keyrings
    curl -fsSL https://deb.nodesource.com/gpgkey/nodesource-repo.gpg.key | gpg --dearmor --yes -o /etc/apt/keyrings/nodesource.gpg ||
      die "cannot fetch NodeSource's signing key from https://deb.nodesource.com/gpgkey/nodesource-repo.gpg.key"
    echo "deb [signed-by=/etc/apt/keyrings/nodesource.gpg] $repo nodistro main" >/etc/apt/sources.list.d/nodesource.list
    apt_updated=0
    apt_update
    apt_install nodejs
  fi
  node_ok || die "Node.js is still older than $min_node after the install: $(node --version 2>/dev/null || echo none)"
fi
node_bin=$(command -v node)
case $node_bin in
/root/* | /home/*)
  [ "$no_systemd" = 1 ] ||
    die "node is $node_bin, inside a home directory the hardened unit cannot see (ProtectHome=yes): install Node.js system-wide (deploy/README.md)"
  ;;
esac

# ---------------------------------------------------------------------------------------------- packages
cli=$from_dir/dist/agent-bundle/cli.js
stale=""
case $build in
always) stale="--build given" ;;
never) [ -f "$cli" ] || die "$from_dir has no dist/agent-bundle/cli.js: build it (npm ci && npm run build) or drop --no-build" ;;
auto)
  if ! [ -f "$cli" ]; then
    stale="no dist/ yet"
  else
    newer=$(cd "$from_dir" && find protocol agent/src collector/src package.json package-lock.json tsconfig.json \
      tsconfig.build.json -newer "$cli" -type f -print 2>/dev/null | head -n 1)
    [ -z "$newer" ] || stale="$newer is newer than dist/"
  fi
  ;;
esac

need_pkgs=()
command -v ping >/dev/null 2>&1 || need_pkgs+=(iputils-ping)
command -v fping >/dev/null 2>&1 || need_pkgs+=(fping)
[ -e /etc/ssl/certs/ca-certificates.crt ] || need_pkgs+=(ca-certificates)
[ "$with_iperf3" = 1 ] && ! command -v iperf3 >/dev/null 2>&1 && need_pkgs+=(iperf3)
if [ -n "$stale" ]; then
  # better-sqlite3 compiles from source when no prebuilt binary can be downloaded
  for t in python3 make g++; do command -v "$t" >/dev/null 2>&1 || need_pkgs+=("$t"); done
fi
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if can_apt; then
    apt_update
    apt_install "${need_pkgs[@]}"
  elif [ "$skip_packages" = 1 ]; then
    warn "not installed (--skip-packages): ${need_pkgs[*]}; ICMP checks need ping and fping"
  else
    die "missing ${need_pkgs[*]}: install them (Debian/Ubuntu: apt-get install ${need_pkgs[*]}) or pass --skip-packages"
  fi
fi

# ---------------------------------------------------------------------------------------------- build
if [ -n "$stale" ]; then
  command -v npm >/dev/null 2>&1 || { can_apt && apt_install npm; } || die "npm is needed to build $from_dir: install npm"
  say "building $from_dir ($stale): npm ci, npm run build"
  [ -f "$from_dir/scripts/install-npm.sh" ] || die "$from_dir/scripts/install-npm.sh is missing: not a complete checkout"
  (cd "$from_dir" && bash scripts/install-npm.sh && npm run --silent build) || die "the build in $from_dir failed (see above)"
fi
[ -d "$from_dir/node_modules" ] || die "$from_dir has no node_modules: run npm ci there (or drop --no-build)"

# ---------------------------------------------------------------------------------------------- install
version=$(CW_PKG="$from_dir/package.json" node -p 'require(process.env.CW_PKG).version')
stage=$opt_dir.new
trap 'rm -rf "$stage"' EXIT
say "installing campuswatch $version from $from_dir into $opt_dir"
rm -rf "$stage"
mkdir -p "$stage/dist" "$stage/deploy"
copy() { cp -R --preserve=mode,timestamps "$@" || die "cannot copy into $stage (see the message above)"; }
copy "$from_dir/package.json" "$from_dir/package-lock.json" "$stage/"
[ -f "$from_dir/README.md" ] && copy "$from_dir/README.md" "$stage/"
copy "$from_dir/dist/protocol" "$from_dir/dist/agent" "$from_dir/dist/agent-bundle" "$from_dir/dist/collector" "$stage/dist/"
copy "$from_dir/config" "$stage/"
copy "$from_dir/deploy/systemd" "$from_dir/deploy/lib" "$from_dir/deploy/README.md" "$from_dir/deploy/install-agent.sh" "$stage/deploy/"
# The checkout's node_modules holds the build tools too, and better-sqlite3 already compiled for this Node:
# copy only the production dependencies of package-lock.json (what `npm ci --omit=dev` would install;
# nothing is downloaded).
list=$(node "$from_dir/deploy/lib/prod-packages.mjs" "$from_dir/package-lock.json") ||
  die "cannot list the production dependencies of $from_dir/package-lock.json"
packages=()
while IFS=$'\t' read -r pkg kind; do
  [ -n "$pkg" ] || continue
  if [ -d "$from_dir/$pkg" ]; then
    packages+=("$pkg")
  elif [ "$kind" = required ]; then
    die "$from_dir/$pkg is missing: run npm ci in $from_dir (or drop --no-build)"
  fi
done <<<"$list"
[ ${#packages[@]} -gt 0 ] || die "no production dependencies found in $from_dir/package-lock.json"
mkdir -p "$stage/node_modules"
# --parents makes real directories of node_modules/ and the scopes, -H copies a package that is a symlink
# (npm link) as what it points to
(cd "$from_dir" && cp -R -H --parents --preserve=mode,timestamps "${packages[@]}" "$stage/") ||
  die "cannot copy the dependencies from $from_dir/node_modules"
if [ "$is_root" = 1 ]; then chown -R root:root "$stage"; fi
chmod -R u+rwX,go+rX,go-w "$stage"
CW_PKG="$stage/package.json" node -e 'require("node:module").createRequire(process.env.CW_PKG)("better-sqlite3")(":memory:").close()' ||
  die "the installed better-sqlite3 does not load with $(node --version): rebuild the checkout (--build)"

was_active=0
if [ "$no_systemd" = 0 ] && systemctl is-active --quiet "$unit"; then
  was_active=1
  say "stopping $unit for the upgrade"
  systemctl stop "$unit"
fi
if [ -d "$opt_dir" ]; then
  rm -rf "$opt_dir.old"
  mv "$opt_dir" "$opt_dir.old"
fi
mv "$stage" "$opt_dir"
rm -rf "$opt_dir.old"
trap - EXIT

mkdir -p "$bin_dir"
{
  printf '#!/bin/bash\n# installed by campuswatch deploy/install-agent.sh\n'
  # the daemon (`run`) with the node flags of the systemd unit's ExecStart (less memory, no WebAssembly)
  printf 'if [ "${1-}" = run ]; then exec %q --lite-mode --no-expose-wasm %q "$@"; fi\n' "$node_bin" "$opt_dir/dist/agent-bundle/cli.js"
  printf 'exec %q %q "$@"\n' "$node_bin" "$opt_dir/dist/agent-bundle/cli.js"
} >"$bin_dir/campuswatch-agent.tmp"
chmod 0755 "$bin_dir/campuswatch-agent.tmp"
mv "$bin_dir/campuswatch-agent.tmp" "$bin_dir/campuswatch-agent"
agent=("$bin_dir/campuswatch-agent")
cfg_get() { node "$opt_dir/deploy/lib/agent-config.mjs" get "$@"; }

# ---------------------------------------------------------------------------------------------- user
if [ "$no_systemd" = 0 ]; then
  getent group "$service_user" >/dev/null || groupadd --system "$service_user"
  if ! getent passwd "$service_user" >/dev/null; then
    say "creating the system user $service_user"
    useradd --system --gid "$service_user" --home-dir /var/lib/campuswatch-agent --no-create-home \
      --shell /usr/sbin/nologin --comment "campuswatch agent" "$service_user"
  fi
fi

# ---------------------------------------------------------------------------------------------- config
mkdir -p "$etc_dir"
chmod 0755 "$etc_dir"
ca_dest=$etc_dir/collector-ca.pem
if [ -n "$ca_file" ]; then
  install -m 0644 "$ca_file" "$ca_dest.tmp"
  mv "$ca_dest.tmp" "$ca_dest"
fi
if [ "$have_config" = 0 ]; then
  say "writing $config from config/agent.example.yaml"
  args=(--template "$opt_dir/config/agent.example.yaml" --out "$config.tmp" --school-id "$school_id"
    --school-name "$school_name" --collector "$collector" --state "$state_dir")
  [ -n "$ca_file" ] && args+=(--ca-file "$ca_dest")
  [ "$allow_plain_http" = 1 ] && args+=(--allow-plain-http)
  [ -n "$district" ] && args+=(--district "$district")
  [ -n "$group" ] && args+=(--group "$group")
  [ -n "$tier" ] && args+=(--tier "$tier")
  [ -n "$pupils" ] && args+=(--pupils "$pupils")
  [ -n "$area" ] && args+=(--area "$area")
  node "$opt_dir/deploy/lib/agent-config.mjs" create "${args[@]}" || die "cannot write $config"
  chmod 0640 "$config.tmp"
  mv "$config.tmp" "$config"
else
  say "keeping $config (re-running never overwrites it)"
  ignored=()
  for o in collector school_id school_name district group tier pupils area; do
    [ -n "${!o}" ] && ignored+=("--${o//_/-}")
  done
  [ ${#ignored[@]} -eq 0 ] || note "not applied to the existing file: ${ignored[*]} (edit it by hand if they changed)"
  if [ -n "$ca_file" ] && [ "$(cfg_get "$config" collector.caFile)" != "$ca_dest" ]; then
    warn "copied the CA to $ca_dest, but $config does not point collector.caFile at it"
  fi
fi
[ "$no_systemd" = 1 ] || chown "root:$service_user" "$config"
configured_state=$(cfg_get "$config" state)
if [ "$configured_state" != "$state_dir" ]; then
  die "$config has state: ${configured_state:-(unset)}, but the agent's state directory is $state_dir (the unit's StateDirectory=): set state: $state_dir and re-run"
fi
env_file=$etc_dir/agent.env
if ! [ -e "$env_file" ]; then
  cat >"$env_file" <<'EOF'
# Environment of the campuswatch-agent unit (EnvironmentFile=), readable by root only.
# Put secrets here and refer to them from agent.yaml as ${env:NAME}, e.g.
#   CAMPUSWATCH_SNMP_COMMUNITY=…      →  inventory: { snmp: { community: "${env:CAMPUSWATCH_SNMP_COMMUNITY}" } }
EOF
  chmod 0600 "$env_file"
fi

# ---------------------------------------------------------------------------------------------- enrol
mkdir -p "$state_dir"
chmod 0700 "$state_dir"
if [ "$need_enroll" = 1 ]; then
  url=${collector:-$(cfg_get "$config" collector.url)}
  [ -n "$url" ] || die "no collector URL: pass --collector URL"
  say "enrolling with $url"
  enroll_args=(--collector "$url" --code "$code" --state "$state_dir")
  [ -n "$ca_file" ] && enroll_args+=(--ca-file "$ca_dest")
  [ "$allow_plain_http" = 1 ] && enroll_args+=(--allow-plain-http)
  # --re-enroll is the operator's word that the existing token goes (the agent keeps it without --force)
  [ "$re_enroll" = 1 ] && enroll_args+=(--force)
  "${agent[@]}" enroll "${enroll_args[@]}" ||
    die "enrolment failed (see the message above): ask the collector's operator for a new code if this one was used or expired"
  enrolled_school=$(cfg_get "$state_dir/identity.json" schoolId)
  configured_school=$(cfg_get "$config" school.id)
  if [ "$enrolled_school" != "$configured_school" ]; then
    die "the code enrolled this agent for school $enrolled_school, but $config is for school $configured_school: fix school.id or get a code for $configured_school, then re-run with --re-enroll"
  fi
else
  note "already enrolled as agent $(cfg_get "$state_dir/identity.json" agentId) of school $(cfg_get "$state_dir/identity.json" schoolId); not enrolling again (--re-enroll replaces the token)"
  [ -z "$code" ] || note "--code not used"
fi
[ "$no_systemd" = 1 ] || chown -R "$service_user:$service_user" "$state_dir"

# ---------------------------------------------------------------------------------------------- check
say "checking $config"
if [ "$no_systemd" = 0 ] && command -v runuser >/dev/null 2>&1; then
  # as the service user: proves it can read the configuration
  runuser -u "$service_user" -- "${agent[@]}" check-config --config "$config" || die "check-config failed: fix $config (the message names the field) and re-run"
else
  "${agent[@]}" check-config --config "$config" || die "check-config failed: fix $config (the message names the field) and re-run"
fi

# ---------------------------------------------------------------------------------------------- systemd
if [ "$no_systemd" = 1 ]; then
  say "done (no systemd unit: --no-systemd)"
  note "run it under your own supervisor: ${agent[*]} run --config $config"
  exit 0
fi
say "installing the systemd unit $unit"
sed "s#^ExecStart=/usr/bin/node #ExecStart=$node_bin #" "$opt_dir/deploy/systemd/$unit.service" >"$unit_dir/$unit.service.tmp"
mv "$unit_dir/$unit.service.tmp" "$unit_dir/$unit.service"
systemctl daemon-reload
systemctl enable --quiet "$unit"
if [ "$no_start" = 1 ]; then
  say "done; not started (--no-start): systemctl start $unit"
  [ "$was_active" = 0 ] || warn "$unit was running before the upgrade and is stopped now"
  exit 0
fi
systemctl reset-failed "$unit" 2>/dev/null || true
was_active=0 # from here on a failure is the new start's, not a leftover of the upgrade
systemctl restart "$unit"
sleep 3
if ! systemctl is-active --quiet "$unit"; then
  journalctl -u "$unit" -n 20 --no-pager >&2 || true
  die "$unit did not stay up (its journal is above): systemctl status $unit"
fi
say "done: $unit is running (campuswatch $version)"
note "status:  campuswatch-agent status --config $config"
note "logs:    journalctl -u $unit -f"
