#!/usr/bin/env bash
# Installs what building and testing ustack needs, from Debian's packages only.
# Idempotent: does nothing when everything is there.
set -euo pipefail
pkgs=(
  build-essential cmake ninja-build clang libclang-rt-14-dev pkg-config
  libuv1-dev libgoogle-perftools-dev googletest libgtest-dev
  iproute2 iputils-ping iputils-arping nftables tcpdump tshark ethtool
  curl wget python3 nginx-light dnsmasq-base iperf3 socat netcat-openbsd wrk
  bind9-dnsutils nodejs  # dig/host/nslookup and node: libuv UDP (app_libuv_udp.sh)
  openssh-server openssh-client redis-server redis-tools ncat  # app_sshd, app_daemon, app_ipv6_v6only
  chromium  # headless: the --diagram page test (tests/integration/trace_curl.sh)
)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
