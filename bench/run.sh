#!/usr/bin/env bash
# ustack benchmark: every scenario on ustack AND on the Linux stack, in the
# same run, on the same veth. Run as root from anywhere:
#
#   bench/run.sh                 # Release build in build-bench, 3 reps of 5 s
#   bench/run.sh --long          # 10 s per timed run (the issue's figure)
#   bench/run.sh --reps 5 --only bulk,rr
#   bench/run.sh --smoke         # 1 rep, 1 s, small sizes (the smoke test)
#
# Options:
#   --reps N       repetitions (median and spread over them)       [3]
#   --secs S       seconds per timed run (iperf3, rr, wrk, connrate) [5]
#   --long         --secs 10
#   --smoke        --reps 1 --secs 1, 64 MB download, 200 idle connections
#   --only LIST    comma list of: bulk,download,rr,wrk,connrate,idle,trace
#   --build DIR    build directory [<repo>/build-bench]; --no-build uses it as is
#   --out DIR      results directory [<build>/bench-results]
#   --svg PATH     also copy the chart there (e.g. docs/bench.svg)
#   --perf         also profile every run (perf record -a -g, cpu-clock) and
#                  write the top entries to perf.SCENARIO.STACK.txt in --out
#
# How Linux and ustack share one veth: the test network is the one of
# tests/netns/topo.sh (client ns: uc0, server ns: us0 198.18.0.1). For a
# Linux run the kernel in the client namespace is given 198.18.0.10 on uc0;
# for a ustack run that address is removed again and ustack owns it through
# AF_PACKET. The program, the veth, its MTU and offloads, the peer and its
# kernel are the same; only the stack under the program changes. Linux and
# ustack runs alternate inside every repetition, so slow drift on a shared
# machine hits both alike.
#
# Output: a table on stdout (also table.txt), results.jsonl (every raw
# sample), bench.json (medians, spreads, ratios, targets, commit, MTU,
# offloads) and bench.svg, all in the results directory.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$SRC/build-bench
OUT=
REPS=3
SECS=5
SMOKE=0
DO_BUILD=1
ONLY=bulk,download,rr,wrk,connrate,idle,trace
SVG_COPY=
PERF=0
DL_MB=1024
IDLE_N=10000

while (($#)); do
  case $1 in
    --reps) REPS=$2; shift ;;
    --secs) SECS=$2; shift ;;
    --long) SECS=10 ;;
    --smoke) SMOKE=1; REPS=1; SECS=1; DL_MB=64; IDLE_N=200 ;;
    --only) ONLY=$2; shift ;;
    --build) BUILD=$2; shift ;;
    --no-build) DO_BUILD=0 ;;
    --out) OUT=$2; shift ;;
    --svg) SVG_COPY=$2; shift ;;
    --perf) PERF=1 ;;
    -h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
OUT=${OUT:-$BUILD/bench-results}
[ "$(id -u)" = 0 ] || { echo "bench: needs root (network namespaces, AF_PACKET)" >&2; exit 2; }

log() { echo "bench: $*" >&2; }
want() { [[ ",$ONLY," == *",$1,"* ]]; }

