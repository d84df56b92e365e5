#!/usr/bin/env bash
# The demo: watch TCP/IP happen on real programs.
#
#   scripts/demo.sh [OUTDIR]      (as root; OUTDIR defaults to ./ustack-demo)
#
# Installs what is missing (scripts/setup.sh), builds (scripts/build.sh), sets
# up the built-in test network (tests/netns/topo.sh: a client namespace whose
# interface the stack owns, a server namespace with a web server and dnsmasq
# answering *.ustack.test), then runs through ustack:
#   1. curl, traced: the name lookup over the stack's own UDP, the ARP for the
#      gateway, the 3-way handshake with its states, the HTTP exchange, the
#      4-way close and TIME_WAIT, then the --stats table;
#   2. wget fetching 2 MiB, with states and congestion control traced and
#      the --stats table.
# Each run writes a diagram page (ladder diagram and plots) into OUTDIR.
# Everything it creates in the network is removed on exit.
set -uo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "${1:-$PWD/ustack-demo}")
[ "$(id -u)" = 0 ] || { echo "demo: run as root (it creates network namespaces)" >&2; exit 1; }

"$src/scripts/setup.sh" || exit 1
build=${USTACK_BUILD:-$src/build}
echo "demo: building into $build ..." >&2
"$src/scripts/build.sh" "$build" || exit 1
ustack=$build/bin/ustack
mkdir -p "$out"

source "$src/tests/netns/topo.sh"
www=$(mktemp -d /tmp/ustack-demo-www.XXXXXX)
cleanup() { topo_cleanup; rm -rf "$www"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

bold() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
wait_port() { # NS PORT [udp]
  local i flag=-tln
  [ "${3:-}" = udp ] && flag=-uln
  for ((i = 0; i < 100; i++)); do
    ip netns exec "$1" ss -H $flag "sport = :$2" | grep -q . && return 0
    sleep 0.05
  done
  echo "demo: nothing listens on port $2 in $1" >&2
  return 1
}

topo_direct || { echo "demo: cannot create the test network" >&2; exit 1; }
echo "<html><body>Hello from the server namespace, over ustack.</body></html>" > "$www/index.html"
head -c $((2 << 20)) /dev/urandom > "$www/file.bin"
topo_spawn "$TOPO_SERVER" python3 "$src/tests/integration/app_httpd.py" "$www" 198.18.0.1 80
topo_spawn "$TOPO_SERVER" dnsmasq --no-daemon --no-resolv --no-hosts --listen-address=198.18.0.1 \
  --bind-interfaces --address=/ustack.test/198.18.0.1 --pid-file="$www/dnsmasq.pid" \
  --log-facility="$www/dnsmasq.log"
wait_port "$TOPO_SERVER" 80 && wait_port "$TOPO_SERVER" 53 udp || exit 1

cat <<EOF

The test network: namespace $TOPO_CLIENT holds interface uc0, which ustack owns
(198.18.0.10/24; the kernel has no address there). Namespace $TOPO_SERVER holds
198.18.0.1: a web server and dnsmasq answering *.ustack.test.
EOF

opts=(--if uc0 --ip 198.18.0.10/24 --gw 198.18.0.1 --dns 198.18.0.1)

bold "1. curl http://web.ustack.test/ with --trace --stats"
echo "   ustack ${opts[*]} --trace --stats --diagram $out/curl.html -- curl -sS http://web.ustack.test/"
echo
ip netns exec "$TOPO_CLIENT" "$ustack" "${opts[@]}" --trace --stats --diagram "$out/curl.html" -- \
  curl -sS http://web.ustack.test/
echo "   (curl exited with status $?)"

bold "2. wget of 2 MiB with --trace=arp,dns,state,cc --stats"
echo "   ustack ${opts[*]} --trace=arp,dns,state,cc --stats --diagram $out/wget.html -- wget -q -O /dev/null http://web.ustack.test/file.bin"
echo
ip netns exec "$TOPO_CLIENT" "$ustack" "${opts[@]}" --trace=arp,dns,state,cc --stats \
  --diagram "$out/wget.html" -- wget -q -O /dev/null http://web.ustack.test/file.bin
echo "   (wget exited with status $?)"

bold "Diagrams"
cat <<EOF
   $out/curl.html   the curl connection: ladder diagram of every segment, both sides' states
   $out/wget.html   the wget transfer: its data runs folded, cwnd/flight/RTT/window plots
Open them in any browser (self-contained: inline SVG, nothing fetched).
More: --trace-json FILE (one JSON object per event), --stats-json FILE, and
\`ustack ss\` to list a running stack's connections (see README.md).
EOF
