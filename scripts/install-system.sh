#!/usr/bin/env bash
# Installs the Debian packages campuswatch needs, when they are missing and we are root.
#   --run    what the programs need: ping (iputils-ping), openssl (`campuswatch-collector tls init`) and a
#            C++ toolchain for better-sqlite3
#   --tests  also what the test suite talks to: influxdb, snmpd, snmp, iperf3, fping, iproute2, postgresql,
#            chromium and fonts-noto-cjk (the console is tested in a real browser, Chinese in real fonts)
#            python3-openpyxl and poppler-utils (the term report's XLSX and PDF are read back by independent readers)
#            systemd (`systemd-analyze verify` checks the deploy/systemd units)
# Without root it only says what is missing; tests that need a missing binary skip with that reason.
set -euo pipefail
mode=${1:---run}
pkgs=(iputils-ping openssl python3 make g++)
if [ "$mode" = "--tests" ]; then
  pkgs+=(influxdb snmpd snmp snmpsim iperf3 fping iproute2 dnsmasq-base nftables postgresql chromium fonts-noto-cjk python3-openpyxl poppler-utils systemd)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "campuswatch: not root (or no apt-get): cannot install ${missing[*]}; tests needing them will skip" >&2
  exit 0
fi
echo "campuswatch: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
# policy-rc.d keeps Debian from starting the packaged daemons (influxd, snmpd, the postgresql package's
# 'main' cluster on 5432) system-wide: tests start their own (tests/helpers/postgres.ts: initdb in a temp dir).
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