# --- tools --------------------------------------------------------------------
need_tools() {
  local missing=() t
  for t in iperf3 nginx wrk curl ethtool python3 cc; do command -v "$t" >/dev/null || missing+=("$t"); done
  ((${#missing[@]})) || return 0
  log "installing what the bench needs: ${missing[*]}"
  "$SRC/scripts/setup.sh" >/dev/null || true
  command -v ethtool >/dev/null || {
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ethtool >/dev/null 2>&1 ||
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ethtool >/dev/null; }
  }
  for t in iperf3 nginx wrk curl python3 cc; do
    command -v "$t" >/dev/null || { log "missing $t (scripts/setup.sh installs it)"; exit 2; }
  done
}
need_tools

# --- build: Release ustack + the bench programs ---------------------------------
if ((DO_BUILD)); then
  log "Release build in $BUILD"
  "$SRC/scripts/build.sh" "$BUILD" -DCMAKE_BUILD_TYPE=Release || { log "build failed"; exit 1; }
fi
USTACK=$BUILD/bin/ustack
[ -x "$USTACK" ] || { log "no $USTACK (build first, or drop --no-build)"; exit 1; }
# The same Release build with the event hooks compiled out: the baseline
# that shows what the hooks cost when tracing is off.
USTACK_NOEV=$BUILD-noev/bin/ustack
if [[ ",$ONLY," == *,trace,* ]]; then
  if ((DO_BUILD)) || [ ! -x "$USTACK_NOEV" ]; then
    log "Release build without event hooks in $BUILD-noev"
    "$SRC/scripts/build.sh" "$BUILD-noev" -DCMAKE_BUILD_TYPE=Release -DUSTACK_EVENTS=OFF \
      -DUSTACK_UNIT_TESTS=OFF || { log "build failed"; exit 1; }
  fi
  [ -x "$USTACK_NOEV" ] || { log "no $USTACK_NOEV (build first, or drop --no-build)"; exit 1; }
fi
BENCH_BIN=$BUILD/bench
mkdir -p "$BENCH_BIN" "$OUT"
for p in rr connrate idle; do
  if [ ! -x "$BENCH_BIN/$p" ] || [ "$SRC/bench/$p.c" -nt "$BENCH_BIN/$p" ]; then
    cc -O2 -Wall -Wextra -Werror -pthread -o "$BENCH_BIN/$p" "$SRC/bench/$p.c" || { log "cannot build bench/$p.c"; exit 1; }
  fi
done

# --- network ----------------------------------------------------------------------
W=$(mktemp -d /tmp/ustack-bench.XXXXXX)
chmod 755 "$W" # nginx workers run as www-data
TOPO_TAG=bench$$
source "$SRC/tests/netns/topo.sh"
BG_PIDS=()
bench_cleanup() {
  local p
  for p in "${BG_PIDS[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${BG_PIDS[@]}"; do wait "$p" 2>/dev/null; done
  topo_cleanup
  rm -rf "$W"
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM
topo_direct || { log "cannot create the test network"; exit 1; }
C=$TOPO_CLIENT S=$TOPO_SERVER
SIP=198.18.0.1 CIP=198.18.0.10
USTACK_OPTS=(--if uc0 --ip $CIP/24 --gw $SIP --dns $SIP)
ulimit -n 1048576 2>/dev/null || ulimit -n 65536 2>/dev/null
# Plenty of ephemeral ports for the connection-rate runs, on both sides.
for ns in "$C" "$S"; do ip netns exec "$ns" sysctl -qw net.ipv4.ip_local_port_range="1024 65535"; done

# --- the two stacks -----------------------------------------------------------------
# stack_use linux|ustack: the kernel owns 198.18.0.10 on uc0 only for Linux.
stack_use() {
  ip -n "$C" addr flush dev uc0 2>/dev/null
  if [ "$1" = linux ]; then
    ip -n "$C" addr add $CIP/24 dev uc0
    # Until the kernel address is usable (no DAD for IPv4; the route is instant).
    ip netns exec "$C" ping -c1 -W1 -q $SIP >/dev/null 2>&1
  fi
  # The server's neighbour entry for .10 is the same MAC either way; flushing
  # it makes both stacks answer ARP the same way at the start of a run.
  ip -n "$S" neigh flush dev us0 2>/dev/null
  # No run inherits the last one's TIME-WAITs: the short-connection runs
  # leave tens of thousands in the server namespace, and a 4-tuple reused
  # with the other stack's timestamps draws PAWS rejections there.
  local ns
  for ns in "$S" "$C"; do ip netns exec "$ns" ss -K state time-wait >/dev/null 2>&1; done
}

# on STACK CMD...: CMD in the client namespace on that stack (foreground).
on() {
  local st=$1; shift
  if [ "$st" = ustack ]; then
    ip netns exec "$C" "$USTACK" "${USTACK_OPTS[@]}" -- "$@"
  else
    ip netns exec "$C" "$@"
  fi
}

# serve_on STACK PROBE_PORT CMD...: a server in the client namespace on that
# stack, in the background (SERVE_PID); returns once PROBE_PORT accepts a
# connection from the server namespace (PROBE_PORT 0: wait a fixed second).
serve_on() {
  local st=$1 port=$2; shift 2
  if [ "$st" = ustack ]; then
    ip netns exec "$C" "$USTACK" "${USTACK_OPTS[@]}" -- "$@" >"$W/serve.out" 2>&1 &
  else
    ip netns exec "$C" "$@" >"$W/serve.out" 2>&1 &
  fi
  SERVE_PID=$!
  local i
  if [ "$port" = 0 ]; then sleep 1.5; kill -0 $SERVE_PID 2>/dev/null; return; fi
  for ((i = 0; i < 100; i++)); do
    ip netns exec "$S" timeout 1 bash -c "exec 3<>/dev/tcp/$CIP/$port" 2>/dev/null && return 0
    kill -0 $SERVE_PID 2>/dev/null || break
    sleep 0.1
  done
  log "server on $st did not come up: $(tail -3 "$W/serve.out")"
  return 1
}

unserve() {
  [ -n "${SERVE_PID:-}" ] || return 0
  kill -TERM "$SERVE_PID" 2>/dev/null
  local i
  for ((i = 0; i < 100; i++)); do kill -0 "$SERVE_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$SERVE_PID" 2>/dev/null
  wait "$SERVE_PID" 2>/dev/null
  # nginx workers / iperf3 leftovers of a killed launcher
  ip netns pids "$C" 2>/dev/null | xargs -r kill -9 2>/dev/null
  SERVE_PID=
  sleep 0.2
}

# srv_bg CMD...: a server in the server namespace (Linux), for the whole run.
srv_bg() {
  ip netns exec "$S" "$@" >>"$W/srv_bg.out" 2>&1 &
  BG_PIDS+=($!)
}

# record SCENARIO STACK REP METRIC VALUE UNIT [NOTE]
record() {
  printf '{"scenario":"%s","stack":"%s","rep":%s,"metric":"%s","value":%s,"unit":"%s","note":"%s"}\n' \
    "$1" "$2" "$3" "$4" "${5:-null}" "$6" "${7:-}" >>"$OUT/results.jsonl"
  log "  $1 $2 rep $3: $4 = ${5:-FAILED} $6 ${7:-}"
}
num() { [[ "${1:-}" =~ ^[0-9.]+$ ]] && echo "$1" || echo null; }

# --- CPU accounting -------------------------------------------------------------------
# perf stat's cycle counter (whole machine) where the machine has one. Where
# it has none (most VMs), getrusage-style accounting of exactly the processes
# of the run: every process in the two bench namespaces (servers, the ustack
# launcher with its stack thread, the program) plus the foreground client
# (RUSAGE_CHILDREN of a wrapper), plus the machine's softirq time (where the
# kernel's receive work runs, for both stacks), times the nominal clock. This
# stays meaningful on a machine that others are using.
CPU_MHZ=$(awk -F: '/^cpu MHz/ {print $2; exit}' /proc/cpuinfo | tr -d ' ')
CPU_MHZ=${CPU_MHZ:-0}
CLK_TCK=$(getconf CLK_TCK)
if perf stat -a -e cycles -x, -- true 2>&1 | grep -q '^[0-9]'; then CPU_HOW=perf; else CPU_HOW=rusage; fi
# utime+stime+cutime+cstime (ticks) of every process in the bench namespaces,
# plus the machine's softirq ticks.
cpu_ticks() {
  local pids
  pids=$( { ip netns pids "$C"; ip netns pids "$S"; } 2>/dev/null | tr '\n' ' ')
  { for p in $pids; do cat "/proc/$p/stat" 2>/dev/null; echo; done; } |
    awk -v sirq="$(awk '/^cpu / {print $8; exit}' /proc/stat)" '
      NF { sub(/^.*\) /, ""); t += $12 + $13 + $14 + $15 }
      END { printf "%d", t + sirq }'
}
# cpu_fg CMD...: CMD in the foreground; its CPU (with children) in $W/fg.cpu.
cpu_fg() {
  python3 -c '
import resource, subprocess, sys
rc = subprocess.run(sys.argv[2:]).returncode
u = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], "w").write("%.3f" % (u.ru_utime + u.ru_stime))
sys.exit(rc)' "$W/fg.cpu" "$@"
}
cpu_start() {
  echo 0 >"$W/fg.cpu"
  CPU_T0=$(cpu_ticks)
  if [ "$CPU_HOW" = perf ]; then
    perf stat -a -e cycles -x, -o "$W/perf.cyc" &
    CPU_PERF=$!
  fi
}
# cpu_stop BYTES: prints cycles per byte.
cpu_stop() {
  local bytes=$1 cyc
  if [ "$CPU_HOW" = perf ]; then
    kill -INT $CPU_PERF 2>/dev/null; wait $CPU_PERF 2>/dev/null
    cyc=$(awk -F, '/cycles/ {print $1; exit}' "$W/perf.cyc")
  else
    local t1
    t1=$(cpu_ticks)
    cyc=$(awk -v d=$((t1 - CPU_T0)) -v fg="$(cat "$W/fg.cpu")" -v hz="$CLK_TCK" -v mhz="$CPU_MHZ" \
      'BEGIN {printf "%.0f", (d / hz + fg) * mhz * 1e6}')
  fi
  awk -v c="${cyc:-0}" -v b="$bytes" 'BEGIN {if (b > 0 && c > 0) printf "%.2f", c / b; else print "null"}'
}
# on_argv STACK: the command prefix that runs a program on that stack.
on_argv() {
  ON=(ip netns exec "$C")
  [ "$1" = ustack ] && ON+=("$USTACK" "${USTACK_OPTS[@]}" --)
}

# --- scenarios ----------------------------------------------------------------------
IPERF_PORT=5201

iperf_bps() { python3 -c "import json,sys; print(int(json.load(sys.stdin)['end']['sum_received']['bits_per_second']))" 2>/dev/null; }
iperf_bytes() { python3 -c "import json,sys; print(int(json.load(sys.stdin)['end']['sum_received']['bytes']))" 2>/dev/null; }
gbit() { awk -v b="${1:-}" 'BEGIN {if (b + 0 > 0) printf "%.3f", b / 1e9; else print "null"}'; }

# bulk_tx STACK REP STREAMS: the stack sends (iperf3 client in the client ns).
bulk_tx() {
  local st=$1 rep=$2 p=$3 out bytes cpb
  on_argv "$st"
  cpu_start
  out=$(cpu_fg "${ON[@]}" iperf3 -c $SIP -p $IPERF_PORT -t "$SECS" -P "$p" -J 2>"$W/err")
  bytes=$(iperf_bytes <<<"$out")
  cpb=$(cpu_stop "${bytes:-0}")
  record "bulk_tx_$p" "$st" "$rep" throughput "$(gbit "$(iperf_bps <<<"$out")")" Gbit/s
  [ "$p" = 1 ] && record cpu_tx "$st" "$rep" cycles_per_byte "$cpb" cycles/B "$CPU_HOW"
}

# bulk_rx STACK REP STREAMS: the stack receives (iperf3 server under it).
bulk_rx() {
  local st=$1 rep=$2 p=$3 out bytes cpb
  serve_on "$st" 0 iperf3 -s -p $IPERF_PORT || { record "bulk_rx_$p" "$st" "$rep" throughput null Gbit/s "server failed"; unserve; return; }
  cpu_start
  out=$(cpu_fg ip netns exec "$S" iperf3 -c $CIP -p $IPERF_PORT -t "$SECS" -P "$p" -J 2>"$W/err")
  bytes=$(iperf_bytes <<<"$out")
  cpb=$(cpu_stop "${bytes:-0}")
  unserve
  record "bulk_rx_$p" "$st" "$rep" throughput "$(gbit "$(iperf_bps <<<"$out")")" Gbit/s
  [ "$p" = 1 ] && record cpu_rx "$st" "$rep" cycles_per_byte "$cpb" cycles/B "$CPU_HOW"
}

nginx_conf() { # nginx_conf DIR LISTEN ROOT
  mkdir -p "$1"
  cat >"$1/nginx.conf" <<CONF
worker_processes 1;
daemon off;
master_process on;
pid $1/nginx.pid;
error_log $1/error.log warn;
worker_rlimit_nofile 65536;
events { use epoll; worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 60;
  keepalive_requests 1000000;
  client_body_temp_path $1;
  proxy_temp_path $1;
  fastcgi_temp_path $1;
  uwsgi_temp_path $1;
  scgi_temp_path $1;
  server { listen $2; root $3; }
}
CONF
}

# download STACK REP: curl of a DL_MB file from nginx (Linux, server ns).
download() {
  local st=$1 rep=$2 sp
  # The file in the page cache for both stacks alike: reclaim (DAMON on
  # this kind of VM) empties it between runs, and whichever stack went first
  # read it cold at about 2.5 Gbit/s.
  cat "$W/www/big" >/dev/null
  sp=$(on "$st" curl -sS -o /dev/null -w '%{speed_download}' "http://$SIP:8081/big" 2>"$W/err")
  record download "$st" "$rep" throughput "$(awk -v s="$(num "$sp")" 'BEGIN {if (s > 0) printf "%.3f", s * 8 / 1e9; else print "null"}')" Gbit/s "${DL_MB} MB"
}

# rr STACK REP: 1-byte ping-pong, client on the stack, Linux echo server.
rr() {
  local st=$1 rep=$2 out
  out=$(on "$st" "$BENCH_BIN/rr" client $SIP 7001 "$SECS" 2>"$W/err")
  record rr "$st" "$rep" round_trips "$(num "$(grep -oP 'rr_per_s=\K[0-9.]+' <<<"$out")")" rt/s
  record rr_p99 "$st" "$rep" latency "$(num "$(grep -oP 'p99_us=\K[0-9]+' <<<"$out")")" us
}

# wrk STACK REP: nginx on the stack, wrk from the server namespace.
wrk_run() {
  local st=$1 rep=$2 out rps p50 p99
  serve_on "$st" 8080 nginx -c "$W/ngx_c/nginx.conf" -e "$W/ngx_c/error.log" ||
    { record wrk "$st" "$rep" requests null req/s "nginx failed"; unserve; return; }
  out=$(ip netns exec "$S" wrk -t1 -c32 -d"${SECS}s" --latency "http://$CIP:8080/small" 2>&1)
  unserve
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  local err=""
  grep -q "Socket errors" <<<"$out" && err=$(grep "Socket errors" <<<"$out" | tr -s ' ')
  record wrk "$st" "$rep" requests "$(num "$rps")" req/s "$err"
  record wrk_p50 "$st" "$rep" latency "$(to_us "$p50")" us
  record wrk_p99 "$st" "$rep" latency "$(to_us "$p99")" us
}
to_us() { # wrk prints 812.00us / 1.23ms / 1.01s
  awk -v v="${1:-}" 'BEGIN {
    if (v ~ /us$/) {sub(/us$/, "", v); printf "%.1f", v}
    else if (v ~ /ms$/) {sub(/ms$/, "", v); printf "%.1f", v * 1000}
    else if (v ~ /s$/) {sub(/s$/, "", v); printf "%.1f", v * 1e6}
    else print "null"}'
}

# connrate_client STACK REP: short connections out of the stack.
connrate_client() {
  local st=$1 rep=$2 out
  out=$(on "$st" "$BENCH_BIN/connrate" client $SIP 7002 "$SECS" 4 2>"$W/err")
  record conn_client "$st" "$rep" connections "$(num "$(grep -oP 'conn_per_s=\K[0-9.]+' <<<"$out")")" conn/s \
    "errors $(grep -oP 'errors=\K[0-9]+' <<<"$out")"
}

# connrate_server STACK REP: short connections into the stack.
connrate_server() {
  local st=$1 rep=$2 out
  serve_on "$st" 7003 "$BENCH_BIN/connrate" server 0.0.0.0 7003 ||
    { record conn_server "$st" "$rep" connections null conn/s "server failed"; unserve; return; }
  out=$(ip netns exec "$S" "$BENCH_BIN/connrate" client $CIP 7003 "$SECS" 4 2>"$W/err")
  unserve
  record conn_server "$st" "$rep" connections "$(num "$(grep -oP 'conn_per_s=\K[0-9.]+' <<<"$out")")" conn/s \
    "errors $(grep -oP 'errors=\K[0-9]+' <<<"$out")"
}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null; }
slab_kib() { awk '/^Slab:/ {print $2}' /proc/meminfo; }

# idle STACK REP: IDLE_N idle connections to a Linux holder. ustack: the
# launcher's RSS (it hosts the stack) grows by this much per connection;
# Linux: the kernel's slab grows by this much (both ends: the holder is on
# the same kernel, so this overstates the client side).
idle() {
  local st=$1 rep=$2 go=$W/idle.go.$st.$rep pid m0 m1 i secs
  rm -f "$go" "$go.end"
  if [ "$st" = ustack ]; then
    ip netns exec "$C" "$USTACK" "${USTACK_OPTS[@]}" -- "$BENCH_BIN/idle" client $SIP 7004 "$IDLE_N" "$go" >"$W/idle.out" 2>&1 &
  else
    ip netns exec "$C" "$BENCH_BIN/idle" client $SIP 7004 "$IDLE_N" "$go" >"$W/idle.out" 2>&1 &
  fi
  pid=$!
  for ((i = 0; i < 200; i++)); do grep -q warm "$W/idle.out" && break; sleep 0.05; done
  sleep 0.3
  if [ "$st" = ustack ]; then m0=$(rss_kib $pid); else m0=$(slab_kib); fi
  touch "$go"
  for ((i = 0; i < 1200; i++)); do grep -q "^open" "$W/idle.out" && break; kill -0 $pid 2>/dev/null || break; sleep 0.05; done
  sleep 0.5
  if [ "$st" = ustack ]; then m1=$(rss_kib $pid); else m1=$(slab_kib); fi
  secs=$(grep -oP '^open n=[0-9]+ secs=\K[0-9.]+' "$W/idle.out")
  local n
  n=$(grep -oP '^open n=\K[0-9]+' "$W/idle.out")
  touch "$go.end"
  for ((i = 0; i < 300; i++)); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
  kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
  local note="n=${n:-0}"
  [ "${n:-0}" = "$IDLE_N" ] || note="only ${n:-0} of $IDLE_N opened: $(grep -v '^open\|^warm' "$W/idle.out" | tail -1)"
  record idle_mem "$st" "$rep" bytes_per_conn \
    "$(awk -v a="${m0:-0}" -v b="${m1:-0}" -v n="${n:-0}" 'BEGIN {if (n > 0 && b > 0) printf "%.0f", (b - a) * 1024 / n; else print "null"}')" B "$note"
  record idle_open "$st" "$rep" seconds "$(num "$secs")" s "$note"
  sleep 1 # the holder closes its side
}

# trace STACK REP: what the event hooks cost. Three builds of one commit run
# the 1-stream bulk send and the ping-pong: hooks compiled out
# (-DUSTACK_EVENTS=OFF), hooks in but no sink (the default: tracing off), and
# --trace into a file. Which goes first alternates with the repetition.
# Linux has nothing to compare.
trace_run() {
  local st=$1 rep=$2 v
  [ "$st" = ustack ] || return 0
  local order=(out off on)
  ((rep % 2)) && order=(on off out)
  for v in "${order[@]}"; do trace_variant "$v" "$rep"; done
}
# trace_variant out|off|on REP
trace_variant() {
  local v=$1 rep=$2 out note=""
  local run=(ip netns exec "$C" "$USTACK" "${USTACK_OPTS[@]}")
  [ "$v" = out ] && run=(ip netns exec "$C" "$USTACK_NOEV" "${USTACK_OPTS[@]}")
  [ "$v" = on ] && run+=(--trace --trace-file "$W/trace.out")
  out=$("${run[@]}" -- iperf3 -c $SIP -p $IPERF_PORT -t "$SECS" -J 2>"$W/err")
  [ "$v" = on ] && note="trace $(wc -l <"$W/trace.out" 2>/dev/null || echo 0) lines"
  [ -s "$W/err" ] && note="$note; $(head -c 120 "$W/err" | tr '\n"' '  ')"
  record "trace_bulk_$v" ustack "$rep" throughput "$(gbit "$(iperf_bps <<<"$out")")" Gbit/s "$note"
  rm -f "$W/trace.out"
  [ "$v" = on ] && return 0 # a trace of every round trip measures the disk
  out=$("${run[@]}" -- "$BENCH_BIN/rr" client $SIP 7001 "$SECS" 2>"$W/err")
  record "trace_rr_$v" ustack "$rep" round_trips "$(num "$(grep -oP 'rr_per_s=\K[0-9.]+' <<<"$out")")" rt/s
}

# --- run -------------------------------------------------------------------------------
: >"$OUT/results.jsonl"
mkdir -p "$W/www"
truncate -s "${DL_MB}M" "$W/www/big"
echo "small file" >"$W/www/small"
nginx_conf "$W/ngx_s" "$SIP:8081" "$W/www"
nginx_conf "$W/ngx_c" 8080 "$W/www"
srv_bg iperf3 -s -B $SIP -p $IPERF_PORT
srv_bg nginx -c "$W/ngx_s/nginx.conf" -e "$W/ngx_s/error.log"
srv_bg "$BENCH_BIN/rr" server $SIP 7001
srv_bg "$BENCH_BIN/connrate" server $SIP 7002
srv_bg "$BENCH_BIN/idle" server $SIP 7004
sleep 1

# The facts each result is bound to.
COMMIT=$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$SRC" diff --quiet HEAD -- 2>/dev/null || COMMIT="$COMMIT+dirty"
MTU=$(cat "/sys/class/net/uc0/mtu" 2>/dev/null || ip netns exec "$C" cat /sys/class/net/uc0/mtu)
OFFLOAD=$(ip netns exec "$C" ethtool -k uc0 2>/dev/null |
  awk -F': ' '/^(tcp-segmentation-offload|generic-segmentation-offload|generic-receive-offload|rx-checksumming|tx-checksumming|scatter-gather):/ {printf "%s%s=%s", sep, $1, $2; sep=","}')
OFFLOAD=${OFFLOAD:-unknown (no ethtool)}
KERNEL=$(uname -r)
cat >"$OUT/meta.json" <<JSON
{"commit":"$COMMIT","date":"$(date -u +%Y-%m-%dT%H:%M:%SZ)","kernel":"$KERNEL","mtu":$MTU,"offloads":"$OFFLOAD",
 "cpus":$(nproc),"cpu_mhz":"$CPU_MHZ","cpu_how":"$CPU_HOW","reps":$REPS,"secs":$SECS,"download_mb":$DL_MB,"idle_n":$IDLE_N,
 "smoke":$SMOKE,"loadavg_start":"$(cut -d' ' -f1-3 /proc/loadavg)"}
JSON
log "commit $COMMIT, MTU $MTU, offloads: $OFFLOAD, $REPS reps x ${SECS}s"

# both REP FN [ARGS]: FN STACK REP [ARGS] on each stack, alternating which
# goes first from one repetition to the next.
both() {
  local rep=$1 fn=$2; shift 2
  local order=(linux ustack) st
  ((rep % 2)) && order=(ustack linux)
  for st in "${order[@]}"; do
    stack_use "$st"
    if ((PERF)) && ((rep == 1)); then
      local tag="$fn${1:+_$1}.$st"
      perf record -a -g -e cpu-clock -F 999 -o "$W/perf.data" >/dev/null 2>&1 &
      local perf_pid=$!
      "$fn" "$st" "$rep" "$@"
      kill -INT $perf_pid; wait $perf_pid 2>/dev/null
      perf report -i "$W/perf.data" --no-children --sort comm,dso,sym -g none --percent-limit 0.5 2>/dev/null |
        grep -v '^#' | grep -v '^$' | head -60 >"$OUT/perf.$tag.txt"
    else
      "$fn" "$st" "$rep" "$@"
    fi
  done
}

for ((rep = 1; rep <= REPS; rep++)); do
  log "repetition $rep of $REPS"
  if want bulk; then
    for p in 1 4; do
      both "$rep" bulk_tx "$p"
      both "$rep" bulk_rx "$p"
    done
  fi
  want download && both "$rep" download
  want rr && both "$rep" rr
  want wrk && both "$rep" wrk_run
  if want connrate; then
    both "$rep" connrate_client
    both "$rep" connrate_server
  fi
  want idle && both "$rep" idle
  want trace && both "$rep" trace_run
done
ip -n "$C" addr flush dev uc0 2>/dev/null
sed -i "s/}\$/,\"loadavg_end\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}/" "$OUT/meta.json"

python3 "$SRC/bench/report.py" "$OUT" | tee "$OUT/table.txt"
[ -n "$SVG_COPY" ] && cp "$OUT/bench.svg" "$SVG_COPY"
log "results in $OUT (table.txt, bench.json, bench.svg, results.jsonl)"
